"""Pages for service records, hours, certificates and their public verification."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from portal.core.areas import Area, place_choices
from portal.core.db import SHANGHAI, utcnow
from portal.core.errors import DomainError, ValidationFailed
from portal.core.jobs import run_inline_jobs, using_redis
from portal.core.permissions import authorize, can
from portal.core.users import Role
from portal.core.views import page_number, submit
from portal.extensions import db
from portal.records import certificates, services
from portal.records.forms import (
    AmendForm,
    AnswerForm,
    BulkForm,
    CertificateForm,
    CorrectionForm,
    DecisionForm,
    ExportForm,
    RecordForm,
    RevokeForm,
)
from portal.records.models import (
    Certificate,
    CertificateState,
    CorrectionRequest,
    CorrectionState,
    RecordState,
    ServiceRecord,
)
from portal.records.queries import hours, records_query

bp = Blueprint("records", __name__)
PER_PAGE = 30


@bp.route("/verify")
@bp.route("/verify/<path:serial>")
def verify(serial: str | None = None):
    """Anyone checks a certificate by its number (masked personal data only)."""
    serial = serial or (request.args.get("serial") or "").strip() or None
    result = certificates.verification(serial) if serial else None
    status = 404 if serial and result is None else 200
    return render_template("records/verify.html", serial=serial, result=result), status


# --- records ----------------------------------------------------------------------------------

@bp.route("/records")
@login_required
def record_list():
    """The organiser's and the bureau's records, those waiting for approval first."""
    status = request.args.get("status") or "pending"
    state = RecordState(status) if status in RecordState.__members__ else None
    query = records_query(current_user, status=state)
    asking = sa.select(CorrectionRequest.record_id).where(
        CorrectionRequest.status == CorrectionState.open)
    corrections = status == "corrections"
    if corrections:  # the volunteers' open correction requests, waiting for an answer
        query = query.where(ServiceRecord.id.in_(asking))
    page = page_number()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(
        query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    waiting = db.session.scalar(sa.select(sa.func.count()).select_from(
        records_query(current_user).where(ServiceRecord.id.in_(asking)).order_by(None)
        .subquery()))
    open_ids = set(db.session.scalars(asking.where(
        CorrectionRequest.record_id.in_([r.id for r in rows])))) if rows else set()
    approvable = {r.id for r in rows if r.status is RecordState.pending
                  and can(current_user, "record.decide", r)
                  and r.volunteer.user_id != current_user.id}
    return render_template("records/list.html", rows=rows, total=total, page=page,
                           per_page=PER_PAGE, status=state, RecordState=RecordState,
                           approvable=approvable, bulk=BulkForm(),
                           corrections=corrections, waiting=waiting, open_ids=open_ids,
                           status_arg=status if corrections else (state.value if state
                                                                  else "all"),
                           may_enter=bool(_organised_activities()))


@bp.post("/records/approve")
@login_required
def records_approve():
    """Approve the records ticked in the list at once (each one the user may decide)."""
    form = BulkForm()
    if not form.validate_on_submit():
        abort(400)
    chosen = [int(i) for i in request.form.getlist("record_id") if i.isdigit()][:PER_PAGE]
    rows = db.session.scalars(records_query(current_user, status=RecordState.pending)
                              .where(ServiceRecord.id.in_(chosen))).all() if chosen else []
    mine = [r for r in rows if can(current_user, "record.decide", r)]
    done = services.approve_many(mine, actor=current_user)
    db.session.commit()
    if done:
        flash(ngettext("{n} record approved.", "{n} records approved.", done).format(n=done),
                  "success")
    else:
        flash(_("Tick the records to approve first."), "warning")
    return redirect(url_for("records.record_list", status="pending"))


def _organised_activities():
    """Activities the user may record for (record.create, as SQL)."""
    from portal.activities.models import Activity
    from portal.records.permissions import recordable_activities

    if not current_user.is_authenticated:
        return []
    return db.session.scalars(
        sa.select(Activity).where(recordable_activities(current_user))
        .order_by(Activity.id.desc()).limit(200)).all()


@bp.route("/records/new", methods=["GET", "POST"])
@login_required
def record_new():
    from portal.activities.models import Activity
    from portal.volunteers.models import Volunteer

    activities = _organised_activities()
    if not activities:
        abort(403)
    form = RecordForm()
    form.activity.choices = [(a.id, a.title) for a in activities]
    if request.method == "GET" and request.args.get("activity_id", "").isdigit():
        form.activity.data = int(request.args["activity_id"])

    def action():
        activity = db.session.get(Activity, form.activity.data)
        if activity is None:
            raise ValidationFailed.on("activity", _("No such activity."))
        authorize(current_user, "record.create", activity)
        # "YK00000001" or, picked from the list, "YK00000001 王秀兰": the number decides
        code = (form.volunteer_code.data.split() or [""])[0].upper()
        volunteer = db.session.scalar(sa.select(Volunteer).where(
            Volunteer.volunteer_code == code))
        if volunteer is None:
            raise ValidationFailed.on("volunteer_code", _("No volunteer has this number."))
        return services.add_record(volunteer, activity, services.RecordInput(
            started_at=form.started_at.data, ended_at=form.ended_at.data,
            minutes=form.minutes.data, content=form.content.data, place=form.place.data,
            beneficiaries=form.beneficiaries.data, leader=form.leader.data,
            evaluation=form.evaluation.data), actor=current_user)

    created, status = submit(form, action, {"activity_id": "activity",
                                            "volunteer_id": "volunteer_code"})
    if created is not None:
        flash(_("The record is saved and waits for approval."), "success")
        return redirect(url_for("records.record_show", record_id=created.id))
    return render_template("records/new.html", form=form,
                           known=_known_volunteers(activities)), status


def _known_volunteers(activities) -> list:
    """Suggestions for the volunteer field (a <datalist>, no script): who signed up for these
    activities, and the volunteers of the worker's communities; at most 500."""
    from portal.activities.models import Shift, Signup
    from portal.core.areas import under
    from portal.volunteers.models import Volunteer, VolunteerState

    signed = sa.select(Signup.volunteer_id).join(Shift, Shift.id == Signup.shift_id).where(
        Shift.activity_id.in_([a.id for a in activities]))
    nearby = [under(Volunteer.community_code, c)
              for c in current_user.scopes(Role.community_worker)]
    return db.session.execute(
        sa.select(Volunteer.volunteer_code, Volunteer.real_name)
        .where(Volunteer.status != VolunteerState.deleted,
               sa.or_(Volunteer.id.in_(signed), *nearby))
        .order_by(Volunteer.real_name).limit(500)).all()


