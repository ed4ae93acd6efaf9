"""Bulk import from Excel: a template, a job with progress, every row checked, a report of the
rejected rows, nothing duplicated on re-import, and the uploaded sheet not kept."""

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from portal.extensions import db
from portal.volunteers.idcards import make_resident_id
from portal.volunteers.imports import HEADERS
from portal.volunteers.models import Volunteer
from tests.conftest import csrf_token, wait_for_job

URBAN = "210802001001"
GOOD1 = make_resident_id("210802", date(1951, 4, 1), 11)
GOOD2 = make_resident_id("210881", date(1975, 9, 9), 22)
TEEN = make_resident_id("210802", date(date.today().year - 14, 1, 1), 33)


def sheet(rows) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


ROWS = [
    ["王大妈", "居民身份证", GOOD1, 13800138000, URBAN, "助老服务、文体活动", "急救", None, None,
     None, None, None],
    ["李师傅", "身份证", GOOD2.lower(), "13900139000", URBAN, "", "维修", None, None, None, None,
     None],
    ["错号", "居民身份证", GOOD1[:17] + ("1" if GOOD1[17] != "1" else "2"), "13800138000", URBAN,
     "", "", None, None, None, None, None],
    ["小明", "居民身份证", TEEN, "13800138000", URBAN, "", "", None, None, None, None, None],
    ["外区", "居民身份证", make_resident_id("210804", date(1960, 1, 1), 44), "13800138000",
     "210804100201", "", "", None, None, None, None, None],
]


def upload(client, content):
    page = client.get("/volunteers/import")
    return client.post("/volunteers/import", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "file": (io.BytesIO(content), "volunteers.xlsx")}, content_type="multipart/form-data")


@pytest.fixture
def worker_signed_in(yingkou, make_user, login):
    make_user("worker", ("community_worker", URBAN))
    login("worker")


def test_template_has_chinese_headers(client, worker_signed_in):
    response = client.get("/volunteers/import/template.xlsx")
    book = load_workbook(io.BytesIO(response.data))
    assert [c.value for c in book.active[1]] == HEADERS


def test_import_saves_valid_rows_reports_the_rest_and_never_duplicates(app, client,
                                                                       worker_signed_in,
                                                                       worker):
    response = upload(client, sheet(ROWS))
    assert response.status_code == 302
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    result = wait_for_job(client, job_id, {})
    assert result["status"] == "finished", result
    assert (result["result"]["rows"], result["result"]["created"],
            result["result"]["rejected"]) == (5, 2, 3)
    with app.app_context():
        names = set(db.session.scalars(sa.select(Volunteer.real_name)))
        assert names == {"王大妈", "李师傅"}
        wang = db.session.scalar(sa.select(Volunteer).where(Volunteer.real_name == "王大妈"))
        assert wang.service_types == ["elderly_care", "culture_sports"]
        assert wang.skills == ["first_aid"] and wang.phone == "13800138000"
    page = client.get(f"/jobs/{job_id}?lang=en").get_data(as_text=True)
    download = re.search(r'href="(/volunteers/import/reports/[^"]+)"', page).group(1)
    report = load_workbook(io.BytesIO(client.get(download).data)).active
    lines = [row for row in report.iter_rows(min_row=2, values_only=True)]
    assert [line[0] for line in lines] == [4, 5, 6]
    assert all(GOOD1 not in str(line) and TEEN not in str(line) for line in lines)
    assert "guardian" in lines[1][3]
    # the same sheet again: nobody twice
    again = wait_for_job(client, upload(client, sheet(ROWS)).headers["Location"]
                         .rsplit("/", 1)[1], {})
    assert again["result"]["created"] == 0, again
    rep2 = load_workbook(io.BytesIO(client.get(again["result"]["download"]).data)).active
    assert again["result"]["already_registered"] == 2, list(rep2.iter_rows(values_only=True))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Volunteer)) == 2
        from portal.volunteers.imports import import_dir

        assert not list(import_dir().glob("upload-*"))  # the sheet with ID numbers is gone


def test_only_staff_import_and_only_xlsx(client, yingkou, make_user, login, worker_signed_in):
    assert upload(client, b"not a spreadsheet").status_code == 422
    make_user("plain")
    login("plain")
    assert client.get("/volunteers/import").status_code == 403
    assert client.get("/volunteers/import/template.xlsx").status_code == 403


def test_reports_are_only_for_whoever_imported(app, client, yingkou, make_user, login,
                                               worker_signed_in, worker):
    result = wait_for_job(client, upload(client, sheet(ROWS)).headers["Location"]
                          .rsplit("/", 1)[1], {})
    make_user("other", ("community_worker", URBAN))
    login("other")
    assert client.get(result["result"]["download"]).status_code == 404
