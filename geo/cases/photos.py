"""Photos attached to a case: JPEG or PNG by content (Pillow opens and verifies them), size-limited, in the DB."""

from __future__ import annotations

import hashlib
import io

from PIL import Image, UnidentifiedImageError
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import audit
from geo.cases.store import lock_case
from geo.cases.units import Actor
from geo.errors import InvalidInput, NotFound, TooLarge

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded


def add_photo(session: Session, actor: Actor, case_id: int, data: bytes, max_bytes: int) -> dict:
    """Check the bytes are a JPEG or PNG and store them with the case (the case must be visible to actor)."""
    if len(data) > max_bytes:
        raise TooLarge(f"照片过大 photo of {len(data)} bytes exceeds {max_bytes}", size=len(data), limit=max_bytes)
    lock_case(session, actor, case_id)
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format, img.size
            if fmt not in FORMATS:
                raise InvalidInput(f"照片须为 JPEG 或 PNG a photo must be JPEG or PNG, not {fmt}", field="body")
            if width * height > MAX_PIXELS:
                raise InvalidInput(f"图像过大 {width}×{height} pixels is too many", field="body")
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InvalidInput(f"不是有效图片 not a readable JPEG or PNG: {exc}", field="body") from exc
    digest = hashlib.sha256(data).hexdigest()
    photo_id = session.execute(
        text(
            """INSERT INTO case_photos (case_id, content_type, width, height, sha256, data, uploaded_by)
               VALUES (:c, :t, :w, :h, :s, :d, :u) RETURNING id"""
        ),
        {
            "c": case_id,
            "t": FORMATS[fmt],
            "w": width,
            "h": height,
            "s": digest,
            "d": data,
            "u": actor.username,
        },
    ).scalar_one()
    photo = {"id": photo_id, "case_id": case_id, "content_type": FORMATS[fmt], "width": width, "height": height}
    # Audited in the upload's transaction; the row names the bytes by their hash, never holds them.
    after = {**photo, "sha256": digest, "bytes": len(data)}
    audit.record(session, actor.username, "create", "case_photo", str(photo_id), after=after)
    return photo


def read_photo(session: Session, actor: Actor, case_id: int, photo_id: int) -> tuple[bytes, str]:
    from geo.cases.queries import get_case

    get_case(session, actor, case_id)  # 404 outside the caller's reach
    row = session.execute(
        text("SELECT data, content_type FROM case_photos WHERE id = :p AND case_id = :c"),
        {"p": photo_id, "c": case_id},
    ).first()
    if row is None:
        raise NotFound(f"照片 {photo_id} 不存在 photo {photo_id} does not exist", field="photo_id")
    return bytes(row.data), row.content_type
