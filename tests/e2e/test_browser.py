"""A real Chromium signs in and sees the home page (Playwright driving Debian's chromium)."""

import pytest


@pytest.mark.parametrize("width,lang", [(390, "zh"), (1280, "en")])
def test_sign_in_and_see_the_home_page(live_server, browser, yingkou, make_user, width, lang,
                                       tmp_path):
    make_user("admin", "admin")
    page = browser.new_page(viewport={"width": width, "height": 800})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/login?lang={lang}")
    page.fill("#username", "admin")
    page.fill("#password", "correct-horse-1")
    page.click("#submit")
    page.wait_for_url(f"{live_server}/")
    heading = page.locator("h1").first.inner_text()
    assert ("Welcome, admin" if lang == "en" else "admin") in heading
    assert page.locator("#next-steps .card").count() >= 1
    assert page.evaluate("document.documentElement.lang") == ("en" if lang == "en" else "zh-Hans")
    # Nothing wider than the screen: usable on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(tmp_path / f"home-{width}.png"), full_page=True)
    assert not errors, errors


def test_large_font_keeps_the_login_usable(live_server, browser):
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.goto(f"{live_server}/login")
    # What a browser's "font size: very large" does; CSSOM writes are allowed under our CSP.
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "32px"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("#submit").is_visible()


def test_job_progress_bar_moves_to_done(live_server, browser, yingkou, make_user, worker):
    make_user("boss", ("bureau", "2108"))
    page = browser.new_page()
    page.goto(f"{live_server}/login?lang=en")
    page.fill("#username", "boss")
    page.fill("#password", "correct-horse-1")
    page.click("#submit")
    page.goto(f"{live_server}/users")
    page.click("text=Check background jobs")
    page.wait_for_selector(".job-status:has-text('Done.')", timeout=20000)
    assert page.evaluate("document.querySelector('progress.job-bar').value") == 100


def test_register_an_org_then_the_bureau_approves_it_and_sees_the_dashboard(
        live_server, browser, yingkou, make_user, tmp_path):
    make_user("founder")
    make_user("zhanqian", ("bureau", "210802"))
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server}/login?lang=zh")
    page.fill("#username", "founder")
    page.fill("#password", "correct-horse-1")
    page.click("#submit")
    page.goto(f"{live_server}/orgs/new")
    page.fill("#name", "八田地读书会")
    page.select_option("#category", "culture_sports")
    page.select_option("#registration", "filed")
    page.select_option("#community_code", "210802001001")
    page.fill("#contact_name", "赵老师")
    page.fill("#contact_phone", "13800138000")
    page.click("#submit")
    assert page.locator("#org-status").inner_text() == "待审核"
    org_url = page.url
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    bureau = browser.new_page(viewport={"width": 1280, "height": 900})
    bureau.goto(f"{live_server}/login?lang=en")
    bureau.fill("#username", "zhanqian")
    bureau.fill("#password", "correct-horse-1")
    bureau.click("#submit")
    bureau.goto(org_url)
    bureau.select_option("#decision", "approve")
    bureau.click("#submit")
    assert bureau.locator("#org-status").inner_text() == "Active"
    bureau.goto(f"{live_server}/dashboard")
    assert bureau.locator("svg.bar-chart rect").count() >= 1
    assert bureau.locator("#short .lacking").first.inner_text() == "9"
    with bureau.expect_download() as download:
        bureau.click("text=Export to Excel")
    name = download.value.suggested_filename  # Chinese, with the area and the date
    assert name.startswith("社区社会组织覆盖-站前区-") and name.endswith(".xlsx")
    bureau.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)


