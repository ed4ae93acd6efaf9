"""Projects: every state change and every rule, for pages and API alike. The caller commits.

Checks run in the contract's order: the caller has been authorised; then the values (422);
then the state (409). States move by conditional UPDATEs (portal/core/states.py), so a second
award or publication racing the first finds the state changed and gets 409.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from portal.core.audit import record
from portal.core.db import SHANGHAI, aware, utcnow
from portal.core.errors import Conflict, ValidationFailed
from portal.core.money import parse_money
from portal.core.states import transition
from portal.extensions import db
from portal.projects.models import (
    Assignment,
    Bid,
    BidAttachment,
    BidState,
    CatalogueItem,
    Criterion,
    Evaluation,
    Milestone,
    MilestoneState,
    PoolMember,
    Project,
    ProjectKind,
    ProjectState,
    ScoreSheet,
    money,
)

S = ProjectState
MOVES = {
    S.draft: {S.open, S.cancelled},
    S.open: {S.reviewing, S.cancelled},
    S.reviewing: {S.awarded, S.cancelled},
    S.awarded: {S.in_progress, S.closed},
    S.in_progress: {S.closed},
}
GRADES = ("优", "良", "中", "差")


# --- the catalogue (目录清单) -------------------------------------------------------------------

def _area_exists(area_code: str) -> None:
    from portal.core.areas import Area

    if db.session.get(Area, area_code) is None:
        raise ValidationFailed.on("area_code", _("No such area."))


def add_catalogue_item(area_code: str, year: int, name: str, category: str, unit: str, *,
                       actor) -> CatalogueItem:
    _area_exists(area_code)
    errors = {}
    for key, value in (("name", name), ("category", category), ("unit", unit)):
        if not (value or "").strip():
            errors[key] = [_("This field is required.")]
    if not 2000 <= (year or 0) <= 2100:
        errors["year"] = [_("A year like 2026.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    item = CatalogueItem(area_code=area_code, year=year, name=name.strip(),
                         category=category.strip(), unit=unit.strip(), created_by=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(item)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("The catalogue of this year already lists this service.")) from None
    record(actor, "catalogue", item.id, "create", to=f"{year} {item.name}", area_code=area_code)
    return item


def publish_catalogue(area_code: str, year: int, *, actor) -> int:
    count = db.session.execute(
        sa.update(CatalogueItem)
        .where(CatalogueItem.area_code == area_code, CatalogueItem.year == year,
               CatalogueItem.published_at.is_(None))
        .values(published_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    record(actor, "area", area_code, "publish_catalogue", to=f"{year}: {count}",
           area_code=area_code)
    return count


# --- projects ----------------------------------------------------------------------------------

@dataclass
class ProjectInput:
    title: str | None
    kind: str | None
    area_code: str | None
    budget: object
    bid_deadline: datetime | None
    criteria: list[tuple[str, int]] = field(default_factory=list)
    description: str | None = None
    service_targets: str | None = None
    allow_filed: bool | None = None
    catalogue_item_id: int | None = None
    year: int | None = None
    contract_months: int | None = None
    tiers: list[dict] = field(default_factory=list)
    blind_review: bool = False
    need_ids: list[int] = field(default_factory=list)  # the needs it answers (需求清单)


def _check_criteria(criteria: list[tuple[str, int]], errors: dict) -> None:
    names = [(name or "").strip() for name, _w in criteria]
    if not criteria:
        errors["criteria"] = [_("Give at least one review criterion.")]
    elif any(not n for n in names) or len(set(names)) != len(names):
        errors["criteria"] = [_("Each criterion needs its own name.")]
    elif any(not 0 < w <= 100 for _n, w in criteria):
        errors["criteria"] = [_("Each weight is between 1 and 100.")]
    elif sum(w for _n, w in criteria) != 100:
        errors["criteria"] = [_("The weights must add up to 100 (now {n}).").format(
            n=sum(w for _n, w in criteria))]


def create_project(data: ProjectInput, *, actor) -> Project:
    from portal.core.areas import Area, covers

    errors: dict[str, list[str]] = {}
    title = (data.title or "").strip()
    if not title:
        errors["title"] = [_("This field is required.")]
    try:
        kind = ProjectKind(data.kind)
    except ValueError:
        kind = None
        errors["kind"] = [_("Not one of the allowed values.")]
    area = db.session.get(Area, data.area_code) if data.area_code else None
    if area is None:
        errors["area_code"] = [_("No such area.")]
    budget = None
    try:
        budget = parse_money(data.budget, "budget")
    except ValidationFailed as exc:
        errors.update(exc.fields)
    deadline = aware(data.bid_deadline)
    if deadline is None:
        errors["bid_deadline"] = [_("This field is required.")]
    elif not 2000 <= deadline.year <= 2100:
        errors["bid_deadline"] = [_("A date between 2000 and 2100.")]
        deadline = None
    _check_criteria(data.criteria, errors)
    year = data.year or (deadline.astimezone(SHANGHAI).year if deadline else None)
    allow_filed = data.allow_filed
    if kind is ProjectKind.government_purchase:
        if allow_filed:
            errors["allow_filed"] = [_("A government purchase needs a supplier that is a legal "
                                       "person: filed groups cannot bid.")]
        allow_filed = False
        item = db.session.get(CatalogueItem, data.catalogue_item_id) \
            if data.catalogue_item_id else None
        if item is None:
            errors["catalogue_item_id"] = [_("A government purchase names an item of the "
                                             "year's catalogue.")]
        elif item.published_at is None or item.year != year or area is None \
                or not covers(item.area_code, area.code):
            errors["catalogue_item_id"] = [_("Not in the published catalogue of {year} for "
                                             "this area.").format(year=year)]
    elif kind is ProjectKind.venture_philanthropy:
        allow_filed = True if allow_filed is None else allow_filed
    months = data.contract_months
    if months is not None and not 1 <= months <= current_app.config["MAX_CONTRACT_MONTHS"]:
        errors["contract_months"] = [_("Between 1 and {n} months.").format(
            n=current_app.config["MAX_CONTRACT_MONTHS"])]
    tiers = []
    for i, tier in enumerate(data.tiers or []):
        name = str(tier.get("name") or "").strip()
        try:
            cap = parse_money(tier.get("max_amount"), f"tiers.{i}.max_amount")
        except ValidationFailed as exc:
            errors.update(exc.fields)
            continue
        if not name or (budget is not None and cap > budget):
            errors[f"tiers.{i}"] = [_("A tier has a name and a ceiling within the budget.")]
        tiers.append({"name": name, "max_amount": money(cap)})
    from portal.needs.services import check_citable, cite

    need_ids = check_citable(area.code if area else None, data.need_ids, errors)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    project = Project(
        title=title[:200], kind=kind, area_code=area.code, year=year,
        catalogue_item_id=data.catalogue_item_id if kind is ProjectKind.government_purchase
        else None, budget=budget, description=data.description,
        service_targets=data.service_targets, contract_months=months, tiers=tiers,
        bid_deadline=deadline, allow_filed=bool(allow_filed), blind_review=data.blind_review,
        created_by=actor.id)
    project.criteria = [Criterion(position=i, name=n.strip(), weight=w)
                        for i, (n, w) in enumerate(data.criteria)]
    db.session.add(project)
    db.session.flush()
    cite(project, need_ids)
    record(actor, "project", project.id, "create", to=money(budget), area_code=area.code)
    return project


def sync_deadline(project: Project, now: datetime | None = None) -> Project:
    """An open project turns `reviewing` at its bid deadline, by itself: whoever reads it
    first after the deadline makes the move (a conditional UPDATE: only once)."""
    now = now or utcnow()
    if project.status is S.open and now >= project.bid_deadline:
        changed = db.session.execute(
            sa.update(Project).where(Project.id == project.id, Project.status == S.open)
            .values(status=S.reviewing).execution_options(synchronize_session=False)).rowcount
        if changed == 1:
            record(None, "project", project.id, "deadline", from_=S.open.value,
                   to=S.reviewing.value, area_code=project.area_code)
        db.session.expire(project, ["status"])
    return project


def sync_all_deadlines(now: datetime | None = None) -> int:
    """The same for every project past its deadline (lists; `flask projects tick` from cron)."""
    now = now or utcnow()
    due = db.session.scalars(sa.select(Project).where(Project.status == S.open,
                                                      Project.bid_deadline <= now)).all()
    for project in due:
        sync_deadline(project, now)
    return len(due)


def move(project: Project, to: ProjectState, *, actor, reason: str | None = None,
         action: str = "transition") -> Project:
    transition(project, to, MOVES, actor=actor, object_type="project",
               area_code=project.area_code, reason=reason, action=action)
    return project


def publish(project: Project, *, actor) -> Project:
    if project.status is S.draft and project.bid_deadline <= utcnow():
        raise Conflict(_("The bid deadline has passed: set a later one first."))
    move(project, S.open, actor=actor, action="publish")
    project.published_at = utcnow()
    from portal.needs.services import project_published

    project_published(project, actor=actor)
    return project


def cancel(project: Project, reason: str | None, *, actor) -> Project:
    sync_deadline(project)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.on("reason", _("Say why the project is cancelled."))
    move(project, S.cancelled, actor=actor, reason=reason, action="cancel")
    project.cancel_reason = reason
    return project


# --- bids ----------------------------------------------------------------------------------------

def _check_amount(project: Project, value, tier: str | None) -> tuple[Decimal, str | None]:
    amount = parse_money(value, "requested_amount")
    if amount > project.budget:
        raise ValidationFailed.on("requested_amount", _(
            "At most the budget, {budget} yuan.").format(budget=money(project.budget)))
    if project.tiers:
        chosen = next((t for t in project.tiers if t["name"] == tier), None)
        if tier and chosen is None:
            raise ValidationFailed.on("tier", _("Not one of the allowed values."))
        if chosen and amount > Decimal(chosen["max_amount"]):
            raise ValidationFailed.on("requested_amount", _(
                "At most the tier's ceiling, {cap} yuan.").format(cap=chosen["max_amount"]))
    return amount, tier


def _check_bidder(project: Project, org) -> None:
    from portal.orgs.models import OrgState, Registration

    if org.status is not OrgState.active:
        raise ValidationFailed.on("org_id", _("Only an active organisation may bid."))
    if org.registration is Registration.filed:
        if project.kind is ProjectKind.government_purchase:
            raise ValidationFailed.on("org_id", _(
                "A government purchase needs a supplier that is a legal person: a filed "
                "(备案) group cannot bid."))
        if not project.allow_filed:
            raise ValidationFailed.on("org_id", _("This call is open to registered (登记) "
                                                  "organisations only."))


def _open_for_bids(project: Project) -> None:
    sync_deadline(project)
    if project.status is not S.open:
        raise Conflict(_("The project is not open for bids ({state}).").format(
            state=project.status.title))


def submit_bid(project: Project, org, *, amount, proposal: str | None, actor,
               tier: str | None = None) -> Bid:
    amount, tier = _check_amount(project, amount, tier)
    _check_bidder(project, org)
    _open_for_bids(project)
    bid = Bid(project_id=project.id, org_id=org.id, requested_amount=amount, tier=tier,
              proposal=proposal, created_by=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(bid)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("This organisation has already bid on this project.")) from None
    record(actor, "project", project.id, "bid", to=f"{org.name}: {money(amount)}",
           area_code=project.area_code)
    return bid


def update_bid(bid: Bid, *, amount=None, proposal: str | None = None, tier: str | None = None,
               actor) -> Bid:
    """Editable until the deadline."""
    project = bid.project
    if amount is not None:
        bid.requested_amount, bid.tier = _check_amount(project, amount, tier or bid.tier)
    if proposal is not None:
        bid.proposal = proposal
    _open_for_bids(project)
    if bid.status is not BidState.submitted:
        raise Conflict(_("This bid has been withdrawn."))
    bid.updated_at = utcnow()
    record(actor, "project", project.id, "edit_bid",
           to=f"{bid.org.name}: {money(bid.requested_amount)}", area_code=project.area_code)
    return bid


def withdraw_bid(bid: Bid, *, actor) -> Bid:
    _open_for_bids(bid.project)
    changed = db.session.execute(
        sa.update(Bid).where(Bid.id == bid.id, Bid.status == BidState.submitted)
        .values(status=BidState.withdrawn, updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("This bid has been withdrawn."))
    db.session.expire(bid)
    record(actor, "project", bid.project_id, "withdraw_bid", to=bid.org.name,
           area_code=bid.project.area_code)
    return bid


def add_attachment(bid: Bid, filename: str | None, content: bytes, *, actor) -> BidAttachment:
    from portal.core.uploads import check_upload, store

    limit = current_app.config["ORG_DOCUMENT_MAX_MB"]
    check_upload(filename, content, limit)
    _open_for_bids(bid.project)
    stored = store(filename, content, limit)
    attachment = BidAttachment(bid_id=bid.id, filename=stored.filename,
                               content_type=stored.content_type, size=stored.size,
                               storage_key=stored.storage_key, uploaded_by=actor.id)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def poor_grade_orgs(org_ids) -> set[int]:
    """Organisations whose last evaluated project was graded 差: flagged on their next bids."""
    ids = set(org_ids)
    if not ids:
        return set()
    latest = (sa.select(Evaluation.org_id, sa.func.max(Evaluation.id).label("last"))
              .where(Evaluation.org_id.in_(ids)).group_by(Evaluation.org_id).subquery())
    rows = db.session.execute(sa.select(Evaluation.org_id).join(
        latest, latest.c.last == Evaluation.id).where(Evaluation.grade == "差")).scalars()
    return set(rows)


# --- reviewers -----------------------------------------------------------------------------------

def add_to_pool(area_code: str, user, *, actor, expertise: str | None = None) -> PoolMember:
    from portal.core.users import Role, grant_role

    _area_exists(area_code)
    member = PoolMember(area_code=area_code, user_id=user.id, field=expertise,
                        added_by=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(member)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("Already in the pool.")) from None
    grant_role(user, Role.reviewer, actor=actor)
    record(actor, "area", area_code, "pool_add", to=user.username, area_code=area_code)
    return member


def _pool_query(project: Project):
    """Pool members of the project's area or of an area above it (the county's, the city's)."""
    codes = [project.area_code[:n] for n in (4, 6, 9, 12) if len(project.area_code) >= n]
    return sa.select(PoolMember).where(PoolMember.area_code.in_(codes))


