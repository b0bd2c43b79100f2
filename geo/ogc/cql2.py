"""A CQL2-text tokenizer and recursive-descent parser producing a small syntax tree (never evaluated).

Supported: comparisons (= <> < <= > >=), AND/OR/NOT, parentheses, LIKE, BETWEEN, IN, IS [NOT] NULL,
TRUE/FALSE, string/number/boolean/TIMESTAMP()/DATE() literals, and the spatial functions S_INTERSECTS,
S_EQUALS, S_DISJOINT, S_TOUCHES, S_WITHIN, S_OVERLAPS, S_CROSSES, S_CONTAINS with BBOX() and WKT
literals. geo/ogc/cql2_sql.py turns the tree into SQL with bound parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from geo.errors import InvalidInput
from geo.ogc.cql2_ast import Between, BoolOp, Compare, In, IsNull, Like, Lit, Not, Prop, Spatial
from geo.ogc.wkt import GEOMETRY_KEYWORDS, GeometryLiteral, parse_geometry


class Cql2Error(InvalidInput):
    """A filter that cannot be parsed or typed; names the 1-based character position and the token."""

    code = "invalid_filter"


@dataclass(frozen=True)
class Token:
    kind: str  # word, qword, string, number, op, "(", ")", ",", eof
    text: str
    pos: int  # 0-based offset into the filter text


SPATIAL_FUNCTIONS = {"S_INTERSECTS", "S_EQUALS", "S_DISJOINT", "S_TOUCHES", "S_WITHIN", "S_OVERLAPS", "S_CROSSES",
                     "S_CONTAINS"}  # fmt: skip
RESERVED = {"AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE", "TIMESTAMP", "DATE"}
COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}
MAX_FILTER_CHARS = 20_000
MAX_DEPTH = 60
# PostgreSQL cannot store or compare a NUL, and a lone surrogate cannot be encoded as UTF-8 to send it.
_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<qword>"(?:[^"]|"")*")
      | (?P<string>'(?:[^']|'')*')
      | (?P<op><>|<=|>=|=|<|>)
      | (?P<punct>[(),])""",
    re.VERBOSE,
)


def tokenize(text: str) -> list[Token]:
    """Split filter text into tokens, or raise Cql2Error at the first character that fits no token."""
    if len(text) > MAX_FILTER_CHARS:
        raise Cql2Error(f"filter is {len(text)} characters; the limit is {MAX_FILTER_CHARS}", field="filter")
    unsendable = _UNSENDABLE.search(text)
    if unsendable is not None:
        at, char = unsendable.start() + 1, unsendable.group()
        raise Cql2Error(
            f"filter: character {char!r} at position {at} cannot be sent to the database",
            field="filter", position=at, token=char,
        )  # fmt: skip
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            bad = text[pos]
            hint = " (strings take single quotes)" if bad == '"' else ""
            raise Cql2Error(
                f"filter: unexpected character {bad!r} at position {pos + 1}{hint}",
                field="filter", position=pos + 1, token=bad,
            )  # fmt: skip
        kind = m.lastgroup or ""
        if kind != "ws":
            value = m.group()
            tokens.append(Token(value if kind == "punct" else kind, value, pos))
        pos = m.end()
    tokens.append(Token("eof", "", len(text)))
    return tokens


