"""好差评 of needs: the poster rates the resolution of their need and the organisation it was
matched to; the community's workers answer a 差评 of the resolution."""

from __future__ import annotations

from tests.residents.test_needs import act, resources  # noqa: F401  (a fixture)


def test_the_poster_rates_the_resolution_and_the_organisation(client, token, need, resident,
                                                                resources):  # noqa: F811
    poster = resident("13700000001")
    made = need(by=poster, verify=True)
    body = {"object_type": "need", "object_id": made["id"], "level": 1, "comment": "拖了很久"}
    assert client.post("/api/v1/ratings", headers=poster, json=body).status_code == 403
    assert act(client, token("worker"), made["id"], "matches",
               {"kind": "org", "target_id": resources["org"]}).status_code == 201
    org = {"object_type": "org", "object_id": resources["org"], "level": 5}
    assert client.post("/api/v1/ratings", headers=resident("13700000009"),
                       json=org).status_code == 403  # a neighbour who was not served
    assert client.post("/api/v1/ratings", headers=poster, json=org).status_code == 201
    act(client, token("worker"), made["id"], "resolve", {"comment": "已修好"})
    assert client.post("/api/v1/ratings", headers=resident("13700000009"),
                       json=body).status_code == 403  # not their need
    rated = client.post("/api/v1/ratings", headers=poster, json=body)
    assert rated.status_code == 201 and rated.get_json()["rectification"]["status"] == "open"
    cases = client.get("/api/v1/rectifications", headers=token("worker")).get_json()["items"]
    assert [c["rating"]["object_type"] for c in cases] == ["need"]
    assert "13700000001" not in str(cases)


def test_a_project_is_rated_by_its_areas_workers_and_the_posters_it_cites(
        app, client, token, need, resident, resources):  # noqa: F811
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.needs.models import ProjectNeed
    from portal.projects.models import Project, ProjectState

    poster = resident("13700000001")
    cited = need(by=poster, verify=True)
    project_id = resources["project"]
    with app.app_context():
        db.session.add(ProjectNeed(project_id=project_id, need_id=cited["id"]))
        db.session.commit()
    body = {"object_type": "project", "object_id": project_id, "level": 4}
    assert client.post("/api/v1/ratings", headers=poster, json=body).status_code == 403  # open
    with app.app_context():
        db.session.execute(sa.update(Project).where(Project.id == project_id).values(
            status=ProjectState.in_progress))
        db.session.commit()
    assert client.post("/api/v1/ratings", headers=resident("13700000009"),
                       json=body).status_code == 403  # cites no need of theirs
    assert client.post("/api/v1/ratings", headers=token("outsider"),
                       json=body).status_code == 403  # a worker of another county
    # Both are asked on /me; a worker of another county is not.
    assert _to_rate(app, client, poster) == [("project", project_id)]
    assert ("project", project_id) in _to_rate(app, client, token("worker"))
    assert ("project", project_id) not in _to_rate(app, client, token("outsider"))
    assert client.post("/api/v1/ratings", headers=poster, json=body).status_code == 201
    assert client.post("/api/v1/ratings", headers=token("worker"), json=body).status_code == 201
    assert ("project", project_id) not in _to_rate(app, client, token("worker"))


def test_closing_a_project_asks_the_posters_it_cites(app, client, token, need, resident,
                                                      resources):  # noqa: F811
    import sqlalchemy as sa

    from portal.core.notify import Notification
    from portal.extensions import db
    from portal.needs.models import ProjectNeed
    from portal.needs.services import project_closed
    from portal.projects.models import Project

    poster, neighbour = resident("13700000001"), resident("13700000002")
    cited = need(by=poster, verify=True)
    also = need(by=neighbour, verify=True)
    by_worker = need(by=token("worker"), on_behalf_of={"name": "李大爷", "phone": "13700000005"},
                     verify=True)
    with app.app_context():
        for made in (cited, also, by_worker):
            db.session.add(ProjectNeed(project_id=resources["project"], need_id=made["id"]))
        db.session.commit()
        project_closed(db.session.get(Project, resources["project"]), actor=None)
        db.session.commit()
        asked = db.session.execute(sa.select(Notification.user_id).where(
            Notification.kind == "rating_asked",
            Notification.subject_key.like("project:%"))).scalars().all()
    # Each resident who posted is asked to rate the project, and the community workers of its
    # area; not a worker of another county, nor the person a worker posted a need for.
    me = [client.get("/api/v1/me", headers=h).get_json()["id"]
          for h in (poster, neighbour, token("worker"), token("township"))]
    assert sorted(asked) == sorted(me)


def _to_rate(app, client, headers) -> list[tuple[str, int]]:
    from portal.core.users import User
    from portal.extensions import db
    from portal.ratings.queries import to_rate

    me = client.get("/api/v1/me", headers=headers).get_json()
    with app.app_context():
        return [(i["kind"].value, i["id"]) for i in to_rate(db.session.get(User, me["id"]))]


def test_the_organisations_page_shows_its_months_of_ratings(app, client, token, staff,
                                                             resources):  # noqa: F811
    from portal.core.db import utcnow
    from portal.extensions import db
    from portal.ratings.models import RatedKind, Rating
    from portal.ratings.services import month_of

    def add(n, level):
        with app.app_context():
            now = utcnow()
            for _i in range(n):
                db.session.add(Rating(object_type=RatedKind.org, object_id=resources["org"],
                                      rater_id=None, level=level, rated_org_id=resources["org"],
                                      area_code="210802001001", served_at=now, created_at=now,
                                      month=month_of(now), comment="x" if level < 3 else None))
            db.session.commit()
    url = f"/orgs/{resources['org']}"
    add(3, 5)
    page = client.get(url).get_data(as_text=True)
    assert 'id="org-ratings"' in page and "<progress" not in page.split('id="org-ratings"')[1]
    add(2, 2)  # five now: the figures are public
    page = client.get(f"{url}?lang=en").get_data(as_text=True)
    section = page.split('id="org-ratings"')[1]
    assert "3.80" in section and "60.0% satisfied" in section and "2 poor" in section
    assert section.count("<progress") == 1  # this month's bar; the other eleven say —
