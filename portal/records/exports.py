"""Export for the national volunteer system (全国志愿服务信息系统): volunteers and approved service
records of an area, as .xlsx in that system's column order (the columns are documented in the
README). A job builds it with progress. Whatever one export has carried is remembered (one row
per volunteer or record, unique), so a second export of the same period repeats nothing.

The file holds full ID numbers (the national system needs them): it is made only for the bureau
of the area, and making and downloading it are audited.
"""

from __future__ import annotations

import io
from datetime import date

import sqlalchemy as sa
from flask import send_file
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from portal.core.audit import record
from portal.core.db import SHANGHAI, utcnow
from portal.core.errors import ValidationFailed
from portal.core.jobs import JobRun, enqueue, set_progress
from portal.extensions import db
from portal.records.models import ExportFile, NationalExport, RecordState, ServiceRecord

ID_TYPE_ZH = {"resident_id": "居民身份证", "passport": "护照",
              "hk_macao_permit": "港澳居民来往内地通行证",
              "taiwan_permit": "台湾居民来往大陆通行证"}
GENDER_ZH = {"male": "男", "female": "女"}

VOLUNTEER_COLUMNS = ["志愿者编号", "姓名", "证件类型", "证件号码", "性别", "出生日期", "手机号码",
                     "所属区划代码", "所属社区", "服务类别", "技能特长", "注册日期"]
RECORD_COLUMNS = ["记录编号", "志愿者编号", "姓名", "证件类型", "证件号码", "活动名称",
                  "组织单位", "服务地点", "服务对象", "服务内容", "开始时间", "结束时间",
                  "服务时长(小时)", "服务时长(分钟)", "记录人", "活动负责人", "审核日期"]
CHUNK = 2000


def start_national_export(area_code: str, start: date, end: date, *, actor) -> JobRun:
    from portal.core.areas import Area

    if db.session.get(Area, area_code) is None:
        raise ValidationFailed.on("area_code", _("No such area."))
    if end < start:
        raise ValidationFailed.on("to", _("The last day must not be before the first."))
    export = ExportFile(area_code=area_code, period_from=start, period_to=end,
                        created_by=actor.id)
    db.session.add(export)
    db.session.flush()
    job = enqueue(build_national_export, export.id, actor=actor)
    export.job_id = job.id
    record(actor, "area", area_code, "national_export",
           reason=f"{start.isoformat()} – {end.isoformat()}", area_code=area_code)
    return job


def _records_query(export: ExportFile):
    """Approved records of activities in the area, begun in the period, not exported before."""
    from portal.activities.models import Activity
    from portal.core.areas import under
    from portal.records.certificates import day_bounds

    lower, upper = day_bounds(export.period_from, export.period_to)
    done = sa.select(NationalExport.object_id).where(NationalExport.kind == "record")
    return (sa.select(ServiceRecord.id)
            .join(Activity, Activity.id == ServiceRecord.activity_id)
            .where(ServiceRecord.status == RecordState.approved,
                   under(Activity.community_code, export.area_code),
                   ServiceRecord.started_at >= lower, ServiceRecord.started_at < upper,
                   ServiceRecord.id.not_in(done))
            .order_by(ServiceRecord.id))


def _volunteers_query(export: ExportFile):
    """Volunteers of the area registered by the period's end, and those the records need, not
    exported before."""
    from portal.core.areas import under
    from portal.records.certificates import day_bounds
    from portal.volunteers.models import Volunteer, VolunteerState

    _lower, upper = day_bounds(export.period_from, export.period_to)
    done = sa.select(NationalExport.object_id).where(NationalExport.kind == "volunteer")
    # a subquery, not a list of ids: a month of a city's records exceeds SQLite's bound parameters
    needed = sa.select(ServiceRecord.volunteer_id).where(
        ServiceRecord.id.in_(_records_query(export)))
    of_area = sa.and_(under(Volunteer.community_code, export.area_code),
                      Volunteer.created_at < upper)
    return (sa.select(Volunteer.id)
            .where(Volunteer.status != VolunteerState.deleted,
                   sa.or_(of_area, Volunteer.id.in_(needed)), Volunteer.id.not_in(done))
            .order_by(Volunteer.id))


def _id_number(volunteer) -> str:
    from portal.core import crypto

    return crypto.decrypt(volunteer.id_number_encrypted) if volunteer.id_number_encrypted \
        else ""


def _local(value) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


def _sheet(book: Workbook, title: str, headers: list[str]):
    sheet = book.create_sheet(title)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers):
        sheet.column_dimensions[sheet.cell(1, index + 1).column_letter].width = \
            max(12, len(header) * 2 + 2)
    return sheet


def build_national_export(export_id: int) -> dict:
    """The job. Everything it writes (the file, what it carried) commits at once, or nothing."""
    with force_locale("zh_Hans_CN"):  # the national system's sheets are in Chinese
        return _build(export_id)


