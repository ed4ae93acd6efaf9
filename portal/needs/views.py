"""Pages of 需求清单: the public list, posting a need, a need's page with the workers' decisions
and suggestions, and the dashboard (with Excel)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from portal.core.areas import Area, AreaLevel, community_choices, place_choices, under
from portal.core.errors import DomainError
from portal.core.permissions import asked_area, authorize, can
from portal.core.users import Role
from portal.core.views import flash_refusal, page_number, submit
from portal.extensions import db
from portal.needs import queries, services
from portal.needs.forms import MatchForm, MergeForm, NeedForm, SupportForm, TextForm
from portal.needs.models import PUBLIC_STATES, MatchKind, Need, NeedState, NeedSupport
from portal.volunteers.catalogues import SERVICE_TYPES

bp = Blueprint("needs", __name__)
PER_PAGE = 20


def _viewer():
    return current_user if current_user.is_authenticated else None


@bp.route("/needs")
def need_list():
    """What residents need: verified and later for everyone (no personal data), plus one's own
    and, for community workers and the bureau, every need of their area."""
    viewer = _viewer()
    try:
        query = queries.filtered(services.visible_needs(viewer), request.args, viewer)
    except DomainError:  # a filter with a value not allowed (a hand-typed address)
        flash(_("A filter had a value that is not allowed; it was left out."), "warning")
        query = services.visible_needs(viewer).order_by(Need.created_at.desc())
    total = db.session.scalar(sa.select(sa.func.count()).select_from(
        query.order_by(None).subquery()))
    page = page_number()
    needs = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    staff = viewer is not None and (viewer.is_admin or bool(viewer.staff_scopes()))
    places = place_choices(db.session.scalars(sa.select(Area).where(
        Area.level.in_((AreaLevel.county, AreaLevel.township))).order_by(Area.code)).all())
    supported = set(db.session.scalars(sa.select(NeedSupport.need_id).where(
        NeedSupport.user_id == viewer.id, NeedSupport.need_id.in_([n.id for n in needs])))) \
        if viewer is not None and needs else set()
    chosen = request.args.get("community") or ""
    chosen_place = db.session.get(Area, chosen) if chosen and chosen not in dict(places) \
        and chosen != (viewer.community_code if viewer else None) else None
    may_post = viewer is not None and (can(viewer, "need.post_any") or not (
        viewer.is_admin or viewer.staff_scopes()))
    return render_template("needs/list.html", needs=needs, total=total, page=page,
                           chosen_place=chosen_place, may_post=may_post,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), places=places,
                           SERVICE_TYPES=SERVICE_TYPES, NeedState=NeedState, staff=staff,
                           is_stale=queries.is_stale, supported=supported,
                           support_form=SupportForm(), args=request.args,
                           page_url=lambda n: url_for("needs.need_list", **{
                               **request.args.to_dict(), "page": n}))


def _community_choices(user) -> dict:
    codes = set()
    if user.community_code:
        codes.add(user.community_code)
    query = sa.select(Area).where(Area.level == AreaLevel.community)
    scopes = user.scopes(Role.community_worker)
    areas = list(db.session.scalars(query.where(sa.or_(
        Area.code.in_(codes), *[under(Area.code, s) for s in scopes])).order_by(Area.code))) \
        if codes or scopes else []
    if user.is_admin and not areas:
        areas = list(db.session.scalars(query.order_by(Area.code).limit(500)))
    return community_choices(areas)


@bp.route("/needs/new", methods=["GET", "POST"])
def need_new():
    if not current_user.is_authenticated:  # residents sign in with their phone
        return redirect(url_for("core.login_sms", next=request.full_path.rstrip("?")))
    if not can(current_user, "need.post_any"):
        if current_user.has_role(Role.resident) or not current_user.staff_scopes():
            return redirect(url_for("core.my_community", next=url_for("needs.need_new")))
        abort(403)
    if current_user.has_role(Role.resident) and not current_user.community_code \
            and not current_user.has_role(Role.community_worker):
        return redirect(url_for("core.my_community", next=url_for("needs.need_new")))
    form = NeedForm()
    form.community_code.choices = _community_choices(current_user)
    if request.method == "GET" and current_user.community_code:
        form.community_code.data = current_user.community_code
    worker = current_user.has_role(Role.community_worker) or current_user.is_admin

    def post():
        authorize(current_user, "need.post", form.community_code.data)
        return services.post_need(services.NeedInput(
            community_code=form.community_code.data, category=form.category.data,
            title=form.title.data, description=form.description.data,
            people_affected=form.people_affected.data, urgency=form.urgency.data,
            channel=form.channel.data if worker else None,
            for_name=form.for_name.data if worker else None,
            for_phone=form.for_phone.data if worker else None), actor=current_user)

    need, status = submit(form, post, aliases={"on_behalf_of.name": "for_name",
                                               "on_behalf_of.phone": "for_phone"})
    if need is not None:
        flash(_("The need is posted for {name}.").format(name=need.for_name) if need.for_name
              else _("Your need is posted. The community's workers will look at it soon."),
              "success")
        return redirect(url_for("needs.need_show", need_id=need.id))
    return render_template("needs/new.html", form=form, worker=worker), status


def _need_or_404(need_id: int) -> Need:
    need = db.session.get(Need, need_id)
    if need is None or not can(_viewer(), "need.view", need):
        abort(404)
    return need


def target_url(kind: MatchKind, target_id: int) -> str | None:
    endpoint = {MatchKind.activity: ("activities.activity_show", "activity_id"),
                MatchKind.org: ("orgs.org_show", "org_id"),
                MatchKind.project: ("projects.project_show", "project_id"),
                MatchKind.fund: ("charity.fund_show", "fund_id")}.get(kind)
    return url_for(endpoint[0], **{endpoint[1]: target_id}) if endpoint else None


@bp.route("/needs/<int:need_id>")
def need_show(need_id: int):
    need = _need_or_404(need_id)
    viewer = _viewer()
    manage = can(viewer, "need.manage", need)
    merge_form = MergeForm()
    suggestions = []
    if manage:
        merge_form.into.choices = [("", _("— choose the need it repeats —"))] + [
            (n.id, f"#{n.id} {n.title}") for n in db.session.scalars(
            sa.select(Need).where(Need.community_code == need.community_code, Need.id != need.id,
                                  Need.status.in_((NeedState.submitted, NeedState.verified,
                                                   NeedState.matched)))
            .order_by(Need.id.desc()).limit(100))]
        if need.status in (NeedState.verified, NeedState.matched):
            suggestions = queries.suggestions(need)
    supported = viewer is not None and db.session.scalar(sa.select(NeedSupport.id).where(
        NeedSupport.need_id == need.id, NeedSupport.user_id == viewer.id)) is not None
    matches = [(m, services.match_target(m.kind, m.target_id), target_url(m.kind, m.target_id))
               for m in need.matches]
    return render_template(
        "needs/show.html", need=need, manage=manage, contact=can(viewer, "need.contact", need),
        own=viewer is not None and need.posted_by == viewer.id, supported=supported,
        matches=matches, projects=services.projects_citing(need.id, viewer),
        suggestions=suggestions,
        target_url=target_url, stale=queries.is_stale(need), text_form=TextForm(),
        merge_form=merge_form, match_form=MatchForm(), support_form=SupportForm(),
        SERVICE_TYPES=SERVICE_TYPES, MatchKind=MatchKind, NeedState=NeedState,
        public=need.status in PUBLIC_STATES,
        merged_into=db.session.get(Need, need.merged_into_id) if need.merged_into_id else None)


def _decide(need_id: int, form, action, done: str):
    """A worker's decision from the need's page: refused ones come back as a message."""
    need = _need_or_404(need_id)
    authorize(current_user, "need.manage", need)
    if form.validate_on_submit():
        try:
            action(need)
        except DomainError as exc:
            flash_refusal(exc)
        else:
            db.session.commit()
            flash(done, "success")
    else:
        flash(_("Please correct the marked fields."), "danger")
    return redirect(url_for("needs.need_show", need_id=need_id))


# A worker's decision with a text for the resident: the service call and what the page says.
DECISIONS = {
    "verify": (services.verify, _l("The need is verified and listed.")),
    "reject": (services.reject, _l("The need is not taken up; the resident is told why.")),
    "resolve": (services.resolve, _l("The need is resolved; the resident is told.")),
}


@bp.post("/needs/<int:need_id>/<any(verify, reject, resolve):action>")
@login_required
def need_decide(need_id: int, action: str):
    form = TextForm()
    decide, done = DECISIONS[action]
    return _decide(need_id, form, lambda need: decide(need, form.text.data,
                                                      actor=current_user), str(done))


@bp.post("/needs/<int:need_id>/merge")
@login_required
def need_merge(need_id: int):
    form = MergeForm()
    return _decide(need_id, form, lambda need: services.merge(
        need, form.into.data, actor=current_user), _("The needs are merged."))


@bp.post("/needs/<int:need_id>/match")
@login_required
def need_match(need_id: int):
    form = MatchForm()
    return _decide(need_id, form, lambda need: services.add_match(
        need, form.kind.data, form.target_id.data, form.note.data, actor=current_user),
        _("The match is recorded; the resident is told."))


@bp.post("/needs/<int:need_id>/support")
@login_required
def need_support(need_id: int):
    need = _need_or_404(need_id)
    form = SupportForm()
    if form.validate_on_submit():
        try:
            services.support(need, user=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Thank you: your support is counted."), "success")
    back = request.form.get("back") or ""
    return redirect(back if back.startswith("/") and not back.startswith("//")
                    else url_for("needs.need_show", need_id=need_id))


# --- the dashboard -----------------------------------------------------------------------------

def _dashboard_area() -> Area:
    return asked_area(current_user, "need.manage_area", request.args.get("area"))


@bp.route("/needs/dashboard")
@login_required
def dashboard():
    area = _dashboard_area()
    figures = queries.figures(area.code)
    children = queries.figures_by_child(area.code)
    trail = [a for a in (db.session.get(Area, area.code[:n]) for n in (4, 6, 9, 12)
                         if n <= len(area.code)) if a is not None]
    stale = queries.stale_needs(area.code, limit=50)
    return render_template("needs/dashboard.html", area=area, f=figures, children=children,
                           trail=trail, stale=stale, chart=_status_chart(figures),
                           SERVICE_TYPES=SERVICE_TYPES, NeedState=NeedState)


def _status_chart(figures) -> dict | None:
    """Bars of needs by kind: <progress> elements (no script, no inline style, no CDN; each
    bar carries its number and reads at any text size)."""
    rows = list(figures.by_category.items())
    if not rows:
        return None
    return {"bars": [{"name": str(SERVICE_TYPES.get(k, k)), "n": n} for k, n in rows],
            "widest": max(n for _k, n in rows) or 1}


@bp.route("/needs/dashboard/export.xlsx")
@login_required
def dashboard_export():
    from portal.core.excel import file_name, xlsx_response
    from portal.needs.exports import needs_workbook

    area = _dashboard_area()
    return xlsx_response(needs_workbook(area), file_name("需求清单", area.name))


@bp.app_template_filter("need_reason")
def reason_title(reason: str) -> str:
    """A reason code of a suggestion, as a community worker reads it."""
    from portal.orgs.models import OrgCategory

    kind, _sep, code = reason.partition(":")
    if kind == "service_type":
        return _("serves this kind of need: {type}").format(type=SERVICE_TYPES.get(code, code))
    if kind == "org_category":
        try:
            return _("an organisation of the kind: {category}").format(
                category=OrgCategory(code).title)
        except ValueError:
            return code
    return {"same_community": _("in the need's community"),
            "same_township": _("in its township"), "same_county": _("in its county"),
            "open_call": _("an open project call covering it"),
            "has_balance": _("the fund has money")}.get(reason, reason)


@bp.app_template_global("cited_needs")
def cited_needs(project_id: int) -> list[Need]:
    return services.cited_needs(project_id)


@bp.app_template_global("my_needs")
def my_needs(limit: int = 20) -> list[Need]:
    """The signed-in user's own needs, newest first (for /me and the home page)."""
    if not current_user.is_authenticated:
        return []
    return list(db.session.scalars(sa.select(Need).where(Need.posted_by == current_user.id,
                                                         Need.for_name.is_(None))
                                   .order_by(Need.id.desc()).limit(limit)))

