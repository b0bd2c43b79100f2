"""Database URLs: SQLAlchemy form in settings, libpq conninfo for psycopg; one host or several.

A cluster is named the libpq way, by several hosts and a `target_session_attrs`, so that after a standby is
promoted the connection finds the new primary by itself (libpq tries the hosts in order and keeps the first
whose role fits). Both spellings are accepted in settings:

    postgresql+psycopg://app@db1:5432,db2:5432/citygrid?target_session_attrs=read-write      (libpq's)
    postgresql+psycopg://app@/citygrid?host=db1:5432&host=db2:5432&target_session_attrs=read-write
                                                                                   (SQLAlchemy's)
"""

from __future__ import annotations

import re

from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL, make_url

_MULTI_NETLOC = re.compile(r"^(?P<scheme>[^:/]+://)(?P<auth>[^@/]*@)?(?P<hosts>[^/@?]*,[^/?]*)(?P<rest>/.*)?$")


def normalise(url: str) -> str:
    """url in SQLAlchemy's multi-host form (libpq's comma-separated netloc rewritten); others unchanged."""
    match = _MULTI_NETLOC.match(url)
    if match is None:
        return url
    rest = match["rest"] or "/"
    path, _, query = rest.partition("?")
    hosts = "&".join(f"host={h}" for h in match["hosts"].split(",") if h)
    return f"{match['scheme']}{match['auth'] or ''}{path}?{hosts}{'&' + query if query else ''}"


def parse(url: str) -> URL:
    return make_url(normalise(url))


def host_list(url: str) -> list[tuple[str, int]]:
    """[(host, port)] the URL names, in libpq's trial order."""
    u = parse(url)
    if u.host:
        return [(u.host, u.port or 5432)]
    raw = u.query.get("host", ())
    entries = [raw] if isinstance(raw, str) else list(raw)
    out = []
    for entry in entries:
        host, _, port = entry.rpartition(":") if ":" in entry else (entry, "", "")
        out.append((host, int(port) if port else 5432))
    return out


def conninfo(url: str, dbname: str | None = None, **extra: str | int) -> str:
    """A psycopg/libpq conninfo string for a SQLAlchemy URL of one host or several (query options kept)."""
    u = parse(url)
    hosts = host_list(url)
    params: dict[str, str | int] = {k: v for k, v in u.query.items() if k != "host" and isinstance(v, str)}
    params["host"] = ",".join(h for h, _ in hosts)
    params["port"] = ",".join(str(p) for _, p in hosts)
    params["dbname"] = dbname or u.database or "postgres"
    if u.username:
        params["user"] = u.username
    if u.password:
        params["password"] = u.password
    params.update(extra)
    return make_conninfo("", **params)


def where(url: str) -> str:
    """'host:port[,host:port…]/dbname' for messages (never the password)."""
    hosts = ",".join(f"{h}:{p}" for h, p in host_list(url))
    return f"{hosts}/{parse(url).database}"
