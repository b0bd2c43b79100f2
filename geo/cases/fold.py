"""A case's current state as a pure fold of its events: what the cases row must hold, recomputable any time.

Every write applies the same transition to the row in the event's transaction; the demo loader and the
sweep write rows in SQL, and tests fold every case's events and compare (state and events cannot disagree).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from geo.cases.steps import CREATION_STEPS, STEPS
from geo.cases.units import Unit


@dataclass(frozen=True)
class Derived:
    """The cases columns that follow from the events."""

    state: str
    unit_kind: str
    unit_code: str
    unit_department: str | None
    dispatch_code: str | None
    handler_kind: str | None
    handler_code: str | None
    handler_department: str | None
    reported_at: dt.datetime
    step_started_at: dt.datetime
    deadline_at: dt.datetime | None
    parked_until: dt.date | None
    rework_count: int
    late_steps: int
    closed_at: dt.datetime | None
    closed_level: str | None
    version: int
    updated_at: dt.datetime
    # The due_key of the newest supervise event: the deadline whose overdue supervision is recorded (the sweep
    # looks for open cases past a deadline that differs from it).
    supervised_due: dt.datetime | None = None

    @property
    def unit(self) -> Unit:
        return Unit(self.unit_kind, self.unit_code, self.unit_department)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


COLUMNS = tuple(f.name for f in fields(Derived))


def _to_unit(e: Mapping[str, Any]) -> tuple[str, str, str | None] | None:
    if e.get("to_unit_kind") is None:
        return None
    return e["to_unit_kind"], e["to_unit_code"], e.get("to_unit_department")


def _start(e: Mapping[str, Any]) -> Derived:
    kind, code, dept = _to_unit(e) or ("centre", "", None)
    on_spot = e["step"] == "resolve_on_spot"
    return Derived(
        state=STEPS[e["step"]].to_state or "reported",
        unit_kind=kind,
        unit_code=code,
        unit_department=dept,
        dispatch_code=None,
        handler_kind=e.get("from_unit_kind") if on_spot else None,
        handler_code=e.get("from_unit_code") if on_spot else None,
        handler_department=None,
        reported_at=e["at"],
        step_started_at=e["at"],
        deadline_at=e.get("deadline_at"),
        parked_until=None,
        rework_count=0,
        late_steps=0,
        closed_at=None,
        closed_level=None,
        version=1,
        updated_at=e["at"],
    )


def apply(d: Derived | None, e: Mapping[str, Any]) -> Derived:
    """The case after event e (a mapping with case_events' columns)."""
    step = STEPS[e["step"]]
    if d is None or e["step"] in CREATION_STEPS:
        return _start(e)
    if step.to_state is None:  # supervision: recorded, changes nothing a user sees (no new version)
        return replace(d, supervised_due=e.get("due_key"))
    changes: dict[str, Any] = {"state": step.to_state, "version": d.version + 1, "updated_at": e["at"]}
    unit = _to_unit(e)
    if unit:
        changes.update(unit_kind=unit[0], unit_code=unit[1], unit_department=unit[2])
    if e["step"] == "dispatch":
        changes.update(dispatch_code=e.get("from_unit_code"))
        changes.update(handler_kind=unit[0], handler_code=unit[1], handler_department=unit[2]) if unit else None
    if e.get("deadline_at") != d.deadline_at:
        changes.update(deadline_at=e.get("deadline_at"), step_started_at=e["at"])
    changes["parked_until"] = e.get("review_on") if step.to_state == "parked" else None
    changes["rework_count"] = d.rework_count + (e["step"] == "rework")
    changes["late_steps"] = d.late_steps + bool(e.get("late"))
    if step.to_state == "closed":
        level_unit = Unit(d.handler_kind or "", d.handler_code) if d.handler_code else d.unit
        changes.update(closed_at=e["at"], closed_level=level_unit.level)
    return replace(d, **changes)


def fold(events: Iterable[Mapping[str, Any]]) -> Derived | None:
    """The case after all its events, in order (None for none)."""
    d: Derived | None = None
    for e in events:
        d = apply(d, e)
    return d