def _record_or_404(record_id: int) -> ServiceRecord:
    service = db.session.get(ServiceRecord, record_id)
    if service is None or not can(current_user, "record.view", service):
        abort(404)
    return service


@bp.route("/records/<int:record_id>", methods=["GET", "POST"])
@login_required
def record_show(record_id: int):
    service = _record_or_404(record_id)
    decision, amend_form = DecisionForm(), AmendForm()
    correction, answer = CorrectionForm(), AnswerForm()
    status = 200
    if request.method == "POST":
        status = _record_post(service, decision, amend_form, correction, answer)
        if status == 200:
            return redirect(url_for("records.record_show", record_id=service.id))
    corrections = db.session.scalars(sa.select(CorrectionRequest).where(
        CorrectionRequest.record_id == service.id).order_by(CorrectionRequest.id)).all()
    own = service.volunteer.user_id == current_user.id
    return render_template(
        "records/show.html", r=service, history=services.history(service),
        corrections=corrections, decision=decision, amend_form=amend_form,
        correction=correction, answer=answer, RecordState=RecordState,
        CorrectionState=CorrectionState,
        may_decide=can(current_user, "record.decide", service) and not own,
        may_ask=can(current_user, "record.request_correction", service)), status


def _record_post(service, decision, amend_form, correction, answer) -> int:
    """One of the record page's forms, by its button. 200 = done; else the form's status."""
    may_decide = can(current_user, "record.decide", service)
    if "approve" in request.form or "reject" in request.form:
        if not may_decide:
            abort(403)
        to = RecordState.approved if "approve" in request.form else RecordState.rejected
        _result, status = submit(decision, lambda: services.decide(
            service, to, actor=current_user, reason=decision.reason.data))
    elif "amend" in request.form:
        if not may_decide:
            abort(403)
        _result, status = submit(amend_form, lambda: services.amend(
            service, amend_form.minutes.data, amend_form.amend_reason.data, actor=current_user),
            {"minutes": "minutes", "reason": "amend_reason"})
    elif "ask" in request.form:
        authorize(current_user, "record.request_correction", service)
        _result, status = submit(correction, lambda: services.request_correction(
            service, actor=current_user, reason=correction.correct_reason.data,
            minutes=correction.correct_minutes.data),
            {"reason": "correct_reason", "minutes": "correct_minutes"})
    elif "accept" in request.form or "decline" in request.form:
        if not may_decide:
            abort(403)
        req = db.session.scalars(sa.select(CorrectionRequest).where(
            CorrectionRequest.record_id == service.id,
            CorrectionRequest.status == CorrectionState.open)).first()
        if req is None:
            abort(404)
        _result, status = submit(answer, lambda: services.answer_correction(
            req, actor=current_user, accept="accept" in request.form,
            answer=answer.answer.data, minutes=answer.answer_minutes.data),
            {"minutes": "answer_minutes"})
    else:
        abort(400)
    if status == 200:
        flash(_("Saved."), "success")
    elif status == 409:
        db.session.expire_all()
    return status


