"""Request bodies read raw (JSON, CSV, GeoPackage, multipart uploads) with the size limit enforced."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from geo import formats
from geo.errors import InvalidInput, TooLarge
from geo.incidents import READABLE, format_for, load_json


def _check_size(size: int, limit: int) -> None:
    if size > limit:
        raise TooLarge(f"request body of {size} bytes exceeds the limit of {limit}", size=size, limit=limit)


async def raw_body(request: Request) -> bytes:
    """The whole body (chunked bodies too, which the content-length middleware cannot see)."""
    limit = request.app.state.settings.max_body_bytes
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        _check_size(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(body: Annotated[bytes, Depends(raw_body)]) -> Any:
    """The body parsed as JSON, or InvalidInput naming the position of the syntax error."""
    return load_json(body)


async def bulk_upload(request: Request) -> tuple[bytes, str]:
    """(data, format) from a GeoJSON/CSV/GeoPackage body or a multipart upload in the field 'file'."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        limit = request.app.state.settings.max_body_bytes
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput(
                "the multipart upload needs a file in the field 'file'", field="file", reason="missing"
            )
        data = await upload.read()
        _check_size(len(data), limit)
        fmt = (
            format_for(upload.filename)
            if upload.filename and "." in upload.filename
            else formats.from_content_type(upload.content_type or "")
        )
        if fmt not in READABLE:
            raise InvalidInput(
                "cannot tell the upload's format: name it .geojson, .csv or .gpkg",
                field="file",
                reason="unknown format",
            )
        return data, fmt
    fmt = formats.from_content_type(kind)
    if fmt not in READABLE:
        accepted = ", ".join(
            [*(t for t, f in formats.CONTENT_TYPES.items() if f in READABLE), "multipart/form-data"]
        )
        raise InvalidInput(
            f"unsupported content type {kind or '(none)'}; send one of {accepted}",
            field="content-type",
            reason="unsupported",
        )
    return await raw_body(request), fmt
