"""Projects through the API: creation rules, bids and their refusals, expert review with
conflicts of interest, ranking arithmetic, award, milestones, evaluation, the state machine by
role."""

import threading

import pytest

from tests.projects.conftest import CRITERIA, close_bidding, later

P = "/api/v1/projects"


def bid(client, token, project_id, org_id, by="boss", amount="42000.00", **extra):
    body = {"org_id": org_id, "requested_amount": amount, "proposal": "每周探访两次"}
    body.update(extra)
    return client.post(f"{P}/{project_id}/bids", headers=token(by), json=body)


# --- creation ---------------------------------------------------------------------------------

def test_weights_must_sum_to_100(client, token, people):
    body = {"title": "x", "kind": "venture_philanthropy", "area_code": "210802",
            "budget": "50000.00", "bid_deadline": later(5),
            "criteria": [{"name": "方案", "weight": 60}, {"name": "团队", "weight": 30}]}
    response = client.post(P, headers=token("zhanqian"), json=body)
    assert response.status_code == 422
    assert "criteria" in response.get_json()["error"]["fields"]
    dup = dict(body, criteria=[{"name": "方案", "weight": 50}, {"name": "方案", "weight": 50}])
    assert client.post(P, headers=token("zhanqian"), json=dup).status_code == 422
    ok = dict(body, criteria=[{"name": "方案", "weight": 70}, {"name": "团队", "weight": 30}])
    created = client.post(P, headers=token("zhanqian"), json=ok)
    assert created.status_code == 201
    assert (created.get_json()["status"], created.get_json()["allow_filed"]) == ("draft", True)
    assert created.get_json()["budget"] == "50000.00"


def test_money_is_a_decimal_string(client, token, people):
    base = {"title": "x", "kind": "venture_philanthropy", "area_code": "210802",
            "bid_deadline": later(5), "criteria": CRITERIA}
    for bad in ("12.345", "abc", "-5", "0", "NaN", "1e3"):
        response = client.post(P, headers=token("zhanqian"), json=dict(base, budget=bad))
        assert response.status_code == 422, bad
        assert "budget" in response.get_json()["error"]["fields"]
    floating = client.post(P, headers=token("zhanqian"), json=dict(base, budget=1.5))
    assert floating.status_code == 422  # a JSON number with a fraction: not money
    assert "budget" in floating.get_json()["error"]["fields"]


def test_a_government_purchase_needs_the_catalogue_and_never_allows_filed(
        client, token, people, catalogue_item, project):
    base = {"title": "采购", "kind": "government_purchase", "area_code": "210802",
            "budget": "80000.00", "bid_deadline": later(5), "criteria": CRITERIA}
    missing = client.post(P, headers=token("zhanqian"), json=base)
    assert missing.status_code == 422
    assert "catalogue_item_id" in missing.get_json()["error"]["fields"]
    filed = client.post(P, headers=token("zhanqian"),
                        json=dict(base, catalogue_item_id=catalogue_item, allow_filed=True))
    assert filed.status_code == 422 and "allow_filed" in filed.get_json()["error"]["fields"]
    ok = project(kind="government_purchase")
    assert ok["allow_filed"] is False and ok["catalogue_item_id"] == catalogue_item


def test_only_the_bureau_of_the_area_creates_and_moves(client, token, people, project):
    body = {"title": "x", "kind": "venture_philanthropy", "area_code": "210802",
            "budget": "50000.00", "bid_deadline": later(5), "criteria": CRITERIA}
    for who in ("worker", "boss", "bayuquan", "rev1"):
        assert client.post(P, headers=token(who), json=body).status_code == 403, who
    assert client.post(P, headers=token("bayuquan"), json={"junk": 1}).status_code == 403
    assert client.post(P, json=body).status_code == 401
    assert client.post(P, headers=token("city"), json=body).status_code == 201
    draft = project()
    for who in ("worker", "boss", "bayuquan"):
        # a draft is the bureau's: others may not know it exists
        assert client.post(f"{P}/{draft['id']}/publish", headers=token(who)).status_code == 404
    assert client.get(f"{P}/{draft['id']}").status_code == 404
    assert client.post(f"{P}/{draft['id']}/publish", headers=token("zhanqian")).status_code == 200
    assert client.post(f"{P}/{draft['id']}/publish", headers=token("zhanqian")).status_code == 409
    assert client.post(f"{P}/{draft['id']}/publish", headers=token("boss")).status_code == 403
    assert client.get(f"{P}/{draft['id']}").get_json()["status"] == "open"


