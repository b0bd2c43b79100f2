"""Our CQL2-text parser against a kept one (`cql2`, the Rust implementation) as an independent oracle.

Every valid filter of the corpus (tests/cql2_corpus.py) is accepted by both and read into the same
structure (ours rendered as CQL2-JSON and compared with `cql2`'s); every hostile one is refused by ours
with Cql2Error (a 400), and nothing in the corpus, its edges or its seeded mutants raises anything else.
"""

from __future__ import annotations

import cql2 as kept
import pytest

from geo.errors import InvalidInput
from geo.ogc import cql2
from geo.ogc.collections import COLLECTIONS
from geo.ogc.cql2_sql import to_sql
from tests.cql2_corpus import EDGE, HOSTILE, VALID, generated
from tests.cql2_shape import as_json, normalise


@pytest.mark.parametrize(("coll", "text"), VALID, ids=[t[:50] for _, t in VALID])
def test_valid_filters_read_alike_by_ours_and_the_kept_parser(coll, text):
    to_sql(COLLECTIONS[coll], text, {})  # ours accepts it, allowlist and types included
    theirs = kept.parse_text(text).to_json()
    assert normalise(as_json(cql2.parse(text))) == normalise(theirs)


@pytest.mark.parametrize(("coll", "text"), HOSTILE, ids=[repr(t[:40]) for _, t in HOSTILE])
def test_hostile_filters_are_refused_with_our_400(coll, text):
    with pytest.raises(InvalidInput) as err:
        to_sql(COLLECTIONS[coll], text, {})
    assert err.value.context.get("field") == "filter"


def test_edges_and_mutants_are_accepted_or_refused_never_crash():
    crashes = []
    for coll, text in [*EDGE, *generated()]:
        try:
            to_sql(COLLECTIONS[coll], text, {})
        except InvalidInput:
            pass
        except Exception as exc:  # anything else would be a 500
            crashes.append((text[:80], type(exc).__name__, str(exc)[:80]))
    assert crashes == []
