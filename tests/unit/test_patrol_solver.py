"""The patrol solvers without a database: exact DP vs brute force, OR-Tools vs exact and greedy, road legs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely

from geo.patrols.legs import RoadGraph, RoadRouter, StraightRouter, to_lonlat, to_metric
from geo.patrols.solver import Problem, solve_exact, solve_greedy, solve_ortools, tour_seconds


def line_problem(xs: list[float], prizes: list[float], budget: int, service: int = 600, closed: bool = True):
    """Stops on a straight street at xs metres from the start (x = 0), walking 1 m/s."""
    x = np.array([0.0, *xs])
    travel = np.rint(np.abs(x[:, None] - x[None, :])).astype(int)
    return Problem(travel, np.full(len(x), service), np.array([0.0, *prizes]), budget, closed)


def random_problem(rng: np.random.Generator, m: int, closed: bool) -> Problem:
    """m stops scattered over 2 km, walking 1.25 m/s, 10–15 minute visits, a 2–3 hour shift."""
    xy = rng.uniform(0, 2000, (m + 1, 2))
    travel = np.rint(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) / 1.25).astype(int)
    service = np.r_[0, rng.choice([600, 900], m)]
    prize = np.r_[0.0, rng.integers(1, 20, m)]
    return Problem(travel, service, prize, int(rng.choice([7200, 10800])), closed)


def brute_force(problem: Problem) -> float:
    best = 0.0
    stops = range(1, problem.n)
    for k in range(1, problem.n):
        for order in itertools.permutations(stops, k):
            if tour_seconds(problem, list(order)) <= problem.budget:
                best = max(best, float(problem.prize[list(order)].sum()))
    return best


@pytest.mark.parametrize("closed", [True, False])
def test_exact_solver_matches_brute_force(closed):
    rng = np.random.default_rng(7)
    for _ in range(8):
        problem = random_problem(rng, 6, closed)
        problem.budget //= 3  # tight enough that not everything fits
        plan = solve_exact(problem)
        assert plan.prize == brute_force(problem)
        assert plan.seconds == tour_seconds(problem, plan.order) <= problem.budget


def test_ortools_beats_greedy_where_greedy_is_myopic():
    # Four cheap stops close by to the west; a cluster of five valuable ones 2.4 km east. Each west stop
    # has the best prize per added second, so greedy takes them all and can no longer reach the cluster.
    problem = line_problem([-300, -600, -900, -1200, 2400, 2460, 2520, 2580, 2640], [3] * 4 + [10] * 5, 9000)
    greedy = solve_greedy(problem)
    assert greedy.order == [1, 2, 3, 4] or sorted(greedy.order) == [1, 2, 3, 4]
    assert greedy.prize == 12
    best = solve_ortools(problem, time_limit_ms=300, initial=greedy)
    assert best.prize == solve_exact(problem).prize == 50
    assert sorted(best.order) == [5, 6, 7, 8, 9] and best.seconds <= 9000


def test_ortools_gap_to_the_exact_optimum_is_small():
    rng = np.random.default_rng(20240601)
    gaps, beat_greedy = [], 0
    for case in range(24):
        problem = random_problem(rng, 10, closed=case % 2 == 0)
        greedy = solve_greedy(problem)
        plan = solve_ortools(problem, time_limit_ms=300, initial=greedy)
        exact = solve_exact(problem)
        assert plan.seconds <= problem.budget and plan.prize <= exact.prize + 1e-9
        assert plan.prize >= greedy.prize
        gaps.append((exact.prize - plan.prize) / exact.prize)
        beat_greedy += plan.prize > greedy.prize
    print(
        f"\nOR-Tools gap to exact over {len(gaps)} cases: max {max(gaps):.2%}, mean {np.mean(gaps):.2%}; "
        f"strictly better than greedy in {beat_greedy}"
    )
    assert max(gaps) <= 0.05
    assert np.mean(gaps) <= 0.01


def test_open_tour_does_not_pay_the_way_back():
    problem = line_problem([1000, 2000], [5, 5], budget=2 * 600 + 2000, closed=False)
    assert solve_exact(problem).order == [1, 2]
    assert solve_ortools(problem, 100, solve_greedy(problem)).prize == 10
    closed = line_problem([1000, 2000], [5, 5], budget=2 * 600 + 2000, closed=True)
    assert solve_exact(closed).prize == 5  # only the near stop and back fits


def test_nothing_fits():
    problem = line_problem([5000], [9], budget=600)
    assert solve_greedy(problem).order == [] and solve_exact(problem).order == []
    assert solve_ortools(problem, 50).order == []


def test_road_legs_follow_the_street_and_respect_one_way():
    origin = to_metric(np.array([[107.1, 34.36]]))[0]
    corner, end = origin + [1000, 0], origin + [1000, 1000]
    island = [shapely.linestrings([origin + [5000, 5000], origin + [5100, 5000]])]
    lines = np.array([shapely.linestrings([origin, corner]), shapely.linestrings([corner, end]), *island])
    points = to_lonlat(np.array([origin + [0, 10], end, origin + [5050, 5000]]))
    legs = RoadRouter(RoadGraph.from_lines(lines, np.array([False, False, False]))).legs(points)
    # 10 m to the road, 1 km east, 1 km north; the diagonal would be 1,407 m.
    assert legs.metres[0, 1] == pytest.approx(2010, abs=0.5)
    assert legs.metres[1, 0] == pytest.approx(2010, abs=0.5)
    path = np.array(legs.path(0, 1))
    assert np.abs(to_metric(path) - corner).sum(axis=1).min() < 0.5  # it turns at the corner
    # The island is not connected: a straight leg, flagged.
    straight = StraightRouter().legs(points).metres
    assert legs.metres[0, 2] == pytest.approx(straight[0, 2])
    assert (0, 2) in legs.straight_pairs
    one_way = RoadRouter(RoadGraph.from_lines(lines[:2], np.array([True, True]))).legs(points[:2])
    assert one_way.metres[0, 1] == pytest.approx(2010, abs=0.5)
    assert one_way.metres[1, 0] == pytest.approx(straight[1, 0])  # no way back against the one-way
