"""The audit log: every write records who, what, when, before/after and why, in the write's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from geo import models


def record(
    session: Session,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    session.add(
        models.AuditLog(
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
            reason=reason,
        )
    )