# --- bids -------------------------------------------------------------------------------------

def test_bid_refusals(app, client, token, orgs, project, published):
    draft = project()
    assert bid(client, token, draft["id"], orgs["boss"]).status_code == 409  # not published
    call = published()
    assert bid(client, token, call["id"], orgs["boss"], by="rival").status_code == 403
    over = bid(client, token, call["id"], orgs["boss"], amount="50000.01")
    assert over.status_code == 422 and "requested_amount" in over.get_json()["error"]["fields"]
    bad = bid(client, token, call["id"], orgs["boss"], amount="4万")
    assert bad.status_code == 422 and "requested_amount" in bad.get_json()["error"]["fields"]
    first = bid(client, token, call["id"], orgs["boss"])
    assert first.status_code == 201 and first.get_json()["requested_amount"] == "42000.00"
    assert bid(client, token, call["id"], orgs["boss"]).status_code == 409
    close_bidding(app, call["id"])
    late = bid(client, token, call["id"], orgs["rival"], by="rival")
    assert late.status_code == 409
    assert client.get(f"{P}/{call['id']}").get_json()["status"] == "reviewing"


def test_filed_groups_and_inactive_orgs(client, token, orgs, published, new_pending_org):
    purchase = published(kind="government_purchase")
    filed = bid(client, token, purchase["id"], orgs["filer"], by="filer")
    assert filed.status_code == 422 and "org_id" in filed.get_json()["error"]["fields"]
    venture = published()
    assert bid(client, token, venture["id"], orgs["filer"], by="filer").status_code == 201
    closed_to_filed = published(allow_filed=False)
    refused = bid(client, token, closed_to_filed["id"], orgs["filer"], by="filer")
    assert refused.status_code == 422 and "org_id" in refused.get_json()["error"]["fields"]
    pending = new_pending_org("boss")
    inactive = bid(client, token, venture["id"], pending)
    assert inactive.status_code == 422 and "org_id" in inactive.get_json()["error"]["fields"]


@pytest.fixture
def new_pending_org(client, token):
    from tests.orgs.conftest import org_body

    def make(admin):
        response = client.post("/api/v1/orgs", headers=token(admin),
                               json=org_body(name="尚未审核的组织"))
        return response.get_json()["id"]
    return make


def test_a_bid_is_edited_and_withdrawn_until_the_deadline(app, client, token, orgs, published):
    call = published()
    bid_id = bid(client, token, call["id"], orgs["boss"]).get_json()["id"]
    edit = client.patch(f"/api/v1/bids/{bid_id}", headers=token("boss"),
                        json={"requested_amount": "40000.00"})
    assert edit.status_code == 200 and edit.get_json()["requested_amount"] == "40000.00"
    assert client.patch(f"/api/v1/bids/{bid_id}", headers=token("rival"),
                        json={"proposal": "x"}).status_code == 404
    withdrawn = client.post(f"/api/v1/bids/{bid_id}/withdraw", headers=token("boss"))
    assert withdrawn.get_json()["status"] == "withdrawn"
    again = bid(client, token, call["id"], orgs["boss"])
    assert again.status_code == 201  # a withdrawn bid frees the place
    close_bidding(app, call["id"])
    assert client.patch(f"/api/v1/bids/{again.get_json()['id']}", headers=token("boss"),
                        json={"proposal": "late"}).status_code == 409


@pytest.mark.contention
def test_twenty_bids_at_once_from_one_org_make_one(app, client, token, orgs, published):
    call = published()
    headers = token("boss")
    barrier = threading.Barrier(20)
    codes = []

    def go():
        c = app.test_client()
        barrier.wait()
        codes.append(c.post(f"{P}/{call['id']}/bids", headers=headers, json={
            "org_id": orgs["boss"], "requested_amount": "1000.00"}).status_code)

    threads = [threading.Thread(target=go) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201] + [409] * 19, codes


