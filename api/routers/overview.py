"""An area's headline figures for a period (GET /api/v1/stats) and its printable briefing."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import SessionDep
from api.routers.stats import End, ScopeCode, Start
from api.schemas.overview import OverviewOut
from geo.stats.overview import overview

router = APIRouter(tags=["stats 统计"])


@router.get(
    "/api/v1/stats",
    summary="概览 Headline figures: grids, compounds, YoY change by category, 零发案, dispute funnel",
    response_model=OverviewOut,
)
def stats_overview(session: SessionDep, admin_code: ScopeCode, start: Start, end: End) -> OverviewOut:
    return OverviewOut.model_validate(overview(session, admin_code, start, end))


@router.get(
    "/api/v1/briefings",
    summary="简报 A 1–3 page PDF briefing of an area and period (figures, changes, maps, lists), Chinese first",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "the briefing, drawn server-side offline"}
    },
)
def briefing(session: SessionDep, admin_code: ScopeCode, start: Start, end: End) -> Response:
    from geo.briefings import briefing_pdf  # matplotlib and WeasyPrint load on first use

    pdf = briefing_pdf(session, admin_code, start, end)
    name = f"briefing-{admin_code}-{start.isoformat()}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
