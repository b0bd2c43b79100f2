"""Edits of several grids at once: split by a line, merge neighbours, move a shared boundary."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from api.deps import GisEditor, SessionDep, SettingsDep
from api.etag import etag, parse_if_match
from api.schemas.grid_edits import BoundaryBody, MergeBody, SplitBody
from geo.editing import edits

router = APIRouter()
DryRun = Annotated[bool, Query(description="return the diff and write nothing")]
Reason = Annotated[str | None, Query(max_length=500, description="why (kept in the history and audit log)")]


def _versions(codes: list[str], given: dict[str, int]) -> dict[str, int | None]:
    """Every grid's If-Match version from the body; 428 for the first one missing."""
    return {c: parse_if_match(None if c not in given else str(given[c]), f"grid {c} (in versions)") for c in codes}


def _response(result: dict) -> JSONResponse:
    headers = {}
    if not result["dry_run"]:
        # One ETag per grid does not fit one header: list them so a client can chain the next edit.
        headers["X-Grid-Versions"] = ", ".join(f"{g['code']}={etag(g['version_after'])}" for g in result["grids"])
    return JSONResponse(result, headers=headers)


@router.post("/merge", summary="合并网格 Merge adjacent grids (versions of each required)")
def merge(
    body: MergeBody,
    session: SessionDep,
    settings: SettingsDep,
    who: GisEditor,
    dry_run: DryRun = False,
    reason: Reason = None,
) -> JSONResponse:
    versions = _versions(body.codes, body.versions)
    result = edits.merge_grids(
        session,
        body.codes,
        keep=body.keep,
        expected_versions=versions,
        editor=who,
        reason=reason,
        dry_run=dry_run,
        tolerance_m=settings.edit_tolerance_m,
    )
    session.commit()
    return _response(result)


@router.post("/boundary", summary="调整边界 Move the boundary between two neighbours (versions of both)")
def move_boundary(
    body: BoundaryBody,
    session: SessionDep,
    settings: SettingsDep,
    who: GisEditor,
    dry_run: DryRun = False,
    reason: Reason = None,
) -> JSONResponse:
    versions = _versions([body.a, body.b], body.versions)
    result = edits.move_boundary(
        session,
        body.a,
        body.b,
        line=body.line,
        geometries=body.geometries,
        expected_versions=versions,
        editor=who,
        reason=reason,
        dry_run=dry_run,
        tolerance_m=settings.edit_tolerance_m,
    )
    session.commit()
    return _response(result)


@router.post("/{code}/split", summary="拆分网格 Split a grid by a line (If-Match)")
def split(
    code: str,
    body: SplitBody,
    session: SessionDep,
    settings: SettingsDep,
    who: GisEditor,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    dry_run: DryRun = False,
    reason: Reason = None,
) -> JSONResponse:
    version = parse_if_match(if_match, f"grid {code}")
    result = edits.split_grid(
        session,
        code,
        body.line,
        expected_version=version,
        editor=who,
        reason=reason,
        new_codes=body.new_codes,
        names=body.names,
        dry_run=dry_run,
        tolerance_m=settings.edit_tolerance_m,
    )
    session.commit()
    return _response(result)
