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
