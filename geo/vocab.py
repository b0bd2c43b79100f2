"""Controlled vocabularies with Chinese-first labels; the database checks the same lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geo.errors import InvalidInput

ADMIN_LEVELS = {
    "city": ("市", "City"),
    "county": ("县/区", "County/District"),
    "town": ("镇/街道", "Town/Street"),
    "community": ("村/社区", "Village/Community"),
    "zone": ("开发区", "Development zone"),
}

INCIDENT_CATEGORIES = {
    "preventable": ("可防性案件", "Preventable case"),
    "property": ("侵财类案件", "Property crime"),
    "dispute": ("矛盾纠纷", "Dispute"),
    "hazard": ("安全隐患", "Safety hazard"),
    "service": ("服务诉求", "Service request"),
    "other": ("其他", "Other"),
}

INCIDENT_STATUSES = {
    "reported": ("已上报", "Reported"),
    "assigned": ("已分派", "Assigned"),
    "in_progress": ("处置中", "In progress"),
    "mediated": ("已调解", "Mediated"),
    "resolved": ("已化解", "Resolved"),
    "closed": ("已办结", "Closed"),
}
# Category and status keys in vocabulary order: a stored smallint is an index into these (COPY encoding).
CATEGORY_KEYS = list(INCIDENT_CATEGORIES)
STATUS_KEYS = list(INCIDENT_STATUSES)

COMPOUND_CATEGORIES = {
    "three_no": ("三无小区", "Three-nos compound"),
    "other": ("其他老旧小区", "Other old compound"),
}

RENOVATION_STATUSES = {
    "renovated": ("已整治", "Renovated"),
    "in_progress": ("整治中", "In progress"),
    "not_renovated": ("未整治", "Not renovated"),
}

# The 11 departments whose grids were merged into the integrated (全要素) grids.
DEPARTMENTS = {
    "civil_affairs": ("民政", "Civil affairs"),
    "housing": ("住建", "Housing and construction"),
    "emergency": ("应急管理", "Emergency management"),
    "environment": ("生态环境", "Ecology and environment"),
    "public_security": ("公安", "Public security"),
    "market_regulation": ("市场监管", "Market regulation"),
    "health": ("卫健", "Health"),
    "urban_management": ("城管", "Urban management"),
    "natural_resources": ("自然资源", "Natural resources"),
    "justice": ("司法", "Justice"),
    "human_resources": ("人社", "Human resources and social security"),
}

ROLES = {
    "viewer": ("指挥中心查看", "Command-centre viewer"),
    "police": ("社区民警", "Community police"),
    "gis_editor": ("网格编辑员", "GIS editor"),
    "admin": ("管理员", "Administrator"),
    "grid_worker": ("网格员", "Grid worker"),
    "centre_operator": ("综治中心值班员", "Centre operator"),
    "department_handler": ("部门承办人", "Department handler"),
}

PATROL_MODES = {"walk": ("步巡", "On foot"), "drive": ("车巡", "By car")}
SHIFTS = {
    "morning": ("早班", "Morning"),
    "day": ("白班", "Day"),
    "evening": ("晚班", "Evening"),
    "night": ("夜班", "Night"),
}


def check_sql(column: str, vocab: dict) -> str:
    """A CHECK constraint body limiting column to the vocabulary's keys."""
    return f"{column} IN (" + ", ".join(f"'{k}'" for k in vocab) + ")"


Words = dict[str, tuple[str, str]]


def spellings(words: Words) -> dict[str, str]:
    """Every accepted spelling → its key: the key (also upper case), the Chinese label, the English label."""
    out: dict[str, str] = {}
    for key, (zh, en) in words.items():
        out.update({key: key, key.upper(): key, zh: key, en: key, en.lower(): key})
    return out


def allowed(words: Words) -> str:
    """The keys with their Chinese labels, for error messages."""
    return ", ".join(f"{k} ({zh})" for k, (zh, _) in words.items())


def word(value: Any, words: Words, field: str, what: str | None = None, **context: Any) -> str:
    """The key a value names (key or label), or InvalidInput naming the field and the value."""
    key = spellings(words).get(str(value).strip()) if value is not None else None
    if key is None:
        what = what or field.rpartition(".")[2]
        raise InvalidInput(
            f"unknown {what} {value!r}; allowed: {allowed(words)}",
            field=field,
            reason=f"unknown value {value!r}; allowed: {allowed(words)}",
            **{"value": value, **context},
        )
    return key


def parse_words(raw: str | Sequence[str] | None, words: Words, field: str, what: str | None = None) -> list[str]:
    """'a,b' or ['a', 'b,c'] → the keys named, in order, without repeats; [] when none are given."""
    items = [raw] if isinstance(raw, str) else list(raw or ())
    keys: list[str] = []
    for item in items:
        for part in str(item).split(","):
            if part.strip() and (key := word(part, words, field, what)) not in keys:
                keys.append(key)
    return keys