# --- review -----------------------------------------------------------------------------------

@pytest.fixture
def reviewing(app, client, token, orgs, published, pool):
    """A call with two bids (boss, rival), three assigned reviewers, bidding closed."""
    call = published()
    a = bid(client, token, call["id"], orgs["boss"]).get_json()["id"]
    b = bid(client, token, call["id"], orgs["rival"], by="rival", amount="30000.00") \
        .get_json()["id"]
    for name in ("rev1", "rev2", "rev3"):
        response = client.post(f"{P}/{call['id']}/reviewers", headers=token("zhanqian"),
                               json={"user_id": pool[name]})
        assert response.status_code == 201, response.get_json()
    return call["id"], a, b


def score(client, token, bid_id, by, values=None, conflict=False):
    body = {"conflict_of_interest": conflict, "comment": "意见"}
    if values is not None:
        body["scores"] = dict(zip([c["name"] for c in CRITERIA], values, strict=True))
    return client.post(f"/api/v1/bids/{bid_id}/scores", headers=token(by), json=body)


def test_reviewers_come_from_the_pool_once(client, token, people, published, pool):
    call = published()
    url = f"{P}/{call['id']}/reviewers"
    nobody = client.get("/api/v1/me", headers=token("nobody")).get_json()["id"]
    not_pool = client.post(url, headers=token("zhanqian"), json={"user_id": nobody})
    assert not_pool.status_code == 422 and "user_id" in not_pool.get_json()["error"]["fields"]
    assert client.post(url, headers=token("boss"), json={"user_id": pool["rev1"]}) \
        .status_code == 403
    assert client.post(url, headers=token("zhanqian"),
                       json={"user_id": pool["rev1"]}).status_code == 201
    assert client.post(url, headers=token("zhanqian"),
                       json={"user_id": pool["rev1"]}).status_code == 409
    drawn = client.post(f"{url}/draw", headers=token("zhanqian"), json={"count": 2})
    assert drawn.status_code == 201
    assert {a["user_id"] for a in drawn.get_json()["items"]} == {pool["rev2"], pool["rev3"]}
    empty = client.post(f"{url}/draw", headers=token("zhanqian"), json={"count": 1})
    assert empty.status_code == 422


def test_scores_only_while_reviewing_and_once(app, client, token, reviewing):
    project_id, a, _b = reviewing
    early = score(client, token, a, "rev1", (80, 90, 70))
    assert early.status_code == 409  # still open for bids
    close_bidding(app, project_id)
    assert score(client, token, a, "nobody", (80, 90, 70)).status_code == 404
    assert score(client, token, a, "zhanqian", (80, 90, 70)).status_code == 403
    assert score(client, token, a, "admin", (80, 90, 70)).status_code == 403
    over = score(client, token, a, "rev1", (80, 101, 70))
    assert over.status_code == 422
    missing = client.post(f"/api/v1/bids/{a}/scores", headers=token("rev1"),
                          json={"scores": {"服务方案": 80, "团队能力": 90}})
    assert missing.status_code == 422
    assert "scores.预算合理性" in missing.get_json()["error"]["fields"]
    assert score(client, token, a, "rev1", (80, 90, 70)).status_code == 201
    assert score(client, token, a, "rev1", (80, 90, 70)).status_code == 409


def test_the_ranking_leaves_out_declared_conflicts(app, client, token, reviewing):
    project_id, a, b = reviewing
    close_bidding(app, project_id)
    # bid a: rev1 = 80*.4 + 90*.3 + 70*.3 = 80.0; rev2 = 90.0; rev3 declares a conflict
    assert score(client, token, a, "rev1", (80, 90, 70)).status_code == 201
    assert score(client, token, a, "rev2", (90, 90, 90)).status_code == 201
    conflict = score(client, token, a, "rev3", (100, 100, 100), conflict=True)
    assert conflict.status_code == 201 and conflict.get_json()["scores"] == {}
    # bid b: rev1 = 70*.4 + 60*.3 + 50*.3 = 61.0; rev3 = 75*.4 + 65*.3 + 55*.3 = 66.0
    score(client, token, b, "rev1", (70, 60, 50))
    score(client, token, b, "rev3", (75, 65, 55))
    ranking = client.get(f"{P}/{project_id}/ranking", headers=token("zhanqian"))
    assert ranking.status_code == 200
    items = ranking.get_json()["items"]
    assert [(i["bid_id"], i["score"], i["reviewers"]) for i in items] == \
        [(a, 85.0, 2), (b, 63.5, 2)]
    for who in ("rev1", "boss", "bayuquan"):
        assert client.get(f"{P}/{project_id}/ranking", headers=token(who)).status_code in \
            (403, 404)


