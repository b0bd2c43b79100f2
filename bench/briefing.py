"""Bench: briefing PDFs for the city and one county (target < 5 s each, median); floor: WeasyPrint's empty page.

    .venv/bin/python -m bench.briefing [--db citygrid_test_command] [--runs 3] [--county 610330]

Runs against a database holding the Baoji demo. For each area: the first (cold: imports, grid frame, Gi*
weights) and the median of --runs briefings of 2020 (gather the figures and maps, render the PDF), the PDF's
size and pages. Floor from the same run: the median time WeasyPrint takes for an empty A4 page with the CJK
font (what any PDF made this way costs), and our figure's ratio to it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import time
from collections.abc import Callable

from sqlalchemy.engine import make_url

from geo.briefings import briefing_html, gather, html_to_pdf
from geo.pg import make_engine, make_sessionmaker
from geo.settings import Settings

START, END = dt.date(2020, 1, 1), dt.date(2021, 1, 1)


def pdf_pages(pdf: bytes) -> int:
    """Pages as poppler counts them (WeasyPrint compresses its page objects, so no regex over the bytes)."""
    out = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


EMPTY = "<html><body style=\"font-family: 'WenQuanYi Zen Hei'\"><p>空白页 empty page</p></body></html>"


def timed(fn: Callable[[], bytes], runs: int) -> tuple[float, float, bytes]:
    """(first run s, median of the next runs s, last result)."""
    began = time.perf_counter()
    out = fn()
    first = time.perf_counter() - began
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - began)
    return first, statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database name holding the demo (default: the settings')")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--county", default="610330")
    args = parser.parse_args()
    settings = Settings()
    if args.db:
        url = make_url(settings.database_url).set(database=args.db).render_as_string(hide_password=False)
        settings = settings.model_copy(update={"database_url": url})
    factory = make_sessionmaker(make_engine(settings))
    _, floor, _ = timed(lambda: html_to_pdf(EMPTY), args.runs)
    print(f"floor: WeasyPrint empty A4 page with the CJK font, median of {args.runs}: {floor:.3f} s")
    for code in ("610300", args.county):
        with factory() as session:
            first, median, pdf = timed(
                lambda c=code, s=session: html_to_pdf(briefing_html(gather(s, c, START, END))), args.runs
            )  # type: ignore[misc]
        pages = pdf_pages(pdf)
        verdict = "ok" if median < 5 else "OVER the 5 s target"
        print(
            f"{code} briefing {START}–{END}: cold {first:.2f} s, median of {args.runs} {median:.2f} s ({verdict}); "
            f"{len(pdf) / 1e6:.2f} MB, {pages} pages; ratio to the floor {median / floor:.1f}×"
        )


if __name__ == "__main__":
    main()
