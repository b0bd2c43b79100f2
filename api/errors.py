"""The one map from domain exceptions to HTTP statuses and {code, detail, ...} bodies."""

from __future__ import annotations

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo import errors
from geo.settings import Settings

STATUS = {
    errors.NotFound: 404,
    errors.OutsideArea: 422,
    errors.InvalidInput: 400,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.VersionConflict: 412,
    errors.OutsideGrid: 422,
    errors.PreconditionRequired: 428,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.DatabaseUnavailable: 503,
    errors.TooManyRequests: 429,
}


class ErrorBody(BaseModel):
    """Every error: a stable code, a human detail (English), its Chinese message, and context such as field,
    index or problems."""

    model_config = ConfigDict(extra="allow")
    code: str
    detail: str
    detail_zh: str


# The Chinese message beside the English detail, one per error code (domain codes and the HTTP-level ones
# below); tests/api/test_error_messages_zh.py walks every code the app can answer with.
MESSAGES_ZH = {
    "invalid_input": "输入有误",
    "invalid_geometry": "几何图形无效",
    "invalid_filter": "筛选条件（CQL2）有误",
    "outside_jurisdiction": "超出管辖范围",
    "outside_area": "超出本人负责区域",
    "outside_grid": "上报地点不在本人网格内",
    "conflict": "已存在，与现有记录冲突",
    "not_found": "不存在",
    "grid_not_found": "网格不存在",
    "admin_unit_not_found": "行政区划不存在",
    "officer_not_found": "民警不存在",
    "patrol_route_not_found": "巡逻路线不存在",
    "too_large": "请求过大",
    "step_not_allowed": "当前状态或身份不允许此办理步骤",
    "version_conflict": "版本冲突：数据已被他人修改，请重新读取后再编辑",
    "precondition_required": "需要 If-Match：请带上读取时的 ETag",
    "unauthorized": "需要有效的 API 令牌",
    "forbidden": "权限不足",
    "database_unavailable": "数据库暂不可用，请稍后重试",
    "overloaded": "服务繁忙（数据库连接已用尽），请稍后重试",
    "too_many_requests": "请求过于频繁，请稍后重试",
    "statement_timeout": "查询超时，请缩小范围或稍后重试",
    "database_error": "数据库错误",
    "retry": "与其他写入冲突，请稍后重试",
    "too_complex": "请求超出数据库限制（嵌套过深或值过长）",
    "method_not_allowed": "不支持此请求方法",
    "http_error": "请求出错",
}


_DESCRIPTIONS = {
    400: "输入有误 Bad input (names the feature, field and reason)",
    401: "需要令牌 API token missing or unknown",
    403: "权限不足 Role not allowed",
    404: "不存在 Not found",
    409: "冲突 Already exists, or a step not allowed in the current state (names the allowed ones)",
    413: "过大 Request too large",
    412: "版本冲突 Stale If-Match: the resource changed since you read it",
    422: "校验失败 Request validation failed",
    428: "需要 If-Match Send If-Match with the ETag you read",
    429: "请求过多 Too many requests from this client; retry after Retry-After seconds",
    503: "数据库不可用或繁忙 Database unavailable or every connection busy; retry after Retry-After seconds",
}
COMMON_RESPONSES: dict[int | str, dict] = {
    code: {"model": ErrorBody, "description": text} for code, text in _DESCRIPTIONS.items()
}


