"""Domain exceptions; api/errors.py maps each to an HTTP status and a {code, detail} body."""

from __future__ import annotations

from typing import Any


class CitygridError(Exception):
    """Base: carries a stable code, a human detail and optional structured context."""

    code = "error"

    def __init__(self, detail: str, **context: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context


class NotFound(CitygridError):
    code = "not_found"


class GridNotFound(NotFound):
    code = "grid_not_found"


class AdminUnitNotFound(NotFound):
    code = "admin_unit_not_found"


class InvalidInput(CitygridError):
    """Bad user input; context usually names the feature index, field and reason."""

    code = "invalid_input"


class InvalidGeometry(InvalidInput):
    code = "invalid_geometry"


class OutsideJurisdiction(InvalidInput):
    code = "outside_jurisdiction"


class OutsideArea(InvalidInput):
    """A write whose place lies outside the writer's own area (e.g. a grid worker's report outside the grid)."""

    code = "outside_area"


class Conflict(CitygridError):
    """The thing already exists (e.g. a username taken)."""

    code = "conflict"


class TooLarge(CitygridError):
    code = "too_large"


class VersionConflict(CitygridError):
    code = "version_conflict"


class PreconditionRequired(CitygridError):
    code = "precondition_required"


class Unauthorized(CitygridError):
    code = "unauthorized"


class Forbidden(CitygridError):
    code = "forbidden"


class DatabaseUnavailable(CitygridError):
    code = "database_unavailable"


class WriteCollision(DatabaseUnavailable):
    """A write kept colliding with another writer (deadlock, serialization) after the server's own retries;
    context carries retry_after (whole seconds)."""

    code = "retry"


class TooManyRequests(CitygridError):
    """A client spent its request budget; context carries retry_after (whole seconds)."""

    code = "too_many_requests"


class StepNotAllowed(Conflict):
    code = "step_not_allowed"


class OutsideGrid(OutsideArea):
    """A grid worker reported a place outside their own grid (context names both grids)."""

    code = "outside_grid"