def test_rounding_half_up_and_nobody_scored(app, client, token, reviewing):
    project_id, a, b = reviewing
    close_bidding(app, project_id)
    score(client, token, a, "rev1", (81, 90, 70))  # 80.4
    score(client, token, a, "rev2", (80, 90, 70))  # 80.0
    score(client, token, a, "rev3", (80, 90, 71))  # 80.3 -> mean 80.2333 -> 80.23
    items = client.get(f"{P}/{project_id}/ranking", headers=token("zhanqian")).get_json()[
        "items"]
    assert items[0]["score"] == 80.23
    assert items[1] == {**items[1], "bid_id": b, "score": None, "reviewers": 0}


def test_scores_are_hidden_until_review_closes(app, client, token, reviewing):
    project_id, a, b = reviewing
    close_bidding(app, project_id)
    score(client, token, a, "rev1", (80, 90, 70))
    score(client, token, a, "rev2", (90, 90, 90))
    assert client.get(f"/api/v1/bids/{a}/scores", headers=token("boss")).get_json()[
        "items"] == []
    own = client.get(f"/api/v1/bids/{a}/scores", headers=token("rev1")).get_json()["items"]
    assert [s["reviewer"] for s in own] == ["rev1"]
    assert len(client.get(f"{P}/{project_id}/scores", headers=token("zhanqian"))
               .get_json()["items"]) == 2
    assert client.get(f"{P}/{project_id}/scores", headers=token("rev1")).status_code == 403
    client.post(f"{P}/{project_id}/award", headers=token("zhanqian"), json={"bid_id": a})
    after = client.get(f"/api/v1/bids/{a}/scores", headers=token("boss")).get_json()["items"]
    assert len(after) == 2


def test_blind_review_hides_the_bidder_from_reviewers(app, client, token, orgs, published,
                                                      pool):
    import io

    call = published(blind_review=True)
    a = bid(client, token, call["id"], orgs["boss"]).get_json()["id"]
    client.post(f"/api/v1/bids/{a}/attachments", headers=token("boss"),
                data={"file": (io.BytesIO(b"%PDF-1.4\n"), "boss的组织-方案.pdf")})
    client.post(f"{P}/{call['id']}/reviewers", headers=token("zhanqian"),
                json={"user_id": pool["rev1"]})
    # sealed until bidding closes: a reviewer sees no bid while the call is open
    assert client.get(f"/api/v1/bids/{a}", headers=token("rev1")).status_code == 404
    assert client.get(f"{P}/{call['id']}/bids", headers=token("rev1")).get_json()["items"] == []
    close_bidding(app, call["id"])
    seen = client.get(f"/api/v1/bids/{a}", headers=token("rev1")).get_json()
    assert seen["attachments"][0]["filename"] == f"bid-{a}-{seen['attachments'][0]['id']}.pdf"
    assert seen["org_id"] is None and seen["org_name"] is None
    assert client.get(f"/api/v1/bids/{a}", headers=token("zhanqian")).get_json()["org_id"] == \
        orgs["boss"]
    listed = client.get(f"{P}/{call['id']}/bids", headers=token("rev1")).get_json()["items"]
    assert [b["org_id"] for b in listed] == [None]


# --- award, delivery, evaluation --------------------------------------------------------------

