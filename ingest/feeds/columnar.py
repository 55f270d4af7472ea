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
from ingest.feeds.reader import FeedScan, _Header, _RowPlan

CHUNK_ROWS = 1000
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


def _joined(pattern: str) -> re.Pattern:
    """A column of cells joined by _SEP, each cell empty or matching pattern."""
    return re.compile(f"(?:{pattern})?(?:{_SEP}(?:{pattern})?)*")


_DATE_COL = _joined(r"(?:19[0-9]{2}|20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])")
_LATE_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-(29|30|31)")
_ID_COL = _joined(r"[0-9]{15}|[0-9]{17}[0-9X]")
_NUMBER_COLS = {
    "money_yuan": _joined(r"-?[0-9]{1,12}(?:\.[0-9]{1,4})?"),
    "money_wan": _joined(r"-?[0-9]{1,8}(?:\.[0-9]{1,8})?"),
    "numeric": _joined(r"-?[0-9]{1,12}(?:\.[0-9]{1,6})?"),
    "integer": _joined(r"[0-9]{1,9}"),
}
# text: stripped, and either all ASCII or starting with a CJK ideograph / ASCII letter or digit
_TEXT_COL = _joined(r"(?=[0-9A-Za-z\u4e00-\u9fff])[^\x00]*(?<!\s)|(?=[!-~])[\x01-\x7f]*(?<!\s)")
_CODE_BAD = re.compile(r"[\s'\\]")
_LOWER = re.compile(r"[a-z]")
_MISS = object()
_STR, _NONE = str, type(None)
_NUMBER_CELL_TYPES = {str, int, float, _NONE}


def _as_text(cells: list, numbers: bool) -> list | None:
    """The cells as str ("" for empty), or None if some cell is of another type. Numbers
    (XLSX int/float cells) are written as Python writes them when `numbers`."""
    types = set(map(type, cells))
    if types == {_STR}:
        return cells
    if types <= {_STR, _NONE}:
        return ["" if c is None else c for c in cells]
    if numbers and types <= _NUMBER_CELL_TYPES:
        return [c if type(c) is _STR else "" if c is None else repr(c) for c in cells]
    return None


def _fits(pattern: re.Pattern, text: list) -> str | None:
    joined = _SEP.join(text)
    if joined.count(_SEP) != len(text) - 1 or not pattern.fullmatch(joined):
        return None
    return joined


def _nulls(text: list) -> list:
    return [c or NULL for c in text] if "" in text else text


class _ColumnCopy:
    """One mapped column of a file: its cells -> COPY texts, vectorised when it can be."""

    def __init__(self, col, conv):
        self.col, self.conv, self.type = col, conv, col.type
        self.lookup = None
        if self.type == "enum":
            self.lookup = {k: copy_text(v) for k, v in _enum_fast(col).items()}
        elif self.type == "bool_shi_fou":
            self.lookup = {"是": "t", "否": "f", "": NULL}
        self.pattern = re.compile(col.pattern) if self.type == "code" and col.pattern else None

    def vector(self, cells: list) -> list | None:
        """COPY texts of every cell, or None when some cell needs the converter."""
        t = self.type
        if t == "date":
            text = _as_text(cells, False)
            if text is None:
                return None
            joined = _fits(_DATE_COL, text)
            if joined is None:
                return None
            for m in _LATE_DAY.finditer(joined):
                try:
                    dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    return None
            return _nulls(text)
        if t in _NUMBER_COLS:
            text = _as_text(cells, True)
            if text is None or _fits(_NUMBER_COLS[t], text) is None:
                return None
            return _nulls(text)
        if t == "id_number":
            text = _as_text(cells, False)
            if text is None or _fits(_ID_COL, text) is None:
                return None
            return _nulls(text)
        if t == "text":
            text = _as_text(cells, False)
            if text is None:
                return None
            joined = _fits(_TEXT_COL, text)
            if joined is None:
                return None
            if _NEEDS_ESCAPE.search(joined):
                text = [copy_text(c) for c in text]
            return _nulls(text)
        if self.lookup is not None:
            text = _as_text(cells, False)
            if text is None:
                return None
            out = list(map(self.lookup.get, text, repeat(_MISS)))
            return None if _MISS in out else out
        if t == "code":
            text = _as_text(cells, False)
            if text is None:
                return None
            joined = _SEP.join(text)
            if joined.count(_SEP) != len(text) - 1 or not joined.isascii() or \
                    _CODE_BAD.search(joined) or (self.col.upper and _LOWER.search(joined)):
                return None
            if self.pattern is not None and not all(map(self.pattern.fullmatch, filter(None, text))):
                return None
            return _nulls(text)
        return None


def _enum_fast(col) -> dict:
    """Cells an enum column reads without normalising: the value it stands for."""
    fast = {}
    for text in (*col.values, *col.aliases):
        if nz.squeeze(text) == text:
            target = col.aliases.get(text, text)
            if target in col.values:
                fast[text] = target
    fast[""] = None
    return fast


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
        self.columns = [(i, _ColumnCopy(col, conv), col, label, nullable, identifying, special,
                         plan.slot[col.name],
                         plan.slot[col.id_number_column] if col.id_number_column else None)
                        for i, conv, col, label, nullable, identifying, special in plan.cells]
        self.need = max((i for i, *_ in plan.cells), default=-1) + 1


def copy_chunks(path: Path, mapping: Mapping, prefix: str) -> Iterator[Chunk]:
    """COPY text (each line `prefix` + line number + the mapped columns + extra) of every data
    row of the file, CHUNK_ROWS rows at a time; BatchRefused as read_feed raises it."""
    scan = FeedScan(path, mapping)
    fplan: _FilePlan | None = None
    pending: list = []
    for item in scan:
        pending.append(item)
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
        short = min(map(len, rows)) < fplan.need
        for i, cc, col, label, nullable, identifying, special, slot, id_slot in fplan.columns:
            cells = [r[i] if i < len(r) else None for r in rows] if short else \
                list(map(itemgetter(i), rows))
            texts = cc.vector(cells)
            derived = texts
            if texts is None:
                texts, derived = _by_cell(cells, cc, col, label, identifying, special, id_slot,
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
    for rec, reason in items:
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


def _by_cell(cells, cc, col, label, identifying, special, id_slot, problems, warned, extra_add):
    """The converter for every cell of a column (as reader._typed_row does it)."""
    conv = cc.conv
    texts, derived = [], [] if id_slot is not None else None
    for r, cell in enumerate(cells):
        try:
            value = conv(cell)
        except nz.RowRejected as exc:
            if identifying:
                problems.setdefault(r, []).append(str(exc))
                texts.append("")   # never loaded (the row is rejected), and not "empty" either
                if derived is not None:
                    derived.append("")
                continue
            warned.setdefault(r, []).append((label, nz.cell_text(cell), f"{exc}，已置空"))
            value = None
        if special:
            if col.type == "id_number" and value and len(value) == 20:
                if id_slot is not None:
                    derived.append(value[:18])   # 18 ASCII characters: COPY text as it is
                else:   # a disability number in an ID column: the ID is its first 18 chars
                    extra_add.setdefault(r, {})[f"{label}原值"] = value
                    value = value[:18]
            elif id_slot is not None:
                derived.append(copy_text(value))
        texts.append(copy_text(value))
    return texts, derived


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
