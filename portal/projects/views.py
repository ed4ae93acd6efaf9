"""Pages for projects: public calls and results, and the bureau's, bidders' and reviewers' work.

Every change goes through portal.projects.services and every permission through the policies
of portal.projects.permissions, as the API does.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.core.areas import Area, AreaLevel, place_choices, under
from portal.core.db import SHANGHAI, utcnow
from portal.core.errors import ValidationFailed
from portal.core.permissions import authorize, can
from portal.core.users import Role, User
from portal.core.views import page_number, submit
from portal.extensions import db
from portal.projects import services
from portal.projects.forms import (
    CRITERIA_ROWS,
    TIER_ROWS,
    AcceptForm,
    AssignForm,
    AttachForm,
    AwardForm,
    BidEditForm,
    BidForm,
    CancelForm,
    CatalogueItemForm,
    DrawForm,
    EvaluationForm,
    MilestoneForm,
    PoolForm,
    ProjectForm,
    PublishCatalogueForm,
    PublishForm,
    ReportForm,
    WithdrawForm,
    score_form,
)
from portal.projects.models import (
    Assignment,
    Bid,
    BidState,
    CatalogueItem,
    Evaluation,
    Milestone,
    MilestoneState,
    Project,
    ProjectKind,
    ProjectState,
    ScoreSheet,
)
from portal.projects.permissions import assigned
from portal.ratings.queries import orgs_recent

bp = Blueprint("projects", __name__)
PER_PAGE = 30
S = ProjectState


def bureau_scopes() -> list[str]:
    """The areas the user serves as bureau (the whole city for an admin)."""
    if not current_user.is_authenticated:
        return []
    return current_user.scopes(Role.bureau) or (["2108"] if current_user.is_admin else [])


# --- the list -----------------------------------------------------------------------------------

@bp.route("/projects")
def project_list():
    """Open calls and results for everyone (信息公开); drafts too for the bureau of their area."""
    from portal.projects.api import projects_query

    services.sync_all_deadlines()
    db.session.commit()
    # the same query as the API's list, with its filters (?status=, ?kind=, ?area=)
    query = projects_query(current_user if current_user.is_authenticated else None)
    status = request.args.get("status") or None
    page = page_number()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(
        query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    scopes = bureau_scopes()
    return render_template("projects/list.html", rows=rows, total=total, page=page,
                           per_page=PER_PAGE, status=status, ProjectState=ProjectState,
                           may_create=any(can(current_user, "project.create", c)
                                          for c in scopes),
                           export_area=next((c for c in scopes
                                             if can(current_user, "catalogue.manage", c)),
                                            None))


# --- a new project --------------------------------------------------------------------------

def _area_choices(scopes: list[str]) -> list[Area]:
    """The bureau's own areas and the counties under them."""
    if not scopes:
        return []
    return db.session.scalars(sa.select(Area).where(sa.or_(
        Area.code.in_(scopes),
        sa.and_(Area.level == AreaLevel.county, sa.or_(*[under(Area.code, c)
                                                          for c in scopes]))))
        .order_by(Area.code)).all()


