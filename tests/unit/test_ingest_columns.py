"""Parsing and checking incident columns without a database: times, offsets, vocabularies, problem reports."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.crs import canonical_crs
from geo.incidents.checks import check, parse_times
from geo.incidents.model import Problems, column
from geo.incidents.read_files import read_csv
from geo.incidents.read_geojson import read_geojson
from geo.pg import pgcopy
from geo.pg.textcols import encode, has_offset, stripped_texts


def test_offsets_are_recognised_and_naive_times_are_china_standard_time():
    texts = ["2024-05-01T08:00:00Z", "2024-05-01T08:00:00+08:00", "2024-05-01T08:00:00-0500", "2024-05-01",
             "2024-05-01 08:00", "2024-05-01T08:00:00", "2024-05-01T08:00:00+08:00 "[:-1], "２０２４"]  # fmt: skip
    expected = [True, True, True, False, False, False, True, False]
    assert has_offset(column(texts)).tolist() == expected  # few values: plain Python
    # Many: the ASCII byte matrix, or plain Python again when one value is not ASCII.
    assert has_offset(column(texts[:-1] * 3)).tolist() == expected[:-1] * 3
    assert has_offset(column(texts * 3)).tolist() == expected * 3
    times, missing, bad = parse_times(column(["2024-05-01T08:00:00", " 2024-05-01T08:00:00Z ", None, "soon"]))
    assert times[0] == np.datetime64("2024-05-01T00:00:00") and times[1] == np.datetime64("2024-05-01T08:00:00")
    assert missing.tolist() == [False, False, True, False] and bad.tolist() == [False, False, False, True]


def test_texts_are_stripped_blank_is_null_and_nul_is_caught():
    values = [" a ", "b", "", "   ", None, "纠纷 ", 12, float("nan")]
    expected = ["a", "b", None, None, None, "纠纷", "12", None]
    for k in (1, 3):  # few values, then more than FEW
        got, nul = stripped_texts(column(values * k))
        assert got.tolist() == expected * k and not nul.any()
    ascii_values = [" a ", "b", "", "   ", None, "x\t"] * 3
    assert stripped_texts(column(ascii_values))[0].tolist() == ["a", "b", None, None, None, "x"] * 3
    for texts in (["ok", "bad\x00", None] * 6, ["中", "bad\x00", None] * 6):  # the ASCII and the general path
        assert stripped_texts(column(texts))[1].tolist() == [False, True, False] * 6
        assert stripped_texts(column(texts[:3]))[1].tolist() == [False, True, False]
    data, lengths = encode(np.array(["ab", None, "中"], dtype=object))
    assert bytes(data) == "ab中".encode() and lengths.tolist() == [2, 0, 3]


def test_binary_copy_layout_with_nulls():
    buf = pgcopy.build(
        [pgcopy.fixed(np.array([1, 2], dtype=np.int32), "int4"), pgcopy.text(np.array(["x", None], dtype=object))]
    )
    body = buf[len(pgcopy.HEADER) : -2]
    # row 1: 2 fields, int4 length 4 value 1, text length 1 'x'; row 2: int4 2, NULL (-1). Rows of one layout
    # are written together, so the two may come in either order (the staging table carries each row's idx).
    row1 = b"\x00\x02" + b"\x00\x00\x00\x04\x00\x00\x00\x01" + b"\x00\x00\x00\x01x"
    row2 = b"\x00\x02" + b"\x00\x00\x00\x04\x00\x00\x00\x02" + b"\xff\xff\xff\xff"
    assert body in (row1 + row2, row2 + row1)
    fast = pgcopy.build([pgcopy.fixed(np.array([7], dtype=np.int16), "int2")])
    assert fast == pgcopy.HEADER + b"\x00\x01\x00\x00\x00\x02\x00\x07" + pgcopy.TRAILER


def _decode(stream) -> list[tuple]:
    """The tuples of a binary COPY stream, each field as bytes (None for NULL)."""
    data, pos, out = bytes(stream), len(pgcopy.HEADER), []
    while data[pos : pos + 2] != pgcopy.TRAILER:
        fields, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
        row: list = []
        for _ in range(fields):
            size, pos = int.from_bytes(data[pos : pos + 4], "big", signed=True), pos + 4
            row.append(None if size < 0 else data[pos : pos + size])
            pos += max(size, 0)
        out.append(tuple(row))
    assert pos + 2 == len(data)
    return out


@pytest.mark.parametrize("max_layouts", [pgcopy.MAX_LAYOUTS, 2], ids=["grouped", "scattered"])
def test_binary_copy_of_long_texts_and_coded_columns_round_trips(monkeypatch, max_layouts):
    """Many long texts (one layout key over all of them would overflow int64) and coded words come back exactly."""
    monkeypatch.setattr(pgcopy, "MAX_LAYOUTS", max_layouts)
    rng = np.random.default_rng(7)
    n = 300
    texts = [
        np.array(
            [None if rng.random() < 0.1 else "纠纷" * int(rng.integers(0, 4000)) for _ in range(n)], dtype=object
        )
        for _ in range(7)
    ]
    words = ["dispute", None, "hazard", "邻里"]
    codes = rng.integers(0, len(words), n)
    columns = [pgcopy.fixed(np.arange(n), "int4"), *(pgcopy.text(t) for t in texts), pgcopy.coded(codes, words)]
    got = sorted(_decode(pgcopy.build(columns)), key=lambda r: int.from_bytes(r[0], "big"))
    want = [
        (i.to_bytes(4, "big"), *(None if t[i] is None else t[i].encode() for t in texts),
         None if words[codes[i]] is None else words[codes[i]].encode())
        for i in range(n)
    ]  # fmt: skip
    assert got == want


def test_problem_report_is_ordered_capped_and_counted():
    p = Problems(10)
    p.add([5, 1], "a", "late")
    p.add([1, 7, 9], "b", ["x1", "x7", "x9"])
    assert [(e["index"], e["field"], e["reason"]) for e in p.report(4)] == [
        (1, "a", "late"), (1, "b", "x1"), (5, "a", "late"), (7, "b", "x7"),
    ]  # fmt: skip
    assert p.total() == 5 and p.bad().sum() == 4


def test_crs_names_and_declarations():
    assert [canonical_crs(n) for n in ("gcj02", "GCJ-02", "bd_09", "urn:ogc:def:crs:EPSG::4490", "CRS84")] == [
        "GCJ-02", "GCJ-02", "BD-09", "EPSG:4490", "EPSG:4326",
    ]  # fmt: skip
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "GCJ-02"}}, "features": []}
    assert read_geojson(doc).crs == "GCJ-02"


def test_csv_checks_every_row_at_once():
    csv = (
        "lon,lat,category,occurred_at,status,extra\n"
        "107.11,34.36,dispute,2024-05-01T08:00:00+08:00,,1\n"
        "abc,34.36,dispute,2024-05-01T08:00:00+08:00,,1\n"
        "107.11,,hazard,2024-05-01,closed,1\n"
        "34.36,107.11,theft,2999-01-01,done,1\n"
        "nan,34.36,矛盾纠纷,2024-05-01T08:00:00+08:00,已调解,1\n"
    ).encode()
    raw = read_csv(csv)
    region = shapely.box(106, 33, 108, 35)
    checked = check(raw, region, 50)
    problems = {(e["index"], e["field"]) for e in checked.problems.report()}
    assert problems == {
        (1, "lon"), (2, "lon/lat"), (3, "lon/lat"), (3, "category"), (3, "occurred_at"), (3, "status"), (4, "lon/lat"),
    }  # fmt: skip
    assert checked.rows.index.tolist() == [0]
    assert checked.warnings[0]["fields"] == ["extra"]
