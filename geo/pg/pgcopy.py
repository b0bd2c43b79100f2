"""PostgreSQL binary COPY buffers built from numpy columns in a few vectorised passes (no per-row Python)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.pg.textcols import encode, missing

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in µs since 1970: PostgreSQL's timestamp epoch
_FIXED = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "bool": "u1", "timestamptz": ">i8"}


@dataclass
class Column:
    """One COPY column: fixed-width bytes (n, w) or variable-length (concatenated bytes + lengths), nulls."""

    width: int  # bytes per value; 0 for variable-length
    data: NDArray[np.uint8]  # (n, width) for fixed; flat for variable; (words, longest) for coded
    lengths: NDArray[np.int64] | None = None  # per-row byte lengths for variable-length columns
    null: NDArray[np.bool_] | None = None
    codes: NDArray[np.int64] | None = None  # coded: each row's word number in `data`


def fixed(values: NDArray, pg_type: str, null: NDArray[np.bool_] | None = None) -> Column:
    """A fixed-width column (int2/int4/int8/float8/bool; timestamptz from datetime64 or int64 µs since 1970)."""
    if pg_type == "timestamptz":
        values = values.astype("datetime64[us]").astype(np.int64) - _PG_EPOCH_US
    raw = np.ascontiguousarray(values.astype(_FIXED[pg_type]))
    width = raw.dtype.itemsize
    return Column(width, raw.view(np.uint8).reshape(-1, width), None, _none_if_empty(null))


def point_ewkb(lon: NDArray[np.float64], lat: NDArray[np.float64], srid: int = 4326) -> Column:
    """A geometry column of 2D points as little-endian EWKB (25 bytes each), which geometry_recv reads."""
    n = len(lon)
    rec = np.empty(n, dtype=[("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])
    rec["order"] = 1
    rec["type"] = 0x20000001  # Point with the SRID flag
    rec["srid"] = srid
    rec["x"], rec["y"] = lon, lat
    return Column(25, rec.view(np.uint8).reshape(n, 25))


def text(values: NDArray[np.object_]) -> Column:
    """A text column from an object array of str/None (None → NULL)."""
    null = missing(values)
    data, lengths = encode(values)
    return Column(0, data, lengths, _none_if_empty(null))


def coded(codes: NDArray[np.integer], words: Sequence[str | None]) -> Column:
    """A text column given as word numbers into a short list (None → NULL), e.g. a vocabulary or grid codes.

    A million values cost a gather instead of encoding a million Python strings (~0.5 s a column).
    """
    encoded = [(w or "").encode() for w in words]
    longest = max((len(b) for b in encoded), default=0)
    matrix = np.zeros((len(words), max(longest, 1)), dtype=np.uint8)
    for i, b in enumerate(encoded):
        matrix[i, : len(b)] = np.frombuffer(b, dtype=np.uint8)
    number = np.asarray(codes, dtype=np.int64)
    null = np.array([w is None for w in words])[number]
    lengths = np.array([len(b) for b in encoded], dtype=np.int64)[number]
    return Column(0, matrix, lengths, _none_if_empty(null), number)


def _plain(col: Column) -> Column:
    """A coded column as an ordinary variable-length one (concatenated bytes)."""
    if col.codes is None:
        return col
    assert col.lengths is not None
    rows = col.data[col.codes]
    return Column(0, rows[np.arange(rows.shape[1]) < col.lengths[:, None]], col.lengths, col.null)


def _none_if_empty(null: NDArray[np.bool_] | None) -> NDArray[np.bool_] | None:
    return null if null is not None and null.any() else None


def _sizes(col: Column, n: int) -> NDArray[np.int64]:
    """Bytes each row's value takes after its 4-byte length word (0 for NULL)."""
    size = col.lengths.copy() if col.lengths is not None else np.full(n, col.width, dtype=np.int64)
    if col.null is not None:
        size[col.null] = 0
    return size


