"""Edge values an outside probe turned into 500s (issue #15), shared by the OpenAPI fuzz and the edge-value sweep.

NUL bytes, integers at and past 2^63 and thousands of digits long, years 1 and 9999 (as dates and as
instants with the farthest offsets), non-ASCII and bidi text, and deep nesting of the kinds CQL2, WKT
and JSON parsers recurse on.
"""

from __future__ import annotations

GC = "GEOMETRYCOLLECTION("

EDGE_VALUES = [
    "\x00",
    "a\x00b",
    str(2**63),
    str(2**63 - 1),
    str(-(2**63) - 1),
    "9" * 400,
    "9" * 5000,
    "0" * 5000 + "1",
    "0001-01-01",
    "0001-01-01T00:00:00",
    "9999-12-31",
    "9999-12-31T23:59:59",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "2024-01-01/9999-12-31",
    "NaN",
    "-Infinity",
    "网格\u202e",
    "",
    "(" * 3000,
    "NOT " * 2000 + "x = 1",
    "S_INTERSECTS(geometry, " + GC * 900 + "POINT(1 1)" + ")" * 901,
    "[" * 3000 + "]" * 3000,
]

# Header values that HTTP can carry (no NUL, latin-1 octets) but that are not ASCII, or are huge.
HEADER_VALUES = ["\u00e9", "\u00ff" * 40, "网格\u202e".encode().decode("latin-1"), "W/" + '"' * 2000, "9" * 5000]
