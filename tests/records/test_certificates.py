"""Certificates: built by a job (the worker with Redis, inline without), an A4 PDF whose Chinese
text renders, a signed serial that anyone can verify, a frozen snapshot, revocation."""

import shutil
import subprocess
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.core.db import SHANGHAI, utcnow
from portal.extensions import db
from tests.conftest import wait_for_job
from tests.records.conftest import record_body

API = "/api/v1/service-records"
TODAY = lambda: utcnow().astimezone(SHANGHAI).date()  # noqa: E731


def ask(client, token, vid, by="wang", **body):
    period = {"from": (TODAY() - timedelta(days=90)).isoformat(), "to": TODAY().isoformat()}
    period.update(body)
    return client.post(f"/api/v1/volunteers/{vid}/certificates", headers=token(by), json=period)


def ready(client, token, answer, by="wang") -> dict:
    if answer["status"] == "pending":
        job = wait_for_job(client, answer["job_id"], token(by))
        assert job["status"] == "finished", job
    cert = client.get(f"/api/v1/certificates/{answer['id']}", headers=token(by)).get_json()
    assert cert["status"] == "ready", cert
    return cert


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          check=True, text=True).stdout


needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                   reason="poppler-utils is not installed")


@needs_poppler
def test_a_certificate_holds_the_serial_and_the_hours_and_its_chinese_renders(
        app, client, token, approved, worker, tmp_path):
    vid, _ids = approved
    answer = ask(client, token, vid)
    assert answer.status_code == 202, answer.get_json()
    body = answer.get_json()
    assert set(body) >= {"id", "serial", "status", "job_id"}
    cert = ready(client, token, body)
    assert (cert["approved_minutes"], cert["issuer"]) == (5970, "营口市民政局")
    pdf = client.get(cert["pdf_url"], headers=token("wang"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(pdf_text(pdf.data, tmp_path).split())  # letter-spaced titles come apart
    assert cert["serial"] in text and "99.5" in text
    assert "志愿服务记录证明" in text and "志愿者wang" in text
    # What is not set is left out, not printed as an empty line.
    assert "负责人" not in text and "联系方式" not in text and "经办人：五社联动服务平台" in text
    masked = client.get(f"/api/v1/volunteers/{vid}", headers=token("wang")).get_json()
    assert masked["id_number_masked"] in text  # masked, never the full number
    full = _full_id(app, vid)
    assert full not in text
    # the CJK font is embedded (a reader without it still shows the glyphs)
    (tmp_path / "c.pdf").write_bytes(pdf.data)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "c.pdf")], capture_output=True,
                           text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts
    # and the page, as an image, carries ink where the text is (not a blank page)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1",
                    str(tmp_path / "c.pdf"), str(tmp_path / "page")], check=True)
    from PIL import Image

    image = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    dark = sum(image.histogram()[:128])
    assert dark > 0.01 * image.width * image.height
    assert image.height / image.width == pytest.approx(297 / 210, rel=0.02)  # A4


def _full_id(app, vid):
    from portal.core import crypto
    from portal.volunteers.models import Volunteer

    with app.app_context():
        v = db.session.get(Volunteer, vid)
        number = crypto.decrypt(v.id_number_encrypted)
        db.session.remove()
    return number


def test_verification_shows_masked_data_and_forged_serials_are_refused(
        client, token, approved, worker, app):
    vid, _ids = approved
    cert = ready(client, token, ask(client, token, vid).get_json())
    serial = cert["serial"]
    ok = client.get(f"/api/v1/certificates/verify/{serial}")
    assert ok.status_code == 200
    body = ok.get_json()
    assert body["valid"] is True and body["status"] == "issued"
    assert body["real_name_masked"] == "志******" and body["approved_minutes"] == 5970
    assert body["approved_hours"] == 99.5 and body["issuer"] == "营口市民政局"
    assert body["period"]["to"] == TODAY().isoformat() and body["issued_at"].endswith("+08:00")
    assert "id_number" not in str(body)
    # typed in lower case, with spaces: still found
    assert client.get("/api/v1/certificates/verify/" + serial.lower().replace("-", " ")) \
        .status_code == 200
    # one character changed: refused by the signature, without a database query
    forged = serial[:-1] + ("A" if serial[-1] != "A" else "B")
    statements = []

    def count(*_a, **_k):
        statements.append(1)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            refused = client.get(f"/api/v1/certificates/verify/{forged}")
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "not_found"
    assert statements == []
    for junk in ("nonsense", "2026-AAAAAAAA-AAAAAA", "x" * 500):
        assert client.get(f"/api/v1/certificates/verify/{junk}").status_code == 404
    page = client.get(f"/verify/{serial}")
    assert page.status_code == 200 and "志******" in page.get_data(as_text=True)
    assert client.get(f"/verify/{forged}").status_code == 404