def test_award_once_then_milestones_and_evaluation(app, client, token, reviewing):
    project_id, a, b = reviewing
    early = client.post(f"{P}/{project_id}/award", headers=token("zhanqian"), json={"bid_id": a})
    assert early.status_code == 409  # bidding still open
    close_bidding(app, project_id)
    assert client.post(f"{P}/{project_id}/award", headers=token("boss"),
                       json={"bid_id": a}).status_code == 403
    assert client.post(f"{P}/{project_id}/award", headers=token("zhanqian"),
                       json={"bid_id": 999999}).status_code == 422
    early_eval = client.post(f"{P}/{project_id}/evaluation", headers=token("zhanqian"),
                             json={"score": 95, "comment": "x"})
    assert early_eval.status_code == 409
    awarded = client.post(f"{P}/{project_id}/award", headers=token("zhanqian"),
                          json={"bid_id": a, "contract_start": "2027-01-01",
                                "contract_end": "2027-12-31"})
    assert awarded.status_code == 200 and awarded.get_json()["status"] == "awarded"
    assert client.post(f"{P}/{project_id}/award", headers=token("zhanqian"),
                       json={"bid_id": b}).status_code == 409
    public = client.get(f"{P}/{project_id}").get_json()  # 信息公开: winner and amount
    assert public["award"]["org_name"] == "boss的组织" and public["award"]["amount"] == "42000.00"
    milestone = client.post(f"{P}/{project_id}/milestones", headers=token("zhanqian"),
                            json={"title": "中期报告", "due_on": "2027-06-30"})
    assert milestone.status_code == 201 and milestone.get_json()["project_status"] == \
        "in_progress"
    mid = milestone.get_json()["id"]
    assert client.post(f"/api/v1/milestones/{mid}/report", headers=token("rival"),
                       json={"report": "x"}).status_code == 403
    assert client.post(f"/api/v1/milestones/{mid}/accept", headers=token("zhanqian"),
                       json={}).status_code == 409  # nothing reported yet
    assert client.post(f"/api/v1/milestones/{mid}/report", headers=token("boss"),
                       json={"report": "完成探访120人次"}).status_code == 200
    accepted = client.post(f"/api/v1/milestones/{mid}/accept", headers=token("zhanqian"),
                           json={"comment": "同意"})
    assert accepted.get_json()["status"] == "accepted"
    wrong = client.post(f"{P}/{project_id}/evaluation", headers=token("zhanqian"),
                        json={"score": 88, "comment": "好", "grade": "优"})
    assert wrong.status_code == 422 and "grade" in wrong.get_json()["error"]["fields"]
    out = client.post(f"{P}/{project_id}/evaluation", headers=token("zhanqian"),
                      json={"score": 101})
    assert out.status_code == 422
    assert client.post(f"{P}/{project_id}/evaluation", headers=token("boss"),
                       json={"score": 88}).status_code == 403
    done = client.post(f"{P}/{project_id}/evaluation", headers=token("judge"),
                       json={"score": 88, "comment": "良好", "grade": "良"})
    assert done.status_code == 200
    assert (done.get_json()["status"], done.get_json()["evaluation"]["grade"]) == \
        ("closed", "良")
    assert client.post(f"{P}/{project_id}/evaluation", headers=token("zhanqian"),
                       json={"score": 88}).status_code == 409


@pytest.mark.parametrize("value,grade", [(90, "优"), (89.99, "良"), (75, "良"), (74.5, "中"),
                                         (60, "中"), (59.9, "差"), (0, "差")])
def test_grades_follow_the_settings(app, value, grade):
    from decimal import Decimal

    from portal.projects.services import grade_for

    with app.app_context():
        assert grade_for(Decimal(str(value))) == grade


def test_a_poor_grade_is_flagged_on_the_next_bid(app, client, token, reviewing, published):
    project_id, a, _b = reviewing
    close_bidding(app, project_id)
    client.post(f"{P}/{project_id}/award", headers=token("zhanqian"), json={"bid_id": a})
    client.post(f"{P}/{project_id}/evaluation", headers=token("zhanqian"),
                json={"score": 55, "comment": "未完成"})
    nxt = published()
    from tests.projects.conftest import URBAN  # noqa: F401

    org_id = client.get(f"/api/v1/bids/{a}", headers=token("zhanqian")).get_json()["org_id"]
    new_bid = bid(client, token, nxt["id"], org_id).get_json()["id"]
    seen = client.get(f"/api/v1/bids/{new_bid}", headers=token("zhanqian")).get_json()
    assert seen["poor_grade_before"] is True
    close_bidding(app, nxt["id"])
    ranking = client.get(f"{P}/{nxt['id']}/ranking", headers=token("zhanqian")).get_json()
    assert ranking["items"][0]["poor_grade_before"] is True