def build(columns: list[Column], header: bool = True, trailer: bool = True) -> bytes | memoryview:
    """The binary COPY stream (header, tuples, trailer) for equally long columns.

    Without header or trailer it is a piece of a stream sent in parts: the first part has the header,
    the last the trailer.

    Rows whose variable parts (text lengths, NULLs) have the same sizes share one layout, so each such
    group is written as one packed structured array; groups follow each other (row order within a
    group is kept). With very many distinct layouts it falls back to scattering every field.
    One function on purpose: each step is a vectorised pass over arrays the next one reads (bench/assign.py).
    """
    n = len(columns[0].data) if columns[0].width else len(columns[0].lengths)  # type: ignore[arg-type]
    head, tail = HEADER if header else b"", TRAILER if trailer else b""
    if all(c.width and c.null is None for c in columns):
        return head + _build_fixed(columns, n) + tail
    sizes = [_sizes(c, n) for c in columns]
    words = [
        np.where(c.null, -1, size) if c.null is not None else size for c, size in zip(columns, sizes, strict=True)
    ]
    varying = [i for i, c in enumerate(columns) if not c.width or c.null is not None]
    # Number the layouts one column at a time, so the key stays below n × (longest value + 2) (one key
    # over all columns overflows int64 with a few long texts); hashing, not sorting, a million keys.
    group, layouts = np.zeros(n, dtype=np.int64), 1
    for i in varying:
        group, uniques = pd.factorize(group * (int(words[i].max()) + 2) + (words[i] + 1))
        layouts = len(uniques)
    if layouts > MAX_LAYOUTS:
        return head + _build_scattered([_plain(c) for c in columns], sizes, n) + tail
    starts = [_offsets(c) for c in columns]
    order = np.argsort(group.astype(np.uint16), kind="stable")  # a radix sort for 16-bit keys
    bounds = np.zeros(layouts + 1, dtype=np.int64)
    np.cumsum(np.bincount(group, minlength=layouts), out=bounds[1:])
    dtypes = []
    for g in range(layouts):
        first = order[bounds[g]]
        fields: list[tuple[str, str, tuple[int, ...]]] = [("nfields", ">i2", ())]
        for i in range(len(columns)):
            fields.append((f"l{i}", ">i4", ()))
            if sizes[i][first]:
                fields.append((f"v{i}", "u1", (int(sizes[i][first]),)))
        dtypes.append(np.dtype(fields))
    # One buffer for the whole stream, each group packed in place: no per-group bytes and no joins.
    counts = np.diff(bounds)
    body = sum(int(k) * d.itemsize for k, d in zip(counts, dtypes, strict=True))
    out = np.empty(len(head) + body + len(tail), np.uint8)
    out[: len(head)] = np.frombuffer(head, np.uint8)
    out[len(head) + body :] = np.frombuffer(tail, np.uint8)
    pos = len(head)
    for g, dtype in enumerate(dtypes):
        rows = order[bounds[g] : bounds[g + 1]]
        first = rows[0]
        packed = out[pos : pos + len(rows) * dtype.itemsize].view(dtype)
        pos += len(rows) * dtype.itemsize
        packed["nfields"] = len(columns)
        for i, c in enumerate(columns):
            packed[f"l{i}"] = words[i][first]
            width = int(sizes[i][first])
            if width and c.width:
                packed[f"v{i}"] = c.data[rows]
            elif width and c.codes is not None:
                packed[f"v{i}"] = c.data[c.codes[rows], :width]
            elif width:
                begin = starts[i]
                assert begin is not None
                packed[f"v{i}"] = c.data[begin[rows][:, None] + np.arange(width)]
    return out.data  # a memoryview of the buffer, no copy


MAX_LAYOUTS = 512


def _offsets(col: Column) -> NDArray[np.int64] | None:
    """Where each value of a variable-length column starts in its concatenated bytes."""
    if col.lengths is None or col.codes is not None:
        return None
    out = np.zeros(len(col.lengths), dtype=np.int64)
    np.cumsum(col.lengths[:-1], out=out[1:])
    return out


def _build_scattered(columns: list[Column], sizes: list[NDArray[np.int64]], n: int) -> bytes:
    """Every field scattered to its byte position: for inputs whose rows have many different layouts."""
    row_bytes = 2 + 4 * len(columns) + np.sum(sizes, axis=0)
    row_start = np.zeros(n, dtype=np.int64)
    np.cumsum(row_bytes[:-1], out=row_start[1:])
    buf = np.zeros(int(row_bytes.sum()), dtype=np.uint8)
    _scatter_fixed(buf, row_start, np.full((n, 1), len(columns), dtype=">i2").view(np.uint8))
    pos = row_start + 2
    for col, size in zip(columns, sizes, strict=True):
        length_word = size.astype(">i4")
        if col.null is not None:
            length_word[col.null] = -1
        _scatter_fixed(buf, pos, length_word.reshape(-1, 1).view(np.uint8))
        if col.width:
            keep = slice(None) if col.null is None else ~col.null
            _scatter_fixed(buf, (pos + 4)[keep], col.data[keep])
        else:
            _scatter_variable(buf, pos + 4, col, size)
        pos = pos + 4 + size
    return buf.tobytes()


def _build_fixed(columns: list[Column], n: int) -> bytes:
    """Fast path: every row has the same layout, so one packed structured array holds the tuples."""
    fields: list[tuple[str, str, tuple[int, ...]]] = [("nfields", ">i2", ())]
    for i, c in enumerate(columns):
        fields += [(f"l{i}", ">i4", ()), (f"v{i}", "u1", (c.width,))]
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["nfields"] = len(columns)
    for i, c in enumerate(columns):
        rows[f"l{i}"] = c.width
        rows[f"v{i}"] = c.data
    return rows.tobytes()


def _scatter_fixed(buf: NDArray[np.uint8], pos: NDArray[np.int64], data: NDArray[np.uint8]) -> None:
    width = data.shape[1]
    buf[(pos[:, None] + np.arange(width)).ravel()] = data.ravel()


def _scatter_variable(
    buf: NDArray[np.uint8], pos: NDArray[np.int64], col: Column, size: NDArray[np.int64]
) -> None:
    assert col.lengths is not None
    total = int(col.lengths.sum())
    if total == 0:
        return
    src_start = np.zeros(len(col.lengths), dtype=np.int64)
    np.cumsum(col.lengths[:-1], out=src_start[1:])
    # NULL rows have length 0 in both the source and the destination, so they copy nothing.
    shift = np.repeat(pos - src_start, col.lengths)
    buf[np.arange(total) + shift] = col.data
