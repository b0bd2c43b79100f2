"""The words of the case cycle (Chinese first): states, channels, priorities, unit kinds, levels."""

from __future__ import annotations

STATES = {
    "reported": ("已上报待立案", "Reported, to be filed"),
    "filed": ("已立案待派遣", "Filed, to be dispatched"),
    "declined": ("不予立案", "Declined"),
    "dispatched": ("已派遣待签收", "Dispatched, to be taken up"),
    "handling": ("处置中", "Being handled"),
    "extension_requested": ("延期申请中", "Extension requested"),
    "return_requested": ("回退申请中", "Return requested"),
    "reported_back": ("已反馈待核查", "Reported back, to be verified"),
    "spot_resolved": ("就地化解待核查", "Resolved on the spot, to be verified"),
    "parked": ("挂账", "Parked"),
    "closed": ("已结案", "Closed"),
}
CLOSED_STATES = ("declined", "closed")
OPEN_STATES = tuple(s for s in STATES if s not in CLOSED_STATES)

CHANNELS = {
    "grid_worker": ("网格员上报", "Grid worker's report"),
    "police": ("社区民警上报", "Community police report"),
    "centre": ("中心受理", "Taken by a centre"),
    "public": ("公众举报", "Public report"),
    "assigned": ("上级交办", "Assigned from above"),
}

PRIORITIES = {"normal": ("一般", "Normal"), "key": ("重点/疑难", "Key or difficult")}

UNIT_KINDS = {
    "grid": ("网格", "Grid (its grid worker)"),
    "centre": ("综治中心", "Governance centre"),
    "department": ("职能部门", "Department"),
}

# Where a case was closed: the level of the unit that handled it (the 矛盾不上交 measure).
CLOSE_LEVELS = ("grid", "community", "town", "county", "city")

NOTE_MAX_CHARS = 4000  # a step's or a report's note (a reason, a remark)
IDEMPOTENCY_KEY_MAX_CHARS = 200  # a report's client-made id
