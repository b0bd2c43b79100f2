"""The orienteering (prize-collecting) problem behind suggested patrols: OR-Tools, greedy and exact solvers.

Node 0 is the start. Every other node is a candidate stop with a prize (its weighted risk) and a service
time (the visit). A plan visits some stops in order within the time budget (travel + visits, plus the way
back when the tour is closed) and maximises the sum of prizes. All solvers read the same integer seconds,
so their prizes and times compare exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

EXACT_MAX_STOPS = 12
# Prizes are scaled to integers at this resolution, then multiplied by more than any tour can cost, so
# OR-Tools' objective (travel seconds + penalties of dropped stops) ranks prize first, time second.
PRIZE_RESOLUTION = 1000


@dataclass
class Problem:
    """travel[i, j] seconds between nodes, service[i] seconds at node i, prize[i], budget seconds."""

    travel: NDArray[np.int64]
    service: NDArray[np.int64]
    prize: NDArray[np.float64]
    budget: int
    closed: bool = True  # return to the start at the end of the shift

    def __post_init__(self) -> None:
        self.travel = np.asarray(self.travel, dtype=np.int64)
        self.service = np.asarray(self.service, dtype=np.int64)
        self.prize = np.asarray(self.prize, dtype=np.float64)
        n = len(self.prize)
        if self.travel.shape != (n, n) or self.service.shape != (n,):
            raise ValueError("travel must be n×n and service n long, n = len(prize)")
        self.service[0] = 0
        self.prize[0] = 0.0

    @property
    def n(self) -> int:
        return len(self.prize)


@dataclass
class Plan:
    """An ordered list of visited nodes (start excluded), its prize and total seconds."""

    order: list[int]
    prize: float
    seconds: int
    solver: str
    notes: dict = field(default_factory=dict)


def tour_seconds(problem: Problem, order: list[int]) -> int:
    """Seconds for start → order… (→ start when closed), visits included."""
    path = [0, *order, 0] if problem.closed else [0, *order]
    travel = sum(int(problem.travel[a, b]) for a, b in zip(path[:-1], path[1:], strict=True))
    return travel + int(problem.service[order].sum()) if order else travel


def make_plan(problem: Problem, order: list[int], solver: str, **notes) -> Plan:
    """A Plan for order, checked against the budget."""
    seconds = tour_seconds(problem, order)
    if seconds > problem.budget:
        raise ValueError(f"{solver} returned a plan of {seconds}s over the budget of {problem.budget}s")
    return Plan(list(order), float(problem.prize[order].sum()), seconds, solver, dict(notes))


def solve_greedy(problem: Problem) -> Plan:
    """Best-ratio insertion: repeatedly insert the stop with the most prize per added second that fits."""
    t, s, p = problem.travel, problem.service, problem.prize
    tour = [0, 0] if problem.closed else [0]
    used = 0
    free = np.ones(problem.n, dtype=bool)
    free[0] = False
    while free.any():
        ks = np.flatnonzero(free)
        prev = np.asarray(tour)
        # added[k, i]: seconds added by visiting k right after tour[i] (before tour[i + 1], if any).
        a = prev[:-1] if problem.closed else prev
        added = t[a][:, ks].T + s[ks, None]
        if len(prev) > 1:
            b = prev[1:]
            detour = t[ks][:, b] - t[prev[:-1], b][None, :]
            if problem.closed:
                added += detour
            else:
                added[:, :-1] += detour
        pos = added.argmin(axis=1)
        cost = added[np.arange(len(ks)), pos]
        fits = used + cost <= problem.budget
        if not fits.any():
            break
        ratio = np.where(fits, p[ks] / np.maximum(cost, 1), -np.inf)
        best = int(ratio.argmax())
        tour.insert(int(pos[best]) + 1, int(ks[best]))
        used += int(cost[best])
        free[ks[best]] = False
    order = tour[1:-1] if problem.closed else tour[1:]
    return make_plan(problem, order, "greedy")


def solve_exact(problem: Problem) -> Plan:
    """The optimum by dynamic programming over subsets (Held–Karp), for at most 12 candidate stops."""
    m = problem.n - 1
    if m > EXACT_MAX_STOPS:
        raise ValueError(f"the exact solver handles at most {EXACT_MAX_STOPS} candidate stops, got {m}")
    if m == 0:
        return make_plan(problem, [], "exact")
    t = problem.travel.astype(np.float64)
    s = problem.service.astype(np.float64)
    step = t[1:, 1:] + s[1:][None, :]  # step[j, k]: leave stop j, travel to k, serve k
    back = t[1:, 0] if problem.closed else np.zeros(m)
    size = 1 << m
    finish = np.full((size, m), np.inf)  # finish[mask, j]: earliest end of serving j having served mask
    parent = np.full((size, m), -1, dtype=np.int64)
    for k in range(m):
        finish[1 << k, k] = t[0, k + 1] + s[k + 1]
    bits = 1 << np.arange(m)
    for mask in range(1, size):
        row = finish[mask]
        if not np.isfinite(row).any():
            continue
        cand = row[:, None] + step  # via j to k
        best_j = cand.argmin(axis=0)
        best = cand[best_j, np.arange(m)]
        for k in np.flatnonzero((mask & bits) == 0).tolist():
            nxt = mask | (1 << k)
            if best[k] < finish[nxt, k] and best[k] <= problem.budget:
                finish[nxt, k] = best[k]
                parent[nxt, k] = best_j[k]
    total = finish + back[None, :]
    prize_of = np.array([problem.prize[1:][(mask & bits) > 0].sum() for mask in range(size)])
    best_mask, best_end, best_val, best_time = 0, -1, 0.0, 0.0
    for mask in range(1, size):
        j = int(total[mask].argmin())
        if total[mask, j] <= problem.budget and (
            prize_of[mask] > best_val + 1e-9
            or (abs(prize_of[mask] - best_val) <= 1e-9 and total[mask, j] < best_time)
        ):
            best_mask, best_end, best_val, best_time = mask, j, prize_of[mask], total[mask, j]
    order: list[int] = []
    mask, j = best_mask, best_end
    while mask and j >= 0:
        order.append(j + 1)
        prev = int(parent[mask, j])
        mask &= ~(1 << int(j))
        j = prev
    return make_plan(problem, order[::-1], "exact")


# Orienteering moves: swap a visited stop for an unvisited one, insert while moving another, LNS over
# the unvisited set. Measured on small random cases against solve_exact (tests/unit/test_patrol_solver.py)
# and on the bench's 50-stop case: one guided-local-search run stalls in a local optimum (worst small-case
# gap ~10%, whatever its lambda: the prize-scaled penalties dwarf GLS's arc penalties), while three short
# runs from different starts and operator sets reach ~5% worst, ~0.2% mean, so the time is split.
_EXTRA_OPERATORS = (
    "use_extended_swap_active",
    "use_relocate_and_make_active",
    "use_exchange_and_make_active",
    "use_inactive_lns",
    "use_path_lns",
)


def solve_ortools(problem: Problem, time_limit_ms: int = 1000, initial: Plan | None = None) -> Plan:
    """OR-Tools routing: disjunction penalties are the prizes, a time dimension holds the budget.

    Runs guided local search from the greedy plan (`initial`, so never worse than it) with the extra
    orienteering moves, then from two cold starts (default moves; extra moves), each for a third of the
    time limit, and keeps the best plan.
    """
    if problem.n == 1:
        return make_plan(problem, [], "ortools")
    first = routing_enums_pb2.FirstSolutionStrategy
    starts: list[tuple[Plan | None, int, tuple[str, ...]]] = [
        (initial, first.PATH_CHEAPEST_ARC, _EXTRA_OPERATORS),
        (None, first.PATH_CHEAPEST_ARC, ()),
        (None, first.ALL_UNPERFORMED, _EXTRA_OPERATORS),
    ]
    if initial is None or not initial.order:
        starts = starts[1:]
    share = max(1, int(time_limit_ms) // len(starts))
    best = initial
    for start, strategy, operators in starts:
        plan = _ortools_once(problem, share, start, strategy, operators)
        if best is None or (plan.prize, -plan.seconds) > (best.prize + 1e-9, -best.seconds):
            best = plan
    assert best is not None
    return Plan(best.order, best.prize, best.seconds, "ortools", best.notes)


def _ortools_once(
    problem: Problem, time_limit_ms: int, initial: Plan | None, strategy: int, operators: tuple[str, ...] = ()
) -> Plan:
    """One OR-Tools guided-local-search run from initial (or from the first-solution strategy)."""
    n = problem.n
    # An open tour ends at a dummy node reachable from everywhere at no cost.
    size = n if problem.closed else n + 1
    end = 0 if problem.closed else n
    transit = np.zeros((size, size), dtype=np.int64)
    transit[:n, :n] = problem.travel + problem.service[:, None]
    if not problem.closed:
        transit[:n, end] = problem.service
    manager = pywrapcp.RoutingIndexManager(size, 1, [0], [end])
    routing = pywrapcp.RoutingModel(manager)
    callback = routing.RegisterTransitMatrix(transit.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(callback)
    routing.AddDimension(callback, 0, int(problem.budget), True, "time")
    weight = int(problem.budget) + 1  # a feasible tour never costs more than the budget
    for node in range(1, n):
        penalty = int(round(problem.prize[node] * PRIZE_RESOLUTION)) * weight
        routing.AddDisjunction([manager.NodeToIndex(node)], penalty)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = strategy
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    for name in operators:
        setattr(params.local_search_operators, name, optional_boolean_pb2.BOOL_TRUE)
    params.time_limit.FromMilliseconds(max(1, time_limit_ms))
    solution = None
    if initial is not None:
        routing.CloseModelWithParameters(params)
        assignment = routing.ReadAssignmentFromRoutes([list(initial.order)], True)
        if assignment is not None:
            solution = routing.SolveFromAssignmentWithParameters(assignment, params)
    if solution is None:
        solution = routing.SolveWithParameters(params)
    if solution is None:
        return initial if initial is not None else make_plan(problem, [], "ortools")
    order = []
    index = routing.Start(0)
    while not routing.IsEnd(index):
        node = manager.IndexToNode(index)
        if node != 0:
            order.append(node)
        index = solution.Value(routing.NextVar(index))
    return make_plan(problem, order, "ortools")
