"""Pages: organisations, the incubation pipeline, workers and the indicators dashboard."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.core.areas import Area, AreaLevel, communities
from portal.core.audit import entries_for
from portal.core.db import utcnow
from portal.core.errors import DomainError
from portal.core.permissions import asked_area, authorize, can
from portal.core.users import Role
from portal.core.views import page_number, submit
from portal.extensions import db
from portal.orgs import exports, queries, services
from portal.orgs.api import visible_orgs
from portal.orgs.forms import (
    AdminForm,
    CommentForm,
    DocumentForm,
    IncubationForm,
    MoveForm,
    OrgForm,
    ReviewForm,
    StatusForm,
    WorkerForm,
)
from portal.orgs.models import (
    OPEN_STAGES,
    ORG_MOVES,
    STAGE_MOVES,
    Incubation,
    Org,
    OrgAdmin,
    OrgCategory,
    OrgDocument,
    OrgState,
    Stage,
    Worker,
)

bp = Blueprint("orgs", __name__)


def _org(org_id: int) -> Org:
    org = db.session.get(Org, org_id)
    if org is None or not can(current_user, "org.view", org):
        abort(404)
    return org


def _input_from(form: OrgForm, fields=None) -> services.OrgInput:
    names = fields or [f for f in services.OrgInput.__dataclass_fields__ if f != "given"]
    values = {name: getattr(form, name).data for name in names if hasattr(form, name)}
    return services.OrgInput(**values, given=set(values))


# --- organisations --------------------------------------------------------------------------

@bp.route("/orgs")
def org_list():
    status = request.args.get("status") or None
    category = request.args.get("category") or None
    try:
        status = OrgState(status) if status else None
        category = OrgCategory(category) if category else None
    except ValueError:
        abort(404)
    user = current_user if current_user.is_authenticated else None
    query = visible_orgs(user, queries.orgs_query(
        status=status, category=category, q=(request.args.get("q") or "").strip() or None,
        area=request.args.get("area") or None))
    page = db.paginate(query, page=page_number(), per_page=30,
                       error_out=False)
    return render_template("orgs/list.html", page=page, OrgState=OrgState,
                           OrgCategory=OrgCategory)


@bp.route("/orgs/new", methods=["GET", "POST"])
@login_required
def org_new():
    authorize(current_user, "org.register")
    form = OrgForm(communities=communities())
    fields = services.APPLICANT_FIELDS
    org, status = submit(form, lambda: services.register_org(_input_from(form, fields),
                                                             actor=current_user))
    if org is not None:
        flash(_("Registered. The bureau will review it."), "success")
        return redirect(url_for("orgs.org_show", org_id=org.id))
    return render_template("orgs/form.html", form=form, org=None, show_override=False), status


@bp.route("/orgs/<int:org_id>")
def org_show(org_id: int):
    org = _org(org_id)
    private = can(current_user, "org.view_private", org)
    documents = db.session.scalars(sa.select(OrgDocument).where(OrgDocument.org_id == org.id)
                                   .order_by(OrgDocument.id)).all() if private else []
    history = db.session.scalars(entries_for("org", org.id)).all() if private else []
    incubations = db.session.scalars(sa.select(Incubation).where(Incubation.org_id == org.id)
                                     .order_by(Incubation.id.desc())).all() if private else []
    status_form = None
    if can(current_user, "org.review", org) and org.status is not OrgState.pending:
        targets = ORG_MOVES[org.status] & {OrgState.suspended, OrgState.active,
                                           OrgState.dissolved}
        if targets:
            status_form = StatusForm()
            status_form.to.choices = [(t.value, t.title) for t in OrgState if t in targets]
    workers = db.session.scalars(sa.select(Worker).where(Worker.employer_org_id == org.id,
                                                         Worker.active.is_(True))).all()
    return render_template(
        "orgs/show.html", org=org, private=private, documents=documents, history=history,
        incubations=incubations, workers=workers,
        review_form=ReviewForm() if can(current_user, "org.review", org)
        and org.status is OrgState.pending else None,
        status_form=status_form,
        resubmit_form=CommentForm() if can(current_user, "org.resubmit", org)
        and org.status is OrgState.changes_requested else None,
        admin_form=AdminForm() if can(current_user, "org.manage_admins", org) else None,
        document_form=DocumentForm() if can(current_user, "org.edit", org) else None,
        incubation_form=IncubationForm() if can(current_user, "incubation.apply", org)
        and org.status is OrgState.active
        and not any(i.stage in OPEN_STAGES for i in incubations) else None)


@bp.route("/orgs/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def org_edit(org_id: int):
    org = _org(org_id)
    authorize(current_user, "org.edit", org)
    is_bureau = can(current_user, "org.review", org)
    form = OrgForm(obj=org, communities=communities())
    if request.method == "GET":
        form.category.data = org.category.value
        form.registration.data = org.registration.value
        form.rating.data = org.rating or ""
    may_override = can(current_user, "org.override_uscc", org)
    if is_bureau:
        fields = [f for f in services.OrgInput.__dataclass_fields__ if f != "given"
                  and (may_override or f != "uscc_override_reason")]
    elif org.status is OrgState.active:
        fields = sorted(services.EDITABLE_WHEN_ACTIVE)
    else:
        fields = services.APPLICANT_FIELDS
    saved, status = submit(form, lambda: services.update_org(
        org, _input_from(form, fields), actor=current_user))
    if saved is not None:
        flash(_("The organisation's details are saved."), "success")
        return redirect(url_for("orgs.org_show", org_id=org.id))
    locked = set() if is_bureau or org.status is not OrgState.active else \
        {f for f in services.OrgInput.__dataclass_fields__} - services.EDITABLE_WHEN_ACTIVE
    return render_template("orgs/form.html", form=form, org=org, show_override=may_override,
                           locked=locked), status


def _act(org: Org, form, action, message):
    """One small form on the organisation page: run its service (submit()), then say how it
    went in a flash message, since the form has no page of its own to show errors on."""
    result, _status = submit(form, action)
    if result is not None:
        flash(message(result), "success")
    for errors in form.errors.values():
        for error in errors:
            flash(error, "danger")
    return redirect(url_for("orgs.org_show", org_id=org.id))


@bp.post("/orgs/<int:org_id>/review")
@login_required
def org_review(org_id: int):
    org = _org(org_id)
    authorize(current_user, "org.review", org)
    form = ReviewForm()
    return _act(org, form, lambda: services.review_org(
        org, form.decision.data, form.comment.data, actor=current_user),
        lambda o: _("Decision recorded: {status}.").format(status=o.status.title))


@bp.post("/orgs/<int:org_id>/status")
@login_required
def org_status(org_id: int):
    org = _org(org_id)
    authorize(current_user, "org.review", org)
    form = StatusForm()
    form.to.choices = [(s.value, s.title) for s in OrgState]
    return _act(org, form, lambda: services.change_org_status(
        org, form.to.data, form.comment.data, actor=current_user),
        lambda o: _("Status changed: {status}.").format(status=o.status.title))


@bp.post("/orgs/<int:org_id>/resubmit")
@login_required
def org_resubmit(org_id: int):
    org = _org(org_id)
    authorize(current_user, "org.resubmit", org)
    form = CommentForm()
    return _act(org, form, lambda: services.resubmit_org(
        org, actor=current_user, comment=form.comment.data),
        lambda _o: _("Resubmitted for review."))


@bp.post("/orgs/<int:org_id>/admins")
@login_required
def org_add_admin(org_id: int):
    org = _org(org_id)
    authorize(current_user, "org.manage_admins", org)
    form = AdminForm()
    return _act(org, form, lambda: services.add_org_admin(
        org, form.username.data, actor=current_user),
        lambda user: _("{name} is now an admin.").format(name=user.username))


@bp.post("/orgs/<int:org_id>/documents")
@login_required
def org_upload(org_id: int):
    org = _org(org_id)
    authorize(current_user, "org.edit", org)
    form = DocumentForm()
    upload = form.file.data
    return _act(org, form, lambda: services.add_document(
        org, form.kind.data, upload.filename if upload else "",
        upload.read() if upload else b"", actor=current_user), lambda _d: _("Uploaded."))


@bp.route("/orgs/<int:org_id>/documents/<int:doc_id>")
@login_required
def org_document(org_id: int, doc_id: int):
    org = _org(org_id)
    authorize(current_user, "org.view_private", org)
    document = db.session.get(OrgDocument, doc_id)
    if document is None or document.org_id != org.id:
        abort(404)
    return send_file(services.document_path(document), mimetype=document.content_type,
                     as_attachment=True, download_name=document.filename)


@bp.post("/orgs/<int:org_id>/incubation")
@login_required
def org_apply_incubation(org_id: int):
    org = _org(org_id)
    authorize(current_user, "incubation.apply", org)
    form = IncubationForm()
    return _act(org, form, lambda: services.apply_incubation(
        org, form.plan.data, actor=current_user),
        lambda _i: _("Applied to the incubation base."))


# --- incubation ------------------------------------------------------------------------------

@bp.route("/incubations")
@login_required
def incubations():
    authorize(current_user, "incubation.list")
    scopes = [] if current_user.is_admin else current_user.scopes(Role.bureau)
    county = request.args.get("county") or None
    query = queries.pipeline(current_user, county)
    # Open applications all; closed ones (graduated, rejected, withdrawn) of the last year only.
    since = utcnow() - timedelta(days=365)
    query = query.where(sa.or_(Incubation.stage.in_(OPEN_STAGES), Incubation.stage_since >= since))
    items = db.session.scalars(query).all()
    columns = {stage: [i for i in items if i.stage is stage] for stage in Stage}
    counties = db.session.scalars(sa.select(Area).where(Area.level == AreaLevel.county)
                                  .order_by(Area.code)).all()
    counties = [c for c in counties if current_user.is_admin or any(
        c.code.startswith(s) or s.startswith(c.code) for s in scopes)]
    return render_template("orgs/incubations.html", columns=columns, counties=counties,
                           county=county, is_stuck=queries.is_stuck,
                           stuck_days=queries.stuck_days())


@bp.route("/incubations/<int:incubation_id>", methods=["GET", "POST"])
@login_required
def incubation_show(incubation_id: int):
    incubation = db.session.get(Incubation, incubation_id)
    if incubation is None or not can(current_user, "incubation.view", incubation):
        abort(404)
    allowed = [s for s in sorted(STAGE_MOVES[incubation.stage], key=list(Stage).index)
               if can(current_user, "incubation.move", (incubation, s))]
    form = MoveForm(stages=allowed) if allowed else None
    if form is not None and form.validate_on_submit():
        try:
            services.move_incubation(incubation, form.to.data, form.comment.data,
                                     actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            if exc.status in (403, 404):
                raise
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Moved to {stage}.").format(stage=incubation.stage.title), "success")
        return redirect(url_for("orgs.incubation_show", incubation_id=incubation.id))
    return render_template("orgs/incubation.html", incubation=incubation, form=form,
                           stuck=queries.is_stuck(incubation))


# --- workers ---------------------------------------------------------------------------------

@bp.route("/workers", methods=["GET", "POST"])
@login_required
def workers():
    authorize(current_user, "worker.list")
    scopes = current_user.staff_scopes()
    employers = communities() if current_user.is_admin else \
        communities(scopes) if scopes else []
    my_orgs = db.session.scalars(sa.select(Org).join(OrgAdmin).where(
        OrgAdmin.user_id == current_user.id)).all()
    form = WorkerForm(communities=employers, orgs=my_orgs)
    worker, status = submit(form, lambda: services.register_worker(services.WorkerInput(
        name=form.name.data, phone=form.phone.data, kind=form.kind.data,
        certificate=form.certificate.data,
        employer_community_code=form.employer_community_code.data or None,
        employer_org_id=int(form.employer_org_id.data) if form.employer_org_id.data else None),
        actor=current_user))
    if worker is not None:
        flash(_("Registered {name}.").format(name=worker.name), "success")
        return redirect(url_for("orgs.workers"))
    query = queries.visible_workers(current_user).where(Worker.active.is_(True)) \
        .order_by(Worker.area_code, Worker.id)
    page = db.paginate(query, page=page_number(), per_page=50,
                       error_out=False)
    return render_template("orgs/workers.html", form=form, page=page), status


# --- dashboard -------------------------------------------------------------------------------

def _dashboard_area() -> Area:
    return asked_area(current_user, "coverage.view", request.args.get("area"))


@bp.route("/dashboard")
@login_required
def dashboard():
    area = _dashboard_area()
    result = queries.coverage(area)
    trail = [a for a in (db.session.get(Area, area.code[:n]) for n in (4, 6, 9, 12)
                         if n <= len(area.code)) if a is not None]
    # The drill-down ends at a community: its organisations, the ones that count first.
    community_orgs = db.session.scalars(
        sa.select(Org).where(Org.community_code == area.code)
        .order_by(sa.case((Org.status == OrgState.active, 0), else_=1), Org.name)).all() \
        if area.level.value == "community" else []
    from portal.ratings.queries import by_child

    ratings = {a.code: f for a, f in by_child(area.code)}  # 好差评 of the last 12 months
    return render_template("orgs/dashboard.html", area=area, c=result, trail=trail,
                           chart=exports.bar_chart(result), community_orgs=community_orgs,
                           ratings=ratings)


@bp.route("/dashboard/export.xlsx")
@login_required
def dashboard_export():
    area = _dashboard_area()
    from portal.core.excel import file_name, xlsx_response

    stream = exports.coverage_workbook(queries.coverage(area), area.name)
    return xlsx_response(stream, file_name("社区社会组织覆盖", area.name))


@bp.app_template_global("my_orgs")
def my_orgs() -> list[Org]:
    """The organisations the signed-in user administers (for the home page)."""
    if not current_user.is_authenticated:
        return []
    return db.session.scalars(sa.select(Org).join(OrgAdmin, OrgAdmin.org_id == Org.id).where(
        OrgAdmin.user_id == current_user.id).order_by(Org.name)).all()
