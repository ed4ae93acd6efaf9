"""Check-in and check-out: windows, codes, who may, and the pending record of real minutes."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.activities import services
from portal.activities.models import Shift, Signup
from portal.core.db import utcnow
from portal.core.errors import Conflict
from portal.core.users import User
from portal.extensions import db
from portal.records.models import ServiceRecord
from tests.conftest import csrf_token


@pytest.fixture
def signed_up(app, client, people, token, volunteer, activity):
    created = activity()
    shift_id = created["shifts"][0]["id"]
    volunteer("wang")
    signup = client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("wang"),
                         json={}).get_json()
    return shift_id, signup["id"]


def move_shift(app, shift_id, starts_in: timedelta, length=timedelta(hours=2)):
    with app.app_context():
        shift = db.session.get(Shift, shift_id)
        shift.starts_at = utcnow() + starts_in
        shift.ends_at = shift.starts_at + length
        code = shift.check_in_code
        db.session.commit()
        return code


def test_volunteer_checks_in_with_the_code_only(app, client, token, signed_up):
    shift_id, signup_id = signed_up
    code = move_shift(app, shift_id, timedelta(minutes=30))
    url = f"/api/v1/signups/{signup_id}/check-in"
    wrong = client.post(url, headers=token("wang"), json={"code": "000000" if code != "000000"
                                                          else "111111"})
    assert wrong.status_code == 422 and "code" in wrong.get_json()["error"]["fields"]
    ok = client.post(url, headers=token("wang"), json={"code": code})
    assert ok.status_code == 200 and ok.get_json()["status"] == "checked_in"
    assert client.post(url, headers=token("wang"), json={"code": code}).status_code == 409


def test_check_in_opens_60_minutes_before(app, client, token, signed_up):
    shift_id, signup_id = signed_up
    code = move_shift(app, shift_id, timedelta(minutes=90))
    early = client.post(f"/api/v1/signups/{signup_id}/check-in", headers=token("wang"),
                        json={"code": code})
    assert early.status_code == 409


def test_the_organiser_may_mark_until_24_hours_after(app, client, token, signed_up):
    shift_id, signup_id = signed_up
    move_shift(app, shift_id, -timedelta(hours=10))  # ended 8 hours ago
    by_volunteer_code = client.post(f"/api/v1/signups/{signup_id}/check-in",
                                    headers=token("wang"), json={"code": "x"})
    assert by_volunteer_code.status_code in (409, 422)
    ok = client.post(f"/api/v1/signups/{signup_id}/check-in", headers=token("worker"))
    assert ok.status_code == 200
    assert client.post(f"/api/v1/signups/{signup_id}/check-in",
                       headers=token("outsider")).status_code == 404


def test_check_out_records_the_minutes_clipped_to_the_shift(app, signed_up):
    shift_id, signup_id = signed_up
    with app.app_context():
        shift = db.session.get(Shift, shift_id)
        start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=3)
        shift.starts_at, shift.ends_at = start, start + timedelta(hours=2)
        db.session.commit()
        organiser = db.session.scalar(db.select(User).where(User.username == "worker"))
        signup = db.session.get(Signup, signup_id)
        # came 20 minutes early, left an hour after the end: 120 minutes count
        services.check_in(signup, actor=organiser, now=start - timedelta(minutes=20))
        db.session.commit()
        signup = db.session.get(Signup, signup_id)
        _s, record = services.check_out(signup, actor=organiser,
                                        now=start + timedelta(hours=3))
        db.session.commit()
        assert record.minutes == 120 and record.status.value == "pending"
        assert db.session.get(Signup, signup_id).status.value == "completed"
        from portal.core.notify import Notification  # 好差评: asked how it went

        asked = db.session.scalars(db.select(Notification).where(
            Notification.kind == "rating_asked")).all()
        assert [n.user_id for n in asked] == [db.session.get(Signup, signup_id).volunteer.user_id]
        assert db.session.query(ServiceRecord).count() == 1
        with pytest.raises(Conflict):
            services.check_out(db.session.get(Signup, signup_id), actor=organiser)


def test_roster_page_with_code_and_qr(app, client, people, login, signed_up):
    shift_id, signup_id = signed_up
    move_shift(app, shift_id, timedelta(minutes=10))
    login("worker")
    page = client.get(f"/shifts/{shift_id}/roster?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "志愿者wang" in html and 'id="check-in-code"' in html
    qr = client.get(f"/shifts/{shift_id}/qr.svg")
    assert qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    marked = client.post(f"/signups/{signup_id}/check-in", data={"csrf_token": csrf_token(html)})
    assert marked.status_code == 302
    assert "Checked in" in client.get(f"/shifts/{shift_id}/roster?lang=en").get_data(
        as_text=True)


def test_the_roster_is_the_organisers(client, people, login, volunteer, signed_up):
    shift_id, _signup_id = signed_up
    login("outsider")
    assert client.get(f"/shifts/{shift_id}/roster").status_code == 404
    assert client.get(f"/shifts/{shift_id}/qr.svg").status_code == 404
    assert client.get(f"/shifts/{shift_id}/roster.xlsx").status_code == 404
    login("wang")  # a volunteer sees no one's phone
    assert client.get(f"/shifts/{shift_id}/roster.xlsx").status_code == 404


def test_the_organiser_calls_prints_and_downloads_the_roster(app, client, people, login,
                                                             signed_up):
    """Phone numbers for the organiser (to call a volunteer), a print button, and an Excel file
    whose download is audited (it holds personal data)."""
    import io

    from openpyxl import load_workbook

    from portal.core.audit import AuditEntry

    shift_id, _signup_id = signed_up
    login("worker")
    html = client.get(f"/shifts/{shift_id}/roster?lang=en").get_data(as_text=True)
    assert 'href="tel:13800138000"' in html and "data-print" in html
    sheet = client.get(f"/shifts/{shift_id}/roster.xlsx")
    assert sheet.status_code == 200 and sheet.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(sheet.data))
    rows = list(book["名单"].iter_rows(values_only=True))
    assert "班次名单" in rows[0][0]
    assert rows[1][:4] == ("序号", "姓名", "志愿者编号", "手机号码")
    assert rows[2][1] == "志愿者wang" and rows[2][3] == "13800138000"
    with app.app_context():
        audited = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "roster_export")).all()
        assert len(audited) == 1 and audited[0].actor_name == "worker"


def test_the_qr_page_lets_the_volunteer_check_in(app, client, people, login, signed_up):
    shift_id, signup_id = signed_up
    code = move_shift(app, shift_id, timedelta(minutes=10))
    login("wang")
    page = client.get(f"/shifts/{shift_id}/check-in?code={code}&lang=en")
    html = page.get_data(as_text=True)
    assert f'value="{code}"' in html
    done = client.post(f"/signups/{signup_id}/check-in", data={
        "csrf_token": csrf_token(html), "code": code})
    assert done.status_code == 302
    assert "Checked in" in client.get(f"/shifts/{shift_id}/check-in?lang=en").get_data(
        as_text=True)


def test_guessing_the_code_is_stopped(app, client, token, signed_up):
    shift_id, signup_id = signed_up
    code = move_shift(app, shift_id, timedelta(minutes=30))
    wrong = "000000" if code != "000000" else "111111"
    url = f"/api/v1/signups/{signup_id}/check-in"
    for _ in range(10):
        assert client.post(url, headers=token("wang"), json={"code": wrong}).status_code == 422
    locked = client.post(url, headers=token("wang"), json={"code": code})
    assert locked.status_code == 429
    assert client.post(url, headers=token("worker")).status_code == 200  # the organiser can


def test_the_roster_export_keeps_text_as_text(app, client, people, login, activity, volunteer,
                                              token):
    """A title that looks like a formula stays text in Excel, and a pasted control character
    does not break the file."""
    import io

    from openpyxl import load_workbook

    act = activity(title='=HYPERLINK("http://example.invalid","点我")\x0b活动')
    shift_id = act["shifts"][0]["id"]
    volunteer("wang")
    client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("wang"), json={})
    login("worker")
    sheet = client.get(f"/shifts/{shift_id}/roster.xlsx")
    assert sheet.status_code == 200
    book = load_workbook(io.BytesIO(sheet.data))
    title = book["名单"]["A1"]
    assert title.data_type == "s" and title.value.startswith("=HYPERLINK")