@bp.route("/shifts/<int:shift_id>/records", methods=["GET", "POST"])
@login_required
def shift_records(shift_id: int):
    """Bulk approval: a shift's records on one page, tick and approve."""
    from portal.activities.models import Shift
    from portal.records.api import shift_records as records_of

    shift = db.session.get(Shift, shift_id)
    if shift is None or not can(current_user, "record.create", shift.activity):
        abort(404)
    form = BulkForm()
    rows = records_of(shift)
    status = 200
    if form.validate_on_submit():
        chosen = {int(i) for i in request.form.getlist("record_id") if i.isdigit()}
        try:
            done = services.approve_many([r for r in rows if r.id in chosen],
                                         actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            status = exc.status
        else:
            db.session.commit()
            flash(ngettext("{n} record approved.", "{n} records approved.", done).format(n=done),
                  "success")
            return redirect(url_for("records.shift_records", shift_id=shift.id))
    return render_template("records/shift.html", shift=shift, rows=rows, form=form,
                           RecordState=RecordState), status


# --- certificates -----------------------------------------------------------------------------

def certificate_form(volunteer) -> CertificateForm:
    """The request form on /me: the period (this year by default) and who issues it."""
    from portal.orgs.models import Org

    form = CertificateForm()
    today = utcnow().astimezone(SHANGHAI).date()
    if not form.period_from.data:
        form.period_from.data = today.replace(month=1, day=1)
    if not form.period_to.data:
        form.period_to.data = today
    orgs = db.session.execute(
        sa.select(Org.id, Org.name).where(Org.id.in_(
            sa.select(ServiceRecord.org_id).where(ServiceRecord.volunteer_id == volunteer.id,
                                                  ServiceRecord.status == RecordState.approved)))
        .order_by(Org.name)).all()
    form.issuer.choices = [(0, _("All organisers (issued by {issuer})").format(
        issuer=current_app.config["CERTIFICATE_ISSUER"]))] + [(i, n) for i, n in orgs]
    return form


RECORDS_PER_PAGE = 20


def me_context(volunteer) -> dict:
    """What /me shows about hours, records (a page of them, newest first) and certificates."""
    from flask import request

    page = max(1, request.args.get("records_page", 1, type=int) or 1)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRecord)
                              .where(ServiceRecord.volunteer_id == volunteer.id))
    recent = db.session.scalars(sa.select(ServiceRecord)
                                .where(ServiceRecord.volunteer_id == volunteer.id)
                                .order_by(ServiceRecord.started_at.desc())
                                .limit(RECORDS_PER_PAGE)
                                .offset((page - 1) * RECORDS_PER_PAGE)).all()
    certs = db.session.scalars(sa.select(Certificate)
                               .where(Certificate.volunteer_id == volunteer.id)
                               .order_by(Certificate.id.desc()).limit(20)).all()
    return {"hours": hours(volunteer.id), "records": recent, "certs": certs,
            "cert_form": certificate_form(volunteer), "records_total": total,
            "records_page": page,
            "records_more": page * RECORDS_PER_PAGE < total}


@bp.route("/volunteers/<int:volunteer_id>/service")
@login_required
def volunteer_service(volunteer_id: int):
    """Staff see a volunteer's hours and records and ask for a certificate for them (for
    someone without a phone)."""
    from portal.volunteers.models import Volunteer

    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None or not can(current_user, "volunteer.view", volunteer):
        abort(404)
    return render_template("records/volunteer.html", v=volunteer, **me_context(volunteer))


