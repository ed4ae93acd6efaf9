"""Each role's main journey on the demo data, in a real Chromium: a volunteer on a phone at
200 % text, a community worker publishing a weekly activity and approving hours in bulk, the
bureau reviewing an organisation and drilling down to a community, a reviewer scoring, an
organisation's admin bidding. Every page visited must neither scroll sideways nor clip a
control; the pages of each role are also swept at 360 px in both languages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.core.db import SHANGHAI
from portal.extensions import db

NO_SIDEWAYS = """() => {
  const width = window.innerWidth;
  const controls = document.querySelectorAll('button, .btn, input, select, textarea');
  const clipped = Array.from(controls)
    .filter(e => e.offsetParent !== null && e.type !== 'hidden')
    .filter(e => { const r = e.getBoundingClientRect();
                   return r.width > 0 && r.right > width + 1; })
    .map(e => (e.id || e.name || e.tagName) + ':' + (e.innerText || e.value || '').slice(0, 30));
  return {scroll: document.documentElement.scrollWidth, width: width, clipped: clipped};
}"""


def tidy(page, what: str) -> None:
    """Nothing scrolls sideways, no control sticks out of the screen."""
    state = page.evaluate(NO_SIDEWAYS)
    assert state["scroll"] <= state["width"], (what, state)
    assert not state["clipped"], (what, state)


@pytest.fixture
def demo(app):
    from portal.cli import YINGKOU_CSV
    from portal.demo import create_demo

    with app.app_context():
        password, _created = create_demo(YINGKOU_CSV)
        db.session.commit()
    return password


def sign_in(browser, base, user, password, *, width=1280, lang="en", zoom=None):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{base}/login?lang={lang}")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#submit")
    page.wait_for_url(f"{base}/")
    if zoom:
        page.add_init_script(f"document.addEventListener('DOMContentLoaded', () => "
                             f"document.documentElement.style.fontSize = '{zoom}')")
    return page


def visit(page, url: str):
    page.goto(url)
    tidy(page, url)


def test_the_volunteer_on_a_phone_checks_in_and_out_and_gets_a_certificate(
        app, live_server, browser, demo):
    from portal.activities.models import Activity
    from portal.demo import RUNNING_NOW

    page = sign_in(browser, live_server, "demo_volunteer", demo, width=390, lang="zh",
                   zoom="200%")
    visit(page, f"{live_server}/me")
    assert "★" in page.locator("#stars").inner_text()  # past the first star
    with app.app_context():
        shift = db.session.scalar(sa.select(Activity).where(Activity.title == RUNNING_NOW)
                                  ).shifts[0]
        shift_id, code = shift.id, shift.check_in_code
    for step in ("签到", "签退"):
        visit(page, f"{live_server}/shifts/{shift_id}/check-in")
        page.fill("#code", code)
        page.click(f"form button:has-text('{step}')")
    visit(page, f"{live_server}/shifts/{shift_id}/check-in")
    assert page.locator("#my-status").inner_text() == "已完成"  # its record waits for approval
    visit(page, f"{live_server}/me")
    today = datetime.now(SHANGHAI).date()
    page.fill("#period_from", (today - timedelta(days=365)).isoformat())
    page.fill("#period_to", today.isoformat())
    page.click("#certificate-form [type=submit]")
    page.wait_for_url("**/certificates/*")
    for _ in range(60):  # built inline, or by the worker
        if page.locator("#download-pdf").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    tidy(page, "certificate")
    with page.expect_download() as download:
        page.click("#download-pdf")
    assert download.value.suggested_filename.endswith(".pdf")


def test_the_community_worker_publishes_weekly_and_approves_in_bulk(
        app, live_server, browser, demo):
    from portal.activities.models import Activity

    page = sign_in(browser, live_server, "demo_worker", demo)
    visit(page, f"{live_server}/activities/new")
    first = (datetime.now(SHANGHAI) + timedelta(days=8)).replace(hour=9, minute=0, second=0,
                                                                  microsecond=0)
    page.fill("#title", "每周二健康讲座")
    page.fill("#location", "八田地社区活动室")
    page.fill("#capacity", "20")
    page.fill("#starts_at", first.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#ends_at", (first + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#repeat_until", (first + timedelta(weeks=3)).date().isoformat())
    page.click("#submit")
    page.wait_for_url("**/activities/*")
    tidy(page, "new activity")
    with app.app_context():
        weekly = db.session.scalar(sa.select(Activity).where(Activity.title == "每周二健康讲座"))
        assert len(weekly.shifts) == 4
    visit(page, f"{live_server}/records?lang=en")
    boxes = page.locator("#bulk-approve input[name=record_id]")
    assert boxes.count() >= 1
    boxes.first.check()
    page.click("#bulk-approve button[type=submit]")
    assert re.search(r"\d+ records? approved", page.content())


def test_the_bureau_reviews_an_organisation_and_drills_down(
        app, live_server, browser, demo):
    from portal.orgs.models import Org

    page = sign_in(browser, live_server, "demo_bureau_zq", demo)
    with app.app_context():
        pending = db.session.scalar(sa.select(Org.id).where(Org.name == "建丰社区调解会"))
    visit(page, f"{live_server}/orgs/{pending}")
    assert page.locator("#review-facts").is_visible() and page.locator("#no-documents").count()
    assert page.input_value("#decision") == ""  # nothing chosen for the bureau
    page.select_option("#decision", "approve")
    page.click("#review form [type=submit]")
    assert page.locator("#org-status").inner_text() == "Active"
    visit(page, f"{live_server}/dashboard")
    page.click("#children a:has-text('八田地街道')")
    page.click("#short a:has-text('八田地社区')")
    tidy(page, "community dashboard")
    assert page.locator("#community-orgs a").count() >= 3
    visit(page, f"{live_server}/audit?q=建丰")
    assert page.locator("#audit-rows .list-group-item").count() >= 1


def test_the_reviewer_scores_the_bids_assigned(app, live_server, browser, demo):
    from portal.demo import REVIEW_CALL
    from portal.projects.models import Project

    page = sign_in(browser, live_server, "demo_reviewer", demo, width=768, lang="zh")
    visit(page, f"{live_server}/")
    assert "已评 0/2 份投标" in page.locator("#my-reviews").inner_text()
    with app.app_context():
        project_id = db.session.scalar(sa.select(Project.id).where(Project.title == REVIEW_CALL))
    for _ in range(2):
        visit(page, f"{live_server}/projects/{project_id}/review")
        form = page.locator("form.score-form").first
        form.locator("input[value=no]").check()
        for box, value in zip(form.locator("input[inputmode=numeric]").all(), (85, 70, 90),
                              strict=False):
            box.fill(str(value))
        form.locator("[type=submit]").click()
    visit(page, f"{live_server}/")
    assert "已评 2/2 份投标" in page.locator("#my-reviews").inner_text()


def test_the_organisation_admin_sees_theirs_and_chooses_who_bids(
        app, live_server, browser, demo):
    from portal.projects.models import Project

    page = sign_in(browser, live_server, "demo_org", demo)
    visit(page, f"{live_server}/")
    assert page.locator("#my-orgs li").count() >= 4
    with app.app_context():
        open_call = db.session.scalar(sa.select(Project.id).where(
            Project.status == "open"))
    visit(page, f"{live_server}/projects/{open_call}")
    assert page.input_value("#org") == ""  # several organisations: it asks which


def test_the_resident_on_a_phone_signs_in_by_code_and_sees_their_need_met(
        app, live_server, browser, demo, tmp_path, monkeypatch):
    """居民点单、社区派单、社会组织接单: a resident on a phone at 200 % text signs in with a code
    read from the SMS outbox, picks their community in three taps, posts a need; the worker
    verifies it, matches it to an organisation and resolves it; the resident sees each step."""
    import json

    outbox = tmp_path / "sms.jsonl"
    monkeypatch.setitem(app.config, "SMS_OUTBOX", str(outbox))
    monkeypatch.setitem(app.config, "SMS_ADAPTER", "log")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.add_init_script("document.addEventListener('DOMContentLoaded', () => "
                         "document.documentElement.style.fontSize = '200%')")
    visit(page, f"{live_server}/?lang=zh")
    visit(page, f"{live_server}/login/sms")
    page.fill("#phone", "139 0417 8888")
    page.click("#send")
    page.wait_for_selector("#send:disabled", timeout=10_000)  # it counts down to the next code
    tidy(page, "code sent")
    code = json.loads(outbox.read_text().splitlines()[-1])["params"]["code"]
    page.fill("#code", code)
    page.click("#submit")
    page.wait_for_url("**/me/community**")
    tidy(page, "community picker")
    page.click("#area-choices a:has-text('站前区')")
    tidy(page, "townships")
    page.click("#area-choices a:has-text('八田地街道')")
    tidy(page, "communities")
    page.click("#community-choices button:has-text('八田地社区')")
    page.wait_for_url(f"{live_server}/")
    visit(page, f"{live_server}/needs/new")
    page.select_option("#category", "elderly_care")
    page.fill("#title", "单元门门禁坏了")
    page.fill("#description", "5号楼1单元门禁坏了一周，老人进出不便。")
    page.fill("#people_affected", "20")
    page.click("#submit")
    page.wait_for_url("**/needs/*")
    tidy(page, "the posted need")
    need_url = page.url
    assert "待核实" in page.locator(".need-status").inner_text()

    worker = sign_in(browser, live_server, "demo_worker", demo, width=390, lang="zh")
    visit(worker, need_url)
    worker.click("#verify-form button")
    tidy(worker, "verified")
    worker.locator("#suggestions .suggestion form button").first.click()
    tidy(worker, "matched")
    worker.fill("#resolve-text", "物业已更换门禁，已回访居民。")
    worker.click("#resolve-form button")
    assert "已解决" in worker.locator(".need-status").inner_text()

    visit(page, f"{live_server}/me")
    mine = page.locator("#my-needs .my-need").filter(has_text="单元门门禁坏了")
    assert "已解决" in mine.inner_text() and "物业已更换门禁" in mine.inner_text()


def test_a_micro_wish_on_a_phone_from_the_wall_to_the_beneficiary(app, live_server, browser,
                                                                   demo):
    """A resident on a phone at 200 % text claims a wish from the wall and gets the community's
    contact (never the beneficiary's); hands it over; the worker confirms; the wall says so."""
    page = sign_in(browser, live_server, "demo_resident", demo, width=390, lang="zh",
                   zoom="200%")
    visit(page, f"{live_server}/wishes")
    page.click("#wishes .wish-card:has-text('王奶奶')")
    tidy(page, "a wish")
    wish_url = page.url
    page.click("#claim-form button")
    tidy(page, "claimed")
    assert page.locator("#handover").is_visible()
    assert "13904170004" not in page.content()  # the beneficiary's phone
    page.fill("#fulfil-note", "电暖器已送到社区")
    page.click("#fulfil-form button[type=submit]")
    assert "已送达" in page.locator("#wish-status").inner_text()
    worker = sign_in(browser, live_server, "demo_worker", demo, width=390, lang="zh",
                     zoom="200%")
    visit(worker, wish_url)
    assert worker.locator("#beneficiary").is_visible()
    worker.click("#confirm-form button")
    assert "已收到" in worker.locator("#wish-status").inner_text()
    visit(page, f"{live_server}/wishes")
    assert "已收到" in page.locator("#wishes .wish-card:has-text('王奶奶')").inner_text()
    # 好差评: the worker rates the hand-over on the beneficiary's behalf, from their page.
    visit(worker, f"{live_server}/me")
    worker.click("#to-rate .to-rate:has-text('王奶奶')")
    tidy(worker, "the rating form")
    worker.click("label:has-text('非常不满意')")
    worker.click("#rating-form #submit")
    assert worker.locator("#comment-err").is_visible()  # a 差评 says what went wrong
    tidy(worker, "the rating form, refused")
    worker.fill("#comment", "送来的电暖器有一处破损")
    worker.click("#rating-form #submit")
    assert "感谢您的评价" in worker.content()
    assert worker.locator("#to-rate .to-rate:has-text('王奶奶')").count() == 0
    # ... a 差评 of the community's own service: a case on the home page, answered on the list.
    visit(worker, f"{live_server}/")
    worker.click("#my-cases a")
    tidy(worker, "the cases")
    case = worker.locator("#cases .case").first
    case.locator("textarea[name=text]").fill("已更换新的电暖器并上门致歉")
    case.locator(".answer-form button[type=submit]").click()
    assert "已答复" in worker.content()
    tidy(worker, "the cases, answered")


def _served_by_an_organisation(app) -> str:
    """An activity of demo_org's organisation whose shift demo_volunteer completed yesterday;
    its title."""
    from portal.activities.models import Signup, SignupState
    from portal.activities.services import ActivityInput, ShiftInput, create_activity, sign_up
    from portal.core.users import User
    from portal.orgs.models import Org
    from portal.volunteers.models import Volunteer

    title = "重阳节敬老义诊"
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.username == "demo_org"))
        account = db.session.scalar(sa.select(User).where(User.username == "demo_volunteer"))
        org = db.session.scalar(sa.select(Org).where(Org.name == "八田地社区邻里互助会"))
        soon = (datetime.now(SHANGHAI) + timedelta(days=1)).replace(second=0, microsecond=0)
        activity = create_activity(ActivityInput(
            title=title, community_code="210802001001", service_type="elderly_care",
            location="八田地社区卫生站", org_id=org.id,
            shifts=[ShiftInput(starts_at=soon, ends_at=soon + timedelta(hours=3),
                               capacity=6)]), actor=admin)
        signup = sign_up(activity.shifts[0], Volunteer.of_user(account), actor=account)
        db.session.flush()
        shift = activity.shifts[0]  # it took place yesterday, and the volunteer served
        shift.starts_at = soon - timedelta(days=2)
        shift.ends_at = shift.starts_at + timedelta(hours=3)
        db.session.get(Signup, signup.id).status = SignupState.completed
        db.session.commit()
    return title