def test_cancel_only_before_award(app, client, token, reviewing):
    project_id, a, _b = reviewing
    assert client.post(f"{P}/{project_id}/cancel", headers=token("zhanqian"),
                       json={}).status_code == 422
    close_bidding(app, project_id)
    client.post(f"{P}/{project_id}/award", headers=token("zhanqian"), json={"bid_id": a})
    assert client.post(f"{P}/{project_id}/cancel", headers=token("zhanqian"),
                       json={"reason": "x"}).status_code == 409


def test_project_activities_show_their_volunteer_hours(app, client, token, reviewing):
    project_id, a, _b = reviewing
    close_bidding(app, project_id)
    client.post(f"{P}/{project_id}/award", headers=token("zhanqian"), json={"bid_id": a})
    org_id = client.get(f"/api/v1/bids/{a}", headers=token("zhanqian")).get_json()["org_id"]
    shift = {"starts_at": later(3), "ends_at": later(3.1), "capacity": 5}
    body = {"title": "探访独居老人", "org_id": org_id, "project_id": project_id,
            "service_type": "elderly_care", "location": "八田地", "shifts": [shift]}
    made = client.post("/api/v1/activities", headers=token("boss"), json=body)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["project_id"] == project_id
    other = client.post("/api/v1/activities", headers=token("rival"), json=dict(
        body, org_id=client.get(f"/api/v1/bids/{_b}", headers=token("zhanqian"))
        .get_json()["org_id"]))
    assert other.status_code == 422 and "project_id" in other.get_json()["error"]["fields"]
    assert client.get(f"{P}/{project_id}").get_json()["volunteer_minutes"] == 0