def test_an_elderly_volunteer_registers_on_a_phone_and_sees_their_number(live_server, browser,
                                                                          yingkou):
    from datetime import date

    from portal.volunteers.idcards import make_resident_id

    number = make_resident_id("210802", date(1949, 10, 1), 7)  # county created after birth
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server}/register?lang=zh")
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    # A step at a time on a phone, short even at 200 % text (it was one page of 7,195 px with
    # 48 checkboxes in one column).
    assert page.locator(".step-count").inner_text() == "第 1 步，共 3 步"
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 3600, height
    page.fill("#real_name", "刘奶奶")
    page.fill("#id_number", number[:-1] + ("0" if number[-1] != "0" else "1"))  # a typo
    page.fill("#phone", "13800138000")
    page.select_option("#community_code", "210802001001")
    page.click(".step-next")
    page.click("#wishes summary")  # optional details, folded
    page.check("input[name=service_types][value=elderly_care]")
    page.check("input[name=availability][value=sat_morning]")
    page.click(".step-next")
    page.fill("#username", "liunainai")
    page.fill("#password", "a-long-password")
    page.check("#consent")
    page.click("#submit")
    # The mistake is said at the top, where the focus now is, and the form opens at its step;
    # nothing typed is lost.
    summary = page.locator("#error-summary")
    assert summary.is_visible() and "证件号码" in summary.inner_text()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.locator("#id_number").is_visible()
    assert page.input_value("#password") == "a-long-password"
    assert page.is_checked("input[name=service_types][value=elderly_care]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill("#id_number", number.lower())
    page.click(".step-next")
    page.click(".step-next")
    page.click("#submit")
    page.wait_for_url(f"{live_server}/me")
    assert page.locator("#volunteer-code").inner_text().startswith("YK")
    html = page.content()
    assert number not in html and number[:4] + "**" in html
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_volunteer_registers_signs_up_and_sees_the_shift_on_me(live_server, browser, yingkou,
                                                                  make_user, client, token):
    from datetime import date, datetime, timedelta

    from portal.core.db import SHANGHAI
    from portal.volunteers.idcards import make_resident_id

    make_user("worker", ("community_worker", "210802001001"))
    start = (datetime.now(SHANGHAI) + timedelta(days=3)).replace(hour=9, minute=0, second=0,
                                                                  microsecond=0)
    client.post("/api/v1/activities", headers=token("worker"), json={
        "title": "社区义诊", "community_code": "210802001001", "service_type": "health",
        "location": "社区卫生站", "shifts": [{"starts_at": start.isoformat(),
                                             "ends_at": (start + timedelta(hours=2)).isoformat(),
                                             "capacity": 5}]})
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server}/register?lang=en")
    page.fill("#real_name", "陈大爷")
    page.fill("#id_number", make_resident_id("210811", date(1950, 3, 3), 11))
    page.fill("#phone", "13800138000")
    page.select_option("#community_code", "210802001001")
    page.click(".step-next")
    page.click(".step-next")
    page.fill("#username", "chendaye")
    page.fill("#password", "a-long-password")
    page.check("#consent")
    page.click("#submit")
    page.wait_for_url(f"{live_server}/me")
    page.goto(f"{live_server}/activities")
    page.click("text=社区义诊")
    page.click("button.signup")
    assert page.locator(".my-status").first.inner_text().startswith("Confirmed")
    page.goto(f"{live_server}/me")
    upcoming = page.locator("#upcoming").inner_text()
    assert "社区义诊" in upcoming and start.strftime("%Y-%m-%d 09:00") in upcoming
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_volunteer_asks_for_a_certificate_on_a_phone_and_anyone_verifies_it(
        live_server, browser, yingkou, make_user, client, token, worker):
    """At 390 px and 200 % text: /me shows the hours and stars; the certificate is asked for,
    built (by the worker with Redis, inline without) and downloaded; the public check works."""
    from datetime import date, datetime, timedelta

    from portal.core.db import SHANGHAI
    from portal.volunteers.idcards import make_resident_id

    make_user("worker", ("community_worker", "210802001001"))
    volunteer = client.post("/api/v1/volunteers", json={
        "username": "wangnainai", "password": "a-long-password", "real_name": "王奶奶",
        "id_number": make_resident_id("210802", date(1948, 6, 1), 7), "phone": "13800138000",
        "community_code": "210802001001"}).get_json()
    start = (datetime.now(SHANGHAI) + timedelta(days=3)).replace(microsecond=0)
    activity = client.post("/api/v1/activities", headers=token("worker"), json={
        "title": "读报陪伴", "community_code": "210802001001", "service_type": "elderly_care",
        "location": "活动室", "shifts": [{"starts_at": start.isoformat(),
                                        "ends_at": (start + timedelta(hours=2)).isoformat(),
                                        "capacity": 5}]}).get_json()
    began = datetime.now(SHANGHAI).replace(second=0, microsecond=0) - timedelta(days=10)
    record = client.post("/api/v1/service-records", headers=token("worker"), json={
        "volunteer_id": volunteer["id"], "activity_id": activity["id"],
        "started_at": began.isoformat(), "ended_at": (began + timedelta(hours=3)).isoformat(),
        "minutes": 150, "content": "读报"}).get_json()
    client.post(f"/api/v1/service-records/{record['id']}/approve", headers=token("worker"))

    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server}/login?lang=zh")
    page.fill("#username", "wangnainai")
    page.fill("#password", "a-long-password")
    page.click("#submit")
    page.goto(f"{live_server}/me")
    page.evaluate("document.documentElement.style.fontSize = '200%'")  # very large text
    assert page.inner_text("#approved-hours") == "2.5"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("#certificate-form [type=submit]")
    page.wait_for_url("**/certificates/*")
    for _ in range(100):  # the worker may still be building it
        if page.locator("#download-pdf").count():
            break
        page.wait_for_timeout(200)
        page.reload()
    serial = page.inner_text("#serial")
    with page.expect_download() as download:
        page.click("#download-pdf")
    assert download.value.suggested_filename.endswith(".pdf")
    page.goto(f"{live_server}/verify")
    page.fill("#serial", serial.lower())
    page.click("form[role=search] [type=submit]")
    assert "王**" in page.inner_text("#verify-result")
    assert "2.5" in page.inner_text("#verify-result")


@pytest.mark.parametrize("width", [390, 1280])
def test_the_work_menu_opens(live_server, browser, yingkou, make_user, width):
    """Bootstrap's dropdown needs Popper: the staff menu must open, with no page error."""
    make_user("bureau", ("bureau", "2108"))
    page = browser.new_page(viewport={"width": width, "height": 800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/login?lang=en")
    page.fill("#username", "bureau")
    page.fill("#password", "correct-horse-1")
    page.click("#submit")
    page.wait_for_url(f"{live_server}/")
    if width < 1200:
        page.click(".navbar-toggler")
    page.click("#work-menu")
    item = page.locator(".dropdown-menu a", has_text="Service records")
    item.wait_for(state="visible", timeout=5000)
    item.click()
    page.wait_for_url(f"{live_server}/records")
    assert errors == []