def test_the_issued_content_is_frozen_and_revocation_is_reported(client, token, approved,
                                                                  worker, bureau):
    vid, ids = approved
    cert = ready(client, token, ask(client, token, vid).get_json())
    client.post(f"{API}/{ids[0]}/amend", headers=token("worker"),
                json={"minutes": 3000, "reason": "更正"})
    again = client.get(f"/api/v1/certificates/verify/{cert['serial']}").get_json()
    assert again["approved_minutes"] == 5970  # the issued certificate did not change
    url = f"/api/v1/certificates/{cert['id']}/revoke"
    assert client.post(url, headers=token("wang"), json={"reason": "x"}).status_code == 403
    assert client.post(url, headers=token("bayuquan"), json={"reason": "x"}).status_code == 404
    assert client.post(url, headers=token("zhanqian"), json={}).status_code == 422
    revoked = client.post(url, headers=token("zhanqian"), json={"reason": "记录有误，已重新出具"})
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    check = client.get(f"/api/v1/certificates/verify/{cert['serial']}")
    assert check.status_code == 200
    body = check.get_json()
    assert (body["valid"], body["status"], body["reason"]) == (False, "revoked",
                                                               "记录有误，已重新出具")
    assert body["revoked_at"].endswith("+08:00")
    assert client.post(url, headers=token("zhanqian"), json={"reason": "x"}).status_code == 409
    page = client.get(f"/verify/{cert['serial']}?lang=en").get_data(as_text=True)
    assert "revoked" in page
    # a new certificate now shows the amended hours
    new = ready(client, token, ask(client, token, vid).get_json())
    assert new["approved_minutes"] == 6000 and new["serial"] != cert["serial"]


def test_asking_twice_while_pending_returns_the_pending_one(app, approved):
    from portal.core.users import User
    from portal.records.certificates import request_certificate
    from portal.volunteers.models import Volunteer

    vid, _ids = approved
    with app.app_context():
        volunteer = db.session.get(Volunteer, vid)
        user = db.session.scalar(sa.select(User).where(User.username == "wang"))
        start, end = date(2026, 1, 1), TODAY()
        first = request_certificate(volunteer, start, end, actor=user)
        second = request_certificate(volunteer, start, end, actor=user)
        assert first.id == second.id and first.status.value == "pending"
        other = request_certificate(volunteer, start, end - timedelta(days=1), actor=user)
        assert other.id != first.id
        db.session.rollback()


def test_rows_add_up_to_the_total_as_printed():
    """Three organisers' 194 minutes each are 3.2 h apiece but 9.7 h together: the rows are
    rounded so that they add up to the total (largest remainder), each within 0.1 h."""
    import random

    from portal.records.certificates import shares_of_total
    from portal.records.models import hours_text

    assert shares_of_total([194, 194, 194]) == [33, 32, 32]
    rng = random.Random(7)
    for _ in range(500):
        minutes = [rng.randint(1, 3000) for _ in range(rng.randint(1, 8))]
        tenths = shares_of_total(minutes)
        assert f"{sum(tenths) // 10}.{sum(tenths) % 10}" == hours_text(sum(minutes))
        assert all(abs(t - m / 6) < 1 for t, m in zip(tenths, minutes, strict=True))


def test_a_certificate_lists_its_first_organisers_and_sums_up_the_rest():
    """Served with 45 organisers: the 30 with most hours are rows, the other 15 one row (their
    number, records and hours); the printed rows still add up to the total. With 30 or fewer
    there is no such row."""
    from portal.records.certificates import CERTIFICATE_ROWS, rows_and_rest, shares_of_total
    from portal.records.models import hours_text

    minutes = sorted((37 * i % 500 + 20 for i in range(45)), reverse=True)
    tenths = shares_of_total(minutes)
    groups = [{"issuer": f"第{i}社区", "minutes": m, "records": i + 1,
               "hours": f"{t // 10}.{t % 10}"}
              for i, (m, t) in enumerate(zip(minutes, tenths, strict=True))]
    rows, rest = rows_and_rest(groups)
    assert rows == groups[:CERTIFICATE_ROWS] and CERTIFICATE_ROWS == 30
    assert rest["count"] == 15 and rest["records"] == sum(range(31, 46))
    printed = [int(g["hours"].replace(".", "")) for g in rows] + \
        [int(rest["hours"].replace(".", ""))]
    assert f"{sum(printed) // 10}.{sum(printed) % 10}" == hours_text(sum(minutes))
    assert rows_and_rest(groups[:30]) == (groups[:30], None)


@needs_poppler
def test_the_pdf_of_a_volunteer_of_many_organisers_prints_the_rest_in_one_row(app, tmp_path):
    """35 organisers: the PDF names the 30 with most hours and says the other 5 share a row,
    with their records and hours; it stays short."""
    from portal.records.certificates import render_pdf

    groups = [{"issuer": f"第{i}社区", "minutes": 600 - i, "records": 2, "contents": ["探访"],
               "first": "2026-01-01", "last": "2026-02-01", "hours": "9.9"} for i in range(35)]
    snap = {"serial": "2026-ABCDEFGH-JKLMNP",
            "volunteer": {"name": "张三", "id_type": "resident_id", "id_type_title": "居民身份证",
                          "id_number_masked": "2108**********0000", "volunteer_code": "YK1"},
            "period": {"from": "2026-01-01", "to": "2026-12-31"}, "approved_minutes": 20790,
            "hours": "346.5", "groups": groups,
            "issuer": {"name": "民政局", "head": "", "handler": "", "contact": ""},
            "issued_on": "2026-12-06"}
    with app.app_context():
        text = "".join(pdf_text(render_pdf(snap, "http://localhost/verify/x"), tmp_path).split())
    assert "第29社区" in text and "第30社区" not in text
    assert "其余5个组织单位" in text and "49.5" in text  # 5 rows of 9.9 h