class Parser:
    """Recursive descent over the tokens of one filter; parse() returns the tree's root."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # --- token helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, tok: Token | None = None) -> Cql2Error:
        tok = tok or self.tok
        shown = tok.text or "end of filter"
        return Cql2Error(
            f"filter: {message} at position {tok.pos + 1}, found {shown!r}",
            field="filter", position=tok.pos + 1, token=shown,
        )  # fmt: skip

    def keyword(self, tok: Token | None = None) -> str:
        tok = tok or self.tok
        return tok.text.upper() if tok.kind == "word" else ""

    def accept_kw(self, *words: str) -> bool:
        if self.keyword() in words:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, what: str | None = None) -> Token:
        tok = self.tok
        if tok.kind != kind:
            raise self.error(f"expected {what or repr(kind)}")
        self.i += 1
        return tok

    # --- grammar -------------------------------------------------------------------------------
    def parse(self) -> Any:
        node = self.or_expr()
        if self.tok.kind != "eof":
            raise self.error("expected AND, OR or the end of the filter")
        return node

    def or_expr(self) -> Any:
        items = [self.and_expr()]
        while self.accept_kw("OR"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def and_expr(self) -> Any:
        items = [self.not_expr()]
        while self.accept_kw("AND"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def not_expr(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"filter nests deeper than {MAX_DEPTH} levels")
        try:
            if self.accept_kw("NOT"):
                return Not(self.not_expr())
            return self.primary()
        finally:
            self.depth -= 1

    def primary(self) -> Any:
        tok = self.tok
        if tok.kind == "(":
            self.i += 1
            node = self.or_expr()
            self.expect(")", "')'")
            return node
        kw = self.keyword()
        if kw in SPATIAL_FUNCTIONS:
            self.i += 1
            self.expect("(", f"'(' after {kw}")
            left = self.spatial_arg()
            self.expect(",", "','")
            right = self.spatial_arg()
            self.expect(")", "')'")
            return Spatial(kw, left, right, tok.pos)
        return self.predicate()

    def predicate(self) -> Any:
        left = self.scalar()
        tok = self.tok
        if tok.kind == "op":
            self.i += 1
            return Compare(tok.text, left, self.scalar(), tok.pos)
        negated = self.accept_kw("NOT")
        kw = self.keyword()
        if kw == "LIKE":
            self.i += 1
            return Like(left, self.scalar(), negated, tok.pos)
        if kw == "BETWEEN":
            self.i += 1
            low = self.scalar()
            if not self.accept_kw("AND"):
                raise self.error("expected AND in BETWEEN … AND …")
            return Between(left, low, self.scalar(), negated, tok.pos)
        if kw == "IN":
            self.i += 1
            self.expect("(", "'(' after IN")
            items = [self.scalar()]
            while self.tok.kind == ",":
                self.i += 1
                items.append(self.scalar())
            self.expect(")", "')'")
            return In(left, tuple(items), negated, tok.pos)
        if kw == "IS" and not negated:
            self.i += 1
            neg = self.accept_kw("NOT")
            if not self.accept_kw("NULL"):
                raise self.error("expected NULL after IS")
            return IsNull(left, neg, tok.pos)
        if isinstance(left, Lit) and left.kind == "boolean" and not negated:
            return left  # TRUE or FALSE standing alone as a condition
        raise self.error("expected a comparison operator, LIKE, BETWEEN, IN or IS")

    def scalar(self) -> Any:
        tok = self.tok
        if tok.kind == "string":
            self.i += 1
            return Lit(tok.text[1:-1].replace("''", "'"), "string", tok.pos)
        if tok.kind == "number":
            self.i += 1
            value = float(tok.text)
            if value != value or abs(value) == float("inf"):
                raise self.error("expected a finite number", tok)
            if not re.fullmatch(r"[+-]?\d+", tok.text):
                return Lit(value, "number", tok.pos)
            # Finite, so at most ~309 significant digits; leading zeros could still pass Python's 4,300-digit cap.
            digits = tok.text.lstrip("+-").lstrip("0") or "0"
            return Lit(-int(digits) if tok.text.startswith("-") else int(digits), "number", tok.pos)
        if tok.kind == "qword":
            self.i += 1
            return Prop(tok.text[1:-1].replace('""', '"'), tok.pos)
        kw = self.keyword()
        if kw in ("TRUE", "FALSE"):
            self.i += 1
            return Lit(kw == "TRUE", "boolean", tok.pos)
        if kw in ("TIMESTAMP", "DATE"):
            self.i += 1
            self.expect("(", f"'(' after {kw}")
            inner = self.expect("string", "a quoted instant")
            self.expect(")", "')'")
            return Lit(inner.text[1:-1], kw.lower(), inner.pos)
        if (
            tok.kind == "word"
            and kw not in RESERVED
            and kw not in SPATIAL_FUNCTIONS
            and kw not in GEOMETRY_KEYWORDS
        ):
            self.i += 1
            return Prop(tok.text, tok.pos)
        raise self.error("expected a property name or a literal")

    def spatial_arg(self) -> Any:
        tok = self.tok
        if self.keyword() in GEOMETRY_KEYWORDS:
            geom, self.i = parse_geometry(self.tokens, self.i, self.error)
            return geom
        if tok.kind in ("word", "qword") and self.keyword() not in RESERVED:
            return self.scalar()
        raise self.error("expected a geometry property, BBOX(…) or a WKT geometry")


def parse(text: str) -> Any:
    """Parse CQL2-text into a tree; Cql2Error names the position and token of the first problem."""
    if not text.strip():
        raise Cql2Error("filter is empty", field="filter", position=1, token="")
    try:
        return Parser(text).parse()
    except RecursionError:  # nesting inside WKT literals, which the parser's own depth limit does not count
        raise Cql2Error("filter is nested too deeply", field="filter", position=1, token="") from None


__all__ = ["Between", "BoolOp", "Compare", "Cql2Error", "GeometryLiteral", "In", "IsNull", "Like", "Lit", "Not",
           "Prop", "Spatial", "parse", "tokenize"]  # fmt: skip