def test_excel_export_of_the_area(app, client, token, reviewing):
    import io

    from openpyxl import load_workbook

    response = client.get(f"{P}/export.xlsx", headers=token("zhanqian"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["项目", "投标", "评分", "绩效评估"]
    assert book["投标"].max_row == 3
    projects = book["项目"]
    assert "项目" in projects["A1"].value and "站前区" in projects["A1"].value
    assert [c.value for c in projects[2]][5] == "预算(元)"
    budget = projects.cell(3, 6)
    assert isinstance(budget.value, (int, float)) and budget.number_format == "#,##0.00"
    amounts = [row[4].value for row in book["投标"].iter_rows(min_row=2)]
    assert all(isinstance(a, (int, float)) for a in amounts)  # they can be summed
    assert client.get(f"{P}/export.xlsx", headers=token("boss")).status_code == 403


def test_public_list_shows_open_calls_not_drafts(client, token, project, published):
    project(title="草稿项目")
    published(title="公开项目")
    titles = [p["title"] for p in client.get(P).get_json()["items"]]
    assert titles == ["公开项目"]
    mine = [p["title"] for p in client.get(P, headers=token("zhanqian")).get_json()["items"]]
    assert set(mine) == {"草稿项目", "公开项目"}


def test_a_milestone_report_carries_an_attachment(app, client, token, reviewing):
    import io

    project_id, a, _b = reviewing
    close_bidding(app, project_id)
    client.post(f"{P}/{project_id}/award", headers=token("zhanqian"), json={"bid_id": a})
    mid = client.post(f"{P}/{project_id}/milestones", headers=token("zhanqian"),
                      json={"title": "中期报告", "due_on": "2027-06-30"}).get_json()["id"]
    url = f"/api/v1/milestones/{mid}/report"
    not_pdf = client.post(url, headers=token("boss"), data={
        "report": "见附件", "file": (io.BytesIO(b"MZ\x90\x00"), "virus.exe")})
    assert not_pdf.status_code == 422 and "file" in not_pdf.get_json()["error"]["fields"]
    pdf = b"%PDF-1.4\n% report\n"
    done = client.post(url, headers=token("boss"), data={
        "report": "见附件", "file": (io.BytesIO(pdf), "中期报告.pdf")})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["report_filename"] == "中期报告.pdf"
    file = client.get(f"{url}/file")
    assert file.status_code == 200 and file.data == pdf


def test_review_findings_refusals(app, client, token, orgs, project, published, pool, people):
    """A system admin does not bid for others; a draft is 409 to the org's admin; a reviewer who
    manages a bidder must declare the conflict; odd dates and years are 422, never 500."""
    call = published()
    admin_bid = client.post(f"{P}/{call['id']}/bids", headers=token("admin"), json={
        "org_id": orgs["boss"], "requested_amount": "100.00"})
    assert admin_bid.status_code == 403
    assert client.post(f"{P}/{call['id']}/bids", headers=token("nobody"), json={
        "org_id": 999999, "requested_amount": "100.00"}).status_code == 403
    draft = project()
    assert bid(client, token, draft["id"], orgs["boss"]).status_code == 409
    # rev1 also manages the rival organisation's bid: scoring it needs the declared conflict
    rival_bid = bid(client, token, call["id"], orgs["rival"], by="rival").get_json()["id"]
    client.post(f"/api/v1/orgs/{orgs['rival']}/admins", headers=token("rival"),
                json={"username": "rev1"})
    client.post(f"{P}/{call['id']}/reviewers", headers=token("zhanqian"),
                json={"user_id": pool["rev1"]})
    close_bidding(app, call["id"])
    own = score(client, token, rival_bid, "rev1", (100, 100, 100))
    assert own.status_code == 422
    assert "conflict_of_interest" in own.get_json()["error"]["fields"]
    assert score(client, token, rival_bid, "rev1", conflict=True).status_code == 201
    base = {"title": "x", "kind": "venture_philanthropy", "area_code": "210802",
            "budget": "1000.00", "criteria": CRITERIA}
    for deadline in ("0001-01-01T00:00:00", "9999-12-31T23:59:00-12:00"):
        odd = client.post(P, headers=token("zhanqian"), json=dict(base, bid_deadline=deadline))
        assert odd.status_code == 422, deadline
    assert client.get("/api/v1/catalogue?year=99999999999999999999").status_code == 422
    unknown = client.post("/api/v1/catalogue", headers=token("city"), json={
        "area_code": "2108999", "year": 2026, "name": "x", "category": "y", "unit": "z"})
    assert unknown.status_code == 422


def test_a_nan_score_is_refused(app, reviewing):
    from decimal import Decimal

    from portal.core.errors import ValidationFailed
    from portal.extensions import db
    from portal.projects.models import Project
    from portal.projects.services import evaluate

    project_id, _a, _b = reviewing
    with app.app_context():
        project = db.session.get(Project, project_id)
        for bad in (Decimal("NaN"), float("nan"), Decimal("sNaN")):
            with pytest.raises(ValidationFailed):
                evaluate(project, bad, None, None, actor=None)
        db.session.rollback()


def test_a_report_after_acceptance_or_closing_is_refused(app, client, token, reviewing):
    project_id, a, _b = reviewing
    close_bidding(app, project_id)
    client.post(f"{P}/{project_id}/award", headers=token("zhanqian"), json={"bid_id": a})
    mid = client.post(f"{P}/{project_id}/milestones", headers=token("zhanqian"),
                      json={"title": "结项", "due_on": "2027-06-30"}).get_json()["id"]
    url = f"/api/v1/milestones/{mid}/report"
    assert client.post(url, headers=token("boss"), json={"report": "完成"}).status_code == 200
    client.post(f"/api/v1/milestones/{mid}/accept", headers=token("zhanqian"), json={})
    assert client.post(url, headers=token("boss"), json={"report": "改写"}).status_code == 409
    assert client.get(f"{P}/{project_id}/milestones").get_json()["items"][0]["report"] == "完成"


def test_amounts_as_the_pages_show_them_are_accepted(client, token, orgs, published):
    call = published()
    grouped = bid(client, token, call["id"], orgs["boss"], amount="48,000.00")
    assert grouped.status_code == 201 and grouped.get_json()["requested_amount"] == "48000.00"
    for bad in ("4,8000.00", "48,000.000", ",48"):
        response = bid(client, token, call["id"], orgs["rival"], by="rival", amount=bad)
        assert response.status_code == 422, bad
