"""The briefing as HTML (jinja2, template.html) and as PDF (WeasyPrint: HTML/CSS → PDF, no browser).

WeasyPrint needs Debian's pango (libpango-1.0-0, libpangoft2-1.0-0; `make deps` installs them) and the CJK
font (fonts-wqy-zenhei): it is imported only when a PDF is made, so nothing else depends on them.
"""

from __future__ import annotations

import base64
import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from geo.briefings.content import BriefingContent
from geo.vocab import ADMIN_LEVELS

TEMPLATE = Path(__file__).with_name("template.html")
ZERO_SHOWN = 60  # names listed; the count says how many there are


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATE.read_text(encoding="utf-8"))


def _fmt(n: Any) -> str:
    return "–" if n is None else f"{n:,}"


def _pct(change: Any) -> str:
    if change.percent_change is None:
        return "无可比数据 no base" if change.previous == 0 else "–"
    return f"{change.percent_change:+.1f}%"


def _reading(change: Any) -> str:
    """What the comparison supports, as the statistics decide it (never a change against no data)."""
    status = getattr(change, "status", None)
    if change.previous == 0 or status == "no_data":
        return "无数据 no data"
    if status == "partial":
        return "数据不全 partial data"
    if change.significant:
        return "显著上升 significant rise" if change.difference > 0 else "显著下降 significant fall"
    return "无显著变化 no significant change"


def _period(start: dt.date, end: dt.date) -> str:
    return f"{start.isoformat()} – {(end - dt.timedelta(days=1)).isoformat()}"


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def briefing_html(content: BriefingContent) -> str:
    """The briefing page: Chinese first, English beside it."""
    o = content.overview
    yoy = o.year_over_year
    zero = o.zero_incident.communities[:ZERO_SHOWN] if o.zero_incident else []
    return _template().render(
        o=o,
        yoy=yoy,
        top=content.top.grids,
        d=content.data,
        level_zh=ADMIN_LEVELS.get(o.scope.level, ("网格", "Grid"))[0],
        period=_period(o.start, o.end),
        previous_period=_period(yoy.previous.start, yoy.previous.end),
        no_base=yoy.total.previous == 0,
        choropleth=_data_url(content.choropleth_png),
        hotspots=_data_url(content.hotspot_png),
        hot_grids=content.hot_grids,
        zero_names="、".join(c.name for c in zero),
        zero_shown=ZERO_SHOWN,
        made=content.data.made_at.strftime("%Y-%m-%d %H:%M"),
        fmt=_fmt,
        pct=_pct,
        share=lambda p: "–" if p is None else f"{p:.1f}%",
        reading=_reading,
    )


def html_to_pdf(html: str) -> bytes:
    """Render HTML (no external resources: images are data URLs) to PDF with WeasyPrint."""
    import weasyprint  # lazily: it loads pango through cffi

    return weasyprint.HTML(string=html, base_url=str(TEMPLATE.parent)).write_pdf()
