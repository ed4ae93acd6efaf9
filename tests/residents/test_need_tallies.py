"""The needs dashboard's tallies, kept by database triggers: after every way a need changes
(posted, verified, rejected, merged, matched, resolved, cited by a project, edited or deleted
in SQL) they equal a count of the needs themselves, at every level of areas, and `flask needs
check` says so, or names the tally that drifted."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.core.db import utcnow
from portal.extensions import db
from portal.needs import queries
from portal.needs.models import Need, NeedTally
from tests.residents.conftest import RURAL, URBAN
from tests.residents.test_needs import act, resources  # noqa: F401  (a fixture)


def _tally(app, area, status, category="elderly_care") -> int:
    with app.app_context():
        return db.session.scalar(sa.select(NeedTally.n).where(
            NeedTally.area_code == area, NeedTally.status == status,
            NeedTally.category == category)) or 0


def test_tallies_follow_every_change_at_every_level(app, client, token, need, resident,
                                                    resources):  # noqa: F811
    runner = app.test_cli_runner()
    a, b = need(verify=True), need(verify=True, category="health")
    c = need(by=resident("13700000005"))
    d = need(by="outsider", community_code=RURAL,
             on_behalf_of={"name": "张", "phone": "13900000000"})
    for area in (URBAN, URBAN[:9], URBAN[:6], URBAN[:4]):
        assert _tally(app, area, "verified") == 1
    for area in (URBAN, URBAN[:9], URBAN[:6]):
        assert _tally(app, area, "submitted") == 1
    assert _tally(app, "2108", "submitted") == 2   # c here, d in the rural community
    assert _tally(app, RURAL[:6], "submitted") == 1 and _tally(app, URBAN[:6], "health") == 0

    assert act(client, token("worker"), c["id"], "merge", {"into": a["id"]}).status_code == 200
    assert act(client, token("outsider"), d["id"], "reject",
               {"reason": "不属于社区服务范围"}).status_code == 200
    assert act(client, token("worker"), a["id"], "matches",
               {"kind": "org", "target_id": resources["org"]}).status_code == 201
    assert act(client, token("worker"), a["id"], "resolve",
               {"comment": "已修好"}).status_code == 200
    assert _tally(app, "2108", "submitted") == 0 and _tally(app, "2108", "merged") == 1
    assert _tally(app, "2108", "rejected") == 1 and _tally(app, URBAN, "resolved") == 1
    assert _tally(app, URBAN, "verified") == 0
    assert _tally(app, URBAN, "verified", "health") == 1
    with app.app_context():  # changes made in SQL, around the portal, are followed too
        db.session.execute(sa.update(Need).where(Need.id == b["id"]).values(
            category="education", community_code=RURAL, verified_at=utcnow() - timedelta(days=9),
            minutes_to_match=60))
        db.session.execute(sa.delete(Need).where(Need.id == d["id"]))
        db.session.commit()
    assert _tally(app, URBAN[:6], "verified", "health") == 0
    assert _tally(app, RURAL[:9], "verified", "education") == 1
    assert _tally(app, "2108", "rejected") == 0
    with app.app_context():
        assert queries.tally_mismatches() == []
        row = db.session.get(NeedTally, ("2108", "verified", "education"))
        assert (row.n, row.verified, row.quick, row.timed) == (1, 1, 1, 1)
    answer = runner.invoke(args=["needs", "check"])
    assert answer.exit_code == 0 and answer.output.strip() == "0 mismatches"

    with app.app_context():  # a tally that drifted is named, and the check fails
        db.session.execute(sa.update(NeedTally).where(NeedTally.area_code == URBAN[:9])
                           .values(n=NeedTally.n + 1))
        db.session.commit()
    answer = runner.invoke(args=["needs", "check"])
    assert answer.exit_code == 1 and f"{URBAN[:9]} " in answer.output
    assert f"{URBAN} " not in answer.output


def test_a_tally_never_goes_below_zero(app, need):
    """A decrement with no row behind it would say so (the CHECK), not count negative."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    need(verify=True)
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(sa.update(NeedTally).values(n=-1))
            db.session.flush()
        db.session.rollback()


def test_children_figures_add_up_to_their_parents(app, client, token, need, resources):  # noqa: F811
    a = need(verify=True)
    need(by="outsider", community_code=RURAL, on_behalf_of={"name": "张", "phone": "13900000000"},
         verify=False)
    act(client, token("worker"), a["id"], "matches",
        {"kind": "org", "target_id": resources["org"]})
    with app.app_context():
        city = queries.figures("2108")
        counties = queries.figures_by_child("2108")
        assert sum(f.total for _, f in counties) == city.total == 2
        assert {a.code: f.total for a, f in counties if f.total} == {URBAN[:6]: 1, RURAL[:6]: 1}
        urban = dict((a.code, f) for a, f in counties)[URBAN[:6]]
        assert urban.by_status["matched"] == 1 and urban.median_days_to_match == 0.0
        assert city.median_days_to_match == 0.0
