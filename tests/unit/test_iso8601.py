"""A few canonical times are read by Python; wherever it answers, pandas (the definition) answers the same."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.incidents.iso8601 import CANONICAL, FEW, _python, parse_utc
from geo.incidents.model import column


def pandas_utc(text: str) -> np.datetime64:
    parsed = pd.to_datetime(pd.Index([text]), format="ISO8601", errors="coerce", utc=True)
    return parsed.to_numpy(dtype="datetime64[us]")[0]


def same(a: np.datetime64, b: np.datetime64) -> bool:
    return bool((np.isnat(a) and np.isnat(b)) or a == b)


EDGES = [
    "2024-05-01T08:30:00+08:00", "2024-05-01T08:30:00Z", "2024-05-01 08:30", "2024-05-01T08:30",
    "2024-05-01T08:30:00.1", "2024-05-01T08:30:00.123456-05:30", "2024-05-01T23:59:59.999999+14:00",
    "2024-02-29T00:00:00", "2023-02-29T00:00:00", "2024-02-30T08:00:00", "2024-13-01T00:00:00",
    "2024-00-10T00:00:00", "2024-05-01T24:00:00", "2024-05-01T08:30:60", "2024-05-01T08:60:00",
    "2024-05-01T08:30:00+24:00", "2024-05-01T08:30:00+23:59", "2024-05-01T08:30:00-00:00", "0001-01-01T00:00-00:60",
    "0001-01-01T00:00:00", "0000-01-01T00:00:00", "9999-12-31T23:59:59", "1949-10-01T00:00:00+08:00",
]  # fmt: skip


def test_hand_picked_edges_agree_with_pandas():
    answered = 0
    for text in EDGES:
        python = _python(column([text]))
        if python is not None:
            answered += 1
            assert same(python[0], pandas_utc(text)), text
        assert same(parse_utc(column([text]))[0], pandas_utc(text)), text
    assert answered >= 12  # the fast path does take the usual forms


@st.composite
def canonical_texts(draw) -> str:
    """Texts of CANONICAL's shape, fields a little past their ranges (month 13, hour 24, offset -00:60), which
    CANONICAL itself may refuse: then pandas reads them."""
    date = f"{draw(st.integers(0, 9999)):04d}-{draw(st.integers(0, 13)):02d}-{draw(st.integers(0, 32)):02d}"
    time = f"{draw(st.integers(0, 24)):02d}:{draw(st.integers(0, 60)):02d}"
    if draw(st.booleans()):
        time += f":{draw(st.integers(0, 60)):02d}"
        if draw(st.booleans()):
            time += "." + draw(st.text("0123456789", min_size=1, max_size=6))
    zone = draw(st.sampled_from(["", "Z", "+", "-"]))
    if zone in "+-" and zone:
        zone += f"{draw(st.integers(0, 24)):02d}:{draw(st.integers(0, 60)):02d}"
    return date + draw(st.sampled_from("T ")) + time + zone


@settings(max_examples=1000, deadline=None)
@given(st.one_of(canonical_texts(), st.from_regex(CANONICAL, fullmatch=True)))
def test_every_canonical_text_agrees_with_pandas(text):
    python = _python(column([text]))
    if python is not None:
        assert same(python[0], pandas_utc(text)), text


def test_more_than_few_or_a_non_canonical_text_go_to_pandas():
    assert _python(column([" 2024-05-01T08:30:00"])) is None  # padded: pandas decides
    assert _python(column(["2024-05-01T08:30:00+0800"])) is None  # basic-format offset
    many = column(["2024-05-01T08:30:00Z"] * (FEW + 1))
    assert (parse_utc(many) == np.datetime64("2024-05-01T08:30:00")).all()
