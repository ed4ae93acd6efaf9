"""志愿服务记录证明 (民发〔2015〕149号): request, build (a job), verify, revoke.

A serial looks like `2026-K7MPQ4XR-9H3C2W`: the year, eight random characters, and six characters
of an HMAC-SHA256 over the first two parts under CERTIFICATE_KEY. A forged or mistyped serial fails
the signature and is refused without touching the database. The alphabet leaves out 0, 1, I and
O, which people confuse when they type a serial from paper.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.core.audit import record
from portal.core.db import SHANGHAI, utcnow
from portal.core.errors import Conflict, ValidationFailed
from portal.core.jobs import (
    JobRun,
    enqueue,
    gives_up,
    lost_reason,
    revive,
    runs_in_worker,
    set_progress,
)
from portal.extensions import db
from portal.records.models import (
    Certificate,
    CertificateState,
    RecordState,
    ServiceRecord,
    hours_text,
    tenths_text,
)

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SERIAL_RE = re.compile(rf"^(\d{{4}})([{ALPHABET}]{{8}})([{ALPHABET}]{{6}})$")
MAX_PERIOD_DAYS = 366 * 50


def _signature(body: str) -> str:
    key = current_app.config["CERTIFICATE_KEY"].encode()
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    # base32 then mapped onto our alphabet: 6 characters = 30 bits of the HMAC.
    b32 = base64.b32encode(digest).decode()[:6]
    return b32.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET))


def new_serial(year: int) -> str:
    body = f"{year:04d}" + "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{body[:4]}-{body[4:]}-{_signature(body)}"


def check_serial(text: str | None) -> str | None:
    """The canonical serial if `text` carries a valid signature (case, spaces and dashes are
    forgiven), else None. No database access."""
    if not text or len(text) > 64:
        return None
    compact = re.sub(r"[\s\-]", "", text).upper()
    match = SERIAL_RE.match(compact)
    if not match:
        return None
    year, body, sig = match.groups()
    if not hmac.compare_digest(sig, _signature(year + body)):
        return None
    return f"{year}-{body}-{sig}"


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time(), SHANGHAI),
            datetime.combine(end + timedelta(days=1), time(), SHANGHAI))


def check_period(start: date | None, end: date | None) -> tuple[date, date]:
    errors: dict[str, list[str]] = {}
    today = utcnow().astimezone(SHANGHAI).date()
    if start is None:
        errors["from"] = [_("Enter the first day of the period.")]
    if end is None:
        errors["to"] = [_("Enter the last day of the period.")]
    elif end > today:
        errors["to"] = [_("The period cannot end in the future.")]
    if start and end and end < start:
        errors["to"] = [_("The last day must not be before the first.")]
    elif start and end and (end - start).days > MAX_PERIOD_DAYS:
        errors["from"] = [_("The period is too long.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return start, end


def request_certificate(volunteer, start: date | None, end: date | None, *, actor,
                        org=None, base_url: str | None = None) -> Certificate:
    """Ask for a certificate (free of charge). Asking again for the same period and issuer while
    one is still pending returns that one (a partial unique index makes it so under races)."""
    from portal.volunteers.models import VolunteerState

    start, end = check_period(start, end)
    if volunteer.status is VolunteerState.deleted:
        raise Conflict(_("This volunteer's account has been deleted."))
    issuer_key = f"org:{org.id}" if org is not None else "all"
    if not _approved_minutes(volunteer.id, start, end, org):
        # A certificate of 0.0 hours would verify as valid under the issuer's name.
        raise ValidationFailed(_("Please correct the marked fields."), {"from": [
            _("No approved service hours with this organisation in this period: there is "
              "nothing to certify.") if org is not None else
            _("No approved service hours in this period: there is nothing to certify.")]})
    existing = _pending(volunteer.id, start, end, issuer_key)
    if existing is not None and _still_coming(existing):
        return existing
    cert = Certificate(serial=new_serial(end.year), volunteer_id=volunteer.id,
                       org_id=org.id if org is not None else None, issuer_key=issuer_key,
                       period_from=start, period_to=end, requested_by=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(cert)
            db.session.flush()
    except sa.exc.IntegrityError:
        existing = _pending(volunteer.id, start, end, issuer_key)
        if existing is None:
            raise
        return existing
    job = enqueue(build_certificate, cert.id, base_url, actor=actor)
    cert.job_id = job.id
    record(actor, "certificate", cert.id, "request", to=cert.serial,
           reason=f"{start.isoformat()} – {end.isoformat()}", area_code=volunteer.community_code)
    return cert


def _approved_minutes(volunteer_id: int, start: date, end: date, org) -> int:
    lower, upper = day_bounds(start, end)
    query = sa.select(sa.func.coalesce(sa.func.sum(ServiceRecord.minutes), 0)).where(
        ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.status == RecordState.approved,
        ServiceRecord.started_at >= lower, ServiceRecord.started_at < upper)
    if org is not None:
        query = query.where(ServiceRecord.org_id == org.id)
    return db.session.scalar(query)


def _still_coming(cert: Certificate) -> bool:
    """Asking again while a certificate is pending: a lost build is brought back at once (True);
    one whose build failed for good, or has none, is marked failed, so that a new certificate
    is made (False)."""
    run = db.session.get(JobRun, cert.job_id) if cert.job_id else None
    revive(run)
    if run is not None and run.status != "failed":
        return True
    certificate_failed(cert.id, reason=run.error if run is not None and run.error
                       else lost_reason(0))
    db.session.flush()
    return False


def _pending(volunteer_id, start, end, issuer_key) -> Certificate | None:
    return db.session.scalars(sa.select(Certificate).where(
        Certificate.volunteer_id == volunteer_id, Certificate.period_from == start,
        Certificate.period_to == end, Certificate.issuer_key == issuer_key,
        Certificate.status == CertificateState.pending)).first()


def _issuer(cert: Certificate, requester) -> dict:
    cfg = current_app.config
    staff = requester is not None and requester.id != cert.volunteer.user_id
    handler = (requester.display_name or requester.username) if staff else None
    if cert.org is not None:
        return {"name": cert.org.name, "head": cert.org.contact_name,
                "handler": handler or cert.org.contact_name, "contact": cert.org.contact_phone}
    return {"name": cfg["CERTIFICATE_ISSUER"], "head": cfg["CERTIFICATE_ISSUER_HEAD"],
            "handler": handler or cfg["CERTIFICATE_HANDLER"],
            "contact": cfg["CERTIFICATE_ISSUER_CONTACT"]}


def snapshot(cert: Certificate, requester=None) -> dict:
    """The issued content, frozen: later amendments cannot alter an issued certificate."""
    from portal.activities.models import Activity
    from portal.core.areas import Area
    from portal.orgs.models import Org
    from portal.volunteers.models import ID_TYPE_TITLES

    volunteer = cert.volunteer
    lower, upper = day_bounds(cert.period_from, cert.period_to)
    query = (sa.select(ServiceRecord.org_id, Org.name, Area.name, ServiceRecord.started_at,
                       ServiceRecord.minutes, ServiceRecord.content, Activity.title)
             .join(Activity, Activity.id == ServiceRecord.activity_id)
             .outerjoin(Org, Org.id == ServiceRecord.org_id)
             .join(Area, Area.code == Activity.community_code)
             .where(ServiceRecord.volunteer_id == volunteer.id,
                    ServiceRecord.status == RecordState.approved,
                    ServiceRecord.started_at >= lower, ServiceRecord.started_at < upper)
             .order_by(ServiceRecord.started_at))
    if cert.org_id is not None:
        query = query.where(ServiceRecord.org_id == cert.org_id)
    groups: dict[str, dict] = {}
    total = 0
    for org_id, org_name, area_name, started, minutes, content, title in \
            db.session.execute(query):
        name = org_name if org_id else area_name
        group = groups.setdefault(name, {"issuer": name, "minutes": 0, "records": 0,
                                         "contents": [], "first": None, "last": None})
        group["minutes"] += minutes
        group["records"] += 1
        day = started.astimezone(SHANGHAI).date().isoformat()
        group["first"] = group["first"] or day
        group["last"] = day
        text = (content or title or "").strip()
        if text and text not in group["contents"] and len(group["contents"]) < 12:
            group["contents"].append(text[:100])
        total += minutes
    ordered = sorted(groups.values(), key=lambda g: (-g["minutes"], g["issuer"]))
    for group, tenths in zip(ordered, shares_of_total([g["minutes"] for g in ordered]),
                             strict=True):
        group["hours"] = tenths_text(tenths)
    with force_locale("zh_Hans_CN"):
        id_type = str(ID_TYPE_TITLES.get(volunteer.id_type, volunteer.id_type))
    return {
        "serial": cert.serial,
        "volunteer": {"name": volunteer.real_name, "id_type": volunteer.id_type,
                      "id_type_title": id_type, "id_number_masked": volunteer.id_number_masked,
                      "volunteer_code": volunteer.volunteer_code},
        "period": cert.period(),
        "approved_minutes": total, "hours": hours_text(total),
        "groups": ordered,
        "issuer": _issuer(cert, requester),
        "issued_on": utcnow().astimezone(SHANGHAI).date().isoformat(),
    }


class FontMissing(RuntimeError):
    """The CJK font certificates embed is not installed: refuse rather than print boxes."""


def cjk_font_url() -> str:
    """The bundled Noto Sans CJK (the `noto-cjk-sans-otc` package), as a file URL for the
    certificate's @font-face: certificates read the same on every machine, whatever fonts it
    has (none at all included, where Pango would otherwise crash or print boxes)."""
    try:
        import noto_cjk_sans_otc

        path = Path(str(noto_cjk_sans_otc.FONT_PATH))
    except ImportError:
        path = None
    if path is None or not path.is_file() or path.stat().st_size < 1_000_000:
        raise FontMissing("the CJK font for certificates is missing: reinstall the portal "
                          "(`make install`; the package noto-cjk-sans-otc holds it)")
    return path.resolve().as_uri()


def shares_of_total(minutes: list[int]) -> list[int]:
    """Each row's hours in tenths, rounded so that the rows add up to the total as printed
    (the total rounded half-up; the tenths left over go to the rows that lost most by rounding
    down, the largest remainder method): 3 × 3.2 h printed beside a total of 9.7 h would not."""
    total = ((sum(minutes)) * 10 + 30) // 60
    floors = [m * 10 // 60 for m in minutes]
    rest = total - sum(floors)
    by_remainder = sorted(range(len(minutes)), key=lambda i: (-(minutes[i] * 10 % 60), i))
    for i in by_remainder[:max(0, rest)]:
        floors[i] += 1
    return floors


# The organisers a certificate lists row by row, those with most hours first; the others share
# one row (their number, records and hours), so that the total still reads as the sum. A
# volunteer who served with 200 organisers would otherwise get a certificate of 24 pages that
# takes five times as long to make as one of a page; a certificate naming one organisation
# (org_id) is there for whoever needs that organisation's own proof.
CERTIFICATE_ROWS = 30


def rows_and_rest(groups: list[dict]) -> tuple[list[dict], dict | None]:
    """The groups a certificate lists, and the row of the others (None when there are none):
    their hours add up the printed tenths, so that the rows still sum to the total."""
    shown, rest = groups[:CERTIFICATE_ROWS], groups[CERTIFICATE_ROWS:]
    if not rest:
        return shown, None
    tenths = sum(int(g["hours"].replace(".", "")) for g in rest)
    return shown, {"count": len(rest), "records": sum(g["records"] for g in rest),
                   "hours": tenths_text(tenths)}


def render_pdf(snap: dict, verify_url: str) -> bytes:
    import base64 as b64

    from portal.records import renderer

    font_url = cjk_font_url()  # before WeasyPrint lays anything out

    from portal.core.qr import qr_svg

    qr = "data:image/svg+xml;base64," + b64.b64encode(qr_svg(verify_url)).decode()
    rows, rest = rows_and_rest(snap["groups"])
    with force_locale("zh_Hans_CN"):
        html = render_template("records/certificate_pdf.html", c=snap, rows=rows, rest=rest,
                               verify_url=verify_url, qr=qr, font_url=font_url)
    return renderer.pdf(html)


def warm_up() -> bytes:
    """Start the worker's PDF renderer (portal.records.renderer) and render one throw-away
    certificate through it, so that WeasyPrint, the template and the CJK fonts are loaded
    before the first certificate asks. The worker calls this once before it starts
    (portal.core.jobs.start_worker), before its threads: the renderer's fork server starts
    here."""
    from portal.records import renderer

    cfg = current_app.config
    renderer.start(cfg["CERTIFICATE_RENDERER_MAX_RENDERS"], cfg["CERTIFICATE_RENDERER_MAX_MB"])
    group = {"issuer": "社区", "minutes": 60, "records": 1, "contents": ["志愿服务"],
             "first": "2024-01-01", "last": "2024-01-01", "hours": "1.0"}
    sample = {"serial": "2024-ABCDEFGH-JKLMNP",
              "volunteer": {"name": "张三", "id_type": "resident_id", "id_type_title": "居民身份证",
                            "id_number_masked": "2108**********0000", "volunteer_code": "YK0"},
              "period": {"from": "2024-01-01", "to": "2024-12-31"}, "approved_minutes": 60,
              "hours": "1.0", "groups": [group],
              "issuer": {"name": "民政局", "head": "", "handler": "", "contact": ""},
              "issued_on": "2024-12-31"}
    return render_pdf(sample, "http://localhost/verify/2024-ABCDEFGH-JKLMNP")


def verify_link(serial: str, base_url: str | None) -> str:
    """The public verification address printed on the certificate and in its QR code:
    PUBLIC_BASE_URL when set (what residents can reach), else the address of the request."""
    base = current_app.config.get("PUBLIC_BASE_URL") or base_url or "http://localhost/"
    return base.rstrip("/") + "/verify/" + serial


@runs_in_worker
def build_certificate(cert_id: int, base_url: str | None = None) -> dict:
    """The job: freeze the snapshot, render the PDF, mark it ready, in one transaction. A build
    that fails for good marks the certificate failed (`certificate_failed`), so that asking again
    starts afresh; one that was interrupted is tried again."""
    from portal.core.users import User

    cert = db.session.get(Certificate, cert_id)
    if cert is None or cert.status is not CertificateState.pending:
        return {"skipped": 1}
    set_progress(10)
    requester = db.session.get(User, cert.requested_by) if cert.requested_by else None
    snap = snapshot(cert, requester)
    set_progress(40)
    pdf = render_pdf(snap, verify_link(cert.serial, base_url))
    set_progress(90)
    changed = db.session.execute(
        sa.update(Certificate)
        .where(Certificate.id == cert.id, Certificate.status == CertificateState.pending)
        .values(status=CertificateState.ready, snapshot=snap, pdf=pdf,
                approved_minutes=snap["approved_minutes"], issued_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if changed == 1:
        record(requester, "certificate", cert.id, "issue", from_="pending", to="ready",
               reason=f"{snap['approved_minutes']} min", area_code=cert.volunteer.community_code)
    db.session.commit()
    return {"minutes": snap["approved_minutes"], "bytes": len(pdf)}


@gives_up(build_certificate)
def certificate_failed(cert_id: int, base_url: str | None = None, *, reason: str) -> None:
    """Its build failed for good (or was lost too often): failed with the reason, so that the
    volunteer sees why and asking again for the period starts afresh."""
    db.session.execute(sa.update(Certificate).where(
        Certificate.id == cert_id, Certificate.status == CertificateState.pending)
        .values(status=CertificateState.failed, error=reason[:2000])
        .execution_options(synchronize_session=False))


def revoke(cert: Certificate, reason: str | None, *, actor) -> Certificate:
    from portal.core.states import transition

    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.on("reason", _("Say why the certificate is revoked."))
    transition(cert, CertificateState.revoked, {CertificateState.ready: {
        CertificateState.revoked}}, actor=actor, object_type="certificate",
        area_code=cert.volunteer.community_code, reason=reason, action="revoke",
        stamp="revoked_at")
    cert.revoked_by, cert.revoke_reason = actor.id, reason
    return cert


def verification(serial: str | None) -> dict | None:
    """What anyone may learn from a serial (masked personal data only), or None (404)."""
    canonical = check_serial(serial)
    if canonical is None:
        return None
    cert = db.session.scalars(sa.select(Certificate)
                              .where(Certificate.serial == canonical)).first()
    if cert is None or cert.status not in (CertificateState.ready, CertificateState.revoked):
        return None
    snap = cert.snapshot or {}
    if cert.status is CertificateState.revoked:
        return {"valid": False, "status": "revoked", "serial": cert.serial,
                "revoked_at": cert.revoked_at.astimezone(SHANGHAI).isoformat(),
                "reason": cert.revoke_reason}
    return {"valid": True, "status": "issued", "serial": cert.serial,
            "real_name_masked": mask_name(snap["volunteer"]["name"]),
            "volunteer_code": snap["volunteer"]["volunteer_code"],
            "approved_minutes": snap["approved_minutes"],
            "approved_hours": float(snap["hours"]), "period": snap["period"],
            "issuer": snap["issuer"]["name"],
            "issued_at": cert.issued_at.astimezone(SHANGHAI).isoformat()}


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; a Latin name keeps its first letter."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)
