"""The user agreement (用户协议) and the privacy policy (隐私政策): versioned texts the city's
bureau keeps, shown at /terms and /privacy; a volunteer's registration records which versions
they agreed to, and when (个人信息保护法 Art. 14, 29: separate consent for sensitive personal
information such as an ID number). Until the bureau publishes its own, version 0 is the text
below."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import UTCDateTime, utcnow
from portal.extensions import db

KINDS = {"terms": _l("User agreement"), "privacy": _l("Privacy policy")}


class Policy(db.Model):
    __tablename__ = "policies"
    __table_args__ = (sa.UniqueConstraint("kind", "version", name="uq_policies_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    version: Mapped[int] = mapped_column(sa.Integer)
    body_zh: Mapped[str] = mapped_column(sa.Text)
    body_en: Mapped[str] = mapped_column(sa.Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                   ondelete="SET NULL"))


DEFAULTS = {
    "terms": (
        "一、本平台由营口市民政局提供，用于志愿者实名注册、参加志愿服务活动、记录服务时长和出具"
        "志愿服务记录证明，以及社区社会组织登记备案、孵化和项目申报。\n"
        "二、您应提供真实、准确的身份信息，不得冒用他人身份；志愿服务时长以组织方记录并审核的实际"
        "服务时间为准（《志愿服务条例》《志愿服务记录与证明出具办法（试行）》）。\n"
        "三、请妥善保管账号和密码；发现账号被他人使用，请及时联系所在社区或民政部门。\n"
        "四、平台免费使用，志愿服务记录证明免费出具。",
        "1. This portal is provided by the Yingkou Civil Affairs Bureau for volunteers' real-name "
        "registration, taking part in volunteer activities, recording service hours and issuing "
        "certificates, and for community social organisations' registration, incubation and "
        "project bids.\n"
        "2. Give true and accurate identity information and never use someone else's; service "
        "hours are the actual service time recorded and approved by the organiser (Regulations "
        "on Volunteer Service; Measures on Volunteer Service Records and Certificates).\n"
        "3. Keep your account and password safe; if someone else uses your account, tell your "
        "community or the bureau.\n"
        "4. The portal is free of charge, and so are certificates."),
    "privacy": (
        "一、我们收集：姓名、证件类型和号码、出生日期和性别（由证件号码得出）、手机号码、所在社区、"
        "服务意向与技能、空闲时间；未满十八周岁的，还收集监护人姓名、电话及其同意。\n"
        "二、证件号码属于敏感个人信息，仅用于实名注册、查重、出具证明和按规定向全国志愿服务信息系统"
        "报送；平台加密存储，页面上只显示前四位和后四位，日志中不记录。\n"
        "三、组织方仅为联系您参加其活动而看到您的手机号码；向全国系统导出个人信息的每一次操作都有"
        "记录。\n"
        "四、您可以查阅、更正您的信息，申请更正服务记录，或申请注销账号；注销后个人信息按规定删除或"
        "匿名化，依法应保存的服务记录除外。\n"
        "五、如有疑问，请联系所在社区或营口市民政局。",
        "1. We collect: name, type and number of your ID document, date of birth and gender "
        "(derived from the number), mobile number, community, the services and skills you offer, "
        "your free times; for those under 18, also the guardian's name, phone and consent.\n"
        "2. An ID number is sensitive personal information. It is used only for real-name "
        "registration, finding duplicates, certificates and the reports the law requires to the "
        "national volunteer system; it is stored encrypted, shown only as its first and last "
        "four characters, and never written to logs.\n"
        "3. Organisers see your mobile number only to reach you about their activities; every "
        "export of personal data to the national system is recorded.\n"
        "4. You may see and correct your information, ask for a service record to be corrected, "
        "or ask for your account to be closed; then your personal data is deleted or anonymised "
        "as the law says, except the service records the law requires to be kept.\n"
        "5. Questions: your community or the Yingkou Civil Affairs Bureau."),
}


def current(kind: str) -> tuple[int, str]:
    """(version, text in the reader's language) of the policy in force."""
    row = db.session.scalars(sa.select(Policy).where(Policy.kind == kind)
                             .order_by(Policy.version.desc()).limit(1)).first()
    english = str(get_locale() or "").startswith("en")
    if row is None:
        zh, en = DEFAULTS[kind]
        return 0, en if english else zh
    return row.version, row.body_en if english else row.body_zh


def versions() -> str:
    """What a consent given now agrees to: 'terms:1;privacy:0'."""
    return ";".join(f"{kind}:{current(kind)[0]}" for kind in KINDS)


def publish(kind: str, body_zh: str, body_en: str, *, actor) -> Policy:
    from portal.core.audit import record
    from portal.core.errors import ValidationFailed
    from portal.core.permissions import authorize

    authorize(actor, "policy.publish", kind)
    errors = {}
    if not (body_zh or "").strip():
        errors["body_zh"] = [str(_l("This field is required."))]
    if not (body_en or "").strip():
        errors["body_en"] = [str(_l("This field is required."))]
    if errors:
        raise ValidationFailed(str(_l("Please correct the marked fields.")), errors)
    version = current(kind)[0] + 1
    policy = Policy(kind=kind, version=version, body_zh=body_zh.strip(),
                    body_en=body_en.strip(), published_by=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(policy)
            db.session.flush()
    except sa.exc.IntegrityError:
        from portal.core.errors import Conflict

        raise Conflict(str(_l("Someone else published a version at the same time. Please "
                              "reload."))) from None
    record(actor, "policy", kind, "publish_policy", to=str(version), area_code="2108")
    return policy