@bp.post("/volunteers/<int:volunteer_id>/certificates")
@login_required
def certificate_request(volunteer_id: int):
    from portal.orgs.models import Org
    from portal.volunteers.models import Volunteer

    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None or not can(current_user, "volunteer.view", volunteer):
        abort(404)
    authorize(current_user, "certificate.request", volunteer)
    form = certificate_form(volunteer)

    def action():
        org = db.session.get(Org, form.issuer.data) if form.issuer.data else None
        return certificates.request_certificate(
            volunteer, form.period_from.data, form.period_to.data, actor=current_user, org=org,
            base_url=request.host_url)

    cert, status = submit(form, action, {"from": "period_from", "to": "period_to",
                                         "org_id": "issuer"})
    back = url_for("volunteers.me") if volunteer.user_id == current_user.id else \
        url_for("records.volunteer_service", volunteer_id=volunteer.id)
    if cert is None:
        for field in form:
            for error in field.errors:
                flash(f"{field.label.text}: {error}", "danger")
        return redirect(back + "#certificates")
    cert_id = cert.id
    if not using_redis():
        run_inline_jobs()  # no worker: build it now (this ends the request's session)
    return redirect(url_for("records.certificate_show", certificate_id=cert_id))


def _certificate_or_404(certificate_id: int) -> Certificate:
    cert = db.session.get(Certificate, certificate_id)
    if cert is None or not can(current_user, "certificate.view", cert):
        abort(404)
    return cert


@bp.route("/certificates/<int:certificate_id>", methods=["GET", "POST"])
@login_required
def certificate_show(certificate_id: int):
    cert = _certificate_or_404(certificate_id)
    form = RevokeForm()
    status = 200
    if request.method == "POST":
        authorize(current_user, "certificate.revoke", cert)
        done, status = submit(form, lambda: certificates.revoke(
            cert, form.revoke_reason.data, actor=current_user), {"reason": "revoke_reason"})
        if done is not None:
            flash(_("The certificate is revoked."), "success")
            return redirect(url_for("records.certificate_show", certificate_id=cert.id))
    return render_template("records/certificate.html", c=cert, form=form,
                           CertificateState=CertificateState,
                           may_revoke=can(current_user, "certificate.revoke", cert)), status


@bp.route("/certificates/<int:certificate_id>/pdf")
@login_required
def certificate_pdf(certificate_id: int):
    from portal.core.audit import record
    from portal.records.api import pdf_response

    cert = _certificate_or_404(certificate_id)
    if cert.pdf is None:
        abort(404)
    record(current_user, "certificate", cert.id, "download",
           area_code=cert.volunteer.community_code)
    db.session.commit()
    return pdf_response(cert)


# --- national export --------------------------------------------------------------------------

@bp.route("/exports/national", methods=["GET", "POST"])
@login_required
def national_export():
    from portal.records.exports import start_national_export

    scopes = current_user.scopes(Role.bureau) or (["2108"] if current_user.is_admin else [])
    if not scopes:
        abort(403)
    form = ExportForm()
    areas = db.session.scalars(sa.select(Area).where(Area.code.in_(scopes))
                               .order_by(Area.code)).all()
    form.area.choices = place_choices(list(areas))
    today = utcnow().astimezone(SHANGHAI).date()
    if request.method == "GET":
        form.period_to.data = today
        form.period_from.data = (today.replace(day=1) - timedelta(days=1)).replace(day=1)

    def action():
        authorize(current_user, "national.export", form.area.data)
        return start_national_export(form.area.data, form.period_from.data,
                                     form.period_to.data, actor=current_user)

    job, status = submit(form, action, {"area_code": "area", "from": "period_from",
                                        "to": "period_to"})
    if job is not None:
        return redirect(url_for("core.job", job_id=job.id))
    from portal.core.areas import under
    from portal.records.models import ExportFile

    earlier = db.session.scalars(sa.select(ExportFile).where(
        sa.or_(*[under(ExportFile.area_code, c) for c in scopes]))
        .order_by(ExportFile.id.desc()).limit(20)).all()
    return render_template("records/export.html", form=form, earlier=earlier), status


@bp.route("/exports/<job_id>/file")
@login_required
def export_file(job_id: str):
    from portal.core.apiframe import ApiAbort
    from portal.records.exports import export_response

    try:
        return export_response(job_id, current_user)
    except ApiAbort as exc:
        abort(exc.status)