def assign_reviewer(project: Project, user, *, actor, drawn: bool = False) -> Assignment:
    from portal.core.users import Role

    if user is None or not user.active:
        raise ValidationFailed.on("user_id", _("No such account."))
    in_pool = db.session.scalars(_pool_query(project)
                                 .where(PoolMember.user_id == user.id)).first()
    if in_pool is None and not user.has_role(Role.reviewer):
        raise ValidationFailed.on("user_id", _("Not an expert reviewer of the pool."))
    if project.status not in (S.draft, S.open, S.reviewing):
        raise Conflict(_("Reviewers can no longer be assigned ({state}).").format(
            state=project.status.title))
    assignment = Assignment(project_id=project.id, user_id=user.id, drawn=drawn,
                            assigned_by=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(assignment)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("This reviewer is already assigned.")) from None
    record(actor, "project", project.id, "assign_reviewer",
           to=f"{user.username}{' (drawn)' if drawn else ''}", area_code=project.area_code)
    return assignment


def available_reviewers(project: Project) -> list[PoolMember]:
    """The pool members who may still be assigned to the project: active, not yet assigned,
    one row per person (the nearest area's row when a person is in several pools)."""
    taken = sa.select(Assignment.user_id).where(Assignment.project_id == project.id)
    candidates = db.session.scalars(_pool_query(project)
                                    .where(PoolMember.user_id.not_in(taken))
                                    .order_by(sa.func.length(PoolMember.area_code),
                                              PoolMember.id)).all()
    return list({m.user_id: m for m in candidates if m.user.active}.values())