def status_for(exc: errors.CitygridError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def message_zh(code: str, field: str | None = None) -> str:
    """The Chinese message for an error code, naming the field when there is one."""
    text = MESSAGES_ZH.get(code, MESSAGES_ZH["http_error"])
    return f"{text}（字段 {field}）" if field else text


# The lists of problems a 4xx body may carry: grid and crosswalk validation ("problems"), incident imports and
# request validation ("errors").
PROBLEM_LISTS = ("problems", "errors")


def cap_problems(context: dict, cap: int) -> dict:
    """context with each problem list cut to its first `cap` items and problems_omitted saying how many were
    left out (a 0.95 MB zipped shapefile once answered with a 24 MB list)."""
    omitted = 0
    out = dict(context)
    for key in PROBLEM_LISTS:
        items = out.get(key)
        if isinstance(items, list) and len(items) > cap:
            omitted += len(items) - cap
            out[key] = items[:cap]
    if omitted:
        out["problems_omitted"] = out.get("problems_omitted", 0) + omitted
    return out


def error_body(code: str, detail: str, **context) -> dict:
    """{code, detail (English), detail_zh (Chinese), …context}."""
    field = context.get("field")
    return {"code": code, "detail": detail, "detail_zh": message_zh(code, field if isinstance(field, str) else None),
            **jsonable_encoder(context)}  # fmt: skip


OPEN311_PREFIX = "/open311/"


class Open311Error(BaseModel):
    """GeoReport v2's error: the HTTP status and a description (the Chinese message, then the English detail)."""

    code: int
    description: str


# The error statuses an /open311 route can answer with, in its own shape (replacing COMMON_RESPONSES there).
OPEN311_RESPONSES: dict[int | str, dict] = {
    status: {"model": list[Open311Error], "description": _DESCRIPTIONS[status]}
    for status in (400, 403, 404, 413, 422, 429, 503)
}


def shaped(path: str, body: dict, status: int) -> dict | list[dict]:
    """An error body for `path`: under /open311 in the GeoReport v2 shape [{"code": status, "description"}]."""
    if not path.startswith(OPEN311_PREFIX):
        return body
    detail = body["detail"] + (f" ({body['field']})" if body.get("field") else "")
    return [{"code": status, "description": f"{body['detail_zh']} {detail}"}]


def respond(request: Request, body: dict, status: int, headers: dict | None = None) -> JSONResponse:
    """The error response, in the shape its path calls for (shaped)."""
    return JSONResponse(shaped(request.url.path, body, status), status, headers=headers)


def _max_problems(request: Request) -> int:
    """The app's cap on listed problems (an app built without create_app, as in a test, has the default)."""
    settings = getattr(request.app.state, "settings", None)
    return settings.max_problems if settings is not None else Settings.model_fields["max_problems"].default


def install(app: FastAPI) -> None:
    """Register the exception handlers on app (one short closure per exception family, kept together)."""

    @app.exception_handler(errors.CitygridError)
    async def _domain(request: Request, exc: errors.CitygridError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, errors.Unauthorized) else None
        etag = exc.context.get("current_version") if isinstance(exc, errors.VersionConflict) else None
        if etag is not None:
            headers = {"ETag": f'"{etag}"'}
        if isinstance(exc, errors.TooManyRequests | errors.WriteCollision):
            headers = {"Retry-After": str(exc.context.get("retry_after", 1))}
        context = cap_problems(exc.context, _max_problems(request))
        return respond(request, error_body(exc.code, exc.detail, **context), status_for(exc), headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if detail == "There was an error parsing the body":
            detail = "the request body is not valid JSON (or not valid for its Content-Type)"
        code = {400: "invalid_input", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        return respond(request, error_body(code, detail), exc.status_code, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = exc.errors()
        cap = _max_problems(request)
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg", "")} for e in found[:cap]
        ]
        detail = "; ".join(f"{p['field']}: {p['reason']}" for p in problems) or "invalid request"
        context: dict = {"errors": problems}
        if len(found) > cap:
            detail += f" (and {len(found) - cap} more)"
            context["problems_omitted"] = len(found) - cap
        body = error_body("invalid_input", detail, **context)
        body["detail_zh"] = message_zh("invalid_input", "、".join(p["field"] for p in problems) or None)
        status = 400 if request.url.path.startswith(OPEN311_PREFIX) else 422  # GeoReport v2 knows 400, not 422
        return respond(request, body, status)

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError) -> JSONResponse:
        # A restart or a statement timeout: tell the client to retry rather than a bare 500. psycopg files a
        # few errors of the client's making here too (54000: an external_id past the btree's 2,704-byte
        # entry): those follow the SQLSTATE map, since retrying the same input never helps.
        if (getattr(exc.orig, "sqlstate", None) or "")[:2] in _SQLSTATE_CLASSES:
            return await _db_error(request, exc)
        msg = str(exc.orig).splitlines()[0] if exc.orig else "database unavailable"
        code = "statement_timeout" if "statement timeout" in msg else "database_unavailable"
        return respond(request, error_body(code, msg), 503, {"Retry-After": "2"})

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every pooled connection stayed busy for pool_timeout_s: overload, not a fault. Not a DBAPIError, so
        # without this handler it was a plain-text 500; the client should back off and retry.
        seconds = request.app.state.settings.pool_timeout_s
        detail = f"the server is busy: no database connection came free within {seconds:g} s; retry later"
        return respond(request, error_body("overloaded", detail), 503, {"Retry-After": "2"})

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError) -> JSONResponse:
        msg = str(exc.orig).splitlines()[0] if exc.orig else "database error"
        if "statement timeout" in msg or "terminating connection" in msg:
            return respond(request, error_body("database_unavailable", msg), 503, {"Retry-After": "2"})
        status, code = database_status(exc)
        headers = {"Retry-After": "1"} if status == 503 else None
        return respond(request, error_body(code, msg, **database_context(exc)), status, headers)

    @app.exception_handler(psycopg.Error)
    async def _driver_error(request: Request, exc: psycopg.Error) -> JSONResponse:
        # The COPY paths use psycopg directly, so its errors arrive unwrapped: the same SQLSTATE map.
        msg = str(exc).splitlines()[0] if str(exc) else "database error"
        status, code = _SQLSTATE_CLASSES.get((exc.sqlstate or "")[:2], (500, "database_error"))
        headers = {"Retry-After": "1"} if status == 503 else None
        return respond(request, error_body(code, msg), status, headers)


# SQLSTATE classes caused by what the client sent or by a colliding writer, not by the server: the input's
# value (22: out of range, NUL, bad escape…), a constraint (23), a collision to retry (40: deadlock,
# serialization), a statement or value too large (54: nesting, an index entry). Everything else stays a 500.
_SQLSTATE_CLASSES = {
    "22": (400, "invalid_input"),
    "23": (409, "conflict"),
    "40": (503, "retry"),
    "54": (400, "too_complex"),
}


def database_status(exc: DBAPIError) -> tuple[int, str]:
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if isinstance(exc, DataError) and not sqlstate:  # raised by the driver before sending, e.g. a NUL byte
        return 400, "invalid_input"
    return _SQLSTATE_CLASSES.get(sqlstate[:2], (500, "database_error"))


def database_context(exc: DBAPIError) -> dict:
    """The column PostgreSQL names, if any, as the field."""
    diag = getattr(exc.orig, "diag", None)
    column = getattr(diag, "column_name", None) if diag else None
    return {"field": column} if column else {}