def _build(export_id: int) -> dict:
    from portal.core.areas import Area
    from portal.core.users import User
    from portal.orgs.models import Org
    from portal.volunteers.catalogues import SERVICE_TYPES, SKILLS
    from portal.volunteers.models import Volunteer

    export = db.session.get(ExportFile, export_id)
    if export is None or export.finished_at is not None:
        return {"skipped": 1}
    record_ids = list(db.session.scalars(_records_query(export)))
    volunteer_ids = list(db.session.scalars(_volunteers_query(export)))
    total = max(1, len(record_ids) + len(volunteer_ids))
    done = 0
    book = Workbook()
    book.remove(book.active)
    sheet = _sheet(book, "志愿者", VOLUNTEER_COLUMNS)
    community_names: dict[str, str] = {}
    for start in range(0, len(volunteer_ids), CHUNK):
        chunk = volunteer_ids[start:start + CHUNK]
        volunteers = db.session.scalars(sa.select(Volunteer).where(Volunteer.id.in_(chunk))
                                        .order_by(Volunteer.id)).all()
        codes = {v.community_code for v in volunteers} - community_names.keys()
        if codes:
            community_names.update(db.session.execute(
                sa.select(Area.code, Area.name).where(Area.code.in_(codes))).tuples().all())
        for v in volunteers:
            sheet.append([v.volunteer_code, v.real_name, ID_TYPE_ZH.get(v.id_type, v.id_type),
                          _id_number(v), GENDER_ZH.get(v.gender or "", ""),
                          v.birth_date.isoformat() if v.birth_date else "", v.phone or "",
                          v.community_code, community_names.get(v.community_code, ""),
                          "、".join(str(SERVICE_TYPES.get(t, t)) for t in v.service_types or []),
                          "、".join(str(SKILLS.get(t, t)) for t in v.skills or []),
                          v.created_at.astimezone(SHANGHAI).date().isoformat()])
        db.session.expunge_all()
        done += len(chunk)
        set_progress(int(90 * done / total))
    sheet = _sheet(book, "服务记录", RECORD_COLUMNS)
    export = db.session.get(ExportFile, export_id)
    for start in range(0, len(record_ids), CHUNK):
        chunk = record_ids[start:start + CHUNK]
        rows = db.session.scalars(sa.select(ServiceRecord).where(ServiceRecord.id.in_(chunk))
                                  .order_by(ServiceRecord.id)).all()
        org_names = dict(db.session.execute(sa.select(Org.id, Org.name).where(
            Org.id.in_({r.org_id for r in rows if r.org_id}))).tuples().all())
        recorders = dict(db.session.execute(sa.select(User.id, User.display_name).where(
            User.id.in_({r.recorded_by for r in rows if r.recorded_by}))).tuples().all())
        for r in rows:
            v = r.volunteer
            organiser = org_names.get(r.org_id) if r.org_id else \
                community_names.get(r.activity.community_code) or r.activity.community.name
            sheet.append([r.id, v.volunteer_code, v.real_name,
                          ID_TYPE_ZH.get(v.id_type, v.id_type), _id_number(v), r.activity.title,
                          organiser, r.place or r.activity.location, r.beneficiaries or "",
                          r.content or "", _local(r.started_at), _local(r.ended_at),
                          round(r.minutes / 60, 1), r.minutes,
                          recorders.get(r.recorded_by) or "", r.leader or "",
                          r.decided_at.astimezone(SHANGHAI).date().isoformat()
                          if r.decided_at else ""])
        db.session.expunge_all()
        done += len(chunk)
        set_progress(int(90 * done / total))
    stream = io.BytesIO()
    book.save(stream)
    export = db.session.get(ExportFile, export_id)
    carried = [{"kind": "volunteer", "object_id": i, "export_id": export_id}
               for i in volunteer_ids]
    carried += [{"kind": "record", "object_id": i, "export_id": export_id} for i in record_ids]
    if carried:
        db.session.execute(sa.insert(NationalExport), carried)
    export.content = stream.getvalue()
    export.volunteers, export.records = len(volunteer_ids), len(record_ids)
    export.finished_at = utcnow()
    db.session.commit()
    return {"volunteers": len(volunteer_ids), "records": len(record_ids),
            "download": f"/exports/{export.job_id}/file", "download_kind": "export"}


def export_response(job_id: str, user):
    """The export's file for who made it or the bureau of its area; each download audited."""
    from portal.core.apiframe import ApiAbort
    from portal.core.permissions import can

    export = db.session.scalars(sa.select(ExportFile).where(ExportFile.job_id == job_id)).first() \
        if len(job_id) <= 36 else None
    if export is None or not (export.created_by == user.id
                              or can(user, "national.export", export.area_code)):
        raise ApiAbort(404)
    if export.content is None:
        raise ApiAbort(409, _("The export is not ready yet."))
    record(user, "area", export.area_code, "national_export_download",
           reason=f"{export.period_from.isoformat()} – {export.period_to.isoformat()}",
           area_code=export.area_code)
    db.session.commit()
    return send_file(io.BytesIO(export.content), as_attachment=True,
                     download_name=f"全国志愿服务信息系统导出-{export.area_code}-"
                                   f"{export.period_from.isoformat()}-"
                                   f"{export.period_to.isoformat()}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument."
                              "spreadsheetml.sheet")
