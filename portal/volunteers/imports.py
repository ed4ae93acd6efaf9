"""Bulk registration from an Excel sheet (staff live in Excel): a template with Chinese headers,
an import that runs as a job with progress, every row checked by the same service as the page,
and a report of the rejected rows with their reasons. Re-importing duplicates nothing: a
document number already registered is reported, not added.

The uploaded sheet holds ID numbers: it is deleted as soon as it has been read, and the report
shows them masked.
"""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from portal.core.audit import record
from portal.core.errors import DomainError
from portal.core.jobs import gives_up, set_progress
from portal.core.users import User
from portal.extensions import db
from portal.volunteers import idcards, services
from portal.volunteers.catalogues import SERVICE_TYPES, SKILLS

HEADERS = ["姓名", "证件类型", "证件号码", "手机号码", "社区代码", "服务类型", "技能",
           "出生日期（非身份证填）", "性别（非身份证填）", "监护人姓名", "监护人电话",
           "监护人同意（是/否）"]
ID_TYPES_ZH = {"居民身份证": "resident_id", "身份证": "resident_id", "护照": "passport",
               "港澳居民来往内地通行证": "hk_macao_permit", "港澳通行证": "hk_macao_permit",
               "台湾居民来往大陆通行证": "taiwan_permit", "台胞证": "taiwan_permit"}
GENDERS_ZH = {"男": "male", "女": "female"}
CHUNK = 200


def import_dir() -> Path:
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def template() -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.title = "志愿者"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.append(["张三", "居民身份证", "（18位号码）", "13800138000", "210802001001",
                  "助老服务、文体活动", "急救", "", "", "", "", ""])
    for column in "ABCDEFGHIJKL":
        sheet.column_dimensions[column].width = 18
    help_sheet = book.create_sheet("填写说明")
    from flask_babel import force_locale

    with force_locale("zh_Hans_CN"):
        help_sheet.append(["服务类型可选", "、".join(str(v) for v in SERVICE_TYPES.values())])
        help_sheet.append(["技能可选", "、".join(str(v) for v in SKILLS.values())])
    help_sheet.append(["证件类型可选", "、".join(ID_TYPES_ZH)])
    help_sheet.append(["说明", "第 2 行是示例，导入前请删除。未满 18 周岁须填写监护人并填“是”。"])
    stream = io.BytesIO()
    book.save(stream)
    stream.seek(0)
    return stream


def _codes(value, catalogue: dict) -> list[str]:
    """Chinese names or codes, separated by 、 , ， ; or spaces."""
    text = str(value or "")
    for sep in "，,;；/ ":
        text = text.replace(sep, "、")
    from flask_babel import force_locale

    by_title = {}
    for locale in ("en", "zh_Hans_CN"):  # the template is Chinese, whoever uploads it
        with force_locale(locale):
            by_title.update({str(title): code for code, title in catalogue.items()})
    found = []
    for part in filter(None, (p.strip() for p in text.split("、"))):
        found.append(by_title.get(part, part))
    return found


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number typed as a number
    return str(value).strip()


def row_input(row) -> services.VolunteerInput:
    cells = list(row) + [None] * (len(HEADERS) - len(row))
    (name, id_type, number, phone, community, types, skills, birth, gender, g_name, g_phone,
     g_consent) = cells[:len(HEADERS)]
    if isinstance(birth, datetime):
        birth = birth.date()
    elif birth and not isinstance(birth, date):
        try:
            birth = date.fromisoformat(_text(birth))
        except ValueError:
            birth = None
    return services.VolunteerInput(
        real_name=_text(name), id_type=ID_TYPES_ZH.get(_text(id_type), _text(id_type) or
                                                      "resident_id"),
        id_number=_text(number), phone=_text(phone), community_code=_text(community),
        service_types=_codes(types, SERVICE_TYPES), skills=_codes(skills, SKILLS),
        birth_date=birth or None, gender=GENDERS_ZH.get(_text(gender)) or None,
        guardian_name=_text(g_name) or None, guardian_phone=_text(g_phone) or None,
        guardian_consent=_text(g_consent) in ("是", "同意", "yes", "Y", "y"))


def run_import(path: str, actor_id: int) -> dict:
    """Job: import every row; commit in chunks; write the rejected rows' report."""
    from portal.core.permissions import authorize

    actor = db.session.get(User, actor_id)
    file = Path(path)
    if not file.exists():  # imported already (the file goes once its rows are in)
        return {"skipped": 1}
    book = load_workbook(file, read_only=True, data_only=True)
    rows = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    book.close()
    rows = [(line, row) for line, row in enumerate(rows, start=2)
            if any(v not in (None, "") for v in row)]
    created = duplicates = 0
    rejected: list[tuple[int, str, str, str]] = []
    for index, (line, row) in enumerate(rows, start=1):
        data = row_input(row)
        try:
            with db.session.begin_nested():
                authorize(actor, "volunteer.register_for", data.community_code)
                services.register_volunteer(data, actor=actor)
            created += 1
        except DomainError as exc:
            if exc.status == 409:
                duplicates += 1
            reasons = "；".join(f"{field}: {'、'.join(messages)}"
                               for field, messages in exc.fields.items()) or exc.message
            rejected.append((line, data.real_name or "", idcards.mask(data.id_number or ""),
                             reasons))
        if index % CHUNK == 0:
            db.session.commit()
            set_progress(int(100 * index / len(rows)))
    report = None
    if rejected:
        report = f"{uuid.uuid4().hex}.xlsx"
        book = Workbook()
        sheet = book.active
        sheet.title = "未导入的行"
        sheet.append(["行号", "姓名", "证件号码（脱敏）", "原因"])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for item in rejected:
            sheet.append(list(item))
        sheet.column_dimensions["D"].width = 60
        book.save(file.parent / report)  # beside the upload: the web side serves it from there
    record(actor, "user", actor.id, "import_volunteers",
           to=f"{created} created, {len(rejected)} rejected", area_code=actor.primary_area_code)
    # It holds ID numbers: gone once imported (kept until then, so a lost run can run again).
    db.session.commit()
    file.unlink(missing_ok=True)
    return {"rows": len(rows), "created": created, "rejected": len(rejected),
            "already_registered": duplicates, "report": report,
            "download": f"/volunteers/import/reports/{report}" if report else None}


@gives_up(run_import)
def import_failed(path: str, actor_id: int, *, reason: str) -> None:
    """The import failed for good: its upload (ID numbers) goes."""
    Path(path).unlink(missing_ok=True)
