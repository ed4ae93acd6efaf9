"""The project pages over the same services: the bureau creates, publishes and assigns by form;
an organisation bids, edits and withdraws; a reviewer declares conflicts and scores; the bureau
awards and the public sees the winner; milestones, evaluation; the catalogue; both languages;
strangers refused."""

import re
from datetime import datetime, timedelta

import pytest

from portal.core.db import SHANGHAI
from tests.conftest import csrf_token
from tests.projects.conftest import close_bidding

P = "/api/v1/projects"


def session_csrf(client) -> str:
    """A CSRF token for someone whose page has no form of its own (the sign-out page's)."""
    return csrf_token(client.get("/logout").get_data(as_text=True))


def any_csrf(html: str) -> str:
    """The CSRF token of any form on the page, prefixed (bid5-csrf_token) or not."""
    match = re.search(r'name="[\w-]*csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def local(days: float) -> str:
    return (datetime.now(SHANGHAI) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def project_form(html: str, **fields) -> dict:
    data = {"csrf_token": csrf_token(html), "title": "社区助老公益创投",
            "kind": "venture_philanthropy", "area_code": "210802", "catalogue_item_id": "0",
            "budget": "50000.00", "bid_deadline": local(10), "description": "探访独居老人",
            "service_targets": "独居老人", "contract_months": "12",
            "criteria-0-name": "服务方案", "criteria-0-weight": "60",
            "criteria-1-name": "团队能力", "criteria-1-weight": "40"}
    data.update(fields)
    return data


def bid_by_api(client, token, project_id, org_id, by, amount="42000.00"):
    response = client.post(f"{P}/{project_id}/bids", headers=token(by), json={
        "org_id": org_id, "requested_amount": amount, "proposal": "每周探访两次"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def assign_by_api(client, token, project_id, user_id):
    response = client.post(f"{P}/{project_id}/reviewers", headers=token("zhanqian"),
                           json={"user_id": user_id})
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_bureau_creates_publishes_and_assigns_by_page(client, login, token, pool, lang):
    login("zhanqian")
    listing = client.get(f"/projects?lang={lang}").get_data(as_text=True)
    assert 'id="new-project"' in listing and "/api/v1/projects/export.xlsx" in listing
    page = client.get(f"/projects/new?lang={lang}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('name="criteria-') == 10  # five rows of name + weight
    wrong = client.post("/projects/new", data=project_form(html, **{
        "criteria-1-weight": "30"}))
    assert wrong.status_code == 422
    body = wrong.get_data(as_text=True)
    message = "must add up to 100 (now 90)" if lang == "en" else "权重之和必须为 100（当前为 90）"
    assert message in body and 'id="criteria-err"' in body
    created = client.post("/projects/new", data=project_form(html))
    assert created.status_code == 302
    url = created.headers["Location"]
    project_id = int(re.search(r"/projects/(\d+)$", url).group(1))
    shown = client.get(url).get_data(as_text=True)
    assert 'id="project-status">' + ("Draft" if lang == "en" else "草稿") in shown
    assert "50,000.00" in shown and "服务方案" in shown and "60%" in shown
    published = client.post(url, data={"csrf_token": csrf_token(shown), "publish": "1"})
    assert published.status_code == 302
    shown = client.get(url).get_data(as_text=True)
    assert 'id="project-status">' + ("Open for bids" if lang == "en" else "接受投标") in shown
    again = client.post(url, data={"csrf_token": csrf_token(shown), "publish": "1"})
    assert again.status_code == 409  # the service's state rule, shown on the page
    assigned = client.post(url, data={"csrf_token": csrf_token(shown), "assign": "1",
                                      "reviewer": str(pool["rev1"])})
    assert assigned.status_code == 302
    drawn = client.post(url, data={"csrf_token": csrf_token(shown), "draw": "1",
                                   "count": "5"})
    assert drawn.status_code == 422  # only two left in the pool: the message by the field
    drawn = client.post(url, data={"csrf_token": csrf_token(shown), "draw": "1", "count": "1"})
    assert drawn.status_code == 302
    reviewers = client.get(f"{P}/{project_id}/reviewers", headers=token("zhanqian")).get_json()
    assert len(reviewers["items"]) == 2
    assert reviewers["items"][0]["user_id"] == pool["rev1"]
    assert client.get(f"{P}/{project_id}").get_json()["status"] == "open"


def test_a_government_purchase_by_page_needs_a_catalogue_item(client, login, people,
                                                              catalogue_item):
    login("zhanqian")
    html = client.get("/projects/new?lang=en").get_data(as_text=True)
    assert "居家养老上门服务" in html  # the city's published item is offered
    missing = client.post("/projects/new", data=project_form(
        html, kind="government_purchase"))
    assert missing.status_code == 422
    assert "names an item of the year&#39;s catalogue" in missing.get_data(as_text=True)
    ok = client.post("/projects/new", data=project_form(
        html, kind="government_purchase", catalogue_item_id=str(catalogue_item)))
    assert ok.status_code == 302


def test_an_org_admin_bids_edits_and_withdraws_by_page(client, login, token, orgs, published):
    project = published()
    url = f"/projects/{project['id']}"
    login("boss")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert 'id="bid-form"' in html and "boss的组织" in html
    assert "filer的组织" not in html  # only the orgs this user administers
    over = client.post(url, data={"csrf_token": csrf_token(html), "place_bid": "1",
                                  "org": str(orgs["boss"]), "requested_amount": "60000.00",
                                  "proposal": "方案"})
    assert over.status_code == 422
    body = over.get_data(as_text=True)
    assert "At most the budget, 50000.00 yuan." in body and 'id="requested_amount-err"' in body
    other = client.post(url, data={"csrf_token": csrf_token(html), "place_bid": "1",
                                   "org": str(orgs["rival"]), "requested_amount": "40000.00"})
    assert other.status_code == 422  # not one of the user's organisations
    done = client.post(url, data={"csrf_token": csrf_token(html), "place_bid": "1",
                                  "org": str(orgs["boss"]), "requested_amount": "42000.00",
                                  "proposal": "每周探访两次"})
    assert done.status_code == 302
    html = client.get(url + "?lang=zh").get_data(as_text=True)
    assert "我们的投标" in html and "42,000.00 元" in html
    # The message says what happened, not only "saved" (in the language of the request).
    assert "投标已提交" in html or "Your bid is submitted" in html
    twice = client.post(url, data={"csrf_token": csrf_token(html), "place_bid": "1",
                                   "org": str(orgs["boss"]), "requested_amount": "41000.00"})
    assert twice.status_code == 409
    bid_id = client.get(f"{P}/{project['id']}/bids", headers=token("boss")).get_json()[
        "items"][0]["id"]
    edit = client.post(url, data={f"bid{bid_id}-csrf_token": any_csrf(html),
                                  f"bid{bid_id}-save_bid": "1",
                                  f"bid{bid_id}-amount": "45000.00",
                                  f"bid{bid_id}-proposal": "每周探访三次"})
    assert edit.status_code == 302
    bid = client.get(f"/api/v1/bids/{bid_id}", headers=token("boss")).get_json()
    assert (bid["requested_amount"], bid["proposal"]) == ("45000.00", "每周探访三次")
    withdrawn = client.post(url, data={f"bid{bid_id}-csrf_token": any_csrf(html),
                                       f"bid{bid_id}-withdraw": "1"})
    assert withdrawn.status_code == 302
    assert client.get(f"/api/v1/bids/{bid_id}",
                      headers=token("boss")).get_json()["status"] == "withdrawn"
    login("nobody")
    html = client.get(url).get_data(as_text=True)
    assert 'id="bid-form"' not in html
    assert client.post(url, data={"csrf_token": session_csrf(client), "place_bid": "1",
                                  "org": str(orgs["boss"]),
                                  "requested_amount": "1.00"}).status_code == 403


def test_a_filed_group_is_refused_on_a_government_purchase_by_page(client, login, orgs,
                                                                   published):
    project = published(kind="government_purchase")
    login("filer")
    html = client.get(f"/projects/{project['id']}?lang=en").get_data(as_text=True)
    refused = client.post(f"/projects/{project['id']}", data={
        "csrf_token": csrf_token(html), "place_bid": "1", "org": str(orgs["filer"]),
        "requested_amount": "1000.00"})
    assert refused.status_code == 422
    assert "a filed (备案) group cannot bid" in refused.get_data(as_text=True)


@pytest.fixture
def reviewing(app, client, token, orgs, pool, published):
    """An open call with two bids (boss, rival), rev1 assigned, bidding closed."""
    def make(**fields):
        project = published(**fields)
        bids = {who: bid_by_api(client, token, project["id"], orgs[who], who,
                                amount="42000.00" if who == "boss" else "38000.00")
                for who in ("boss", "rival")}
        assign_by_api(client, token, project["id"], pool["rev1"])
        close_bidding(app, project["id"])
        return project, bids
    return make


def test_the_reviewer_declares_a_conflict_and_scores_by_page(app, client, login, token,
                                                             reviewing):
    project, bids = reviewing()
    _rated(app, client, token, bids["rival"], (5, 4, 2))
    url = f"/projects/{project['id']}"
    login("rev1")
    assert 'id="review-link"' in client.get(url).get_data(as_text=True)
    page = client.get(url + "/review?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('class="border-top pt-2 mt-2 score-form"') == 2
    assert "boss的组织" in html  # not blind
    # Each bidder's 好差评 of the last 12 months, the voided one not counted.
    shown = re.findall(r'id="bid-(\d+)".*?class="small mb-1 bid-ratings">(.*?)</p>', html, re.S)
    lines = {int(b): re.sub(r"<[^>]+>|\s+", " ", text).strip() for b, text in shown}
    assert "3.67 / 5 · 3 ratings · 66.7% satisfied" in lines[bids["rival"]]
    assert "no rating yet" in lines[bids["boss"]]
    assert 'id="blind-ratings"' not in html
    token_value = any_csrf(html)
    boss, rival = bids["boss"], bids["rival"]
    undeclared = client.post(url + "/review", data={
        f"bid{rival}-csrf_token": token_value, f"bid{rival}-send_scores": "1",
        f"bid{rival}-score_0": "80", f"bid{rival}-score_1": "70", f"bid{rival}-score_2": "90"})
    assert undeclared.status_code == 422
    assert "Declare first whether you have a conflict" in undeclared.get_data(as_text=True)
    missing = client.post(url + "/review", data={
        f"bid{rival}-csrf_token": token_value, f"bid{rival}-send_scores": "1",
        f"bid{rival}-conflict": "no", f"bid{rival}-score_0": "80",
        f"bid{rival}-score_1": "170"})
    assert missing.status_code == 422
    body = missing.get_data(as_text=True)
    assert f'id="bid{rival}-score_2-err"' in body  # the service's message, by its field
    assert "A whole number from 0 to 100." in body
    conflict = client.post(url + "/review", data={
        f"bid{boss}-csrf_token": token_value, f"bid{boss}-send_scores": "1",
        f"bid{boss}-conflict": "yes", f"bid{boss}-score_0": "100",
        f"bid{boss}-score_1": "100", f"bid{boss}-score_2": "100"})
    assert conflict.status_code == 302
    scored = client.post(url + "/review", data={
        f"bid{rival}-csrf_token": token_value, f"bid{rival}-send_scores": "1",
        f"bid{rival}-conflict": "no", f"bid{rival}-score_0": "80",
        f"bid{rival}-score_1": "70", f"bid{rival}-score_2": "90", f"bid{rival}-comment": "扎实"})
    assert scored.status_code == 302
    html = client.get(url + "/review?lang=zh").get_data(as_text=True)
    assert "score-form" not in html and html.count("my-sheet") == 2
    assert "已申报利益冲突" in html and "80.00" in html  # 80×0.4 + 70×0.3 + 90×0.3
    assert "服务对象评价（近12个月）" in html
    sheets = client.get(f"/api/v1/bids/{boss}/scores", headers=token("rev1")).get_json()
    assert sheets["items"][0]["conflict_of_interest"] is True
    assert sheets["items"][0]["scores"] == {}  # a declared conflict scores nothing
    ranking = client.get(f"{P}/{project['id']}/ranking",
                         headers=token("zhanqian")).get_json()["items"]
    assert [(r["bid_id"], r["score"], r["reviewers"], r["conflicts"]) for r in ranking] == [
        (rival, 80.0, 1, 0), (boss, None, 0, 1)]


def test_a_blind_review_hides_the_bidder_and_strangers_are_refused(app, client, login, token,
                                                                   reviewing):
    project, bids = reviewing(blind_review=True)
    _rated(app, client, token, bids["rival"], (5, 4, 2))
    url = f"/projects/{project['id']}/review"
    login("rev1")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert "boss的组织" not in html and "rival的组织" not in html and "Bid no. 1" in html
    # Ratings would tell who bid: a blind review shows none, and says why.
    assert "bid-ratings" not in html and "3.67" not in html and 'id="blind-ratings"' in html
    for who in ("rev2", "boss", "nobody", "bayuquan"):
        login(who)
        assert client.get(url).status_code == 403, who
        assert client.post(url, data={}).status_code in (400, 403), who
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_bureau_awards_by_page_and_the_public_sees_the_winner(app, client, login, token,
                                                                  reviewing, pool):
    project, bids = reviewing()
    client.post(f"/api/v1/bids/{bids['rival']}/scores", headers=token("rev1"),
                json={"scores": {"服务方案": 80, "团队能力": 70, "预算合理性": 90}})
    client.post(f"/api/v1/bids/{bids['boss']}/scores", headers=token("rev1"),
                json={"scores": {"服务方案": 60, "团队能力": 60, "预算合理性": 60}})
    url = f"/projects/{project['id']}"
    _rated(app, client, token, bids["rival"], (5, 4, 2))  # 好差评 beside the scores
    login("zhanqian")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert 'id="ranking"' in html and "80.00" in html and "60.00" in html
    ranking = {r["bid_id"]: r["ratings"] for r in client.get(
        f"/api/v1/projects/{project['id']}/ranking", headers=token("zhanqian")).get_json()[
        "items"]}
    assert ranking[bids["rival"]] == {"count": 3, "mean": 3.67, "good_share": 0.6667}
    assert ranking[bids["boss"]] == {"count": 0, "mean": None, "good_share": None}
    assert "3.67 / 5 · 3 ratings · 66.7% satisfied" in html
    assert html.index(f'id="rank-{bids["rival"]}"') < html.index(f'id="rank-{bids["boss"]}"')
    # The award picks no bid for the bureau; the choices come in the ranking's order.
    select = re.search(r'<select[^>]*name="bid"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.match(r'<option (selected )?value="">', select)
    assert not re.search(r'<option selected value="\d', select)
    assert select.index(f'value="{bids["rival"]}"') < select.index(f'value="{bids["boss"]}"')
    assert "No. 1, 80.00" in select
    unchosen = client.post(url, data={"csrf_token": csrf_token(html), "award": "1", "bid": ""})
    assert unchosen.status_code == 422
    over = client.post(url, data={"csrf_token": csrf_token(html), "award": "1",
                                  "bid": str(bids["rival"]), "award_amount": "90000.00"})
    assert over.status_code == 422 and 'id="award_amount-err"' in over.get_data(as_text=True)
    awarded = client.post(url, data={"csrf_token": csrf_token(html), "award": "1",
                                     "bid": str(bids["rival"]), "award_amount": "37500.00",
                                     "contract_start": "2026-01-01",
                                     "contract_end": "2026-12-31"})
    assert awarded.status_code == 302
    second = client.post(url, data={"csrf_token": csrf_token(html), "award": "1",
                                    "bid": str(bids["boss"])})
    assert second.status_code == 409
    anonymous = app.test_client()
    public = anonymous.get(url + "?lang=en").get_data(as_text=True)
    assert 'id="winner"' in public and "rival的组织" in public
    assert "37,500.00 yuan" in public and 'id="ranking"' not in public
    assert "60.00" not in public  # scores stay with the bureau
    listing = anonymous.get("/projects?lang=zh").get_data(as_text=True)
    assert "rival的组织" in listing and "37,500.00 元" in listing and "已确定承接方" in listing
    # delivery: a milestone, the winner's report, acceptance, evaluation
    login("zhanqian")
    html = client.get(url).get_data(as_text=True)
    added = client.post(url, data={"csrf_token": csrf_token(html), "add_milestone": "1",
                                   "milestone_title": "中期报告", "due_on": "2026-06-30"})
    assert added.status_code == 302
    milestone_id = client.get(f"{P}/{project['id']}/milestones").get_json()["items"][0]["id"]
    login("rival")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert f'name="m{milestone_id}-report"' in html
    reported = client.post(url, data={f"m{milestone_id}-csrf_token": any_csrf(html),
                                      f"m{milestone_id}-send_report": "1",
                                      f"m{milestone_id}-report": "已探访120人次"})
    assert reported.status_code == 302
    login("boss")  # a losing bidder reports nothing
    html = client.get(url).get_data(as_text=True)
    assert f'name="m{milestone_id}-report"' not in html
    login("zhanqian")
    html = client.get(url).get_data(as_text=True)
    accepted = client.post(url, data={f"m{milestone_id}-csrf_token": any_csrf(html),
                                      f"m{milestone_id}-accept": "1",
                                      f"m{milestone_id}-accept_comment": "合格"})
    assert accepted.status_code == 302
    bad = client.post(url, data={"csrf_token": csrf_token(html), "evaluate": "1",
                                 "eval_score": "120"})
    assert bad.status_code == 422 and 'id="eval_score-err"' in bad.get_data(as_text=True)
    login("judge")  # a third-party evaluator of the area
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert "优 from 90, 良 from 75, 中 from 60" in html
    assert 'id="evaluation-ratings"' in html and "no rating yet" in html  # 好差评, beside it
    done = client.post(url, data={"csrf_token": csrf_token(html), "evaluate": "1",
                                  "eval_score": "55", "eval_comment": "台账不全"})
    assert done.status_code == 302
    public = client.get(url + "?lang=en").get_data(as_text=True)
    assert 'id="evaluation"' in public and "差" in public and "已探访120人次" in public
    assert 'id="volunteer-hours">0.0' in public


def test_a_poorly_graded_org_is_flagged_in_the_ranking(app, client, login, token, orgs, pool,
                                                        published):
    first = published()
    boss_bid = bid_by_api(client, token, first["id"], orgs["boss"], "boss")
    close_bidding(app, first["id"])
    for path, body in (("award", {"bid_id": boss_bid}),
                       ("evaluation", {"score": 40, "comment": "未完成"})):
        response = client.post(f"{P}/{first['id']}/{path}", headers=token("zhanqian"),
                               json=body)
        assert response.status_code == 200, response.get_json()
    second = published()
    bid_by_api(client, token, second["id"], orgs["boss"], "boss")
    bid_by_api(client, token, second["id"], orgs["rival"], "rival")
    login("zhanqian")
    html = client.get(f"/projects/{second['id']}?lang=en").get_data(as_text=True)
    assert html.count('class="badge text-bg-danger poor-grade"') == 1


def test_drafts_and_bureau_pages_are_the_bureaus(client, login, token, project):
    draft = project(title="草稿项目")
    url = f"/projects/{draft['id']}"
    assert "草稿项目" not in client.get("/projects").get_data(as_text=True)
    assert client.get(url).status_code == 404
    for who in ("boss", "bayuquan", "worker"):
        login(who)
        assert "草稿项目" not in client.get("/projects").get_data(as_text=True), who
        assert client.get(url).status_code == 404, who
    for who in ("boss", "worker", "judge"):
        login(who)
        assert client.get("/projects/new").status_code == 403, who
        listing = client.get("/projects?lang=en").get_data(as_text=True)
        assert 'id="new-project"' not in listing and "export.xlsx" not in listing
    login("city")  # the city's bureau sees the county's drafts
    assert "草稿项目" in client.get("/projects?status=draft").get_data(as_text=True)
    export = client.get("/api/v1/projects/export.xlsx?area=210802")
    assert export.status_code == 200 and export.data[:2] == b"PK"  # the session cookie
    client.post(f"{P}/{draft['id']}/publish", headers=token("zhanqian"))
    login("boss")
    html = client.get(url).get_data(as_text=True)
    assert 'id="publish"' not in html and 'id="assign"' not in html
    assert client.post(url, data={"csrf_token": session_csrf(client),
                                  "cancel": "1", "cancel_reason": "x"}).status_code == 403
    assert client.post(url, data={"csrf_token": session_csrf(client),
                                  "assign": "1", "reviewer": "1"}).status_code == 403
    login("zhanqian")
    html = client.get(url).get_data(as_text=True)
    empty = client.post(url, data={"csrf_token": csrf_token(html), "cancel": "1",
                                   "cancel_reason": ""})
    assert empty.status_code == 422
    cancelled = client.post(url, data={"csrf_token": csrf_token(html), "cancel": "1",
                                       "cancel_reason": "预算调整"})
    assert cancelled.status_code == 302
    assert "预算调整" in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize("lang,words", [
    ("en", ["Projects", "Open for bids", "Budget", "yuan", "Venture philanthropy"]),
    ("zh", ["项目", "接受投标", "预算", "元", "公益创投"])])
def test_list_and_project_pages_in_both_languages(client, published, lang, words):
    created = published()
    listing = client.get(f"/projects?lang={lang}")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    for word in words:
        assert word in html, word
    assert "50,000.00" in html
    page = client.get(f"/projects/{created['id']}?lang={lang}").get_data(as_text=True)
    for word in words[1:]:
        assert word in page, word
    assert ("Beijing time" if lang == "en" else "北京时间") in page
    assert ("Review criteria" if lang == "en" else "评审标准") in page
    filtered = client.get(f"/projects?status=closed&lang={lang}").get_data(as_text=True)
    assert "社区助老公益创投" not in filtered
    assert client.get("/projects?status=junk").status_code == 422


def test_the_catalogue_page(app, client, login, people):
    year = datetime.now(SHANGHAI).year
    login("city")
    page = client.get("/catalogue?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="add-item"' in html
    empty = client.post("/catalogue", data={"csrf_token": csrf_token(html), "add_item": "1",
                                            "area": "2108", "year": str(year), "name": "",
                                            "category": "养老服务", "unit": "人次"})
    assert empty.status_code == 422
    added = client.post("/catalogue", data={"csrf_token": csrf_token(html), "add_item": "1",
                                            "area": "2108", "year": str(year),
                                            "name": "助餐服务", "category": "养老服务",
                                            "unit": "人次"})
    assert added.status_code == 302
    twice = client.post("/catalogue", data={"csrf_token": csrf_token(html), "add_item": "1",
                                            "area": "2108", "year": str(year),
                                            "name": "助餐服务", "category": "养老服务",
                                            "unit": "人次"})
    assert twice.status_code == 409
    assert "助餐服务" not in app.test_client().get("/catalogue").get_data(as_text=True)
    login("city")
    html = client.get(f"/catalogue?area=2108&year={year}").get_data(as_text=True)
    assert "助餐服务" in html and 'id="publish-catalogue"' in html
    published = client.post(f"/catalogue?area=2108&year={year}",
                            data={"csrf_token": csrf_token(html), "publish_catalogue": "1"})
    assert published.status_code == 302
    login("boss")
    public = client.get("/catalogue?lang=zh").get_data(as_text=True)
    assert "助餐服务" in public and 'id="add-item"' not in public
    assert client.post("/catalogue", data={"csrf_token": session_csrf(client), "add_item": "1",
                                           "area": "2108", "year": str(year), "name": "x",
                                           "category": "y", "unit": "z"}).status_code == 403
    login("zhanqian")  # a county bureau adds only for its county
    html = client.get("/catalogue").get_data(as_text=True)
    assert client.post("/catalogue", data={"csrf_token": csrf_token(html), "add_item": "1",
                                           "area": "2108", "year": str(year), "name": "x",
                                           "category": "y", "unit": "z"}).status_code == 422


def test_pool_attachments_and_report_files_by_page(app, client, token, login, orgs, published):
    """The pool is kept on a page; a bid gets an attachment and a milestone report a file."""
    import io

    from tests.conftest import csrf_token
    from tests.projects.conftest import close_bidding

    login("boss")
    assert client.get("/reviewer-pool").status_code == 403
    login("zhanqian")
    page = client.get("/reviewer-pool?lang=en").get_data(as_text=True)
    unknown = client.post("/reviewer-pool", data={"csrf_token": csrf_token(page),
                                                  "area": "210802", "username": "ghost",
                                                  "add_member": "1"})
    assert unknown.status_code == 422
    added = client.post("/reviewer-pool", data={"csrf_token": csrf_token(page), "area": "210802",
                                                "username": "rev1", "expertise": "社会工作",
                                                "add_member": "1"})
    assert added.status_code == 302
    assert "社会工作" in client.get("/reviewer-pool").get_data(as_text=True)

    call = published()
    bid_id = client.post(f"/api/v1/projects/{call['id']}/bids", headers=token("boss"), json={
        "org_id": orgs["boss"], "requested_amount": "30000.00"}).get_json()["id"]
    login("boss")
    html = client.get(f"/projects/{call['id']}?lang=en").get_data(as_text=True)
    token_value = re.search(r'csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    bad = client.post(f"/projects/{call['id']}", data={
        f"bid{bid_id}-csrf_token": token_value, f"bid{bid_id}-attach": "1",
        f"bid{bid_id}-file": (io.BytesIO(b"plain text"), "notes.txt")},
        content_type="multipart/form-data")
    assert bad.status_code == 422 and "Only PDF, PNG or JPEG" in bad.get_data(as_text=True)
    good = client.post(f"/projects/{call['id']}", data={
        f"bid{bid_id}-csrf_token": token_value, f"bid{bid_id}-attach": "1",
        f"bid{bid_id}-file": (io.BytesIO(b"%PDF-1.4\n"), "方案.pdf")},
        content_type="multipart/form-data")
    assert good.status_code == 302
    assert "方案.pdf" in client.get(f"/projects/{call['id']}").get_data(as_text=True)

    close_bidding(app, call["id"])
    client.post(f"/api/v1/projects/{call['id']}/award", headers=token("zhanqian"),
                json={"bid_id": bid_id})
    mid = client.post(f"/api/v1/projects/{call['id']}/milestones", headers=token("zhanqian"),
                      json={"title": "中期", "due_on": "2027-03-01"}).get_json()["id"]
    html = client.get(f"/projects/{call['id']}").get_data(as_text=True)
    token_value = re.search(r'csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    sent = client.post(f"/projects/{call['id']}", data={
        f"m{mid}-csrf_token": token_value, f"m{mid}-send_report": "1", f"m{mid}-report": "见附件",
        f"m{mid}-report_file": (io.BytesIO(b"\x89PNG\r\n\x1a\nxx"), "照片.png")},
        content_type="multipart/form-data")
    assert sent.status_code == 302
    assert "照片.png" in client.get(f"/projects/{call['id']}").get_data(as_text=True)


def test_a_reviewer_finds_the_assignment_and_learns_the_bids_are_sealed(client, token, login,
                                                                        published, pool):
    call = published()
    client.post(f"/api/v1/projects/{call['id']}/reviewers", headers=token("zhanqian"),
                json={"user_id": pool["rev1"]})
    login("rev1")
    home = client.get("/?lang=en").get_data(as_text=True)
    assert f"/projects/{call['id']}/review" in home
    review = client.get(f"/projects/{call['id']}/review?lang=en").get_data(as_text=True)
    assert 'id="sealed"' in review and "Bids are sealed until the bid deadline" in review
    assert "No bids to review" not in review


def test_home_pages_say_which_bids_are_scored_and_which_organisations_are_mine(
        client, login, token, reviewing):
    project, bids = reviewing()
    client.get(f"/api/v1/projects/{project['id']}", headers=token("zhanqian"))  # now reviewing
    login("rev1")
    home = client.get("/?lang=en").get_data(as_text=True)
    assert 'id="my-reviews"' in home and "0 of 2 bids scored" in home
    client.post(f"/api/v1/bids/{bids['rival']}/scores", headers=token("rev1"),
                json={"scores": {"服务方案": 80, "团队能力": 70, "预算合理性": 90}})
    assert "1 of 2 bids scored" in client.get("/?lang=en").get_data(as_text=True)
    login("boss")
    mine = client.get("/?lang=en").get_data(as_text=True)
    assert 'id="my-orgs"' in mine and "boss的组织" in mine and "rival的组织" not in mine


def test_an_admin_of_two_organisations_chooses_which_one_bids(client, login, token, orgs,
                                                             published):
    from tests.orgs.conftest import org_body, valid_uscc

    second = client.post("/api/v1/orgs", headers=token("boss"), json={
        **org_body(name="boss的第二个组织", registration="registered"), "uscc": valid_uscc(7)})
    assert client.post(f"/api/v1/orgs/{second.get_json()['id']}/review",
                       headers=token("zhanqian"),
                       json={"decision": "approve", "comment": "ok"}).status_code == 200
    project = published()
    url = f"/projects/{project['id']}"
    login("boss")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="org"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.match(r'<option (selected )?value="">', select)
    unchosen = client.post(url, data={"csrf_token": csrf_token(html), "place_bid": "1",
                                      "org": "", "requested_amount": "42000.00"})
    assert unchosen.status_code == 422
    assert "Choose the organisation that bids." in unchosen.get_data(as_text=True)


def test_the_award_form_warns_while_bids_are_unscored(client, login, token, reviewing):
    project, bids = reviewing()
    url = f"/projects/{project['id']}"
    login("zhanqian")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert 'id="unscored"' in html and "2 without a score" in html
    for bid in bids.values():
        client.post(f"/api/v1/bids/{bid}/scores", headers=token("rev1"),
                    json={"scores": {"服务方案": 80, "团队能力": 70, "预算合理性": 90}})
    assert 'id="unscored"' not in client.get(url + "?lang=en").get_data(as_text=True)


def test_a_bid_can_carry_its_attachment_from_the_start(client, login, token, orgs, published):
    import io

    project = published()
    url = f"/projects/{project['id']}"
    login("boss")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'name="attachment"' in html
    wrong = client.post(url + "?lang=en", data={
        "csrf_token": csrf_token(html), "place_bid": "1", "org": str(orgs["boss"]),
        "requested_amount": "42000.00",
        "attachment": (io.BytesIO(b"plain text"), "plan.pdf")},
        content_type="multipart/form-data")
    assert wrong.status_code == 422  # a refused file refuses the bid, said by the field
    assert "Only PDF, PNG or JPEG files." in wrong.get_data(as_text=True)
    assert client.get(f"/api/v1/projects/{project['id']}/bids", headers=token("boss")
                      ).get_json()["items"] == []
    done = client.post(url, data={
        "csrf_token": csrf_token(html), "place_bid": "1", "org": str(orgs["boss"]),
        "requested_amount": "42000.00",
        "attachment": (io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF"),
                       "方案.pdf")}, content_type="multipart/form-data")
    assert done.status_code == 302
    bids = client.get(f"/api/v1/projects/{project['id']}/bids", headers=token("boss")
                      ).get_json()["items"]
    assert len(bids) == 1 and bids[0]["attachments"][0]["filename"] == "方案.pdf"


def _rated(app, client, token, bid_id: int, levels) -> None:
    """Ratings of the bidding organisation, made this month (set up directly: who may rate is
    tested in tests/ratings)."""
    from portal.core.db import utcnow
    from portal.extensions import db
    from portal.projects.models import Bid
    from portal.ratings.models import RatedKind, Rating
    from portal.ratings.services import month_of

    with app.app_context():
        org_id = db.session.get(Bid, bid_id).org_id
        now = utcnow()
        for level in levels:
            db.session.add(Rating(object_type=RatedKind.org, object_id=org_id, level=level,
                                  rated_org_id=org_id, area_code="210802001001",
                                  served_at=now, created_at=now, month=month_of(now),
                                  comment="x" if level < 3 else None))
        db.session.add(Rating(object_type=RatedKind.org, object_id=org_id, level=1,
                              rated_org_id=org_id, area_code="210802001001", served_at=now,
                              created_at=now, month=month_of(now), comment="x",
                              voided_at=now, void_reason="不实"))  # voided: not counted
        db.session.commit()
