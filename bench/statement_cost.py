"""Client CPU of one statement: geo.pg.direct (psycopg on the session's connection) against SQLAlchemy's
`session.execute(text(…))`, the same SQL on the same connection; why the request hot path uses the former.

    .venv/bin/python bench/statement_cost.py [--db citygrid_cases] [--n 3000]

Prints the median of 3 runs of n executions each, in ms of this process's CPU per statement, and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import bench_settings  # noqa: E402
from geo.pg import direct  # noqa: E402
from geo.pg.db import make_engine, make_sessionmaker  # noqa: E402

CASES = {
    "a time limit (2 columns)": (
        "SELECT working_days, max_working_days FROM case_time_limits WHERE category IN (:c, '*') "
        "AND priority = :p AND step = :s ORDER BY category = '*' LIMIT 1",
        {"c": "dispute", "p": "normal", "s": "file"},
    ),
    "a cases row (all columns)": ("SELECT c.* FROM cases c WHERE c.id = (SELECT min(id) FROM cases)", {}),
}


def cpu_ms(fn, n: int) -> float:
    runs = []
    for _ in range(3):
        t = time.process_time()
        for _ in range(n):
            fn()
        runs.append((time.process_time() - t) / n * 1000)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="citygrid_cases")
    ap.add_argument("--n", type=int, default=3000)
    args = ap.parse_args()
    sessions = make_sessionmaker(make_engine(bench_settings(args.db)))
    print(f"{'statement':<30}{'direct ms':>12}{'SQLAlchemy ms':>16}{'ratio':>8}   columns")
    with sessions() as session:
        for name, (sql, params) in CASES.items():
            ours, theirs = direct.SQL(sql), text(sql)
            columns = len(session.execute(theirs, params).keys())
            for _ in range(200):  # warm: psycopg prepares a statement on its 5th execution
                direct.first(session, ours, params)
                session.execute(theirs, params).first()
            a = cpu_ms(lambda ours=ours, params=params: direct.first(session, ours, params), args.n)
            b = cpu_ms(lambda theirs=theirs, params=params: session.execute(theirs, params).first(), args.n)
            print(f"{name:<30}{a:>12.3f}{b:>16.3f}{a / b:>8.2f}   {columns}")


if __name__ == "__main__":
    main()
