"""The placement solver is exact: on small random instances (overlaps of every kind, one or two
posts a volunteer) its objective equals an exhaustive search's, by the flow and by CP-SAT; it
never overfills a post, places a volunteer twice in overlapping posts or past max_shifts."""

from __future__ import annotations

import itertools
import random

import pytest

from portal.assignments.solver import Post, Volunteer, overlaps, solve


def _instance(rng: random.Random, n_volunteers: int, n_posts: int, blocks: bool):
    posts = []
    for pid in range(1, n_posts + 1):
        if blocks:  # blocks of mutually overlapping times, apart from each other
            block = rng.randrange(3) * 10
            start = block + rng.choice((0, 1, 2))
            times = (start, start + 4)
        else:  # any overlaps: chains too
            start = rng.randrange(0, 12)
            times = (start, start + rng.choice((2, 3, 4, 5)))
        posts.append(Post(pid, times, rng.randint(1, 2), rng.randint(0, 3)))
    classes = sorted({p.times for p in posts})
    volunteers = [Volunteer(vid, {t: rng.randint(0, 9) for t in classes if rng.random() < 0.8})
                  for vid in range(1, n_volunteers + 1)]
    return volunteers, posts


def _best(volunteers, posts, max_shifts) -> int:
    """Every choice of posts for every volunteer: the best total that keeps the rules."""
    options = []
    for v in volunteers:
        allowed = [p for p in posts if p.times in v.fit]
        mine = [()]
        for k in range(1, max_shifts + 1):
            for combo in itertools.combinations(allowed, k):
                if all(not overlaps(a.times, b.times) for a, b in
                       itertools.combinations(combo, 2)):
                    mine.append(combo)
        options.append(mine)
    best = 0
    for choice in itertools.product(*options):
        taken: dict[int, int] = {}
        total = 0
        for v, combo in zip(volunteers, choice, strict=True):
            for p in combo:
                taken[p.id] = taken.get(p.id, 0) + 1
                total += v.fit[p.times] + p.bonus
        if all(taken.get(p.id, 0) <= p.places for p in posts):
            best = max(best, total)
    return best


def _valid(proposal, volunteers, posts, max_shifts) -> None:
    by_id = {p.id: p for p in posts}
    fits = {v.id: v.fit for v in volunteers}
    per_post: dict[int, int] = {}
    per_volunteer: dict[int, list] = {}
    total = 0
    for vid, pid in proposal.lines:
        per_post[pid] = per_post.get(pid, 0) + 1
        per_volunteer.setdefault(vid, []).append(by_id[pid])
        total += fits[vid][by_id[pid].times] + by_id[pid].bonus
    assert all(n <= by_id[pid].places for pid, n in per_post.items())
    for mine in per_volunteer.values():
        assert len(mine) <= max_shifts
        assert all(not overlaps(a.times, b.times) for a, b in itertools.combinations(mine, 2))
    assert total == proposal.objective


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("max_shifts", [1, 2])
def test_exact_against_an_exhaustive_search(seed, max_shifts):
    rng = random.Random(seed)
    volunteers, posts = _instance(rng, 4, 5, blocks=seed % 2 == 0)
    best = _best(volunteers, posts, max_shifts)
    for method in (None, "cp_sat"):
        proposal = solve(volunteers, posts, max_shifts, method=method)
        _valid(proposal, volunteers, posts, max_shifts)
        assert proposal.optimal and proposal.objective == best, (method, proposal)


def test_the_flow_is_used_where_it_is_exact():
    rng = random.Random(5)
    volunteers, posts = _instance(rng, 30, 12, blocks=True)
    assert solve(volunteers, posts, 2).method == "min_cost_flow"
    assert solve(volunteers, posts, 1).method == "min_cost_flow"
    # Times that chain (a overlaps b, b overlaps c, a not c): the flow would not be exact.
    posts = [Post(1, (0, 4), 2, 1), Post(2, (3, 7), 2, 0), Post(3, (6, 10), 2, 2)]
    volunteers = [Volunteer(v, {p.times: v + p.id for p in posts}) for v in range(1, 5)]
    chained = solve(volunteers, posts, 2)
    assert chained.method == "cp_sat" and chained.optimal
    assert solve(volunteers, posts, 1).method == "min_cost_flow"


def test_unfilled_places_and_nobody_allowed():
    posts = [Post(1, (0, 4), 3, 1), Post(2, (5, 8), 2, 0)]
    proposal = solve([Volunteer(1, {(0, 4): 5}), Volunteer(2, {})], posts, 1)
    assert proposal.lines == [(1, 1)] and proposal.unfilled == {1: 2, 2: 2}
    assert solve([], posts, 1).lines == []
