"""Placing many volunteers in many posts at once, exactly (OR-Tools).

The problem: volunteers V, posts (shifts) S with places left; a score for each allowed
(volunteer, post); place volunteers so that the total score is as high as possible, no post
over its places, no volunteer in two overlapping posts or in more than `max_shifts`.

Scores have the recommendation's shape: what depends on the volunteer is the same for posts
that share their times (the activity, the day part), so a score is `fit[v][times] + bonus[s]`
(the post's own part: under-filled). Posts with the same times form a *class*; a volunteer takes
at most one post of a class (they overlap), and which one does not matter to them. The model
is therefore solved on volunteers x classes, not volunteers x posts:

- `max_shifts` = 1, or classes whose overlaps form separate cliques (every two classes that
  overlap belong to a group in which all overlap, as shifts in blocks do): a min-cost flow,
  source -> volunteer (max_shifts) -> (volunteer, group) (1) -> class (-fit) -> post (-bonus,
  places) -> sink, with a bypass for places nobody fills. Integral, so exact.
- any other overlaps: CP-SAT on booleans (volunteer, class) with one constraint per volunteer and
  maximal clique of classes, and integers (class, post); `optimal` says whether CP-SAT proved it
  within the time given.

Scores are whole numbers (the callers scale them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

Times = tuple  # (starts, ends), comparable values


@dataclass(frozen=True)
class Post:
    id: int
    times: Times
    places: int
    bonus: int = 0


@dataclass
class Volunteer:
    id: int
    fit: dict[Times, int]  # by the posts' times; a class missing is not allowed
    limit: int | None = None  # fewer posts than max_shifts (some already held)

    def most(self, max_shifts: int) -> int:
        return max_shifts if self.limit is None else max(0, min(self.limit, max_shifts))


@dataclass
class Proposal:
    lines: list[tuple[int, int]]  # (volunteer id, post id)
    objective: int
    optimal: bool
    method: str
    unfilled: dict[int, int] = field(default_factory=dict)


def overlaps(a: Times, b: Times) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def groups(classes: list[Times]) -> tuple[list[list[Times]], bool]:
    """The classes in connected groups of overlap (a sweep by start), and whether each group
    is a clique (then a volunteer's limit is one class per group)."""
    ordered = sorted(classes)
    out: list[list[Times]] = []
    end = None
    for times in ordered:
        if out and end is not None and times[0] < end:
            out[-1].append(times)
            end = max(end, times[1])
        else:
            out.append([times])
            end = times[1]
    cliques = all(overlaps(a, b) for g in out for i, a in enumerate(g) for b in g[i + 1:])
    return out, cliques


def maximal_cliques(classes: list[Times]) -> list[list[Times]]:
    """Of intervals: the classes covering each start point, keeping the maximal sets."""
    sets = []
    for times in sorted(classes):
        point = times[0]
        sets.append(frozenset(c for c in classes if c[0] <= point < c[1]))
    maximal = [s for s in set(sets) if not any(s < other for other in sets)]
    return [sorted(s) for s in maximal if len(s) > 1]


def solve(volunteers: list[Volunteer], posts: list[Post], max_shifts: int = 1, *,
          time_limit: float = 60.0, progress: Callable[[int], None] | None = None,
          method: str | None = None) -> Proposal:
    """`method` ("cp_sat") forces the general model, for tests; by default the flow where it
    is exact."""
    posts = [p for p in posts if p.places > 0]
    by_class: dict[Times, list[Post]] = defaultdict(list)
    for post in posts:
        by_class[post.times].append(post)
    classes = sorted(by_class)
    people = [v for v in volunteers if v.most(max_shifts) and any(t in by_class for t in v.fit)]
    if not classes or not people or max_shifts < 1:
        return Proposal([], 0, True, "empty", {p.id: p.places for p in posts})
    grouped, cliques = groups(classes)
    if progress:
        progress(10)
    if method != "cp_sat" and (max_shifts == 1 or cliques):
        chosen = _flow(people, by_class, grouped if max_shifts > 1 else [classes], max_shifts)
        method, optimal = "min_cost_flow", True
    else:
        chosen, optimal = _cp_sat(people, by_class, classes, max_shifts, time_limit)
        method = "cp_sat"
    if progress:
        progress(90)
    lines, objective, filled = _place(chosen, by_class, {v.id: v for v in people})
    unfilled = {p.id: p.places - filled.get(p.id, 0) for p in posts
                if p.places - filled.get(p.id, 0) > 0}
    return Proposal(lines, objective, optimal, method, unfilled)


def _flow(people: list[Volunteer], by_class: dict, grouped: list[list[Times]],
          max_shifts: int) -> dict[Times, list[int]]:
    """Volunteer ids chosen for each class, by a min-cost flow (exact: integral)."""
    from ortools.graph.python import min_cost_flow

    flow = min_cost_flow.SimpleMinCostFlow()
    ids: dict[Hashable, int] = {}

    def node(key) -> int:
        if key not in ids:
            ids[key] = len(ids)
        return ids[key]

    source, sink = node("source"), node("sink")
    group_of = {t: i for i, g in enumerate(grouped) for t in g}
    picks: list[tuple[int, int, Times]] = []  # (arc, volunteer id, class)
    for v in people:
        vn = node(("v", v.id))
        flow.add_arc_with_capacity_and_unit_cost(source, vn, v.most(max_shifts), 0)
        for times, fit in v.fit.items():
            if times not in by_class:
                continue
            key = ("vg", v.id, group_of[times])
            if key not in ids:  # at most one class of each group (they all overlap)
                flow.add_arc_with_capacity_and_unit_cost(vn, node(key), 1, 0)
            gn = ids[key]
            arc = flow.add_arc_with_capacity_and_unit_cost(gn, node(("c", times)), 1, -fit)
            picks.append((arc, v.id, times))
    for times, members in by_class.items():
        cn = node(("c", times))
        for post in members:
            pn = node(("p", post.id))
            flow.add_arc_with_capacity_and_unit_cost(cn, pn, post.places, -post.bonus)
            flow.add_arc_with_capacity_and_unit_cost(pn, sink, post.places, 0)
    supply = len(people) * max_shifts
    flow.add_arc_with_capacity_and_unit_cost(source, sink, supply, 0)  # places left empty
    flow.set_node_supply(source, supply)
    flow.set_node_supply(sink, -supply)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    chosen: dict[Times, list[int]] = defaultdict(list)
    for arc, vid, times in picks:
        if flow.flow(arc):
            chosen[times].append(vid)
    return chosen


def _cp_sat(people: list[Volunteer], by_class: dict, classes: list[Times], max_shifts: int,
            time_limit: float) -> tuple[dict[Times, list[int]], bool]:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    z: dict[tuple[int, Times], object] = {}
    objective = []
    for v in people:
        mine = [t for t in v.fit if t in by_class]
        for times in mine:
            z[v.id, times] = model.new_bool_var("")
            objective.append(v.fit[times] * z[v.id, times])
        model.add(sum(z[v.id, t] for t in mine) <= v.most(max_shifts))
        for clique in maximal_cliques(mine):
            model.add(sum(z[v.id, t] for t in clique) <= 1)
    for times, members in by_class.items():
        taken = [z[key] for key in z if key[1] == times]
        parts = []
        for post in members:
            y = model.new_int_var(0, post.places, "")
            parts.append(y)
            objective.append(post.bonus * y)
        model.add(sum(parts) == sum(taken))
    model.maximize(sum(objective))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 2
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return {}, False
    chosen: dict[Times, list[int]] = defaultdict(list)
    for (vid, times), var in z.items():
        if solver.value(var):
            chosen[times].append(vid)
    return chosen, status == cp_model.OPTIMAL


def _place(chosen: dict[Times, list[int]], by_class: dict, people: dict[int, Volunteer]):
    """Each class's chosen volunteers into its posts, the highest bonus first (what the solver
    counted); the objective in the same whole numbers."""
    lines, objective, filled = [], 0, {}
    for times, vids in chosen.items():
        posts = sorted(by_class[times], key=lambda p: (-p.bonus, p.id))
        queue = [(p, p.places) for p in posts]
        i = 0
        for vid in sorted(vids):
            while queue[i][1] == 0:
                i += 1
            post, left = queue[i]
            queue[i] = (post, left - 1)
            lines.append((vid, post.id))
            filled[post.id] = filled.get(post.id, 0) + 1
            objective += people[vid].fit[times] + post.bonus
    return sorted(lines), objective, filled
