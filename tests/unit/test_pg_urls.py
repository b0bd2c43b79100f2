"""Cluster URLs in both spellings reach libpq as the same hosts and options; WAL positions as PostgreSQL writes them."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.engine import make_url

from geo.pg.routing import format_lsn, parse_lsn
from geo.pg.urls import conninfo, host_list, normalise

LIBPQ_STYLE = "postgresql+psycopg://app:s3cret@db1:5432,db2:5433/citygrid?target_session_attrs=read-write"
SQLA_STYLE = (
    "postgresql+psycopg://app:s3cret@/citygrid?host=db1:5432&host=db2:5433&target_session_attrs=read-write"
)


def test_both_spellings_give_libpq_the_same_hosts_in_order():
    for url in (LIBPQ_STYLE, SQLA_STYLE):
        # libpq's own parser (through psycopg) is the judge of what a connection will try.
        parsed = conninfo_to_dict(conninfo(url))
        assert parsed == {
            "host": "db1,db2",
            "port": "5432,5433",
            "dbname": "citygrid",
            "user": "app",
            "password": "s3cret",
            "target_session_attrs": "read-write",
        }
        assert host_list(url) == [("db1", 5432), ("db2", 5433)]


def test_the_libpq_spelling_becomes_sqlalchemys_multi_host_form():
    url = make_url(normalise(LIBPQ_STYLE))
    assert url.query["host"] == ("db1:5432", "db2:5433") and url.database == "citygrid"
    assert normalise("postgresql+psycopg://app@db1:5432/citygrid") == "postgresql+psycopg://app@db1:5432/citygrid"


def test_wal_positions_parse_as_postgresql_prints_them():
    # pg_lsn '16/B374D848' is byte position 0x16_B374D848 (PostgreSQL docs, pg_lsn type).
    assert parse_lsn("16/B374D848") == 0x16B374D848
    assert format_lsn(0x16B374D848) == "16/B374D848"
    assert parse_lsn("0/0") == 0 and parse_lsn("FFFFFFFF/FFFFFFFF") == 2**64 - 1
    for bad in ("", "16B374D848", "1/2/3", "G/1", "123456789/1", None):
        assert parse_lsn(bad) is None
