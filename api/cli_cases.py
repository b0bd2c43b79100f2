"""`citygrid cases …`: report, the queue, one case, a step, the overdue sweep (with --as-of to replay or travel)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer

from api.cli_common import cli_actor, console, run_in_transaction

cases_app = typer.Typer(help="案件 Cases: report, queue, show, step, sweep")
AsUser = Annotated[str | None, typer.Option("--as", help="act as this user (default: a city-level admin)")]


def _actor(session: Any, username: str | None) -> Any:
    from sqlalchemy import select

    from geo import models
    from geo.auth import Principal, principal_of
    from geo.errors import NotFound
    from geo.scope import CITY_CODE

    if username is None:
        return Principal(cli_actor(), frozenset({"admin"}), CITY_CODE)
    user = session.execute(select(models.User).where(models.User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username}", field="as")
    return principal_of(user)


def _print(doc: Any) -> None:
    console.print_json(json.dumps(doc, ensure_ascii=False, default=str))


def _read_feature(path: str) -> Any:
    """The report's Feature from a file or standard input (-), parsed as the API parses a body
    (geo.incidents.read_geojson.load_json: deep nesting and huge integers too); a usage error when it cannot be."""
    import sys
    from pathlib import Path

    from geo.errors import InvalidInput
    from geo.incidents.read_geojson import load_json

    try:
        return load_json(sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes())
    except (OSError, InvalidInput) as exc:
        reason = exc.detail if isinstance(exc, InvalidInput) else str(exc)
        raise typer.BadParameter(
            f"无法读取 cannot read a GeoJSON Feature from {path}: {reason}", param_hint="FEATURE"
        ) from exc


@cases_app.command("report")
def report_command(
    feature: Annotated[
        str,
        typer.Argument(
            help="a GeoJSON Feature, with an optional 'case' member, as POST /api/v1/cases takes it (-: stdin)"
        ),
    ],
    user: AsUser = None,
    priority: Annotated[str | None, typer.Option(help="normal or key (重点)")] = None,
    on_the_spot: Annotated[
        bool, typer.Option("--on-the-spot", help="a grid worker resolved it on the spot")
    ] = False,
    note: str | None = None,
    channel: Annotated[str | None, typer.Option(help="grid_worker, police, centre, public or assigned")] = None,
    assign_to: Annotated[
        str | None, typer.Option(help="channel assigned: the lower centre that receives it")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Idempotency-Key: a re-run with the same key returns the same case")
    ] = None,
) -> None:
    """上报 Report a case as POST /api/v1/cases does, e.g. `citygrid cases report f.geojson --as gw1 --key k1`."""
    from geo.cases.queries import get_case
    from geo.cases.report import fields_of, report

    doc = _read_feature(feature)
    flags = {"priority": priority, "on_the_spot": on_the_spot or None, "note": note, "channel": channel,
             "assign_to": assign_to}  # fmt: skip
    given = {k: v for k, v in flags.items() if v is not None}
    case = doc.setdefault("case", {}) if given and isinstance(doc, dict) else None
    if isinstance(case, dict):  # anything else is left for fields_of to refuse, as over HTTP
        for k, v in given.items():
            if k in case and case[k] != v:  # said twice, differently: refuse rather than drop one silently
                raise typer.BadParameter(f"case.{k} is {case[k]!r} in the file but {v!r} on the command line")
            case[k] = v

    def work(session: Any, settings: Any) -> tuple[dict, bool]:
        actor = _actor(session, user)
        done = report(session, settings, actor, doc, fields_of(doc), key)
        return get_case(session, actor, done.id), done.created

    case_doc, created = run_in_transaction(work)
    unit = case_doc["unit"]
    console.print(
        f"案件 {case_doc['id']}: {case_doc['state']} → {unit['kind']} {unit['code']} (version {case_doc['version']}); "
        f"deadline {case_doc['deadline_at'] or '-'}; next: {', '.join(case_doc['allowed_steps']) or '-'}"
        + ("" if created else "  (已上报 already reported with this key: the same case)")
    )


@cases_app.command("sweep")
def sweep_command(
    as_of: Annotated[
        dt.datetime | None, typer.Option("--as-of", help="sweep as of this time (no offset: UTC+8)")
    ] = None,
) -> None:
    """督办 Supervise overdue cases and escalate those overdue past the grace (idempotent)."""
    from geo.cases.sweep import sweep
    from geo.localtime import as_aware

    when = as_aware(as_of) or dt.datetime.now(dt.UTC)
    more = True
    while more:  # rounds of at most geo.cases.sweep.BATCH cases, each its own transaction, until none is left
        result = run_in_transaction(
            lambda session, settings: sweep(session, when, settings.case_escalate_grace_days)
        )
        _print(result)
        more = result["more"]


@cases_app.command("list")
def list_command(
    user: AsUser = None,
    state: Annotated[str | None, typer.Option(help="comma-separated states")] = None,
    overdue: Annotated[
        bool | None, typer.Option(help="only overdue (--overdue) or not overdue (--no-overdue)")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="the holding unit's code")] = None,
    category: str | None = None,
    supervision: Annotated[bool, typer.Option(help="督办: overdue cases held below the user's centre")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many (1–1000, as the API)")] = 20,
) -> None:
    """The queue of the user (open cases, overdue first), filtered as GET /api/v1/cases."""
    from geo.cases.queries import list_cases

    states = [s.strip() for s in state.split(",") if s.strip()] if state else None
    page = run_in_transaction(
        lambda s, _: list_cases(
            s,
            _actor(s, user),
            states=states,
            unit_code=unit,
            category=category,
            overdue=overdue,
            supervision=supervision,
            limit=limit,
        )
    )
    for c in page["items"]:
        console.print(
            f"{c['id']:>8}  {c['state']:<20} {c['unit']['code']:<16} {c['deadline_at'] or '-':<26} {c['colour'] or ''}"
        )


@cases_app.command("show")
def show_command(case_id: int, user: AsUser = None) -> None:
    """One case with its timeline and allowed steps."""
    from geo.cases.queries import get_case

    _print(run_in_transaction(lambda s, _: get_case(s, _actor(s, user), case_id)))


@cases_app.command("step")
def step_command(
    case_id: int,
    step: str,
    version: Annotated[int, typer.Option(help="the version you read (If-Match)")],
    user: AsUser = None,
    note: str | None = None,
    to_kind: Annotated[str | None, typer.Option(help="dispatch: grid, centre or department")] = None,
    to_code: str | None = None,
    department: str | None = None,
    days: int | None = None,
    review_on: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="park: review date")] = None,
    lon: Annotated[float | None, typer.Option(help="where the step was taken (optional, WGS84)")] = None,
    lat: float | None = None,
) -> None:
    """Take a step, e.g. `citygrid cases step 12 dispatch --version 2 --to-kind grid --to-code 610302…`."""
    from pydantic import ValidationError

    from api.routers.cases import StepRequest
    from geo.cases.queries import get_case
    from geo.cases.store import take_step

    to = {"kind": to_kind, "code": to_code, "department": department} if to_kind or to_code or department else None
    try:  # checked as the API checks the same body
        body = StepRequest.model_validate(
            {"step": step, "note": note, "to": to, "days": days, "lon": lon, "lat": lat,
             "review_on": review_on.date() if review_on else None}
        ).fields()  # fmt: skip
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise typer.BadParameter(f"{where}: {first['msg']}") from exc

    def work(session: Any, _: Any) -> dict:
        actor = _actor(session, user)
        take_step(session, actor, case_id, step, version, body)
        return get_case(session, actor, case_id)

    doc = run_in_transaction(work)
    console.print(
        f"案件 {case_id}: {doc['state']} (version {doc['version']}); next: {', '.join(doc['allowed_steps']) or '-'}"
    )