def draw_reviewers(project: Project, count: int, *, actor) -> list[Assignment]:
    """Draw `count` reviewers at random from the pool (those not yet assigned)."""
    users = [m.user for m in available_reviewers(project)]
    if count < 1:
        raise ValidationFailed.on("count", _("Out of range."))
    if len(users) < count:
        raise ValidationFailed.on("count", _("The pool has only {n} reviewers left to draw.")
                                  .format(n=len(users)))
    chosen = random.SystemRandom().sample(users, count)
    return [assign_reviewer(project, u, actor=actor, drawn=True) for u in chosen]


# --- scores and ranking ----------------------------------------------------------------------

def submit_scores(bid: Bid, *, reviewer, conflict: bool, scores: dict | None,
                  comment: str | None) -> ScoreSheet:
    project = bid.project
    weighted = None
    clean: dict[str, int] = {}
    if not conflict and reviewer.id in bid.org.admin_ids():
        raise ValidationFailed.on("conflict_of_interest", _(
            "You manage the organisation that made this bid: declare the conflict of interest."))
    if not conflict:
        weights = {c.name: c.weight for c in project.criteria}
        scores = scores or {}
        errors: dict[str, list[str]] = {}
        for name in weights:
            value = scores.get(name)
            if value is None:
                errors[f"scores.{name}"] = [_("This field is required.")]
            elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                errors[f"scores.{name}"] = [_("A whole number from 0 to 100.")]
            else:
                clean[name] = value
        for name in scores:
            if name not in weights:
                errors[f"scores.{name}"] = [_("Not a criterion of this project.")]
        if errors:
            raise ValidationFailed(_("Please correct the marked fields."), errors)
        weighted = sum(Decimal(clean[n]) * weights[n] for n in weights) / 100
    sync_deadline(project)
    if project.status is not S.reviewing:
        raise Conflict(_("Scores are taken only while the project is under review."))
    if bid.status is not BidState.submitted:
        raise Conflict(_("This bid has been withdrawn."))
    sheet = ScoreSheet(bid_id=bid.id, reviewer_id=reviewer.id, conflict_of_interest=conflict,
                       scores=clean, weighted=weighted, comment=comment)
    try:
        with db.session.begin_nested():
            db.session.add(sheet)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("You have already scored this bid.")) from None
    record(reviewer, "project", project.id,
           "conflict_declared" if conflict else "score", to=f"bid {bid.id}",
           area_code=project.area_code)
    return sheet