def test_no_certificate_for_a_period_without_approved_hours(client, token, setting, approved):
    """A certificate of 0.0 hours would verify as valid under the issuer's name: refused, said
    by the period's field; a pending record is not approved service."""
    vid, aid = setting
    last_week = {"from": (TODAY() - timedelta(days=7)).isoformat(), "to": TODAY().isoformat()}
    client.post(API, headers=token("worker"), json=record_body(vid, aid, 30, 2))  # pending
    refused = ask(client, token, vid, **last_week)
    assert refused.status_code == 422
    assert "No approved service hours" in str(refused.get_json()["error"]["fields"]["from"]) or \
        "没有" in str(refused.get_json()["error"]["fields"]["from"])
    assert ask(client, token, vid).status_code == 202  # the last 90 days hold 99.5 h


def test_who_may_ask_and_bad_periods(client, token, approved, bureau):
    vid, _ids = approved
    assert ask(client, token, vid, by="outsider").status_code == 404
    assert ask(client, token, vid, by="bayuquan").status_code == 404
    future = ask(client, token, vid, to=(TODAY() + timedelta(days=1)).isoformat())
    assert future.status_code == 422 and "to" in future.get_json()["error"]["fields"]
    backwards = ask(client, token, vid, **{"from": TODAY().isoformat(),
                                          "to": (TODAY() - timedelta(days=3)).isoformat()})
    assert backwards.status_code == 422
    assert ask(client, token, vid, **{"from": "yesterday"}).status_code in (400, 422)
    # staff of the volunteer's area may ask for them
    assert ask(client, token, vid, by="worker").status_code == 202
    assert ask(client, token, vid, by="zhanqian").status_code == 202


def test_an_organisation_certifies_only_its_own_records(client, token, setting, org, activity):
    vid, aid = setting
    org_id = org()
    own = activity(by="boss", org_id=org_id, community_code=None)["id"]
    rid = client.post(API, headers=token("boss"),
                      json=record_body(vid, own, 24 * 10, 5, minutes=240)).get_json()["id"]
    client.post(f"{API}/{rid}/approve", headers=token("boss"))
    community = client.post(API, headers=token("worker"),
                            json=record_body(vid, aid, 24 * 5, 5, minutes=60)).get_json()["id"]
    client.post(f"{API}/{community}/approve", headers=token("worker"))
    answer = ask(client, token, vid, org_id=org_id).get_json()
    cert = ready(client, token, answer)
    assert (cert["approved_minutes"], cert["issuer"]) == (240, "八田地老年协会")
    url = f"/api/v1/certificates/{cert['id']}/revoke"
    assert client.post(url, headers=token("worker"), json={"reason": "x"}).status_code == 403
    assert client.post(url, headers=token("boss"), json={"reason": "误开"}).status_code == 200


def test_issuing_is_audited(client, token, approved, worker, bureau):
    vid, _ids = approved
    cert = ready(client, token, ask(client, token, vid).get_json())
    client.get(cert["pdf_url"], headers=token("wang"))
    rows = client.get(f"/api/v1/audit?object_type=certificate&object_id={cert['id']}",
                      headers=token("zhanqian")).get_json()["items"]
    assert [r["action"] for r in rows] == ["request", "issue", "download"]


def test_the_worker_loads_the_pdf_renderer_once_and_a_failed_warm_up_is_only_logged(
        app, monkeypatch):
    import os

    from portal.core import jobs
    from portal.records import renderer

    logged = []
    monkeypatch.setattr(jobs.log, "exception", lambda message, *args: logged.append(
        message % args))
    with app.app_context():
        try:
            jobs.warm_up_worker()  # starts the PDF renderer and renders a throw-away certificate
            made = renderer.renderer()
            assert made is not None and made.process.pid != os.getpid()
            assert made.process.is_alive() and made.renders == 1 and logged == []
        finally:
            renderer.stop()
        monkeypatch.setattr(jobs, "WORKER_WARM_UPS", ("portal.core.jobs:no_such_function",))
        jobs.warm_up_worker()
    assert logged == ["worker warm-up portal.core.jobs:no_such_function failed"]


def test_a_certificate_names_only_an_organisation_the_volunteer_served(client, token, setting,
                                                                       org):
    vid, _aid = setting
    org_id = org()
    refused = ask(client, token, vid, org_id=org_id)
    assert refused.status_code == 422 and "org_id" in refused.get_json()["error"]["fields"]