def _catalogue_choices(scopes: list[str]) -> list[CatalogueItem]:
    """Published items of the bureau's areas, of the areas above them and of those below."""
    above = {c[:n] for c in scopes for n in (4, 6, 9, 12) if n <= len(c)}
    return db.session.scalars(sa.select(CatalogueItem).where(
        CatalogueItem.published_at.is_not(None),
        sa.or_(CatalogueItem.area_code.in_(above), *[under(CatalogueItem.area_code, c)
                                                     for c in scopes]))
        .order_by(CatalogueItem.year.desc(), CatalogueItem.category, CatalogueItem.name)
        .limit(500)).all()


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def project_new():
    scopes = [c for c in bureau_scopes() if can(current_user, "project.create", c)]
    if not scopes:
        abort(403)
    form = ProjectForm()
    form.kind.choices = [(k.value, k.title) for k in ProjectKind]
    form.area_code.choices = place_choices(list(_area_choices(scopes)))
    form.catalogue_item_id.choices = [(0, _("None (venture philanthropy)"))] + [
        (i.id, f"{i.year} · {i.name} · {i.category} ({i.unit})")
        for i in _catalogue_choices(scopes)]
    _needs_to_answer(form, scopes)
    aliases = {"criteria": "criteria", "tiers": "tiers"}
    aliases.update({f"tiers.{i}": "tiers" for i in range(TIER_ROWS)})
    aliases.update({f"tiers.{i}.max_amount": "tiers" for i in range(TIER_ROWS)})

    def action():
        authorize(current_user, "project.create", form.area_code.data)
        criteria = [((row.form.name.data or "").strip(), row.form.weight.data or 0)
                    for row in form.criteria
                    if (row.form.name.data or "").strip() or row.form.weight.data is not None]
        tiers = [{"name": (row.form.name.data or "").strip(),
                  "max_amount": (row.form.max_amount.data or "").strip()}
                 for row in form.tiers
                 if (row.form.name.data or "").strip() or (row.form.max_amount.data or "").strip()]
        return services.create_project(services.ProjectInput(
            title=form.title.data, kind=form.kind.data, area_code=form.area_code.data,
            budget=form.budget.data.strip(), bid_deadline=form.bid_deadline.data,
            criteria=criteria, description=form.description.data or None,
            service_targets=form.service_targets.data or None,
            allow_filed=form.allow_filed.data,
            catalogue_item_id=form.catalogue_item_id.data or None,
            contract_months=form.contract_months.data, tiers=tiers,
            blind_review=form.blind_review.data, need_ids=form.need_ids.data or []),
            actor=current_user)

    project, status = submit(form, action, aliases)
    if project is not None:
        flash(_("The draft is saved. Publish it to open the call."), "success")
        return redirect(url_for("projects.project_show", project_id=project.id))
    return render_template("projects/new.html", form=form, rows=CRITERIA_ROWS), status


def _needs_to_answer(form, scopes: list[str]) -> None:
    """The call-drafting page starts from the needs waiting longest for a match (stale) in the
    area asked for (?area=, from the needs dashboard): listed, ticked, and named in the
    description; other verified needs of the area may be ticked too."""
    from portal.needs.models import Need, NeedState
    from portal.needs.queries import stale_needs

    area = request.args.get("area") if request.method == "GET" else form.area_code.data
    if not area or not any(area.startswith(s) for s in scopes):
        area = scopes[0] if scopes else None
    if area is None:
        return
    stale = stale_needs(area, limit=60)
    others = db.session.scalars(sa.select(Need).where(
        under(Need.community_code, area), Need.status.in_((NeedState.verified,
                                                           NeedState.matched)),
        Need.id.not_in([n.id for n in stale])).order_by(Need.supporters.desc()).limit(60)).all()
    form.need_ids.choices = [(n.id, f"#{n.id} {n.title}（{n.community.name}）") for n in
                             [*stale, *others]]
    if request.method == "GET" and request.args.get("area"):
        form.area_code.data = area
        form.kind.data = "venture_philanthropy"  # 公益创投: the usual answer to residents' needs
        form.allow_filed.data = True  # its default: filed (备案) groups may bid
        form.need_ids.data = [n.id for n in stale]
        if stale and not form.description.data:
            form.description.data = _("This call answers these residents' needs:") + "\n" + \
                "\n".join(f"- #{n.id} {n.title}（{n.community.name}）" for n in stale)


# --- a project --------------------------------------------------------------------------------

