"""The one INSERT … SELECT … ON CONFLICT every incident writer ends in (probe and staged paths)."""

from __future__ import annotations

from typing import Any

from geo.assignment.sql_rule import ASSIGNED, assigned_columns
from geo.incidents.checks import IncidentRows
from geo.incidents.model import STORED_PROPERTIES
from geo.vocab import CATEGORY_KEYS, STATUS_KEYS


def insert_sql(ctes: str, rows: str, optional: list[str], ids: bool) -> str:
    """The one INSERT … SELECT … ON CONFLICT both paths share.

    `rows` selects the input columns with the assignment: code, community_code, town_code, county_code
    (of the grid hit, NULL for none), compound and gap (the [community, town, county] of a point in no grid).
    """
    names = ["category", "occurred_at", "source_crs", "synthetic", "geom", *optional]
    exprs = ["(CAST(:categories AS text[]))[x.category + 1]", "x.occurred_at", ":crs", ":synthetic", "x.geom"]
    exprs += ["(CAST(:statuses AS text[]))[x.status + 1]" if o == "status" else f"x.{o}" for o in optional]
    # One lock order for every writer (store.write_order): the rows meet the unique index by external_id.
    order = ' ORDER BY external_id COLLATE "C"' if "external_id" in optional else ""
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in names + ASSIGNED if c != "synthetic")
    return f"""
        WITH {ctes}
        ins AS (
            INSERT INTO incidents ({", ".join(names + ASSIGNED)})
            SELECT {", ".join(exprs)}, {assigned_columns("x", "x.compound")}
            FROM ({rows}{order} OFFSET 0) x
            ON CONFLICT (external_id) DO UPDATE SET {updates}, updated_at = now()
            RETURNING id, (xmax = 0) AS inserted, outside_jurisdiction{PROPERTIES if ids else ""}
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
               count(*) FILTER (WHERE outside_jurisdiction), {"array_agg(id ORDER BY id)" if ids else "NULL"},
               {"jsonb_agg(properties ORDER BY id)" if ids else "NULL"}
        FROM ins
    """


# With ids (a few rows), each row's properties as stored: what get_incident would read back, for the audit row,
# without a second statement.
PROPERTIES = ", jsonb_build_object(" + ", ".join(f"'{c}', {c}" for c in STORED_PROPERTIES) + ") AS properties"


def insert_params(rows: IncidentRows, synthetic: bool) -> dict[str, Any]:
    return {"categories": CATEGORY_KEYS, "statuses": STATUS_KEYS, "crs": rows.source_crs, "synthetic": synthetic}
