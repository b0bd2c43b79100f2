"""A single report is checked exactly as the same values inside a large file (padded times keep their offset)."""

from __future__ import annotations

import numpy as np

from geo import vocab
from geo.incidents.checks import CATEGORY_INDEX, _vocabulary, parse_times
from geo.incidents.model import Problems, column

TIMES = [
    "2024-05-01T08:30:00+08:00",
    "2024-05-01T08:30:00Z",
    "2024-05-01 08:30",
    "2024-05-01T08:30:00.123456-05:30",
    "2024-05-01T08:30:00.1",
    "2024-12-31T23:59:59",
    None,
    "2024-02-30T08:00:00",  # impossible date: the general path reports it
    " 2024-05-01T08:30:00+08:00 ",
    "2024-05-01T0830",
    "yesterday",
    "",
]
FEW = 64  # rows: more than one report
WORDS = ["dispute", "DISPUTE", "矛盾纠纷", " hazard ", "Dispute", None, "burglary", ""]


def test_few_times_parse_as_many_do():
    many = parse_times(column(TIMES * (FEW // len(TIMES) + 2)))
    for times in ([t] for t in TIMES):
        few = parse_times(column(times))
        i = TIMES.index(times[0])
        assert (np.isnat(few[0][0]) and np.isnat(many[0][i])) or few[0][0] == many[0][i], times
        assert few[1][0] == many[1][i] and few[2][0] == many[2][i], times


def test_few_words_map_as_many_do():
    many_p = Problems(len(WORDS) * 10)
    many = _vocabulary(many_p, column(WORDS * 10), CATEGORY_INDEX, vocab.INCIDENT_CATEGORIES, "c", True)
    few_p = Problems(len(WORDS))
    few = _vocabulary(few_p, column(WORDS), CATEGORY_INDEX, vocab.INCIDENT_CATEGORIES, "c", True)
    assert few.tolist() == many[: len(WORDS)].tolist()
    assert few_p.bad().tolist() == many_p.bad()[: len(WORDS)].tolist()
