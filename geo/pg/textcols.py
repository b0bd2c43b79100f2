"""Vectorised work on columns of short strings: ASCII text as a byte matrix, one numpy pass per question.

Per-row Python (strip, slicing) costs ~1 µs a value, seconds for a million rows; a fixed-width byte view
answers "what is the last character", "is it padded with spaces" for all rows at once. Non-ASCII columns
fall back to plain Python.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_SPACE = np.array([0, 9, 10, 13, 32], dtype=np.uint8)  # NUL padding and whitespace
# Up to FEW values (one report, say) plain Python is faster than building the byte matrix; both paths give
# the same answers (tests/unit/test_ingest_columns.py).
FEW = 16


def ascii_matrix(values: NDArray[np.object_]) -> tuple[NDArray[np.uint8], NDArray[np.int64]] | None:
    """(bytes as an (n, width) matrix, lengths) for str values ('' for None); None if any is not ASCII."""
    try:
        fixed = np.array(values, dtype="S")
    except (UnicodeEncodeError, ValueError, TypeError):
        return None
    width = max(fixed.dtype.itemsize, 1)
    matrix = (
        fixed.view(np.uint8).reshape(len(fixed), width)
        if fixed.dtype.itemsize
        else np.zeros((len(fixed), 1), np.uint8)
    )
    return matrix, np.strings.str_len(fixed).astype(np.int64)


def _last(matrix: NDArray[np.uint8], lengths: NDArray[np.int64], k: int) -> NDArray[np.uint8]:
    """The k-th character from the end of each row (0 where the row is shorter)."""
    idx = lengths - k
    ok = idx >= 0
    return np.where(ok, matrix[np.arange(len(matrix)), np.clip(idx, 0, None)], 0).astype(np.uint8)


def has_offset(texts: NDArray[np.object_]) -> NDArray[np.bool_]:
    """True where an ISO 8601 string ends in Z, ±hh:mm or ±hhmm after a time part."""
    packed = ascii_matrix(texts) if len(texts) > FEW else None
    if packed is None:
        return np.fromiter((_has_offset_one(str(t)) for t in texts), dtype=bool, count=len(texts))
    m, n = packed
    z = np.isin(_last(m, n, 1), np.frombuffer(b"Zz", np.uint8))
    sign = np.frombuffer(b"+-", np.uint8)
    hh_mm = np.isin(_last(m, n, 6), sign) & (_last(m, n, 3) == ord(":"))
    digits = np.ones(len(m), dtype=bool)
    for k in (1, 2, 3, 4):
        c = _last(m, n, k)
        digits &= (c >= ord("0")) & (c <= ord("9"))
    hhmm = np.isin(_last(m, n, 5), sign) & digits
    has_time = (m == ord(":")).any(axis=1)
    return z | (has_time & (hh_mm | hhmm))


def _has_offset_one(t: str) -> bool:
    if t[-1:] in ("Z", "z"):
        return True
    return ":" in t and ((t[-6:-5] in "+-" and t[-3:-2] == ":") or (t[-5:-4] in "+-" and t[-4:].isdigit()))


def stripped_texts(values: NDArray[np.object_]) -> tuple[NDArray[np.object_], NDArray[np.bool_]]:
    """(values as str with surrounding whitespace removed, None for missing or blank; where one holds a NUL)."""
    absent = missing(values)
    filled = np.where(absent, "", values)
    if any(not isinstance(v, str) for v in filled):
        filled = np.fromiter((str(v) for v in filled), dtype=object, count=len(filled))  # e.g. numeric ids
    packed = ascii_matrix(filled) if len(filled) > FEW else None
    out = filled.copy()
    # A plain `in` per value: the byte matrix would miss a trailing NUL, which numpy's S type drops.
    nul = np.fromiter(("\x00" in v for v in filled), dtype=bool, count=len(filled))
    if packed is None:
        needs = np.ones(len(filled), dtype=bool)
    else:
        m, n = packed
        needs = np.isin(m[:, 0], _SPACE[1:]) | np.isin(_last(m, n, 1), _SPACE[1:])
    for i in np.flatnonzero(needs & ~absent):
        out[i] = str(filled[i]).strip()
    if packed is None or needs.any():
        blank = np.fromiter((v == "" for v in out), dtype=bool, count=len(out))
    else:
        blank = packed[1] == 0
    out[absent | blank] = None
    return out, nul


def missing(values: NDArray[np.object_]) -> NDArray[np.bool_]:
    """None or NaN per value, in one pass (pd.isna on an object array costs ~0.3 s per million)."""
    return np.fromiter((v is None or v != v for v in values), dtype=bool, count=len(values))


def encode(values: NDArray[np.object_]) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """UTF-8 bytes of str values (None → empty), concatenated, and each value's byte length.

    The UTF-8 of a joined string is the join of the values' UTF-8, so one encode does the bytes; the
    lengths are the character counts when that encoding took one byte per character (ASCII).
    """
    texts = [v if isinstance(v, str) else "" if v is None or v != v else str(v) for v in values]
    joined = "".join(texts)
    data = joined.encode()
    if len(data) == len(joined):
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    else:
        lengths = np.fromiter((len(t.encode()) for t in texts), dtype=np.int64, count=len(texts))
    return np.frombuffer(data, dtype=np.uint8), lengths