def _project_or_404(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or not can(current_user, "project.view", project):
        abort(404)
    services.sync_deadline(project)
    db.session.commit()
    return project


def _administered_orgs():
    """Active organisations the user administers (the bid form's choices)."""
    from portal.orgs.models import Org, OrgAdmin, OrgState

    if not current_user.is_authenticated:
        return []
    return db.session.scalars(sa.select(Org).join(OrgAdmin, OrgAdmin.org_id == Org.id).where(
        OrgAdmin.user_id == current_user.id, Org.status == OrgState.active)
        .order_by(Org.name)).all()


class Page:
    """The project page's forms, built once for GET and POST alike."""

    def __init__(self, project: Project):
        self.project = project
        self.manage = can(current_user, "project.manage", project)
        self.evaluate = can(current_user, "project.evaluate", project)
        self.publish, self.cancel = PublishForm(), CancelForm()
        self.assign, self.draw = AssignForm(), DrawForm()
        self.award, self.milestone = AwardForm(), MilestoneForm()
        if self.manage:
            from portal.charity.models import Fund, FundState

            covering = [project.area_code[:n] for n in (4, 6, 9, 12)
                        if n <= len(project.area_code)]
            self.award.cofund_fund.choices = [("", _("None"))] + [
                (fd.id, f"{fd.name} · {fd.balance:.2f}") for fd in db.session.scalars(
                    sa.select(Fund).where(Fund.status == FundState.open, Fund.balance > 0,
                                          sa.or_(Fund.area_code.in_(covering),
                                                 under(Fund.area_code, project.area_code)))
                    .order_by(Fund.name))]
        self.evaluation = EvaluationForm()
        self.bid = BidForm()
        self.pool = services.available_reviewers(project) if self.manage else []
        self.assign.reviewer.choices = [
            (m.user_id, (m.user.display_name or m.user.username)
             + (f" · {m.field}" if m.field else "")) for m in self.pool]
        self.orgs = _administered_orgs()
        # Bidding as the wrong organisation is easy when one is preselected: with more than
        # one, the admin chooses.
        self.bid.org.choices = ([("", _("Choose…"))] if len(self.orgs) > 1 else []) + \
            [(o.id, o.name) for o in self.orgs]
        tiers = [("", _("No tier"))] + [
            (t["name"], _("{name} (up to {amount} yuan)").format(name=t["name"],
                                                                  amount=yuan(t["max_amount"])))
            for t in project.tiers or []]
        self.bid.tier.choices = tiers
        self.bids = db.session.scalars(sa.select(Bid).where(
            Bid.project_id == project.id, Bid.status == BidState.submitted)
            .order_by(Bid.id)).all() if self.manage else []
        self.unscored = 0
        self.award.bid.choices = [("", _("Choose…"))] + self._award_choices(project)
        admin_of = {o.id for o in self.orgs} | self._admin_org_ids()
        self.own_bids = db.session.scalars(sa.select(Bid).where(
            Bid.project_id == project.id, Bid.org_id.in_(admin_of))
            .order_by(Bid.id)).all() if admin_of else []
        self.bid_forms, self.withdraw_forms, self.attach_forms = {}, {}, {}
        for b in self.own_bids:
            if b.status is BidState.submitted:
                f = BidEditForm(prefix=f"bid{b.id}")
                f.tier.choices = tiers
                if request.method == "GET":
                    f.amount.data, f.tier.data = f"{b.requested_amount:.2f}", b.tier or ""
                    f.proposal.data = b.proposal
                self.bid_forms[b.id] = f
                self.withdraw_forms[b.id] = WithdrawForm(prefix=f"bid{b.id}")
                self.attach_forms[b.id] = AttachForm(prefix=f"bid{b.id}")
        self.milestones = db.session.scalars(sa.select(Milestone).where(
            Milestone.project_id == project.id)
            .order_by(Milestone.due_on, Milestone.id)).all()
        self.report_forms, self.accept_forms = {}, {}
        for m in self.milestones:
            if m.status is not MilestoneState.accepted and can(current_user, "milestone.report",
                                                                m):
                self.report_forms[m.id] = ReportForm(prefix=f"m{m.id}")
            if m.status is MilestoneState.reported and self.manage:
                self.accept_forms[m.id] = AcceptForm(prefix=f"m{m.id}")

    def _award_choices(self, project) -> list[tuple[int, str]]:
        """The live bids in the ranking's order, each with its rank and score."""
        if not self.bids:
            return []
        from portal.projects.services import ranking

        amounts = {b.id: b.requested_amount for b in self.bids}
        choices = []
        ranked = self.ranked = ranking(project)  # the page's ranking table reads it too
        self.unscored = sum(1 for item in ranked if item["score"] is None)
        for n, item in enumerate(ranked, start=1):
            score = f"{item['score']:.2f}" if item["score"] is not None else _("not scored")
            choices.append((item["bid_id"], _("No. {n}, {score}: {org}, {amount} yuan").format(
                n=n, score=score, org=item["org_name"],
                amount=f"{amounts[item['bid_id']]:,.2f}")))
        return choices

    def _admin_org_ids(self) -> set[int]:
        from portal.orgs.models import OrgAdmin

        if not current_user.is_authenticated:
            return set()
        return set(db.session.scalars(sa.select(OrgAdmin.org_id).where(
            OrgAdmin.user_id == current_user.id)))


@bp.route("/projects/<int:project_id>", methods=["GET", "POST"])
def project_show(project_id: int):
    project = _project_or_404(project_id)
    if request.method == "POST" and not current_user.is_authenticated:
        abort(403)
    page = Page(project)
    status = 200
    if request.method == "POST":
        status = _project_post(page)
        if status == 200:
            return redirect(url_for("projects.project_show", project_id=project.id))
    return _render_project(page), status


def _project_post(page: Page) -> int:
    """One of the project page's forms, by its button. 200 = done; else the form's status."""
    project, form, actor = page.project, request.form, current_user
    done = _("Saved.")

    def manage():
        authorize(actor, "project.manage", project)

    if "publish" in form:
        manage()
        _done, status = submit(page.publish, lambda: services.publish(project, actor=actor))
        done = _("The call is published: organisations may bid until the deadline.")
    elif "cancel" in form:
        manage()
        _done, status = submit(page.cancel, lambda: services.cancel(
            project, page.cancel.cancel_reason.data, actor=actor), {"reason": "cancel_reason"})
        done = _("The project is cancelled.")
    elif "assign" in form:
        manage()
        _done, status = submit(page.assign, lambda: services.assign_reviewer(
            project, db.session.get(User, page.assign.reviewer.data), actor=actor),
            {"user_id": "reviewer"})
        done = _("The reviewer is assigned.")
    elif "draw" in form:
        manage()
        _done, status = submit(page.draw, lambda: services.draw_reviewers(
            project, page.draw.count.data, actor=actor))
        done = _("The reviewers are drawn.")
    elif "award" in form:
        manage()
        f = page.award
        co_funding = [{"fund_id": f.cofund_fund.data, "amount": f.cofund_amount.data}] \
            if f.cofund_fund.data else None
        _done, status = submit(f, lambda: services.award(
            project, f.bid.data, actor=actor, amount=(f.award_amount.data or "").strip() or None,
            contract_start=f.contract_start.data, contract_end=f.contract_end.data,
            co_funding=co_funding),
            {"bid_id": "bid", "amount": "award_amount", "co_funding.0.fund_id": "cofund_fund",
             "co_funding.0.amount": "cofund_amount"})
        done = _("Awarded: the winner and the amount are now public.")
    elif "add_milestone" in form:
        manage()
        f = page.milestone
        _done, status = submit(f, lambda: services.add_milestone(
            project, f.milestone_title.data, f.due_on.data, actor=actor),
            {"title": "milestone_title"})
        done = _("The milestone is added.")
    elif "evaluate" in form:
        authorize(actor, "project.evaluate", project)
        f = page.evaluation
        _done, status = submit(f, lambda: services.evaluate(
            project, f.eval_score.data, f.eval_comment.data or None, None, actor=actor),
            {"score": "eval_score", "grade": "eval_score"})
        done = _("The evaluation is recorded and the project closed.")
    elif "place_bid" in form:
        status = _place_bid(page)
        done = _("Your bid is submitted. You may edit it, add attachments or withdraw it until "
                 "the deadline.")
    else:
        status = _prefixed_post(page)
    if status == 200:
        flash(done, "success")
    else:
        db.session.expire_all()
    return status


def _place_bid(page: Page) -> int:
    from portal.orgs.models import Org

    f = page.bid

    def action():
        org = db.session.get(Org, f.org.data)
        if org is None:
            raise ValidationFailed.on("org_id", _("No such organisation."))
        authorize(current_user, "bid.create", org)
        bid = services.submit_bid(page.project, org, amount=f.requested_amount.data.strip(),
                                  proposal=f.proposal.data or None, tier=f.tier.data or None,
                                  actor=current_user)
        upload = f.attachment.data
        if upload and getattr(upload, "filename", None):
            # With the bid, in its transaction: a refused file refuses the bid, by its field.
            services.add_attachment(bid, upload.filename, upload.read(), actor=current_user)
        return bid

    if not page.orgs:
        abort(403)
    _done, status = submit(f, action, {"org_id": "org", "file": "attachment"})
    return status


def _pressed(forms: dict, button: str):
    """The (id, form) whose prefixed button was pressed, or (None, None)."""
    for object_id, f in forms.items():
        if getattr(f, button).name in request.form:
            return object_id, f
    return None, None


def _prefixed_post(page: Page) -> int:
    """The forms that exist once per bid or milestone: bid<id>-save_bid, m<id>-accept …"""
    actor = current_user
    bid_id, f = _pressed(page.bid_forms, "save_bid")
    if f is not None:
        bid = db.session.get(Bid, bid_id)
        authorize(actor, "bid.edit", bid)
        return submit(f, lambda: services.update_bid(
            bid, amount=f.amount.data.strip(), proposal=f.proposal.data or "",
            tier=f.tier.data or None, actor=actor), {"requested_amount": "amount"})[1]
    bid_id, w = _pressed(page.withdraw_forms, "withdraw")
    if w is not None:
        bid = db.session.get(Bid, bid_id)
        authorize(actor, "bid.edit", bid)
        return submit(w, lambda: services.withdraw_bid(bid, actor=actor))[1]
    bid_id, at = _pressed(page.attach_forms, "attach")
    if at is not None:
        bid = db.session.get(Bid, bid_id)
        authorize(actor, "bid.edit", bid)
        upload = at.file.data
        return submit(at, lambda: services.add_attachment(
            bid, getattr(upload, "filename", None), upload.read() if upload else b"",
            actor=actor))[1]
    milestone_id, r = _pressed(page.report_forms, "send_report")
    if r is not None:
        milestone = db.session.get(Milestone, milestone_id)
        authorize(actor, "milestone.report", milestone)
        upload = r.report_file.data
        return submit(r, lambda: services.report_milestone(
            milestone, r.report.data, actor=actor,
            filename=getattr(upload, "filename", None),
            content=upload.read() if upload else None), {"file": "report_file"})[1]
    milestone_id, a = _pressed(page.accept_forms, "accept")
    if a is not None:
        milestone = db.session.get(Milestone, milestone_id)
        authorize(actor, "project.manage", milestone.project)
        return submit(a, lambda: services.accept_milestone(
            milestone, a.accept_comment.data or None, actor=actor),
            {"comment": "accept_comment"})[1]
    abort(400)


def _render_project(page: Page) -> str:
    project = page.project
    shown = project.status in (S.awarded, S.in_progress, S.closed)
    evaluation = db.session.scalars(sa.select(Evaluation).where(
        Evaluation.project_id == project.id)).first() if shown else None
    reviewers, ranking, sheets = [], [], []
    if page.manage:
        reviewers = db.session.scalars(sa.select(Assignment).where(
            Assignment.project_id == project.id).order_by(Assignment.id)).all()
        if project.status is not S.draft:
            ranking = getattr(page, "ranked", None) or services.ranking(project)
            sheets = db.session.scalars(
                sa.select(ScoreSheet).join(Bid, Bid.id == ScoreSheet.bid_id)
                .where(Bid.project_id == project.id)
                .order_by(ScoreSheet.bid_id, ScoreSheet.id)).all()
    excellent, good, fair = current_app.config["GRADE_THRESHOLDS"]
    return render_template(
        "projects/show.html", p=project, page=page, S=S, BidState=BidState,
        MilestoneState=MilestoneState, evaluation=evaluation, reviewers=reviewers,
        ranking=ranking, sheets=sheets, grades=(excellent, good, fair),
        hours=services.volunteer_minutes(project) / 60 if shown else None,
        reviewer=assigned(current_user if current_user.is_authenticated else None, project),
        open_for_bids=project.status is S.open and project.bid_deadline > utcnow())


# --- the review page -------------------------------------------------------------------------

@bp.route("/projects/<int:project_id>/review", methods=["GET", "POST"])
@login_required
def project_review(project_id: int):
    """An assigned reviewer's bids: a conflict of interest first, then a score per criterion.
    Nobody else's scores are shown."""
    project = _project_or_404(project_id)
    from portal.projects.permissions import sealed

    if not assigned(current_user, project):
        abort(403)
    # Bids are sealed until bidding closes: reviewers see them from `reviewing` on.
    bids = [] if sealed(project) else db.session.scalars(sa.select(Bid).where(
        Bid.project_id == project.id, Bid.status == BidState.submitted).order_by(Bid.id)).all()
    mine = {s.bid_id: s for s in db.session.scalars(sa.select(ScoreSheet).where(
        ScoreSheet.reviewer_id == current_user.id,
        ScoreSheet.bid_id.in_([b.id for b in bids])))} if bids else {}
    forms = {b.id: score_form(project.criteria, f"bid{b.id}") for b in bids if b.id not in mine}
    status = 200
    if request.method == "POST":
        bid_id = next((i for i, f in forms.items() if f.send_scores.name in request.form), None)
        if bid_id is None:
            abort(400)
        bid, f = db.session.get(Bid, bid_id), forms[bid_id]
        authorize(current_user, "bid.score", bid)
        names = [c.name for c in project.criteria]

        def action():
            conflict = f.conflict.data == "yes"
            scores = None if conflict else {
                name: getattr(f, f"score_{i}").data for i, name in enumerate(names)
                if getattr(f, f"score_{i}").data is not None}
            return services.submit_scores(bid, reviewer=current_user, conflict=conflict,
                                          scores=scores, comment=f.comment.data or None)

        aliases = {f"scores.{name}": f"score_{i}" for i, name in enumerate(names)}
        sheet, status = submit(f, action, aliases)
        if sheet is not None:
            flash(_("Your sheet is submitted."), "success")
            return redirect(url_for("projects.project_review", project_id=project.id)
                            + f"#bid-{bid_id}")
        db.session.expire_all()
    # Each bidder's 好差评 of the last 12 months, unless the review is blind (they would tell
    # who bid).
    rated = {} if project.blind_review or not bids else orgs_recent(b.org_id for b in bids)
    return render_template("projects/review.html", p=project, bids=bids, mine=mine,
                           forms=forms, S=S, sealed=sealed(project), rated=rated), status


# --- the catalogue ----------------------------------------------------------------------------

@bp.route("/catalogue", methods=["GET", "POST"])
def catalogue():
    """The published catalogue for everyone; the bureau adds items and publishes the year's."""
    this_year = utcnow().astimezone(SHANGHAI).year
    year = request.args.get("year", type=int) or this_year
    if not 2000 <= year <= 2100:
        year = this_year
    scopes = [c for c in bureau_scopes() if can(current_user, "catalogue.manage", c)]
    areas = db.session.scalars(sa.select(Area).where(Area.code.in_(scopes))
                               .order_by(Area.code)).all() if scopes else []
    area = request.args.get("area") if request.args.get("area") in scopes else \
        (areas[0].code if areas else None)
    add, publish = CatalogueItemForm(), PublishCatalogueForm()
    add.area.choices = place_choices(list(areas))
    if request.method == "GET":
        add.year.data, add.area.data = year, area
    status = 200
    if request.method == "POST":
        if not scopes:
            abort(403)
        if "publish_catalogue" in request.form:
            authorize(current_user, "catalogue.manage", area)
            count, status = submit(publish, lambda: services.publish_catalogue(
                area, year, actor=current_user))
            if status == 200:
                flash(_("{n} items published.").format(n=count), "success")
        elif "add_item" in request.form:
            def action():
                authorize(current_user, "catalogue.manage", add.area.data)
                return services.add_catalogue_item(add.area.data, add.year.data, add.name.data,
                                                   add.category.data, add.unit.data,
                                                   actor=current_user)

            item, status = submit(add, action)
            if item is not None:
                flash(_("Added {name}.").format(name=item.name), "success")
                return redirect(url_for("projects.catalogue", area=item.area_code,
                                        year=item.year))
        else:
            abort(400)
        if status == 200:
            return redirect(url_for("projects.catalogue", area=area, year=year))
    own = db.session.scalars(sa.select(CatalogueItem).where(
        CatalogueItem.area_code == area, CatalogueItem.year == year)
        .order_by(CatalogueItem.category, CatalogueItem.name)).all() if area else []
    public = db.session.scalars(sa.select(CatalogueItem).where(
        CatalogueItem.published_at.is_not(None), CatalogueItem.year == year)
        .order_by(CatalogueItem.area_code, CatalogueItem.category, CatalogueItem.name)
        .limit(1000)).all()
    names = dict(db.session.execute(sa.select(Area.code, Area.name).where(
        Area.code.in_({i.area_code for i in public}))).all()) if public else {}
    years = sorted(set(db.session.scalars(sa.select(CatalogueItem.year).distinct().where(
        CatalogueItem.published_at.is_not(None)))) | {this_year, year}, reverse=True)
    return render_template("projects/catalogue.html", year=year, years=years, area=area,
                           areas=areas, own=own, public=public, names=names, add=add,
                           publish=publish,
                           unpublished=sum(1 for i in own if i.published_at is None)), status


# --- the reviewer pool ------------------------------------------------------------------------

@bp.route("/reviewer-pool", methods=["GET", "POST"])
@login_required
def reviewer_pool():
    """The bureau's pool of expert reviewers (评审专家库): who may be assigned or drawn."""
    from portal.projects.models import PoolMember

    scopes = [c for c in bureau_scopes() if can(current_user, "catalogue.manage", c)]
    if not scopes:
        abort(403)
    areas = db.session.scalars(sa.select(Area).where(Area.code.in_(scopes))
                               .order_by(Area.code)).all()
    form = PoolForm()
    form.area.choices = place_choices(list(areas))

    def action():
        authorize(current_user, "catalogue.manage", form.area.data)
        user = db.session.scalar(sa.select(User).where(
            User.username == form.username.data.strip()))
        if user is None:
            raise ValidationFailed.on("username", _("No such account."))
        return services.add_to_pool(form.area.data, user, actor=current_user,
                                    expertise=form.expertise.data or None)

    member, status = submit(form, action, {"user_id": "username"})
    if member is not None:
        flash(_("Added to the pool."), "success")
        return redirect(url_for("projects.reviewer_pool"))
    members = db.session.scalars(sa.select(PoolMember).where(PoolMember.area_code.in_(scopes))
                                 .order_by(PoolMember.area_code, PoolMember.id)).all()
    return render_template("projects/pool.html", form=form, members=members), status


@bp.app_template_global("my_reviews")
def my_reviews() -> list[dict]:
    """The projects the signed-in reviewer is assigned to (for the home page), latest first,
    each with how many of its live bids they have scored (or declared a conflict on)."""
    if not current_user.is_authenticated:
        return []
    projects = db.session.scalars(sa.select(Project).join(
        Assignment, Assignment.project_id == Project.id).where(
        Assignment.user_id == current_user.id, Project.status != S.cancelled)
        .order_by(Project.bid_deadline.desc()).limit(20)).all()
    ids = [p.id for p in projects]
    live = dict(db.session.execute(
        sa.select(Bid.project_id, sa.func.count()).where(
            Bid.project_id.in_(ids), Bid.status == BidState.submitted)
        .group_by(Bid.project_id)).all()) if ids else {}
    done = dict(db.session.execute(
        sa.select(Bid.project_id, sa.func.count()).join(ScoreSheet, ScoreSheet.bid_id == Bid.id)
        .where(Bid.project_id.in_(ids), Bid.status == BidState.submitted,
               ScoreSheet.reviewer_id == current_user.id)
        .group_by(Bid.project_id)).all()) if ids else {}
    return [{"project": p, "bids": live.get(p.id, 0), "scored": done.get(p.id, 0)}
            for p in projects]


@bp.app_template_filter("yuan")
def yuan(value) -> str:
    """An amount in yuan, two decimals and thousands separators: 50,000.00."""
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):,.2f}"