def test_a_volunteer_rates_an_organisation_poorly_and_closes_the_case_it_answered(
        app, live_server, browser, demo):
    """好差评 end to end: the volunteer on a phone at 200 % text rates an activity 差评; the
    organisation's admin answers it (at 1280 px, in English) without learning who rated; the
    volunteer reads the answer and closes the case."""
    title = _served_by_an_organisation(app)
    page = sign_in(browser, live_server, "demo_volunteer", demo, width=390, lang="zh",
                   zoom="200%")
    visit(page, f"{live_server}/me")
    page.click(f"#to-rate .to-rate:has-text('{title}')")
    tidy(page, "the rating form")
    page.click("label:has-text('不满意') >> nth=0")
    page.fill("#comment", "义诊开始晚了一个小时，老人们在门外等候。")
    page.click("#rating-form #submit")
    assert "感谢您的评价" in page.content()
    # The organisation's admin: the case on the home page, answered on the list.
    admin = sign_in(browser, live_server, "demo_org", demo)
    visit(admin, f"{live_server}/")
    admin.click("#my-cases a")
    tidy(admin, "the cases")
    case = admin.locator("#cases .case").first
    assert title in case.inner_text() and "义诊开始晚了" in case.inner_text()
    for secret in ("张秀英", "王秀兰", "demo_volunteer", "13904170000"):  # who rated
        assert secret not in admin.content(), secret
    case.locator("textarea[name=text]").fill("已调整开诊时间，并向老人们当面致歉。")
    case.locator(".answer-form button[type=submit]").click()
    assert "Answered" in admin.content()
    # The volunteer is told, reads the answer on their page and closes the case.
    visit(page, f"{live_server}/me")
    review = page.locator("#to-review")
    assert "已调整开诊时间" in review.inner_text()
    review.locator("button[value=yes]").first.click()
    tidy(page, "reviewed")
    assert page.locator("#to-review").count() == 0 or \
        "已调整开诊时间" not in page.locator("#to-review").inner_text()
    with app.app_context():
        from portal.ratings.models import CaseState, Rectification

        assert db.session.scalar(sa.select(Rectification.status)) is CaseState.closed


