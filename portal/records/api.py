"""/api/v1 endpoints for service records, hours, certificates and the national export."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from pydantic import Field

from portal.core.api import Body, Id
from portal.core.apiframe import (
    ApiAbort,
    doc,
    json_body,
    optional_body,
    paginate,
    raw_json,
    require_from_body,
    require_user,
    visible_or_404,
)
from portal.core.audit import record as audit
from portal.core.db import MAX_ID
from portal.core.errors import ValidationFailed
from portal.core.jobs import run_inline_jobs, using_redis
from portal.core.permissions import authorize, can
from portal.extensions import db
from portal.records import certificates, services
from portal.records.models import (
    Certificate,
    CorrectionRequest,
    RecordState,
    ServiceRecord,
)
from portal.records.queries import hours, records_query

bp = Blueprint("records_api", __name__, url_prefix="/api/v1")

MAX_MINUTES = 60 * 24 * 366  # a record has no maximum span; this only bounds the integer


class RecordIn(Body):
    volunteer_id: Id
    activity_id: Id
    started_at: datetime = Field(strict=False)
    ended_at: datetime = Field(strict=False)
    minutes: int = Field(ge=0, le=MAX_MINUTES)
    content: str | None = Field(default=None, max_length=2000)
    place: str | None = Field(default=None, max_length=200)
    beneficiaries: str | None = Field(default=None, max_length=200)
    leader: str | None = Field(default=None, max_length=50)
    evaluation: str | None = Field(default=None, max_length=500)


def may_organise(user) -> bool:
    """Could this caller record service anywhere (an organisation's admin, a community worker)?"""
    from portal.core.users import Role

    return user.is_admin or user.has_role(Role.org_admin) or \
        user.has_role(Role.community_worker)


def record_dict(service: ServiceRecord) -> dict:
    body = service.to_dict()
    body["hours"] = float(service.hours)
    body["volunteer_code"] = service.volunteer.volunteer_code
    body["history"] = services.history(service)
    body["corrections"] = [c.to_dict() for c in db.session.scalars(
        sa.select(CorrectionRequest).where(CorrectionRequest.record_id == service.id)
        .order_by(CorrectionRequest.id))]
    return body


@bp.post("/service-records")
@doc("Enter a service record (the activity's organiser): pending until approved",
     body=RecordIn, responses={201: "pending", 409: "overlaps another record"},
     tag="service records")
def post_record():
    from portal.activities.models import Activity
    from portal.volunteers.models import Volunteer

    actor = require_user()
    raw = raw_json()
    activity = None
    if isinstance(raw, dict):  # the organiser decides who may record, before the body is judged
        activity_id = raw.get("activity_id")
        if isinstance(activity_id, int) and 0 < activity_id <= MAX_ID:
            activity = db.session.get(Activity, activity_id)
            if activity is not None:
                authorize(actor, "record.create", activity)
    if activity is None and not may_organise(actor):
        raise ApiAbort(403)
    data = json_body(RecordIn)
    if activity is None:
        raise ValidationFailed.on("activity_id", _("No such activity."))
    volunteer = db.session.get(Volunteer, data.volunteer_id)
    if volunteer is None:
        raise ValidationFailed.on("volunteer_id", _("No such volunteer."))
    service = services.add_record(volunteer, activity, services.RecordInput(
        **data.model_dump(exclude={"volunteer_id", "activity_id"})), actor=actor)
    db.session.commit()
    return jsonify(record_dict(service)), 201


def _status_arg() -> RecordState | None:
    value = request.args.get("status")
    if not value:
        return None
    try:
        return RecordState(value)
    except ValueError:
        raise ApiAbort(422, fields={"status": [_("Not one of the allowed values.")]}) from None


def _id_arg(name: str) -> int | None:
    value = request.args.get(name)
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise ApiAbort(422, fields={name: [_("Invalid value.")]})
    return int(value)


@bp.get("/service-records")
@doc("Service records the caller may see (own, organised, in the bureau's area), by "
     "volunteer_id, activity_id, status", tag="service records",
     paged=True, query=('volunteer_id', 'activity_id', 'status'))
def list_records():
    user = require_user()
    query = records_query(user, volunteer_id=_id_arg("volunteer_id"),
                          activity_id=_id_arg("activity_id"), status=_status_arg())
    return jsonify(paginate(query.options(sa.orm.lazyload("*")), lambda r: r.to_dict()))


def _record_or_404(record_id: int, user) -> ServiceRecord:
    return visible_or_404(ServiceRecord, record_id, user, "record.view")


@bp.get("/service-records/<int:record_id>")
@doc("A service record with its history (the volunteer, the organiser, the bureau)",
     tag="service records")
def get_record(record_id):
    user = require_user()
    return jsonify(record_dict(_record_or_404(record_id, user)))


class ReasonIn(Body):
    reason: str | None = Field(default=None, max_length=2000)


def _decide(record_id: int, to: RecordState):
    actor = require_user()
    service = _record_or_404(record_id, actor)
    authorize(actor, "record.decide", service)
    data = optional_body(ReasonIn)
    services.decide(service, to, actor=actor, reason=data.reason)
    db.session.commit()
    return jsonify(record_dict(service))


@bp.post("/service-records/<int:record_id>/approve")
@doc("Approve a pending record (the organiser; never one's own hours)", body=ReasonIn,
     tag="service records")
def approve_record(record_id):
    return _decide(record_id, RecordState.approved)


@bp.post("/service-records/<int:record_id>/reject")
@doc("Reject a pending record with a reason (the organiser)", body=ReasonIn,
     tag="service records")
def reject_record(record_id):
    return _decide(record_id, RecordState.rejected)


class AmendIn(Body):
    minutes: int = Field(ge=0, le=MAX_MINUTES)
    reason: str = Field(max_length=2000)


@bp.post("/service-records/<int:record_id>/amend")
@doc("Amend a record's minutes at once; the old value, who and why stay in its history",
     body=AmendIn, tag="service records")
def amend_record(record_id):
    actor = require_user()
    service = _record_or_404(record_id, actor)
    authorize(actor, "record.decide", service)
    data = json_body(AmendIn)
    services.amend(service, data.minutes, data.reason, actor=actor)
    db.session.commit()
    return jsonify(record_dict(service))


class CorrectionIn(Body):
    reason: str = Field(max_length=2000)
    minutes: int | None = Field(default=None, ge=0, le=MAX_MINUTES)


@bp.post("/service-records/<int:record_id>/corrections")
@doc("The volunteer asks for a correction of their record, with a reason", body=CorrectionIn,
     responses={201: "requested", 409: "one is already open"}, tag="service records")
def post_correction(record_id):
    actor = require_user()
    service = _record_or_404(record_id, actor)
    authorize(actor, "record.request_correction", service)
    data = json_body(CorrectionIn)
    req = services.request_correction(service, actor=actor, reason=data.reason,
                                      minutes=data.minutes)
    db.session.commit()
    return jsonify(req.to_dict()), 201


class AnswerIn(Body):
    accept: bool
    answer: str = Field(max_length=2000)
    minutes: int | None = Field(default=None, ge=0, le=MAX_MINUTES)


@bp.post("/corrections/<int:correction_id>/answer")
@doc("The organiser answers a correction request (accepting with minutes amends the record)",
     body=AnswerIn, tag="service records")
def answer_correction(correction_id):
    actor = require_user()
    req = db.session.get(CorrectionRequest, correction_id)
    if req is None or not can(actor, "record.view", req.record):
        raise ApiAbort(404)
    authorize(actor, "record.decide", req.record)
    data = json_body(AnswerIn)
    services.answer_correction(req, actor=actor, accept=data.accept, answer=data.answer,
                               minutes=data.minutes)
    db.session.commit()
    return jsonify(req.to_dict())


class BulkIn(Body):
    record_ids: list[Id] | None = Field(default=None, max_length=1000)


@bp.post("/shifts/<int:shift_id>/service-records/approve")
@doc("Approve a shift's pending records at once (all, or those listed)", body=BulkIn,
     tag="service records")
def approve_shift_records(shift_id):
    from portal.activities.models import Shift

    actor = require_user()
    shift = db.session.get(Shift, shift_id)
    if shift is None:
        raise ApiAbort(404)
    authorize(actor, "record.create", shift.activity)
    data = optional_body(BulkIn)
    rows = shift_records(shift, data.record_ids)
    approved = services.approve_many(rows, actor=actor)
    db.session.commit()
    return jsonify({"approved": approved, "items": [r.to_dict() for r in rows]})


def shift_records(shift, record_ids=None) -> list[ServiceRecord]:
    """The records of a shift: from its signups' check-outs, or entered for its activity within
    the shift's time."""
    from portal.activities.models import Signup

    query = sa.select(ServiceRecord).where(
        ServiceRecord.activity_id == shift.activity_id,
        sa.or_(ServiceRecord.signup_id.in_(sa.select(Signup.id)
                                           .where(Signup.shift_id == shift.id)),
               sa.and_(ServiceRecord.started_at < shift.ends_at,
                       ServiceRecord.ended_at > shift.starts_at)))
    if record_ids is not None:
        query = query.where(ServiceRecord.id.in_(record_ids))
    return list(db.session.scalars(query.order_by(ServiceRecord.id)))


@bp.get("/volunteers/<int:volunteer_id>/hours")
@doc("Approved and pending minutes, star level, by year and by organisation",
     tag="service records")
def get_hours(volunteer_id):
    from portal.volunteers.models import Volunteer

    volunteer = visible_or_404(Volunteer, volunteer_id, require_user(), "volunteer.view")
    body = hours(volunteer.id).to_dict()
    # Columns only: the record's joined relations (volunteer, activity and its shifts) are not
    # needed for these fields and cost more than the records themselves.
    recent = db.session.scalars(sa.select(ServiceRecord)
                                .options(sa.orm.lazyload("*"))
                                .where(ServiceRecord.volunteer_id == volunteer.id)
                                .order_by(ServiceRecord.started_at.desc(),
                                          ServiceRecord.id.desc()).limit(50))
    body["records"] = [r.to_dict() for r in recent]  # the contract: the latest 50, any status
    return jsonify(body)


# --- certificates ------------------------------------------------------------------------------

class CertificateIn(Body):
    from_: date = Field(alias="from", strict=False)
    to: date = Field(strict=False)
    org_id: Id | None = None


@bp.post("/volunteers/<int:volunteer_id>/certificates")
@doc("Ask for a certificate of approved service in a period (optionally from one "
     "organisation); built by a job", body=CertificateIn,
     responses={202: "pending or ready"}, tag="certificates")
def post_certificate(volunteer_id):
    from portal.orgs.models import Org
    from portal.volunteers.models import Volunteer

    actor = require_user()
    volunteer = visible_or_404(Volunteer, volunteer_id, actor, "volunteer.view")
    authorize(actor, "certificate.request", volunteer)
    data = json_body(CertificateIn)
    org = None
    if data.org_id is not None:
        org = db.session.get(Org, data.org_id)
        served = org is not None and db.session.scalar(sa.select(ServiceRecord.id).where(
            ServiceRecord.volunteer_id == volunteer.id, ServiceRecord.org_id == org.id,
            ServiceRecord.status == RecordState.approved).limit(1)) is not None
        if not served:
            raise ValidationFailed.on("org_id", _("The volunteer has no approved service with "
                                                  "this organisation."))
    cert = certificates.request_certificate(volunteer, data.from_, data.to, actor=actor,
                                            org=org, base_url=request.host_url)
    db.session.commit()
    cert_id = cert.id
    if not using_redis():
        run_inline_jobs()  # no worker: build it now, so that the answer can say "ready"
        cert = db.session.get(Certificate, cert_id)
    return jsonify({"id": cert.id, "serial": cert.serial, "status": cert.status.value,
                    "job_id": cert.job_id}), 202


@bp.get("/volunteers/<int:volunteer_id>/certificates")
@doc("A volunteer's certificates", tag="certificates", paged=True)
def list_certificates(volunteer_id):
    from portal.volunteers.models import Volunteer

    volunteer = visible_or_404(Volunteer, volunteer_id, require_user(), "volunteer.view")
    query = (sa.select(Certificate).where(Certificate.volunteer_id == volunteer.id)
             .order_by(Certificate.id.desc()))
    return jsonify(paginate(query, lambda c: c.to_dict()))


@bp.get("/certificates/<int:certificate_id>")
@doc("A certificate: serial, status, approved minutes, period, issuer, pdf_url",
     tag="certificates")
def get_certificate(certificate_id):
    cert = visible_or_404(Certificate, certificate_id, require_user(), "certificate.view")
    return jsonify(cert.to_dict())


@bp.get("/certificates/<int:certificate_id>/pdf")
@doc("The certificate as a PDF (A4)", tag="certificates",
     responses={200: "application/pdf", 409: "not built yet"})
def certificate_pdf(certificate_id):
    user = require_user()
    cert = visible_or_404(Certificate, certificate_id, user, "certificate.view")
    if cert.pdf is None:
        raise ApiAbort(409, _("The certificate is not ready yet."))
    audit(user, "certificate", cert.id, "download", area_code=cert.volunteer.community_code)
    db.session.commit()
    return pdf_response(cert)


def pdf_response(cert: Certificate) -> Response:
    from urllib.parse import quote

    name = f"志愿服务记录证明-{cert.serial}.pdf"
    return Response(cert.pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"certificate-{cert.serial}.pdf\"; "
                               f"filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, no-store"})


