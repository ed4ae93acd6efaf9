"""Pages of charitable resources: funds (public pages, the host's ledger, statements), the
micro-wish wall, and the bureau's charity dashboard with Excel."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.charity import disclosure, ledger, services, wishes
from portal.charity.forms import (
    FundForm,
    MovementForm,
    PeriodForm,
    PledgeActionForm,
    PledgeForm,
    ReversalForm,
    WishActionForm,
    WishForm,
)
from portal.charity.models import (
    Disclosure,
    DonorKind,
    Fund,
    Movement,
    MovementType,
    Pledge,
    PledgeKind,
    PledgeState,
    Stock,
    Wish,
    WishKind,
    WishState,
)
from portal.core.areas import Area, AreaLevel, community_choices, place_choices, under
from portal.core.errors import DomainError
from portal.core.permissions import asked_area, authorize, can
from portal.core.users import Role
from portal.core.views import flash_refusal, page_number, submit
from portal.extensions import db

bp = Blueprint("charity", __name__)
PER_PAGE = 30


def _viewer():
    return current_user if current_user.is_authenticated else None


def _back(endpoint: str, **values):
    return redirect(url_for(endpoint, **values))


def _one_line(form) -> list[dict] | None:
    """The goods line typed in a form (one kind of goods at a time on a page)."""
    if not (form.item_name.data or form.item_quantity.data):
        return None
    return [{"name": form.item_name.data, "quantity": form.item_quantity.data,
             "unit": form.item_unit.data, "unit_value": form.item_value.data or None}]


# --- funds --------------------------------------------------------------------------------------

@bp.route("/funds")
def fund_list():
    area = request.args.get("area")
    query = sa.select(Fund).order_by(Fund.area_code, Fund.id)
    if area:
        query = query.where(under(Fund.area_code, area))
    funds = db.session.scalars(query).all()
    return render_template("charity/funds.html", funds=funds,
                           may_open=can(_viewer(), "fund.open_any"))


@bp.route("/funds/new", methods=["GET", "POST"])
@login_required
def fund_new():
    from portal.orgs.models import Org, OrgState, Registration

    authorize(current_user, "fund.open_any")
    form = FundForm()
    scopes = current_user.scopes(Role.bureau) or (["2108"] if current_user.is_admin else [])
    areas = db.session.scalars(sa.select(Area).where(
        Area.level.in_((AreaLevel.township, AreaLevel.community)),
        sa.or_(*[under(Area.code, s) for s in scopes])).order_by(Area.code)).all()
    form.area_code.choices = place_choices(areas)
    form.host_org_id.choices = [(o.id, o.name) for o in db.session.scalars(
        sa.select(Org).where(Org.status == OrgState.active,
                             Org.registration == Registration.registered,
                             sa.or_(*[under(Org.community_code, s) for s in scopes]))
        .order_by(Org.name))]

    def action():
        authorize(current_user, "fund.open", form.area_code.data)
        return services.open_fund(form.name.data, form.area_code.data, form.host_org_id.data,
                                  form.purpose.data, actor=current_user)

    fund, status = submit(form, action)
    if fund is not None:
        flash(_("The fund is open. Its host's admins keep its ledger."), "success")
        return _back("charity.fund_show", fund_id=fund.id)
    return render_template("charity/fund_new.html", form=form), status


def _fund_or_404(fund_id: int) -> Fund:
    fund = db.session.get(Fund, fund_id)
    if fund is None:
        abort(404)
    return fund


@bp.route("/funds/<int:fund_id>")
def fund_show(fund_id: int):
    return _render_fund(_fund_or_404(fund_id))


def _render_fund(fund: Fund, status: int = 200, **failed):
    """The fund's page; `failed` holds a form that was refused (`movement_form`,
    `pledge_form`, `reversal_form`), shown again as typed with its messages by its fields."""
    viewer = _viewer()
    page = page_number()
    query = sa.select(Movement).where(Movement.fund_id == fund.id).order_by(
        Movement.at.desc(), Movement.id.desc())
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Movement).where(
        Movement.fund_id == fund.id))
    movements = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    reversed_ids = set(db.session.scalars(sa.select(Movement.reverses_id).where(
        Movement.reverses_id.in_([m.id for m in movements]))))
    open_pledges = db.session.scalars(sa.select(Pledge).where(
        Pledge.fund_id == fund.id, Pledge.status.in_((PledgeState.pledged,
                                                      PledgeState.partly_received)))
        .order_by(Pledge.due_on.is_(None), Pledge.due_on, Pledge.id)).all()
    manage = can(viewer, "fund.manage", fund)
    # (formdata=None: a form not refused is blank, not filled from another form's post)
    movement_form = failed.get("movement_form") or MovementForm(formdata=None)
    pledge_form = failed.get("pledge_form") or PledgeForm(formdata=None)
    movement_form.type.choices = [(t.value, t.title) for t in MovementType
                                  if t is not MovementType.reversal]
    movement_form.pledge_id.choices = [(0, "—")] + [
        (p.id, f"#{p.id} {p.donor_name} {p.value:.2f}") for p in open_pledges]
    pledge_form.donor_kind.choices = [(k.value, k.title) for k in DonorKind]
    pledge_form.kind.choices = [(k.value, k.title) for k in PledgeKind]
    if viewer is not None and "pledge_form" not in failed and not pledge_form.donor_name.data:
        pledge_form.donor_name.data = viewer.display_name or viewer.username
    return render_template(
        "charity/fund.html", fund=fund, f=fund, movements=movements, total=total, page=page,
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), reversed_ids=reversed_ids,
        stock=db.session.scalars(sa.select(Stock).where(Stock.fund_id == fund.id,
                                                        Stock.quantity > 0)
                                 .order_by(Stock.name)).all(),
        open_pledges=open_pledges, is_overdue=services.is_overdue,
        schedule=disclosure.schedule(fund), manage=manage, movement_form=movement_form,
        pledge_form=pledge_form,
        reversal_form=failed.get("reversal_form") or ReversalForm(formdata=None),
        period_form=PeriodForm(formdata=None), pledge_action_form=PledgeActionForm(),
        donor=disclosure.donor_shown, today=date.today(),
        may_close=can(viewer, "fund.close", fund)), status


def _fund_action(fund_id: int, form, action, done: str, *, manage: bool = True,
                 shown_as: str | None = None):
    """A form of the fund's page: checked, one service call, one commit. A refusal comes back
    on the fund's page: the form `shown_as` (its name there) as typed, each message by its field
    (422); other forms' refusals as a message above the page. `action(fund)` may return the
    address of another page to go to."""
    fund = _fund_or_404(fund_id)
    if manage:
        authorize(current_user, "fund.manage", fund)
    if not form.validate_on_submit():
        if shown_as:
            return _render_fund(fund, 422, **{shown_as: form})
        flash(_("Please correct the marked fields."), "danger")
        return redirect(url_for("charity.fund_show", fund_id=fund.id))
    try:
        result = action(fund)
    except DomainError as exc:
        if not shown_as or exc.status in (403, 404):
            flash_refusal(exc)
            return redirect(url_for("charity.fund_show", fund_id=fund.id))
        db.session.rollback()
        _say_by_fields(form, exc)
        return _render_fund(fund, exc.status if exc.status >= 400 else 422, **{shown_as: form})
    db.session.commit()
    flash(done, "success")
    return redirect(result if isinstance(result, str)  # a page to go to
                    else url_for("charity.fund_show", fund_id=fund.id))


# A service's field -> the form's field that shows its message (goods lines are one line here).
_FORM_FIELDS = {"items": "item_name", "items.0.name": "item_name",
                "items.0.quantity": "item_quantity", "items.0.unit": "item_unit",
                "items.0.unit_value": "item_value", "reverses": "reverses"}


def _say_by_fields(form, exc: DomainError) -> None:
    """The refusal's messages by the form's fields; what no field shows goes above the page."""
    unplaced = []
    for name, messages in (exc.fields or {}).items():
        target = _FORM_FIELDS.get(name, name)
        if target in form._fields and target != "csrf_token":
            form[target].errors = list(form[target].errors) + list(messages)
        else:
            unplaced.extend(messages)
    if unplaced or not exc.fields:
        flash(" ".join([exc.message] + [m for m in unplaced if m != exc.message]), "danger")


def _pledge_action(pledge_id: int, action, done: str):
    """A pledge's form on its fund's page; `action(pledge)` checks who may."""
    row = db.session.get(Pledge, pledge_id) or abort(404)
    return _fund_action(row.fund_id, PledgeActionForm(), lambda fund: action(row), done,
                        manage=False)


@bp.post("/pledges/<int:pledge_id>/hours")
@login_required
def pledge_hours(pledge_id: int):
    def give(row):
        authorize(current_user, "fund.manage", row.fund)
        services.give_hours(row, request.form.get("hours", "").strip(), actor=current_user)
    return _pledge_action(pledge_id, give, _("The hours given are recorded."))


@bp.post("/pledges/<int:pledge_id>/cancel")
@login_required
def pledge_cancel(pledge_id: int):
    def cancel(row):
        if row.user_id != current_user.id:
            authorize(current_user, "fund.manage", row.fund)
        services.cancel_pledge(row, request.form.get("reason"), actor=current_user)
    return _pledge_action(pledge_id, cancel, _("The pledge is cancelled."))


@bp.post("/funds/<int:fund_id>/movements")
@login_required
def fund_move(fund_id: int):
    form = MovementForm()
    form.type.choices = [(t.value, t.title) for t in MovementType]
    return _fund_action(fund_id, form, lambda fund: ledger.record_movement(
        fund, ledger.MovementInput(
            type=form.type.data, amount=form.amount.data or None, items=_one_line(form),
            pledge_id=form.pledge_id.data or None, need_id=form.need_id.data,
            wish_id=form.wish_id.data, project_id=form.project_id.data,
            purpose=form.purpose.data, donor_name=form.donor_name.data or None,
            anonymous=form.anonymous.data), actor=current_user),
        _("Recorded in the ledger."), shown_as="movement_form")


@bp.post("/funds/<int:fund_id>/reversal")
@login_required
def fund_reverse(fund_id: int):
    form = ReversalForm()
    return _fund_action(fund_id, form, lambda fund: ledger.reverse(
        fund, form.reverses.data, form.reason.data, actor=current_user),
        _("Corrected: the public sees the correction and its reason."),
        shown_as="reversal_form")


@bp.post("/funds/<int:fund_id>/pledge")
@login_required
def fund_pledge(fund_id: int):
    form = PledgeForm()
    form.donor_kind.choices = [(k.value, k.title) for k in DonorKind]
    form.kind.choices = [(k.value, k.title) for k in PledgeKind]
    offline = bool(form.offline.data)  # the host recording a donor met in person
    return _fund_action(fund_id, form, lambda fund: services.pledge(fund, services.PledgeInput(
        donor_name=form.donor_name.data, donor_kind=form.donor_kind.data,
        anonymous=form.anonymous.data, kind=form.kind.data, amount=form.amount.data or None,
        items=_one_line(form), hours=form.hours.data or None, due_on=form.due_on.data),
        actor=current_user, offline=offline),
        _("Thank you: the pledge is recorded."), manage=offline, shown_as="pledge_form")


@bp.post("/funds/<int:fund_id>/statements")
@login_required
def fund_publish(fund_id: int):
    form = PeriodForm()

    def publish(fund):
        disclosure.publish(fund, form.period.data, actor=current_user)
        return url_for("charity.statement", fund_id=fund.id, period=form.period.data)
    return _fund_action(fund_id, form, publish, _("The statement of {period} is published.")
                        .format(period=form.period.data))


@bp.route("/funds/<int:fund_id>/statements/<period>")
def statement(fund_id: int, period: str):
    fund = _fund_or_404(fund_id)
    row = db.session.scalar(sa.select(Disclosure).where(Disclosure.fund_id == fund.id,
                                                        Disclosure.period == period))
    if row is None:
        abort(404)
    return render_template("charity/statement.html", fund=fund, s=row.snapshot, row=row,
                           MovementType=MovementType)


@bp.route("/funds/<int:fund_id>/statements/<period>.pdf")
def statement_pdf(fund_id: int, period: str):
    from portal.charity.statement_pdf import render
    from portal.core.db import iso

    row = db.session.scalar(sa.select(Disclosure).where(Disclosure.fund_id == fund_id,
                                                        Disclosure.period == period))
    if row is None:
        abort(404)
    return Response(render(row.snapshot, iso(row.published_at)), mimetype="application/pdf",
                    headers={"Content-Disposition":
                             f"inline; filename=statement-{fund_id}-{period}.pdf"})


# --- the bureau's dashboard -------------------------------------------------------------------

@bp.route("/charity/dashboard")
@login_required
def dashboard():
    from portal.charity.queries import charity_figures

    area = asked_area(current_user, "charity.stats", request.args.get("area"))
    return render_template("charity/dashboard.html", area=area, c=charity_figures(area.code))


@bp.route("/charity/dashboard/export.xlsx")
@login_required
def dashboard_export():
    from portal.charity.queries import charity_workbook
    from portal.core.excel import file_name, xlsx_response

    area = asked_area(current_user, "charity.stats", request.args.get("area"))
    return xlsx_response(charity_workbook(area), file_name("社区基金", area.name))


# --- micro-wishes -------------------------------------------------------------------------------

@bp.route("/wishes")
def wish_wall():
    query = sa.select(Wish).order_by(
        sa.case((Wish.status == WishState.published, 0), else_=1), Wish.id.desc())
    community = request.args.get("community")
    if community:
        query = query.where(under(Wish.community_code, community))
    if request.args.get("open"):
        query = query.where(Wish.status == WishState.published)
    found = db.session.scalars(query.limit(200)).all()
    if any(wishes.expire_claim(w) for w in found if w.status is WishState.claimed):
        db.session.commit()
    places = place_choices(db.session.scalars(sa.select(Area).where(
        Area.level.in_((AreaLevel.county, AreaLevel.township))).order_by(Area.code)).all())
    return render_template("charity/wishes.html", wishes=found, places=places,
                           args=request.args, may_publish=_viewer() is not None and bool(
                               current_user.scopes(Role.community_worker)))


@bp.route("/wishes/new", methods=["GET", "POST"])
@login_required
def wish_new():
    scopes = current_user.scopes(Role.community_worker)
    if not scopes and not current_user.is_admin:
        abort(403)
    form = WishForm()
    form.kind.choices = [(k.value, k.title) for k in WishKind]
    form.community_code.choices = community_choices(db.session.scalars(
        sa.select(Area).where(Area.level == AreaLevel.community,
                              sa.or_(*[under(Area.code, s) for s in scopes] or [sa.true()]))
        .order_by(Area.code).limit(500)).all())

    def action():
        authorize(current_user, "wish.publish", form.community_code.data)
        return wishes.publish_wish(wishes.WishInput(
            community_code=form.community_code.data, alias=form.alias.data,
            title=form.title.data, kind=form.kind.data,
            estimated_value=form.estimated_value.data, story=form.story.data,
            name=form.name.data, phone=form.phone.data, address=form.address.data),
            actor=current_user)

    wish, status = submit(form, action, aliases={"beneficiary.name": "name",
                                                 "beneficiary.phone": "phone",
                                                 "beneficiary.address": "address"})
    if wish is not None:
        flash(_("The wish is on the wall."), "success")
        return _back("charity.wish_show", wish_id=wish.id)
    return render_template("charity/wish_new.html", form=form), status


def _wish_or_404(wish_id: int) -> Wish:
    wish = db.session.get(Wish, wish_id)
    if wish is None:
        abort(404)
    if wishes.expire_claim(wish):
        db.session.commit()
    return wish


@bp.route("/wishes/<int:wish_id>")
def wish_show(wish_id: int):
    from portal.orgs.models import Org, OrgAdmin, OrgState

    wish = _wish_or_404(wish_id)
    viewer = _viewer()
    form = WishActionForm()
    if viewer is not None:
        form.org_id.choices = [(0, _("Myself"))] + [(o.id, o.name) for o in db.session.scalars(
            sa.select(Org).join(OrgAdmin, OrgAdmin.org_id == Org.id).where(
                OrgAdmin.user_id == viewer.id, Org.status == OrgState.active))]
    manage = can(viewer, "wish.manage", wish)
    mine = viewer is not None and wish.claimed_by == viewer.id
    return render_template(
        "charity/wish.html", wish=wish, manage=manage, mine=mine, form=form,
        beneficiary=wishes.beneficiary(wish) if manage else None,
        contact=wishes.handover_contact(wish) if mine else None)


@bp.post("/wishes/<int:wish_id>/<any(claim, release, fulfil, confirm, cancel):action>")
@login_required
def wish_act(wish_id: int, action: str):
    wish = _wish_or_404(wish_id)
    form = WishActionForm()
    form.org_id.choices = []
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "danger")
        return _back("charity.wish_show", wish_id=wish.id)
    try:
        if action == "claim":
            wishes.claim(wish, form.org_id.data or None, actor=current_user)
            done = _("Thank you! Hand it over through the community: its contact is below.")
        elif action == "release":
            wishes.release(wish, actor=current_user)
            done = _("The wish is back on the wall.")
        elif action == "fulfil":
            if wish.claimed_by != current_user.id:
                authorize(current_user, "wish.manage", wish)
            wishes.fulfil(wish, form.note.data, wishes.store_photo(form.photo.data),
                          actor=current_user)
            done = _("Handed over: the community confirms when the beneficiary has it.")
        elif action == "confirm":
            authorize(current_user, "wish.manage", wish)
            wishes.confirm(wish, actor=current_user)
            done = _("Confirmed: the beneficiary has it.")
        else:
            authorize(current_user, "wish.manage", wish)
            wishes.cancel(wish, form.note.data, actor=current_user)
            done = _("The wish is withdrawn.")
    except DomainError as exc:
        flash_refusal(exc)
    else:
        db.session.commit()
        flash(done, "success")
    return _back("charity.wish_show", wish_id=wish.id)


@bp.route("/wishes/<int:wish_id>/photo")
def wish_photo(wish_id: int):
    from flask import send_file

    from portal.core.uploads import path_of

    wish = _wish_or_404(wish_id)
    # The hand-over may show the beneficiary: the claimer and the community's staff only.
    if not wish.photo_key or not current_user.is_authenticated or not (
            wish.claimed_by == current_user.id or can(current_user, "wish.manage", wish)):
        abort(404)
    return send_file(path_of(wish.photo_key))



@bp.app_template_global("my_funds")
def my_funds() -> list[dict]:
    """The funds held by organisations the signed-in user administers, with what is overdue
    (the host's home page flags it)."""
    from portal.orgs.models import OrgAdmin

    if not current_user.is_authenticated:
        return []
    funds = db.session.scalars(sa.select(Fund).join(
        OrgAdmin, OrgAdmin.org_id == Fund.host_org_id).where(
        OrgAdmin.user_id == current_user.id).order_by(Fund.id)).all()
    return [{"fund": f, "overdue_statements": disclosure.overdue_count(f),
             "overdue_pledges": db.session.scalar(sa.select(sa.func.count()).select_from(
                 Pledge).where(Pledge.fund_id == f.id, services.overdue_pledges())) or 0}
            for f in funds]
