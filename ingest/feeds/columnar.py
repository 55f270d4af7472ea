"""The loader's fast way from data rows to COPY text: a column of a chunk of rows at a time.

FeedScan (reader.py) finds the data rows; here the cells of up to CHUNK_ROWS rows are taken a
column at a time. A column whose every cell is already in its canonical form (a plain
`2026-03-05`, `1234.50`, an 18-digit ID number, an enum value, stripped text) is checked with
one regular expression over the joined column and copied as it stands; any other column falls
back, cell by cell, to the reader's compiled converters, so every value, warning and reason is
the one read_feed gives (tests/feeds/test_feed_columnar.py holds the two side by side).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import itemgetter
from pathlib import Path
from typing import Iterator

from ingest.feeds import normalize as nz
from ingest.feeds.mapping import Mapping
from ingest.feeds.reader import XLSX_MAX_UNPACKED_MB, FeedScan, _Header, _RowPlan, enum_fast

CHUNK_ROWS = 1000
MEMO_SIZE = 4096   # distinct cell texts remembered per column (shared by a folder's files)
MEMO_TYPES = {"date", "code", "text", "integer", "money_yuan", "money_wan", "numeric"}
MEMO_TRIAL, MEMO_MIN_HITS = 2000, 0.1   # cells looked up before a column's memo is judged
NULL = "\\N"
_SEP = "\x00"   # joins a column for one regex; never inside a cell (NUL is refused, and counted)
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def copy_text(value) -> str:
    """A typed value as COPY text (what psycopg's text dumpers give)."""
    if value is None:
        return NULL
    t = type(value)
    if t is str:
        return value.translate(_ESCAPES) if _NEEDS_ESCAPE.search(value) else value
    if t is bool:
        return "t" if value else "f"
    if t is dt.date:
        return value.isoformat()
    return str(value)   # int, Decimal (never NaN here)


_HOLE = "\x01"   # a cell only the converter can read (never matches a pattern below)


def _seg(pattern: str) -> re.Pattern:
    return re.compile(f"(?:{pattern})?")


def _joined(seg: re.Pattern) -> re.Pattern:
    """A column of cells joined by _SEP, each cell matching seg."""
    p = seg.pattern
    return re.compile(f"{p}(?:{_SEP}{p})*")


_START, _END = f"(?:^|(?<={_SEP}))", f"(?={_SEP}|$)"
_DATE_SEG = _seg(r"(?:19[0-9]{2}|20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])")
_LATE_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-(29|30|31)")
# 20260305 -> 2026-03-05, 2026/3/5 and 2026.3.5 -> 2026-3-5 -> 2026-03-05, done only with literal
# replacements (Python expands a template with groups match by match): whatever comes out as
# a plain date was one of the shapes reader._fast_date reads, and means the same date
_DIGIT_DATE = re.compile(r"(?:(?<=^[0-9]{4})|(?<=\x00[0-9]{4}))(?=[0-9]{4}(?:\x00|$))"
                         r"|(?:(?<=^[0-9]{6})|(?<=\x00[0-9]{6}))(?=[0-9]{2}(?:\x00|$))")
_DATE_SEPS = str.maketrans("/.", "--")
_PAD = re.compile(r"(?<=-)(?=[0-9](?:-|\x00|$))")
_ID_SEG = _seg(r"[0-9]{15}|[0-9]{17}[0-9X]")
_NUMBER_SEGS = {
    # no leading zeros: the converter reads "007" as 7, so such a cell is left to it
    "money_yuan": _seg(r"-?(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,4})?"),
    "money_wan": _seg(r"-?(?:0|[1-9][0-9]{0,7})(?:\.[0-9]{1,8})?"),
    "numeric": _seg(r"-?(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,6})?"),
    "integer": _seg(r"0|[1-9][0-9]{0,8}"),
}
# the column's own unit after a digit, and thousands separators between digits (the reader's
# converter drops both before reading the number)
_UNITS = {"money_yuan": re.compile("元(?<=[0-9]元)" + _END),   # the literal first: searched fast
          "money_wan": re.compile("万(?<=[0-9]万)元?" + _END)}
_COMMA = re.compile(r"(?<=[0-9]),(?=[0-9])")
_SPACE = re.compile(r"\s+")
_LEADING_QUOTES = re.compile(_START + "'+")
_EDGE_SPACE = re.compile(_START + r"\s+|\s+" + _END)
# text: stripped, and either all ASCII or starting with a CJK ideograph / ASCII letter or digit
_TEXT_SEG = _seg(r"(?=[0-9A-Za-z\u4e00-\u9fff])[^\x00\x01]*(?<!\s)|(?=[!-~])[\x02-\x7f]*(?<!\s)")
_CODE_BAD = re.compile(r"[\s'\\\x01]")
_LOWER = re.compile(r"[a-z]")
_MISS = object()
_STR, _NONE, _DATETIME, _DATE = str, type(None), dt.datetime, dt.date


def _texts(cells: list, kind: str) -> list:
    """The cells as str ("" for empty, _HOLE for a cell of another type). XLSX numbers are
    written as Python writes them in number columns, date cells as ISO dates in date columns."""
    types = set(map(type, cells))
    if types == {_STR}:
        return cells
    if types <= {_STR, _NONE}:
        return ["" if c is None else c for c in cells]
    if kind == "number":
        return [c if type(c) is _STR else "" if c is None else
                repr(c) if type(c) in (int, float) else _HOLE for c in cells]
    if kind == "date":
        return [c if type(c) is _STR else "" if c is None else
                c.date().isoformat() if type(c) is _DATETIME else
                c.isoformat() if type(c) is _DATE else _HOLE for c in cells]
    return [c if type(c) is _STR else "" if c is None else _HOLE for c in cells]


def _nulls(text: list) -> list:
    return [NULL if c == "" else c for c in text] if "" in text else text


class _ColumnCopy:
    """One mapped column of a file: its cells -> COPY texts, vectorised where it can be."""

    def __init__(self, col, conv):
        self.col, self.conv, self.type = col, conv, col.type
        t = self.type
        self.lookup = None
        if t == "enum":
            self.lookup = {k: copy_text(v) for k, v in enum_fast(col).items()}
        elif t == "bool_shi_fou":
            self.lookup = {"是": "t", "否": "f", "": NULL}
        self.pattern = re.compile(col.pattern) if t == "code" and col.pattern else None
        self.kind = "number" if t in _NUMBER_SEGS else "date" if t == "date" else "text"
        self.seg = {"date": _DATE_SEG, "id_number": _ID_SEG, "text": _TEXT_SEG,
                    **_NUMBER_SEGS}.get(t)
        self.full = _joined(self.seg) if self.seg is not None else None
        # columns whose values repeat (dates, codes): a bounded memo of each text's COPY text;
        # dropped for a column whose texts turn out mostly distinct (amounts, names), where
        # looking every cell up costs more than reading it again
        self.memo = {} if t in MEMO_TYPES else None
        self.memo_seen = self.memo_hits = 0
        self.holes = {} if t in MEMO_TYPES else None   # str cell -> converter's value or reason

    def vector(self, cells: list) -> list:
        """COPY text of each cell; None where only the converter can read the cell."""
        text = _texts(cells, self.kind)
        if self.lookup is not None:
            out = list(map(self.lookup.get, text, repeat(_MISS)))
            return [None if v is _MISS else v for v in out] if _MISS in out else out
        memo = self.memo
        if memo is None:
            return self._vector(text)
        # a cell's COPY text depends on its text alone: each distinct text is read once
        out = list(map(memo.get, text, repeat(_MISS)))
        misses = out.count(_MISS)
        self.memo_seen += len(out)
        self.memo_hits += len(out) - misses
        if self.memo_seen >= MEMO_TRIAL and self.memo_hits < MEMO_MIN_HITS * self.memo_seen \
                and self.kind != "date":   # a date read again costs several passes: kept
            self.memo = None
        if misses:
            new = list(dict.fromkeys(compress(text, [v is _MISS for v in out])))
            got = dict(zip(new, self._vector(new)))
            out = [got[c] if v is _MISS else v for v, c in zip(out, text)]
            if len(memo) + len(got) > MEMO_SIZE:
                memo.clear()
            memo.update(got)
        return out

    def _vector(self, text: list) -> list:
        n = len(text)
        joined = _SEP.join(text)
        if joined.count(_SEP) != n - 1:   # a NUL inside a cell
            return [None] * n
        if self.type == "code":
            return self._code(text, joined)
        before = joined
        joined = self._normalise(joined)
        if self.full.fullmatch(joined):
            segs = text if joined is before else joined.split(_SEP)
        else:
            segs = joined.split(_SEP)
            match = self.seg.fullmatch
            segs = [s if match(s) else None for s in segs]
        if joined is not before:   # a cell the normalising emptied is not an empty cell
            segs = [None if s == "" and t != "" else s for s, t in zip(segs, text)]
        if self.type == "date":
            bad = set()
            for m in _LATE_DAY.finditer(joined):
                try:
                    dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    bad.add(m.group(0))
            if bad:
                segs = [None if s in bad else s for s in segs]
        elif self.type == "text" and _NEEDS_ESCAPE.search(joined):
            segs = [s if s is None else copy_text(s) for s in segs]
        return _nulls(segs)

    def _normalise(self, joined: str) -> str:
        """What the reader's converter does to the common variants, on the whole column."""
        t = self.type
        if t == "date":
            if joined.count("-") != 2 * (joined.count(_SEP) + 1):
                joined = _DIGIT_DATE.sub("-", joined)
                if "/" in joined or "." in joined:
                    joined = joined.translate(_DATE_SEPS)
                joined = _PAD.sub("0", joined)
            return joined
        if t in _UNITS or t == "numeric":
            unit = _UNITS.get(t)
            if unit is not None and ("元" in joined or "万" in joined):
                joined = unit.sub("", joined)
            if "," in joined:
                joined = _COMMA.sub("", joined)
            return joined
        if t == "id_number":
            if not joined.isascii():
                joined = nz.nfkc(joined)
            if " " in joined or not joined.isascii() or _SPACE.search(joined):
                joined = _SPACE.sub("", joined)
            if "'" in joined:
                joined = _LEADING_QUOTES.sub("", joined)
            if "x" in joined:
                joined = joined.upper()
            return joined
        if t == "text":
            return _EDGE_SPACE.sub("", joined) if _EDGE_SPACE.search(joined) else joined
        return joined

    def _code(self, text: list, joined: str) -> list:
        upper, pattern = self.col.upper, self.pattern
        if joined.isascii() and not _CODE_BAD.search(joined) and not (upper and _LOWER.search(joined)) \
                and (pattern is None or all(map(pattern.fullmatch, filter(None, text)))):
            return _nulls(text)
        return _nulls([s if s.isascii() and not _CODE_BAD.search(s) and not (upper and _LOWER.search(s))
                       and (s == "" or pattern is None or pattern.fullmatch(s)) else None
                       for s in text])


@dataclass
class Chunk:
    """What a chunk of rows gives: COPY text of the rows loaded, and the rest."""
    text: str
    loaded: int
    rows_in: int
    rejects: list = field(default_factory=list)    # (line_no, payload, reason)
    warnings: list = field(default_factory=list)   # (line_no, column label, original, reason)


class _FilePlan:
    def __init__(self, header: _Header, plan: _RowPlan, n_names: int):
        self.header, self.plan, self.n = header, plan, n_names
        if plan.copies is None:   # the plan is shared by the files of one header layout
            plan.copies = [(i, _ColumnCopy(col, conv), col, label, nullable, identifying, special,
                            plan.slot[col.name],
                            plan.slot[col.id_number_column] if col.id_number_column else None)
                           for i, conv, col, label, nullable, identifying, special in plan.cells]
        self.columns = plan.copies
        self.need = max((i for i, *_ in plan.cells), default=-1) + 1


def copy_chunks(path: Path, mapping: Mapping, prefix: str,
                xlsx_max_mb: int = XLSX_MAX_UNPACKED_MB) -> Iterator[Chunk]:
    """COPY text (each line `prefix` + line number + the mapped columns + extra) of every data
    row of the file, CHUNK_ROWS rows or a few more at a time; BatchRefused as read_feed raises it."""
    scan = FeedScan(path, mapping, xlsx_max_mb)
    fplan: _FilePlan | None = None
    pending: list = []
    for block in scan.blocks():
        pending += block
        if len(pending) >= CHUNK_ROWS:
            if fplan is None:
                fplan = _FilePlan(scan.header, scan.plan, len(scan.names))
            yield _chunk(pending, fplan, prefix)
            pending = []
    if pending:
        if fplan is None:
            fplan = _FilePlan(scan.header, scan.plan, len(scan.names))
        yield _chunk(pending, fplan, prefix)


def _chunk(items: list, fplan: _FilePlan, prefix: str) -> Chunk:
    header = fplan.header
    recs = [rec for rec, reason in items if reason is None]
    problems: dict[int, list] = {}
    warned: dict[int, list] = {}
    extra_add: dict[int, dict] = {}
    out: list = [None] * fplan.n
    if recs:
        rows = [rec.cells for rec in recs]
        need = fplan.need
        if min(map(len, rows)) < need:   # XLSX rows lose their trailing empty cells: padded once
            rows = [r if len(r) >= need else r + [None] * (need - len(r)) for r in rows]
        for i, cc, col, label, nullable, identifying, special, slot, id_slot in fplan.columns:
            cells = list(map(itemgetter(i), rows))
            texts = cc.vector(cells)
            derived = texts
            if None in texts:
                derived = _holes(cells, texts, cc, col, label, identifying, special, id_slot,
                                 problems, warned, extra_add)
            if not nullable and NULL in texts:
                for r, text in enumerate(texts):
                    if text == NULL:
                        problems.setdefault(r, []).append(f"{label}为空（必填）")
            out[slot] = texts
            if id_slot is not None:
                out[id_slot] = derived
    n = len(recs)
    cols = [c if c is not None else repeat(NULL, n) for c in out]
    extras = _extras(recs, header, extra_add) if recs else []
    lines = map("\t".join, zip([f"{prefix}{rec.line_no}" for rec in recs], *cols, extras))
    if problems:
        lines = compress(lines, [r not in problems for r in range(n)])
    text = "\n".join(lines)
    rejects, warnings = [], []
    r = 0
    for rec, reason in items if problems or warned or n < len(items) else ():   # (a clean chunk: none)
        if reason is not None:
            rejects.append((rec.line_no, rec.payload, reason))
            continue
        if r in problems:
            rejects.append((rec.line_no, rec.payload, "；".join(problems[r])))
        elif r in warned:
            warnings.extend((rec.line_no, *w) for w in warned[r])
        r += 1
    loaded = n - len(problems)
    return Chunk(text + "\n" if loaded else "", loaded, len(items), rejects, warnings)


def _holes(cells, texts, cc, col, label, identifying, special, id_slot, problems, warned,
           extra_add):
    """The converter for the cells vector() could not read (as reader._typed_row does it);
    fills texts in place and returns the texts of the derived column (id_number_column)."""
    conv = cc.conv
    memo = cc.holes
    derived = list(texts) if id_slot is not None else texts
    for r, text in enumerate(texts):
        if text is not None:
            continue
        cell = cells[r]
        if memo is not None and type(cell) is str:   # a str cell reads the same every time
            known = memo.get(cell)
            if known is None:
                try:
                    known = (conv(cell), None)
                except nz.RowRejected as exc:
                    known = (None, str(exc))
                if len(memo) >= MEMO_SIZE:
                    memo.clear()
                memo[cell] = known
            value, reason = known
        else:
            try:
                value, reason = conv(cell), None
            except nz.RowRejected as exc:
                value, reason = None, str(exc)
        if reason is not None:
            if identifying:
                problems.setdefault(r, []).append(reason)
                texts[r] = derived[r] = ""   # never loaded (the row is rejected), nor "empty"
                continue
            warned.setdefault(r, []).append((label, nz.cell_text(cell), f"{reason}，已置空"))
            value = None
        if special:
            if col.type == "id_number" and value and len(value) == 20:
                if id_slot is not None:
                    derived[r] = value[:18]
                else:   # a disability number in an ID column: the ID is its first 18 chars
                    extra_add.setdefault(r, {})[f"{label}原值"] = value
                    value = value[:18]
            elif id_slot is not None:
                derived[r] = copy_text(value)
        texts[r] = copy_text(value)
    return derived


def _extras(recs: list, header: _Header, extra_add: dict) -> list:
    """The extra column of every row: unknown headers' cells and cells right of the header."""
    width = header.width
    if not header.extras and not extra_add and max(map(len, (r.cells for r in recs))) <= width:
        return repeat(NULL, len(recs))
    out = []
    is_empty, cell_text = nz.is_empty, nz.cell_text
    for r, rec in enumerate(recs):
        cells = rec.cells
        n = len(cells)
        extra = dict(extra_add.get(r, ()))
        for i, text in header.extras:
            if i < n and not is_empty(cells[i]):
                extra[text] = cell_text(cells[i])
        for i in range(width, n):   # XLSX cells right of the header
            if not is_empty(cells[i]):
                extra[f"第{i + 1}列"] = cell_text(cells[i])
        out.append(copy_text(json.dumps(extra, ensure_ascii=False)) if extra else NULL)
    return out