@bp.post("/certificates/<int:certificate_id>/revoke")
@doc("Revoke an issued certificate with a reason (the issuer's staff)", body=ReasonIn,
     tag="certificates")
def revoke_certificate(certificate_id):
    actor = require_user()
    cert = visible_or_404(Certificate, certificate_id, actor, "certificate.view")
    authorize(actor, "certificate.revoke", cert)
    data = json_body(ReasonIn)
    certificates.revoke(cert, data.reason, actor=actor)
    db.session.commit()
    return jsonify(cert.to_dict())


@bp.get("/certificates/verify/<path:serial>")
@doc("Verify a certificate by its serial (no sign-in): masked name, hours, period, issuer",
     auth=False, tag="certificates")
def verify_certificate(serial):
    result = certificates.verification(serial)
    if result is None:
        raise ApiAbort(404, _("No certificate has this number."))
    return jsonify(result)


# --- national export --------------------------------------------------------------------------

class ExportIn(Body):
    area_code: str = Field(max_length=12)
    from_: date = Field(alias="from", strict=False)
    to: date = Field(strict=False)


@bp.post("/exports/national")
@doc("Export volunteers and approved records of an area for the national volunteer system "
     "(.xlsx, a job; nothing exported before is repeated)", body=ExportIn,
     responses={202: "queued"}, tag="certificates")
def post_national_export():
    from portal.records.exports import start_national_export

    actor = require_user()
    require_from_body(actor, "national.export")
    data = json_body(ExportIn)
    job = start_national_export(data.area_code, data.from_, data.to, actor=actor)
    db.session.commit()
    return jsonify({"job_id": job.id, "status": job.status,
                    "file_url": f"/api/v1/exports/{job.id}/file"}), 202


@bp.get("/exports/<job_id>/file")
@doc("Download an export's file (who made it, or the bureau of its area); audited",
     tag="certificates")
def export_file(job_id):
    from portal.records.exports import export_response

    return export_response(job_id, require_user())
