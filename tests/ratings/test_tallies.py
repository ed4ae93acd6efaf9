"""The organisations' monthly tallies the ranking reads: kept by triggers on ratings in the
transaction that adds, voids (the bureau's decision) or changes a rating, whatever does it;
`flask ratings check` says so, or names the month that drifted."""

from __future__ import annotations

import sqlalchemy as sa

from portal.core.db import utcnow
from portal.extensions import db
from portal.ratings import queries
from portal.ratings.models import OrgMonth, RatedKind, Rating
from portal.ratings.services import month_of
from tests.projects.conftest import orgs, people  # noqa: F401  (fixtures)


def _rating(org_id: int, level: int, month: int | None = None) -> int:
    now = utcnow()
    rating = Rating(object_type=RatedKind.org, object_id=org_id, level=level,
                    rated_org_id=org_id, area_code="210802001001", served_at=now,
                    created_at=now, month=month or month_of(now),
                    comment="x" if level < 3 else None)
    db.session.add(rating)
    db.session.flush()
    return rating.id


def test_tallies_follow_every_change_and_the_check_says_so(app, orgs):  # noqa: F811
    runner = app.test_cli_runner()
    boss, rival = orgs["boss"], orgs["rival"]
    with app.app_context():
        month = month_of(utcnow())
        first = _rating(boss, 5)
        _rating(boss, 2)
        _rating(rival, 4)
        old = _rating(boss, 1, month=200001)  # long ago: outside the 12 months
        db.session.commit()
        assert queries.orgs_recent([boss, rival]) == {
            boss: {"count": 2, "mean": 3.5, "good_share": 0.5},
            rival: {"count": 1, "mean": 4.0, "good_share": 1.0}}
        row = db.session.get(OrgMonth, (boss, month))
        assert (row.n, row.level_sum, row.good, row.bad) == (2, 7, 1, 1)
        # Voided (as the bureau's decision does, in SQL): it no longer counts; restored: again.
        db.session.execute(sa.update(Rating).where(Rating.id == first).values(
            voided_at=utcnow(), void_reason="不实"))
        db.session.commit()
        assert queries.orgs_recent([boss])[boss] == {"count": 1, "mean": 2.0,
                                                     "good_share": 0.0}
        # Moved to another organisation and level, and deleted: followed too.
        db.session.execute(sa.update(Rating).where(Rating.id == first).values(
            voided_at=None, rated_org_id=rival, level=3))
        db.session.execute(sa.delete(Rating).where(Rating.id == old))
        db.session.commit()
        assert queries.orgs_recent([rival])[rival]["count"] == 2
        assert db.session.get(OrgMonth, (boss, 200001)).n == 0
        assert queries.tally_mismatches() == []
    answer = runner.invoke(args=["ratings", "check"])
    assert answer.exit_code == 0 and answer.output.strip() == "0 mismatches"
    with app.app_context():  # a tally that drifted is named, and the check fails
        db.session.execute(sa.update(OrgMonth).where(OrgMonth.org_id == rival)
                           .values(n=OrgMonth.n + 1))
        db.session.commit()
    answer = runner.invoke(args=["ratings", "check"])
    assert answer.exit_code == 1 and f"organisation {rival} {month}" in answer.output
    assert f"organisation {boss} " not in answer.output


def test_the_figures_ignore_voided_ratings_in_both_ways(app, orgs):  # noqa: F811
    """The ranking's tallies and a direct count agree, a voided 差评 in neither."""
    boss = orgs["boss"]
    with app.app_context():
        for level in (5, 4, 1):
            _rating(boss, level)
        db.session.execute(sa.update(Rating).where(Rating.level == 1).values(
            voided_at=utcnow(), void_reason="恶意"))
        db.session.commit()
        direct = queries.figures(queries.object_filter(RatedKind.org, boss), full=True)
        recent = queries.orgs_recent([boss])[boss]
        assert direct["count"] == recent["count"] == 2
        assert direct["mean"] == recent["mean"] == 4.5 and direct["bad_count"] == 0
