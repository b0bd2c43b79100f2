"""The case cycle as data: every step, the states it starts from, the state it leads to and who may take it.

Checked in one place (allowed_steps / check_step). `by` names who may take a step:
- "holder": the unit holding the case (its grid worker, an operator of its centre, a handler of its department);
- "above": an operator of a centre whose area holds the holding unit (its own centre included);
- "dispatcher": an operator of a centre whose area holds the centre that dispatched the case;
- "system": only the sweep (督办 supervision, automatic escalation).
`clock` names the time limit (case_time_limits.step) that starts when the step is taken; None keeps the
current deadline. `needs` lists the body fields the step requires.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.cases.units import Actor, Unit, escalation_target, is_centre_above, is_holder
from geo.cases.vocab import OPEN_STATES


@dataclass(frozen=True)
class Step:
    name: str
    label: str  # Chinese first, then English
    from_states: tuple[str, ...]
    to_state: str | None  # None: the state stays (supervision)
    by: tuple[str, ...]
    clock: str | None = None
    needs: tuple[str, ...] = ()


HANDLED = ("dispatched", "handling")
STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        Step("report", "上报 report", (), "reported", ("reporter",), "file"),
        Step("resolve_on_spot", "就地化解 resolve on the spot", (), "spot_resolved", ("reporter",), "spot"),
        Step("file", "立案 file", ("reported",), "filed", ("holder", "above"), "dispatch"),
        Step("decline", "不予立案 decline", ("reported",), "declined", ("holder", "above"), None, ("note",)),
        Step("dispatch", "派遣 dispatch", ("filed",), "dispatched", ("holder", "above"), "handle", ("to",)),
        Step("accept", "签收处置 take up and handle", ("dispatched",), "handling", ("holder", "above")),
        Step("report_back", "处置反馈 report back", ("handling",), "reported_back", ("holder", "above"), "verify"),
        Step("verify_close", "核查结案 verify and close", ("reported_back", "spot_resolved"), "closed", ("holder", "above")),
        Step("rework", "返工 send back for rework", ("reported_back", "spot_resolved"), "dispatched", ("holder", "above"), "handle", ("note",)),
        Step("escalate", "上报上级 escalate one level up", ("reported", "filed", *HANDLED), "filed", ("holder", "above"), "dispatch"),
        Step("return", "退回 return a misrouted case", ("dispatched",), "filed", ("holder", "above"), "dispatch", ("note",)),
        Step("park", "挂账 park", ("filed", *HANDLED), "parked", ("above",), None, ("note", "review_on")),
        Step("unpark", "恢复办理 resume a parked case", ("parked",), "filed", ("holder", "above"), "dispatch"),
        Step("request_extension", "申请延期 ask for an extension", HANDLED, "extension_requested", ("holder",), None, ("days", "note")),
        Step("approve_extension", "批准延期 approve the extension", ("extension_requested",), "handling", ("dispatcher",)),
        Step("refuse_extension", "不批准延期 refuse the extension", ("extension_requested",), "handling", ("dispatcher",), None, ("note",)),
        Step("request_return", "申请回退 ask to return the case", HANDLED, "return_requested", ("holder",), None, ("note",)),
        Step("approve_return", "批准回退 approve the return", ("return_requested",), "filed", ("dispatcher",), "dispatch"),
        Step("refuse_return", "不批准回退 refuse the return", ("return_requested",), "handling", ("dispatcher",), None, ("note",)),
        Step("supervise", "督办 supervision of an overdue case", OPEN_STATES, None, ("system",)),
    )
}  # fmt: skip
CREATION_STEPS = ("report", "resolve_on_spot")
SYSTEM_ACTOR = "system:sweep"


@dataclass(frozen=True)
class CaseView:
    """What deciding a step needs to know about a case."""

    state: str
    unit: Unit
    dispatch_code: str | None


def may_take(step: Step, case: CaseView, actor: Actor) -> bool:
    """Whether actor may take step on case now (state and who; not the body)."""
    if case.state not in step.from_states:
        return False
    if step.name == "escalate" and escalation_target(case.unit) is None:
        return False  # the city centre has no level above
    if step.name == "return" and case.dispatch_code is None:
        return False
    for who in step.by:
        if who == "holder" and is_holder(actor, case.unit):
            return True
        if who == "above" and is_centre_above(actor, case.unit.code):
            return True
        if who == "dispatcher" and is_centre_above(actor, case.dispatch_code):
            return True
    return False


def allowed_steps(case: CaseView, actor: Actor) -> list[str]:
    """The steps actor may take on case now, in the table's order."""
    return [s.name for s in STEPS.values() if s.by != ("system",) and may_take(s, case, actor)]