def _first_aiders(app, names) -> None:
    """Verified volunteers of 八田地社区 who know first aid, each with an account."""
    from datetime import date

    from portal.core.db import utcnow
    from portal.volunteers.idcards import make_resident_id
    from portal.volunteers.models import VolunteerState
    from portal.volunteers.services import VolunteerInput, register_volunteer
    from tests.conftest import PASSWORD

    with app.app_context():
        for n, name in enumerate(names, start=1):
            volunteer = register_volunteer(VolunteerInput(
                real_name=f"急救员{n}", id_number=make_resident_id("210802", date(1975, 3, n),
                                                                  900 + n),
                phone=f"1390417{n:04d}", community_code="210802001001", skills=["first_aid"],
                username=name, password=PASSWORD), actor=None)
            volunteer.status, volunteer.verified_at = VolunteerState.verified, utcnow()
        db.session.commit()


def test_a_coordinator_on_a_phone_calls_out_five_first_aiders(app, live_server, browser, demo):
    """应急动员 end to end, on phones at 200 % text: the community worker calls out 5
    first-aiders; six answer yes from their pages; the sixth waits on standby; the coordinator's
    page counts them without reloading; one withdraws and the sixth is expected."""
    from playwright.sync_api import expect

    from tests.conftest import PASSWORD

    names = [f"aider{n}" for n in range(1, 7)]
    _first_aiders(app, names)
    worker = sign_in(browser, live_server, "demo_worker", demo, width=390, lang="zh",
                     zoom="200%")
    visit(worker, f"{live_server}/callouts/new")
    worker.fill("#title", "八田地社区水管爆裂，协助转移老人")
    worker.select_option("#area", "210802001001")
    worker.fill("#place", "八田地社区活动室门口")
    worker.fill("#headcount", "0")
    now = datetime.now(SHANGHAI)
    worker.fill("#needed_by", (now + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M"))
    worker.fill("#ends_at", (now + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"))
    worker.click("#call-out")
    assert worker.locator("#headcount-err").is_visible()  # refused by its field
    tidy(worker, "the call-out form, refused")
    worker.fill("#headcount", "5")
    worker.click("#call-out")
    worker.wait_for_selector("#live")
    tidy(worker, "the coordinator's page")
    assert worker.locator('[data-live="accepted"]').inner_text() == "0"
    pages = {}
    for n, name in enumerate(names, start=1):
        page = sign_in(browser, live_server, name, PASSWORD, width=390, lang="zh", zoom="200%")
        visit(page, f"{live_server}/me")
        page.click("#my-callouts .callout-call")
        tidy(page, "the call")
        page.select_option("#eta", "20")
        page.click("#answer-yes")
        expected = "已确认到场" if n <= 5 else "候补"
        assert expected in page.locator("#my-status").inner_text(), (name, expected)
        pages[name] = page
    # The coordinator's page caught up by itself (it polls), without a reload.
    expect(worker.locator('[data-live="accepted"]')).to_have_text("5", timeout=15000)
    expect(worker.locator('[data-live="standby"]')).to_have_text("1", timeout=15000)
    assert worker.locator("#responses tbody tr").count() == 6
    tidy(worker, "the coordinator's page, filled")
    # aider1 cannot come after all: aider6 is expected at once.
    pages["aider1"].click("#withdraw-form [name=withdraw]")
    assert "已撤回" in pages["aider1"].locator("#my-status").inner_text()
    pages["aider6"].reload()
    assert "已确认到场" in pages["aider6"].locator("#my-status").inner_text()
    expect(worker.locator('[data-live="standby"]')).to_have_text("0", timeout=15000)
    assert worker.locator('[data-live="accepted"]').inner_text() == "5"


@pytest.mark.parametrize("user", ["demo_volunteer", "demo_worker", "demo_bureau_zq", "demo_org",
                                  "demo_reviewer", "demo_resident"])
def test_every_page_of_a_role_fits_every_screen(app, live_server, browser, demo, user):
    """Signed in as each role, the pages it uses neither scroll sideways nor clip a control:
    at 360, 768 and 1280 px in both languages, and on a phone at 200 % text."""
    from portal.activities.models import Activity
    from portal.charity.models import Fund, Wish
    from portal.needs.models import Need
    from portal.projects.models import Project

    with app.app_context():
        activity = db.session.scalar(sa.select(Activity.id).order_by(Activity.id))
        shift = db.session.scalar(sa.select(Activity).order_by(Activity.id)).shifts[0].id
        project = db.session.scalar(sa.select(Project.id).order_by(Project.id))
        need = db.session.scalar(sa.select(Need.id).order_by(Need.id))
        fund = db.session.scalar(sa.select(Fund.id).order_by(Fund.id))
        wish = db.session.scalar(sa.select(Wish.id).order_by(Wish.id))
    common = ["/", "/activities", f"/activities/{activity}", "/projects",
              f"/projects/{project}", "/orgs", "/verify", "/api/docs", "/terms", "/privacy",
              "/needs", f"/needs/{need}", "/me/phone", "/funds", f"/funds/{fund}", "/wishes",
              f"/wishes/{wish}"]
    own = {"demo_volunteer": ["/me"],
           "demo_worker": ["/activities/new", "/records", f"/shifts/{shift}/roster",
                           "/volunteers", "/dashboard", "/needs/new", "/needs/dashboard",
                           "/needs?status=submitted", "/wishes/new", "/rectifications",
                           "/callouts", "/callouts/new"],
           "demo_bureau_zq": ["/dashboard", "/orgs?status=pending", "/incubations", "/audit",
                              "/exports/national", "/reviewer-pool", "/needs/dashboard",
                              "/projects/new?area=210802", "/charity/dashboard",
                              "/funds/new", "/rectifications?area=210802",
                              "/ratings/dashboard?area=210802", "/callouts/new"],
           "demo_org": ["/orgs/new", "/records"],
           "demo_reviewer": [f"/projects/{project}/review"],
           "demo_resident": ["/me", "/needs/new", "/me/community",
                             "/me/community?county=210802&township=210802001"]}[user]
    screens = [(width, lang, None) for width in (360, 768, 1280) for lang in ("zh", "en")]
    screens.append((390, "zh", "200%"))
    for width, lang, zoom in screens:
        page = sign_in(browser, live_server, user, demo, width=width, lang=lang, zoom=zoom)
        for path in common + own:
            response = page.goto(f"{live_server}{path}")
            assert response.status < 500, path
            if response.status == 200:
                tidy(page, f"{path} at {width} px, {lang}, {zoom or '100%'}")
        page.close()


def test_every_public_page_fits_every_screen(app, live_server, browser, demo):
    """Signed out: the pages anyone reaches, at 360, 768 and 1280 px in both languages and on a
    phone at 200 % text."""
    from portal.activities.models import Activity
    from portal.charity.models import Fund, Wish
    from portal.needs.models import Need

    with app.app_context():
        activity = db.session.scalar(sa.select(Activity.id).order_by(Activity.id))
        need = db.session.scalar(sa.select(Need.id).where(Need.status == "verified")
                                 .order_by(Need.id))
        fund = db.session.scalar(sa.select(Fund.id).order_by(Fund.id))
        wish = db.session.scalar(sa.select(Wish.id).order_by(Wish.id))
    paths = ["/", "/login", "/login/sms", "/register", "/activities", f"/activities/{activity}",
             "/orgs", "/projects", "/verify", "/terms", "/privacy", "/api/docs", "/needs",
             f"/needs/{need}", "/funds", f"/funds/{fund}", "/wishes", f"/wishes/{wish}"]
    screens = [(width, lang, None) for width in (360, 768, 1280) for lang in ("zh", "en")]
    screens.append((390, "zh", "200%"))
    for width, lang, zoom in screens:
        page = browser.new_page(viewport={"width": width, "height": 900})
        if zoom:
            page.add_init_script("document.addEventListener('DOMContentLoaded', () => "
                                 f"document.documentElement.style.fontSize = '{zoom}')")
        page.goto(f"{live_server}/?lang={lang}")
        for path in paths:
            assert page.goto(f"{live_server}{path}").status == 200, path
            tidy(page, f"{path} at {width} px, {lang}, {zoom or '100%'}")
        page.close()