TWO_PLACES = Decimal("0.01")


def ranking(project: Project) -> list[dict]:
    """Per live bid: the mean over its scoring reviewers of Σ(score × weight)/100, rounded
    half-up to two decimals (None when nobody scored); those who declared a conflict are left
    out. Highest first."""
    bids = db.session.scalars(sa.select(Bid).where(Bid.project_id == project.id,
                                                   Bid.status == BidState.submitted)).all()
    sheets = db.session.scalars(sa.select(ScoreSheet).where(
        ScoreSheet.bid_id.in_([b.id for b in bids]))).all() if bids else []
    by_bid: dict[int, list[ScoreSheet]] = {}
    for sheet in sheets:
        by_bid.setdefault(sheet.bid_id, []).append(sheet)
    flagged = poor_grade_orgs(b.org_id for b in bids)
    from portal.ratings.queries import orgs_recent

    rated = orgs_recent(b.org_id for b in bids)  # 好差评 of the last 12 months, beside it
    items = []
    for bid in bids:
        scoring = [s for s in by_bid.get(bid.id, []) if not s.conflict_of_interest]
        score = None
        if scoring:
            total = sum((Decimal(s.weighted) for s in scoring), Decimal(0))
            score = (total / len(scoring)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        items.append({"bid_id": bid.id, "org_id": bid.org_id, "org_name": bid.org.name,
                      "requested_amount": money(bid.requested_amount),
                      "score": float(score) if score is not None else None,
                      "reviewers": len(scoring),
                      "conflicts": sum(1 for s in by_bid.get(bid.id, [])
                                       if s.conflict_of_interest),
                      "poor_grade_before": bid.org_id in flagged,
                      "ratings": rated.get(bid.org_id), "_score": score})
    items.sort(key=lambda i: (i["_score"] is None, -(i["_score"] or 0), i["bid_id"]))
    for item in items:
        item.pop("_score")
    return items


# --- award, milestones, evaluation -----------------------------------------------------------

def award(project: Project, bid_id: int | None, *, actor, amount=None,
          contract_start: date | None = None, contract_end: date | None = None,
          co_funding=None) -> Project:
    """Award to one bid. `co_funding` [{fund_id, amount}]: each fund pays its part to the
    project in this transaction (a fund short of it: 409, and nothing is awarded)."""
    bid = db.session.get(Bid, bid_id) if bid_id else None
    if bid is None or bid.project_id != project.id or bid.status is not BidState.submitted:
        raise ValidationFailed.on("bid_id", _("Not a bid on this project."))
    value = parse_money(amount, "amount") if amount is not None else bid.requested_amount
    if value > project.budget:
        raise ValidationFailed.on("amount", _("At most the budget, {budget} yuan.").format(
            budget=money(project.budget)))
    if contract_start and contract_end and contract_end < contract_start:
        raise ValidationFailed.on("contract_end", _("The end must be after the start."))
    sync_deadline(project)
    move(project, S.awarded, actor=actor, action="award")
    project.awarded_bid_id, project.award_amount = bid.id, value
    project.contract_start, project.contract_end = contract_start, contract_end
    project.awarded_at = utcnow()
    record(actor, "project", project.id, "award_to", to=f"{bid.org.name}: {money(value)}",
           area_code=project.area_code)
    if co_funding:
        from portal.charity.ledger import co_fund

        co_fund(project, co_funding, actor=actor)
    return project


def add_milestone(project: Project, title: str | None, due_on: date | None, *,
                  actor) -> Milestone:
    errors = {}
    if not (title or "").strip():
        errors["title"] = [_("This field is required.")]
    if due_on is None:
        errors["due_on"] = [_("This field is required.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    if project.status is S.awarded:
        move(project, S.in_progress, actor=actor, action="start")
    elif project.status is not S.in_progress:
        raise Conflict(_("Milestones belong to an awarded project ({state}).").format(
            state=project.status.title))
    milestone = Milestone(project_id=project.id, title=title.strip()[:200], due_on=due_on)
    db.session.add(milestone)
    db.session.flush()
    record(actor, "project", project.id, "milestone", to=f"{milestone.title} {due_on}",
           area_code=project.area_code)
    return milestone


def report_milestone(milestone: Milestone, text: str | None, *, actor,
                     filename: str | None = None, content: bytes | None = None) -> Milestone:
    from portal.core.uploads import check_upload, store

    if not (text or "").strip():
        raise ValidationFailed.on("report", _("Write the report."))
    limit = current_app.config["ORG_DOCUMENT_MAX_MB"]
    if content:
        check_upload(filename, content, limit)
    if milestone.project.status is not S.in_progress:
        raise Conflict(_("Reports belong to a project in progress ({state}).").format(
            state=milestone.project.status.title))
    values = {"report": text.strip(), "status": MilestoneState.reported,
              "reported_by": actor.id, "reported_at": utcnow()}
    if content:
        stored = store(filename, content, limit)
        values.update(report_key=stored.storage_key, report_filename=stored.filename)
    # Conditional: an acceptance racing this report wins, and the report is refused (409).
    changed = db.session.execute(
        sa.update(Milestone).where(Milestone.id == milestone.id,
                                   Milestone.status != MilestoneState.accepted)
        .values(values).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("This milestone has been accepted."))
    db.session.expire(milestone)
    record(actor, "project", milestone.project_id, "milestone_report", to=milestone.title,
           area_code=milestone.project.area_code)
    return milestone


def accept_milestone(milestone: Milestone, comment: str | None, *, actor) -> Milestone:
    changed = db.session.execute(
        sa.update(Milestone).where(Milestone.id == milestone.id,
                                   Milestone.status == MilestoneState.reported)
        .values(status=MilestoneState.accepted, acceptance_comment=comment,
                accepted_by=actor.id, accepted_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("Only a reported milestone can be accepted."))
    db.session.expire(milestone)
    record(actor, "project", milestone.project_id, "milestone_accept", to=milestone.title,
           reason=comment, area_code=milestone.project.area_code)
    return milestone


def grade_for(score: Decimal) -> str:
    excellent, good, fair = current_app.config["GRADE_THRESHOLDS"]
    if score >= excellent:
        return "优"
    if score >= good:
        return "良"
    return "中" if score >= fair else "差"


def evaluate(project: Project, score, comment: str | None, grade: str | None, *,
             actor) -> Evaluation:
    if isinstance(score, bool) or not isinstance(score, (int, float, Decimal)) \
            or (isinstance(score, Decimal) and not score.is_finite()) or score != score \
            or not 0 <= score <= 100:
        raise ValidationFailed.on("score", _("A score from 0 to 100."))
    value = Decimal(str(score)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    expected = grade_for(value)
    if grade is not None and grade != expected:
        raise ValidationFailed.on("grade", _("A score of {score} is graded {grade}.").format(
            score=value, grade=expected))
    if project.status not in (S.awarded, S.in_progress):
        raise Conflict(_("Only an awarded project is evaluated ({state}).").format(
            state=project.status.title))
    move(project, S.closed, actor=actor, action="evaluate", reason=comment)
    evaluation = Evaluation(project_id=project.id, score=value, grade=expected, comment=comment,
                            evaluated_by=actor.id,
                            org_id=project.awarded_bid.org_id if project.awarded_bid else None)
    db.session.add(evaluation)
    db.session.flush()
    from portal.needs.services import project_closed

    project_closed(project, actor=actor)
    record(actor, "project", project.id, "grade", to=f"{value} {expected}", reason=comment,
           area_code=project.area_code)
    return evaluation


def volunteer_minutes(project: Project) -> int:
    """Approved volunteer service in the project's activities (shown on the project page)."""
    from portal.activities.models import Activity
    from portal.records.models import RecordState, ServiceRecord

    return int(db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(ServiceRecord.minutes), 0))
        .join(Activity, Activity.id == ServiceRecord.activity_id)
        .where(Activity.project_id == project.id,
               ServiceRecord.status == RecordState.approved)) or 0)
