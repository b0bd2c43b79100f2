"""Briefings on the Baoji demo: the PDF opens in poppler (pdftoppm, pdftotext) as 1–3 legible pages, Chinese
first, with the seed's published figures (1,537 grids, 656 renovated compounds, 632 zero-incident communities)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app as cli_app

pytestmark = [pytest.mark.db]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
YEAR = {"start": "2020-01-01", "end": "2021-01-01"}  # the demo's second year: 2019 is its first


def pages(pdf: bytes, tmp_path: Path, name: str) -> tuple[list[Path], str]:
    """The PDF's pages as PNGs (also kept under tests/artifacts/) and its text, by poppler."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils is not installed (make test-deps)")
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "110", "-png", str(path), str(ARTIFACTS / name)], check=True)
    pngs = sorted(ARTIFACTS.glob(f"{name}-*.png"))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
    return pngs, text.stdout


def test_city_briefing_over_http(client, auth, demo_db, tmp_path):
    r = client.get("/api/v1/briefings", params={"admin_code": "610300", **YEAR}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    pngs, text = pages(r.content, tmp_path, "briefing_city")
    assert 1 <= len(pngs) <= 3
    assert all(p.stat().st_size > 20_000 for p in pngs)  # drawn pages, not blank ones
    assert "宝鸡市 社会治理简报" in text  # Chinese first, and extractable (the CJK font is embedded)
    for figure in ("1,537", "656", "632"):
        assert figure in text, figure
    assert "2019-01-01 – 2019-12-31" in text  # the comparison period is named
    assert "生成时间" in text and "冷热点" in text and "高发网格" in text and "矛盾纠纷化解" in text


def test_county_briefing_from_the_cli_and_an_empty_comparison(settings, demo_db, tmp_path):
    out = tmp_path / "凤县.pdf"
    env = {"CITYGRID_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    args = ["briefing", "-o", str(out), "--admin-code", "610330", "--start", "2019-01-01", "--end", "2020-01-01"]
    result = CliRunner().invoke(cli_app, args, env=env)
    assert result.exit_code == 0, result.output
    pngs, text = pages(out.read_bytes(), tmp_path, "briefing_county")
    assert 1 <= len(pngs) <= 3 and "凤县" in text
    # 2018 lies before the demo's data: the comparison says so and flags nothing.
    assert "去年同期无数据" in text and "显著上升" not in text and "显著下降" not in text
    assert (
        CliRunner().invoke(cli_app, ["briefing", "-o", str(out), "--start", "x", "--end", "y"], env=env).exit_code
        == 1
    )
