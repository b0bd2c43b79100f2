"""What a case change says on the wire: a small JSON payload on one NOTIFY channel (well under 8000 bytes)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from geo.pg import notify

CHANNEL = "citygrid_cases"


@dataclass(frozen=True)
class CaseNotice:
    """One committed step: the case, its state and version after it, and the units it concerns.

    `units` holds admin or grid codes (the case's grid and the units it moved from and to); a screen sees the
    notice when its user's area holds any of them.
    """

    case_id: int
    state: str
    version: int
    step: str
    units: tuple[str, ...]
    at: str  # ISO 8601 time of the step (UTC)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "units": list(self.units)}, ensure_ascii=False, separators=(",", ":"))


def announce_case(
    session: Session,
    case_id: int,
    state: str,
    version: int,
    step: str,
    units: list[str],
    at: datetime | None = None,
) -> None:
    """Queue the NOTIFY for a case step in session's transaction (sent as it commits: geo.pg.notify)."""
    stamp = (at or datetime.now(UTC)).astimezone(UTC).isoformat()
    notice = CaseNotice(case_id, state, version, step, tuple(dict.fromkeys(u for u in units if u)), stamp)
    notify.queue(session, CHANNEL, notice.to_json())


# The same notice for every row of a set-based statement (the overdue sweep), built in SQL in its transaction:
# wrap a statement's rows (case_id, state, version, step, units text[]) as {rows}; it answers how many it sent.
NOTIFY_EACH_ROW = """
SELECT count(pg_notify(:live_channel, json_build_object(
    'case_id', n.case_id, 'state', n.state, 'version', n.version, 'step', n.step,
    'units', to_json(array_remove(n.units, NULL)), 'at', CAST(:live_at AS text))::text)::text)
FROM ({rows}) n"""


def notify_params(at: datetime) -> dict[str, str]:
    """The parameters NOTIFY_EACH_ROW takes besides its rows."""
    return {"live_channel": CHANNEL, "live_at": at.astimezone(UTC).isoformat()}


def parse_notice(raw: str) -> CaseNotice | None:
    """The notice in a NOTIFY payload, or None when it is not one (never raises on foreign payloads)."""
    try:
        data = json.loads(raw)
        return CaseNotice(
            case_id=int(data["case_id"]),
            state=str(data["state"]),
            version=int(data["version"]),
            step=str(data["step"]),
            units=tuple(str(u) for u in data["units"]),
            at=str(data["at"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
