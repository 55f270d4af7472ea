"""Stream the data rows of one feed file (CSV or XLSX) with bounded memory.

read_feed(path, mapping) yields FeedRow objects, one per data row, each either typed
values ready for COPY or a reason to reject it. Title rows above the header, blank rows,
repeated header rows and totals rows (合计/总计) are skipped and not counted as data.
A file that cannot be trusted as a whole raises BatchRefused (Chinese message).
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import itertools
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ingest.batches import BatchRefused
from ingest.feeds import normalize as nz
from ingest.feeds.mapping import Column, Mapping

HEADER_SCAN_ROWS = 30          # the header must appear within this many rows
TOTAL_MARKS = {"合计", "总计", "小计"}
CSV_DELIMITERS = (",", "\t", ";", "|")
ZIP_MAGIC = b"PK\x03\x04"
CHUNK = 1 << 20
MAX_CELL_CHARS = 131_072       # a longer cell is not data: its row is rejected
MAX_CSV_FIELD = 1 << 20        # beyond this the csv module stops (runaway quote): file refused
MAX_PAYLOAD_CHARS = 200_000    # original text kept for a rejected row
XLSX_MAX_UNPACKED_MB = 256     # all parts of a workbook, decompressed (zip-bomb guard);
                               # (Settings.feed_xlsx_max_unpacked_mb overrides it)
XLSX_MAX_SHARED_STRINGS = 64 << 20   # openpyxl holds the shared strings in memory
# calamine holds a whole sheet in memory (about 1.6 times its XML: 130 MB for the 80 MB sheet of
# a city's 教育 file); a workbook with a larger sheet is streamed by openpyxl instead, about 30
# times slower but in memory that does not grow with the file
XLSX_CALAMINE_MAX_SHEET_MB = 128

csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_FIELD))


class FeedRow:
    """One data row: typed values ready for COPY, or the reason it is rejected."""

    __slots__ = ("line_no", "_payload", "_cells", "values", "reason", "warnings")

    def __init__(self, line_no: int, payload: str | None, values: list | None = None,
                 reason: str | None = None, warnings: list | None = None,
                 cells: list | None = None):
        self.line_no = line_no          # physical CSV line / XLSX sheet row (1-based)
        self._payload = payload
        self._cells = cells             # XLSX: the payload is built from them when asked for
        self.values = values            # typed values in Mapping.table_columns() order, then extra
        self.reason = reason            # why the row is rejected (values is None then)
        # fields that could not be read and were stored as NULL: (column label, original, reason)
        self.warnings = warnings if warnings is not None else []

    @property
    def payload(self) -> str:
        """Original text: the raw CSV line(s), or XLSX cells as JSON."""
        if self._payload is None:
            self._payload = _xlsx_payload(self._cells or [])
        return self._payload


class _Record:
    __slots__ = ("line_no", "_payload", "cells", "is_last", "ends_with_newline", "open_quote")

    def __init__(self, line_no: int, payload: str | None, cells: list, is_last: bool = False,
                 ends_with_newline: bool = True, open_quote: bool = False):
        self.line_no = line_no
        self._payload = payload   # None for XLSX: JSON of the cells, built only when needed
        self.cells = cells
        self.is_last = is_last
        self.ends_with_newline = ends_with_newline
        self.open_quote = open_quote

    @property
    def payload(self) -> str:
        if self._payload is None:
            self._payload = _xlsx_payload(self.cells)
        return self._payload


# --- format and encoding ---------------------------------------------------------------------

def detect_encoding(path: Path) -> tuple[str, int]:
    """(encoding, bytes to skip): a BOM first; otherwise UTF-8 if the whole file decodes as
    UTF-8, else GB18030. A UTF-8 BOM in front of GB18030 bytes (an editor added it) is
    skipped and the rest read as GB18030. The whole file is decoded once here, so reading
    it later cannot fail half-way."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates, offset = ("utf-16",), 0      # Excel's "Unicode text" export
    else:
        candidates = ("utf-8", "gb18030")
        offset = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                while chunk := fh.read(CHUNK):
                    text = decoder.decode(chunk)
                    if "\x00" in text:
                        raise BatchRefused("文件含有二进制内容（NUL 字节），不是 CSV 文本文件，请重新导出为 CSV")
        except UnicodeError:
            continue
        try:
            decoder.decode(b"", final=True)
        except UnicodeError:   # everything decoded but the last, half-written character
            raise BatchRefused("文件末尾被截断（最后一个字符不完整），文件不完整，请重新传送") from None
        return encoding, offset
    if candidates == ("utf-16",):
        raise BatchRefused("文件以 UTF-16 标记开头，但内容不是有效的 UTF-16 文本，请以 UTF-8 或 GB18030 编码重新导出")
    raise BatchRefused("文件编码无法识别（既不是 UTF-8 也不是 GB18030），请以 UTF-8 或 GB18030 编码重新导出")


def _open_text(path: Path, encoding: str, offset: int):
    fh = open(path, "rb")
    fh.seek(offset)
    return io.TextIOWrapper(fh, encoding=encoding, newline="")


def _check_format(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(8)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        if not head:
            raise BatchRefused("XLSX 文件为空（0 字节），请重新导出")
        if not head.startswith(ZIP_MAGIC):
            raise BatchRefused("文件扩展名是 .xlsx，但内容不是 Excel 工作簿（可能是旧版 .xls、HTML 或 CSV 改了扩展名），请另存为 .xlsx 后重新报送")
        return "xlsx"
    if suffix == ".csv":
        if head.startswith(ZIP_MAGIC):
            raise BatchRefused("文件扩展名是 .csv，但内容是 Excel 工作簿，请另存为 CSV 或改扩展名为 .xlsx 后重新报送")
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise BatchRefused("文件扩展名是 .csv，但内容是旧版 Excel（.xls），请另存为 CSV 后重新报送")
        return "csv"
    raise BatchRefused(f"不支持的文件类型“{path.suffix}”，只接收 .csv 和 .xlsx")


# --- CSV -------------------------------------------------------------------------------------

def _sniff_delimiter(path: Path, encoding: str, offset: int, mapping: Mapping) -> str:
    """The delimiter that makes a header row appear in the first lines (comma by default)."""
    with _open_text(path, encoding, offset) as fh:
        sample = [line[:MAX_CELL_CHARS] for _, line in zip(range(HEADER_SCAN_ROWS), fh)]
    best, best_hits = ",", 0
    text = "".join(sample)
    absent: list | None = None   # a delimiter not in the sample splits nothing: one result for all
    for delim in CSV_DELIMITERS:
        if delim not in text and absent is not None:
            row_hits = absent
        else:
            row_hits = []
            try:
                for cells in csv.reader(sample, delimiter=delim):
                    row_hits.append(len({c.name for c in map(mapping.find_column, cells) if c}))
            except csv.Error:   # a broken quote in the sample: the real read reports it
                pass
            if delim not in text:
                absent = row_hits
        for hits in row_hits:
            if hits > best_hits:
                best, best_hits = delim, hits
    return best


def _csv_records(path: Path, mapping: Mapping) -> Iterator[list[_Record]]:
    encoding, offset = detect_encoding(path)
    delimiter = _sniff_delimiter(path, encoding, offset, mapping)
    try:
        yield from _csv_stream(path, encoding, offset, delimiter)
    except UnicodeDecodeError:   # utf-16 is not checked up front
        raise BatchRefused(f"文件内容不是有效的 {encoding} 编码文本，请以 UTF-8 或 GB18030 编码重新导出") from None


CSV_BLOCK = 1 << 16   # characters of whole lines read at a time
RECORD_BLOCK = 1000   # records per block where lines are not read a block at a time (XLSX)


def _csv_stream(path: Path, encoding: str, offset: int, delimiter: str) -> Iterator[list[_Record]]:
    """Blocks of records; the file's last record comes alone, in the last block, marked."""
    with _open_text(path, encoding, offset) as fh:
        pending: _Record | None = None
        pending_raw = ""
        for starts, raws, rows in _csv_blocks(fh, delimiter):
            recs = [_Record(start, raw.rstrip("\r\n"), cells)
                    for start, raw, cells in zip(starts, raws, rows)]
            if pending is not None:
                recs.insert(0, pending)
            pending, pending_raw = recs.pop(), raws[-1]
            if recs:
                yield recs
        if pending is not None:
            pending.is_last = True
            pending.ends_with_newline = pending_raw.endswith(("\n", "\r"))
            # an unterminated quoted field swallows everything up to the end of file
            pending.open_quote = pending_raw.count('"') % 2 == 1
            yield [pending]


def _csv_lines(fh, delimiter: str) -> Iterator[tuple[int, str, list]]:
    """(first physical line, raw text, cells) of every record (see _csv_blocks)."""
    for starts, raws, rows in _csv_blocks(fh, delimiter):
        yield from zip(starts, raws, rows)


def _csv_blocks(fh, delimiter: str) -> Iterator[tuple]:
    """(first physical lines, raw texts, cells) of the records of a block at a time. A block
    of lines the csv module splits into as many records as it has lines is one record per
    line, split at C speed: a record running over several lines would make fewer, except one
    whose quote opens on the block's last line (the module ends it at the end of the block),
    so that line must close its quoted fields itself. From the first other block on, the csv
    module is fed line by line to know which lines make up each record."""
    done = 0   # physical lines read so far
    one_line_records = _one_line_records(delimiter)
    while True:
        block = fh.readlines(CSV_BLOCK)
        if not block:
            return
        # (the pattern over the last line only: over the whole block it cost 0.5 s of a
        # city's 5.9 s of CSV)
        if '"' not in block[-1] or one_line_records(block[-1]):
            try:
                rows = list(csv.reader(block, delimiter=delimiter))
            except csv.Error:
                rows = None
            if rows is not None and len(rows) == len(block):
                yield range(done + 1, done + len(block) + 1), block, rows
                done += len(block)
                continue
        for batch in _batched(_csv_records_by_line(itertools.chain(block, fh), delimiter, done)):
            yield tuple(zip(*batch))
        return


def _batched(items) -> Iterator[list]:
    items = iter(items)
    while batch := list(itertools.islice(items, RECORD_BLOCK)):
        yield batch


@functools.lru_cache(maxsize=None)
def _one_line_records(delimiter: str):
    """fullmatch of lines whose every quoted field opens at the field's start and closes on
    the same line, right before a delimiter or the line's end: each such line is a whole
    record (_csv_lines asks it of a block's last line)."""
    d = re.escape(delimiter)
    cell = f'(?:"(?:[^"\r\n]|"")*"|[^"{d}\r\n]*)'
    row = f"{cell}(?:{d}{cell})*"
    return re.compile(f"(?:{row}(?:\r\n|\n|\r))*(?:{row})?").fullmatch


def _csv_records_by_line(lines_in, delimiter: str, done: int) -> Iterator[tuple[int, str, list]]:
    lines: list[str] = []   # the physical lines of the record being read

    def feed():
        for line in lines_in:
            lines.append(line)
            yield line

    reader = csv.reader(feed(), delimiter=delimiter)
    while True:
        lines.clear()
        start = done + reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BatchRefused(f"CSV 格式错误（第{start}行附近：{_csv_error_text(exc)}），"
                               f"请检查引号和分隔符后重新导出") from None
        yield start, lines[0] if len(lines) == 1 else "".join(lines), cells


def _csv_error_text(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"某个字段超过 {MAX_CSV_FIELD} 个字符，多半是引号没有闭合"
    if "new-line character seen in unquoted field" in text:
        return "未加引号的字段中出现了换行符"
    if "NUL" in text:
        return "含有 NUL 字节"
    return "引号或分隔符使用不当"


# --- XLSX ------------------------------------------------------------------------------------

_CORRUPT_XLSX = "XLSX 文件已损坏或不完整（无法解压），可能传输中断，请重新导出并重新传送"


def _open_workbook(path: Path):
    import openpyxl  # imported here: CSV-only runs do not pay for it

    if not zipfile.is_zipfile(path):
        raise BatchRefused(_CORRUPT_XLSX)
    try:   # sizes already checked by _xlsx_records, its only way in
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:   # BadZipFile, KeyError (missing part), XML errors ...
        raise BatchRefused(f"{_CORRUPT_XLSX}（{type(exc).__name__}）") from None


def _check_unpacked_size(path: Path, limit_mb: int = XLSX_MAX_UNPACKED_MB) -> int:
    """Refuse a workbook that would decompress to more than the limits (a zip bomb, or a
    sheet padded with millions of styled empty cells). The sizes are the ones the zip
    declares; zipfile never inflates a part past its declared size. Returns the largest
    worksheet's size in bytes."""
    try:
        with zipfile.ZipFile(path) as zf:
            parts = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise BatchRefused(f"{_CORRUPT_XLSX}（{type(exc).__name__}）") from None
    total = sum(p.file_size for p in parts)
    shared = sum(p.file_size for p in parts if p.filename.lower().endswith("sharedstrings.xml"))
    if total > limit_mb << 20 or shared > min(XLSX_MAX_SHARED_STRINGS, limit_mb << 20):
        raise BatchRefused(
            f"XLSX 文件解压后过大（约 {total / (1 << 20):.1f} MB，上限 {limit_mb} MB），"
            f"可能含有大量空白格式行或已损坏；请删除多余的行列后另存，或导出为 CSV 后重新报送")
    return max((p.file_size for p in parts if p.filename.lower().startswith("xl/worksheets/")), default=0)


def _xlsx_payload(cells: list) -> str:
    return json.dumps([nz.cell_text(c) if c is not None else None for c in cells], ensure_ascii=False)


def _xlsx_rows(ws) -> Iterator[tuple[int, list]]:
    ws.reset_dimensions()   # some exporters write a wrong <dimension>; read what is there
    try:
        for row_no, row in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = list(row)
            while cells and cells[-1] is None:
                cells.pop()
            yield row_no, cells
    except BatchRefused:
        raise
    except Exception as exc:   # a damaged sheet part shows up only while streaming it
        raise BatchRefused(f"{_CORRUPT_XLSX}（{type(exc).__name__}）") from None


def _xlsx_records(path: Path, mapping: Mapping, epoch_out: list,
                  limit_mb: int = XLSX_MAX_UNPACKED_MB) -> Iterator[list[_Record]]:
    """Blocks of rows of the first sheet that has a header row (a cover sheet before it is skipped).

    Read with calamine (compiled, ~30x faster than openpyxl) up to XLSX_CALAMINE_MAX_SHEET_MB
    a sheet; a larger workbook, or one calamine cannot read, is read with openpyxl, which
    streams and refuses a damaged workbook with a Chinese reason."""
    if not zipfile.is_zipfile(path):
        raise BatchRefused(_CORRUPT_XLSX)
    largest_sheet = _check_unpacked_size(path, limit_mb)
    rows = (_calamine_sheet_rows(path, mapping)
            if largest_sheet <= XLSX_CALAMINE_MAX_SHEET_MB << 20 else None)
    if rows is None:
        yield from _batched(_openpyxl_records(path, mapping, epoch_out))
        return
    epoch_out.append(_workbook_epoch(path))
    yield from _batched(_Record(row_no, None, cells) for row_no, cells in rows)


def _calamine_sheet_rows(path: Path, mapping: Mapping):
    """(row number, cells) of the chosen sheet, streamed, cells as openpyxl gives them (None
    for empty, int for a whole number); None if calamine cannot read the workbook."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    try:
        wb = CalamineWorkbook.from_path(str(path))
        try:
            indexes = [i for i, meta in enumerate(wb.sheets_metadata)
                       if meta.typ == SheetTypeEnum.WorkSheet]
            first = None
            for i in indexes:
                sheet = wb.get_sheet_by_index(i)
                if first is None:
                    first = sheet
                for row_no, cells in _calamine_rows(sheet):
                    if row_no > HEADER_SCAN_ROWS:
                        break
                    if _header_hits(cells, mapping) >= mapping.header_threshold:
                        return _calamine_rows(sheet)
            if first is None:
                raise BatchRefused("XLSX 文件中没有工作表")
            return _calamine_rows(first)
        finally:
            wb.close()   # the sheets already read stay readable
    except BatchRefused:
        raise
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException:   # CalamineError, XmlError, ZipError, a Rust panic: try openpyxl
        return None


def _calamine_rows(sheet) -> Iterator[tuple[int, list]]:
    start = sheet.start
    if start is None:
        return
    first_col = start[1]   # rows are given from the first, columns from the first used one
    pad = [None] * first_col
    for row_no, row in enumerate(sheet.iter_rows(), start=1):
        # "" -> None; a whole float -> int, as openpyxl reads "42" (IDs above 1e15 stay floats:
        # their digits are lost)
        cells = [None if c == "" and type(c) is str else
                 int(c) if type(c) is float and c.is_integer() and -1e15 < c < 1e15 else c
                 for c in row]
        if first_col:
            cells = pad + cells
        while cells and cells[-1] is None:
            cells.pop()
        yield row_no, cells


_DATE1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=\"(?:1|true)\"")


def _workbook_epoch(path: Path) -> dt.datetime:
    """The workbook's date system (serial numbers in text/number cells use it)."""
    try:
        with zipfile.ZipFile(path) as zf:
            with zf.open("xl/workbook.xml") as fh:
                head = fh.read(1 << 16)
    except Exception:   # unreadable: calamine read it, so the default system is the guess
        return nz.EXCEL_EPOCH
    return dt.datetime(1904, 1, 1) if _DATE1904.search(head) else nz.EXCEL_EPOCH


def _openpyxl_records(path: Path, mapping: Mapping, epoch_out: list) -> Iterator[_Record]:
    wb = _open_workbook(path)
    try:
        epoch_out.append(getattr(wb, "epoch", nz.EXCEL_EPOCH))
        chosen = None
        for ws in wb.worksheets:
            for row_no, cells in _xlsx_rows(ws):
                if row_no > HEADER_SCAN_ROWS:
                    break
                if _header_hits(cells, mapping) >= mapping.header_threshold:
                    chosen = ws
                    break
            if chosen is not None:
                break
        ws = chosen or (wb.worksheets[0] if wb.worksheets else None)
        if ws is None:
            raise BatchRefused("XLSX 文件中没有工作表")
        for row_no, cells in _xlsx_rows(ws):
            yield _Record(row_no, None, cells)
    finally:
        wb.close()


# --- header and junk rows --------------------------------------------------------------------

def _header_hits(cells: list, mapping: Mapping) -> int:
    return len({c.name for c in map(mapping.find_column, cells) if c is not None})


def _is_blank(cells: list) -> bool:
    for c in cells:   # the first non-empty cell decides; plain ASCII without normalising
        if c is None or c == "":
            continue
        if type(c) is not str:
            return False
        if c.isascii():
            if c.strip():
                return False
        elif "\u4e00" <= c[0] <= "\u9fff" or not nz.is_empty(c):   # NFKC keeps an ideograph
            return False
    return True


def _keeps_first(c: str) -> bool:
    """Whether c starts with a character its header key starts with too, as NFKC gives it: a
    CJK ideograph or a full-width digit (nothing composes with them, nothing strips them)."""
    return "\u4e00" <= c[:1] <= "\u9fff" or "\uff10" <= c[:1] <= "\uff19"


def _is_total(cells: list) -> bool:
    return any(isinstance(c, str) and "计" in c and nz.header_key(c) in TOTAL_MARKS for c in cells)


@dataclass
class _Header:
    positions: list[tuple[int, Column]]   # cell index -> mapped column
    extras: list[tuple[int, str]]         # cell index -> original header text (unknown column)
    width: int


def _resolve_header(cells: list, mapping: Mapping) -> _Header:
    positions, extras, seen = [], [], set()
    for i, cell in enumerate(cells):
        if nz.is_empty(cell):
            continue
        col = mapping.find_column(cell)
        if col is not None and col.name not in seen:
            seen.add(col.name)
            positions.append((i, col))
        else:   # unknown, or a second column for the same field: keep it, in extra
            text = nz.nfkc(str(cell)).strip()
            key = text if text not in dict(extras).values() else f"{text}#{i + 1}"
            extras.append((i, key))
    missing = [c.headers[0] for c in mapping.required if c.name not in seen]
    if missing:
        raise BatchRefused(
            f"缺少必需的列：{'、'.join(missing)}。请让{mapping.department}按约定表头重新导出，"
            f"或在映射文件 mappings/{mapping.folder}.yml 中补充该列的表头写法")
    return _Header(positions, extras, len(cells))


# --- rows to typed values --------------------------------------------------------------------

def _convert(cell, col: Column, mapping: Mapping, epoch: dt.datetime):
    label = col.label
    t = col.type
    if t == "text":
        return nz.parse_text(cell)
    if t == "code":
        return nz.parse_code(cell, label, col.pattern, col.pattern_hint, col.upper)
    if t == "id_number":
        return nz.parse_id_number(cell, label, mapping.department)
    if t == "date":
        return nz.parse_date(cell, label, epoch)
    if t == "money_yuan":
        return nz.parse_money(cell, label, "yuan")
    if t == "money_wan":
        return nz.parse_money(cell, label, "wan")
    if t == "integer":
        return nz.parse_integer(cell, label, col.units)
    if t == "numeric":
        return nz.parse_numeric(cell, label, col.units)
    if t == "enum":
        return nz.parse_enum(cell, label, col.values, col.aliases)
    if t == "bool_shi_fou":
        return nz.parse_shi_fou(cell, label)
    raise AssertionError(t)


# Fast paths: each handles the common clean cell exactly as _convert would, and hands
# anything else to _convert (the general parser, with its reasons).
_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,4})?")      # under 1e12, <= 4 places
_PLAIN_WAN = re.compile(r"-?[0-9]{1,8}(?:\.[0-9]{1,8})?")           # under 1e8 (万元), <= 8 places
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,6})?")
_MIN_DATE, _MAX_DATE = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
_DATE, _DATETIME = dt.date, dt.datetime


def _surely_not_empty(text: str) -> bool:
    """A stripped non-ASCII cell that nfkc/squeeze certainly leaves non-empty."""
    c = text[0]
    return "\u4e00" <= c <= "\u9fff" or (c.isascii() and c.isalnum())


_YMD_SEP = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})")
_YMD_CN = re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日?")
_YMD_DIGITS = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")


def _fast_date(cell: str):
    """A plainly written date (what parse_date reads the same way), else None."""
    m = _YMD_SEP.fullmatch(cell) or _YMD_DIGITS.fullmatch(cell) or _YMD_CN.fullmatch(cell)
    if m is None:
        return None
    try:
        value = _DATE(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return value if _MIN_DATE <= value <= _MAX_DATE else None


def enum_fast(col: Column) -> dict:
    """Cells an enum column reads without normalising: the value it stands for."""
    fast = {}
    for text in (*col.values, *col.aliases):
        if nz.squeeze(text) == text:
            target = col.aliases.get(text, text)
            if target in col.values:
                fast[text] = target
    fast[""] = None
    return fast


def _converter(col: Column, mapping: Mapping, epoch: dt.datetime):
    """cell -> typed value (or RowRejected), for one column of one file."""
    def general(cell):
        return _convert(cell, col, mapping, epoch)

    t = col.type
    if t == "text":
        def conv(cell):
            if type(cell) is str:
                text = cell.strip()
                if not text:
                    return None
                if text.isascii() or _surely_not_empty(text):
                    return text
            elif cell is None:
                return None
            return general(cell)
    elif t == "code":
        pattern = re.compile(col.pattern) if col.pattern else None
        upper = col.upper

        def conv(cell):
            if type(cell) is str and cell.isascii():
                text = "".join(cell.split()).lstrip("'")
                if text:
                    if upper:
                        text = text.upper()
                    if pattern is None or pattern.fullmatch(text):
                        return text
            elif cell is None:
                return None
            return general(cell)
    elif t == "id_number":
        id_shape, squeeze = nz._ID.fullmatch, nz.squeeze

        def conv(cell):
            if type(cell) is str:
                if not cell:
                    return None
                text = ("".join(cell.split()) if cell.isascii() else squeeze(cell)).lstrip("'").upper()
                if id_shape(text):
                    return text
            elif cell is None:
                return None
            return general(cell)
    elif t == "date":
        def conv(cell):
            tc = type(cell)
            if tc is str:
                if not cell:
                    return None
                if len(cell) == 10 and cell[4] == "-" and cell[7] == "-" and cell.isascii():
                    y, m, d = cell[:4], cell[5:7], cell[8:]
                    if y.isdigit() and m.isdigit() and d.isdigit():
                        try:
                            value = _DATE(int(y), int(m), int(d))
                        except ValueError:
                            return general(cell)
                        if _MIN_DATE <= value <= _MAX_DATE:
                            return value
                value = _fast_date(cell)
                if value is not None:
                    return value
            elif tc is _DATETIME:
                value = cell.date()
                if _MIN_DATE <= value <= _MAX_DATE:
                    return value
            elif tc is _DATE:
                if _MIN_DATE <= cell <= _MAX_DATE:
                    return cell
            elif cell is None:
                return None
            return general(cell)
    elif t in ("money_yuan", "money_wan", "numeric"):
        plain = {"money_yuan": _PLAIN_DECIMAL, "money_wan": _PLAIN_WAN,
                 "numeric": _PLAIN_NUMBER}[t].fullmatch
        suffix = {"money_yuan": ("元",), "money_wan": ("万元", "万")}.get(t, ())
        Decimal = nz.Decimal

        def conv(cell):
            if type(cell) is str:
                if not cell:
                    return None
                if plain(cell):
                    return Decimal(cell)
                text = cell
                for unit in suffix:   # the column's own unit written out
                    if text.endswith(unit):
                        text = text[:-len(unit)]
                        break
                if "," in text:
                    text = text.replace(",", "")
                if plain(text):
                    return Decimal(text)
            elif cell is None:
                return None
            return general(cell)
    elif t == "integer":
        def conv(cell):
            if type(cell) is str:
                if not cell:
                    return None
                if cell.isdigit() and len(cell) <= 9 and cell.isascii():
                    return int(cell)
            elif type(cell) is int:
                if -nz.INT4_MAX <= cell <= nz.INT4_MAX:
                    return cell
            elif cell is None:
                return None
            return general(cell)
    elif t == "enum":
        lookup = enum_fast(col).get

        def conv(cell):
            if type(cell) is str:
                value = lookup(cell, lookup)
                if value is not lookup:
                    return value
            elif cell is None:
                return None
            return general(cell)
    elif t == "bool_shi_fou":
        fast = {"是": True, "否": False, "": None}

        def conv(cell):
            if type(cell) is str:
                value = fast.get(cell, fast)
                if value is not fast:
                    return value
            elif cell is None:
                return None
            return general(cell)
    else:
        conv = general
    return conv


@dataclass
class _RowPlan:
    """Per file: what each mapped cell becomes, compiled once from the header."""
    cells: list           # (cell index, converter, column, label, nullable, identifying, special)
    n: int                # len(names)
    slot: dict            # column name -> position in names
    copies: list | None = None   # columnar.py's compiled columns, built once per plan


def _row_plan(header: _Header, mapping: Mapping, epoch, names: list[str]) -> _RowPlan:
    """Compiled once per mapping, header layout and date system: the day's files of a folder
    share their header, and compiling the converters costs more than a small file's rows."""
    key = (tuple((i, col.name) for i, col in header.positions), epoch, tuple(names))
    cache = mapping.compiled
    plan = cache.get(key)
    if plan is None:
        identifying = mapping.identifying
        cells = [(i, _converter(col, mapping, epoch), col, col.label, col.nullable,
                  col.name in identifying, col.type == "id_number" or bool(col.id_number_column))
                 for i, col in header.positions]
        plan = cache[key] = _RowPlan(cells, len(names), {name: i for i, name in enumerate(names)})
    return plan


def _typed_row(cells: list, header: _Header, plan: _RowPlan, warnings: list) -> list:
    """Values in Mapping.table_columns() order followed by the extra dict; or RowRejected.

    An unreadable value of an identifying column rejects the row; any other unreadable
    value becomes NULL and is appended to `warnings` as (label, original text, reason)."""
    values: list = [None] * plan.n
    slot = plan.slot
    extra: dict[str, object] = {}
    problems: list[str] = []
    width = len(cells)
    for i, conv, col, label, nullable, identifying, special in plan.cells:
        cell = cells[i] if i < width else None
        try:
            value = conv(cell)
        except nz.RowRejected as exc:
            if identifying:
                problems.append(str(exc))
                continue
            warnings.append((label, nz.cell_text(cell), f"{exc}，已置空"))
            value = None
        if value is None and not nullable:
            problems.append(f"{label}为空（必填）")
        if special:
            if col.type == "id_number" and value and len(value) == 20:
                if col.id_number_column:
                    values[slot[col.id_number_column]] = value[:18]
                else:   # a disability number in an ID column: the ID is its first 18 chars
                    extra[f"{label}原值"] = value
                    value = value[:18]
            elif col.id_number_column:
                values[slot[col.id_number_column]] = value
        values[slot[col.name]] = value
    if problems:
        raise nz.RowRejected("；".join(problems))
    for i, text in header.extras:
        if i < width and not nz.is_empty(cells[i]):
            extra[text] = nz.cell_text(cells[i])
    for i in range(header.width, width):   # XLSX cells right of the header
        if not nz.is_empty(cells[i]):
            extra[f"第{i + 1}列"] = nz.cell_text(cells[i])
    values.append(json.dumps(extra, ensure_ascii=False) if extra else None)
    return values


def _too_long(cells: list) -> str | None:
    if max([len(c) for c in cells if type(c) is str], default=0) <= MAX_CELL_CHARS:
        return None
    for i, cell in enumerate(cells):
        if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
            return (f"第{i + 1}列内容过长（{len(cell)}个字符，超过{MAX_CELL_CHARS}个），"
                    f"不是正常数据，请核对该行")
    return None


_DATE_SHAPE = re.compile(r"\d{4}([-/.])(\d{1,2})\1(\d{1,2})")


def _cut_last_field(cell, col: Column | None, previous, mapping: Mapping, epoch) -> bool:
    """Whether the last field of a file without a final newline looks cut off: it does not
    parse as its column's type, or it is shorter than the same field of the row above
    (a date losing its day's second digit, an amount losing decimals)."""
    if col is None or nz.is_empty(cell):
        return False
    try:
        _convert(cell, col, mapping, epoch)
    except nz.RowRejected:
        return True
    text = nz.squeeze(str(cell))
    prev = nz.squeeze(str(previous)) if isinstance(previous, str) else None
    if col.type == "date":
        m = _DATE_SHAPE.fullmatch(text)
        if m and len(m.group(3)) == 1:
            pm = _DATE_SHAPE.fullmatch(prev) if prev else None
            if pm and len(pm.group(3)) == 2 or (pm is None and len(m.group(2)) == 2):
                return True
        if "年" in text and not text.endswith("日") and prev and prev.endswith("日"):
            return True
    if col.type in ("money_yuan", "money_wan", "numeric", "integer"):
        if text.endswith("."):
            return True
        decimals = len(text.split(".", 1)[1]) if "." in text else 0
        if prev and re.fullmatch(r"[-\d,¥]*\.\d+[元万]*", prev):
            prev_decimals = len(re.sub(r"[元万]", "", prev).split(".", 1)[1])
            if decimals < prev_decimals:
                return True
        if prev and prev.endswith("元") and not text.endswith("元"):
            return True
    return False


def _cap(payload: str) -> str:
    if len(payload) <= MAX_PAYLOAD_CHARS:
        return payload
    return payload[:MAX_PAYLOAD_CHARS] + f"…（原文共{len(payload)}个字符，已截断）"


class FeedScan:
    """The rows of a file that are data, with the header they are read under.

    Iterating yields (record, reason): reason is None for a data row still to be typed, else
    the Chinese reason the row is rejected as it stands (wrong column count, a cell far too
    long). Title rows, blank rows, repeated headers and totals rows are skipped. `header`,
    `plan` and `epoch` are set once the header row has been read. BatchRefused is raised
    for a file that cannot be trusted as a whole."""

    def __init__(self, path: Path, mapping: Mapping, xlsx_max_mb: int = XLSX_MAX_UNPACKED_MB):
        self.path = Path(path)
        self.xlsx_max_mb = xlsx_max_mb
        self.mapping = mapping
        self.names = [name for name, _, _ in mapping.table_columns()]
        self.header: _Header | None = None
        self.plan: _RowPlan | None = None
        self.epoch = nz.EXCEL_EPOCH

    def __iter__(self) -> Iterator[tuple[_Record, str | None]]:
        for block in self.blocks():
            yield from block

    def blocks(self) -> Iterator[list[tuple[_Record, str | None]]]:
        """What __iter__ yields, a block of records at a time: a block of plain data rows
        is checked a column or a joined text at a time, and row by row only where those
        looks leave a doubt (the same checks, so the same rows and reasons)."""
        path, mapping = self.path, self.mapping
        kind = _check_format(path)
        epoch_box: list = []
        if kind == "csv":
            if path.stat().st_size == 0:
                raise BatchRefused("文件为空（0 字节），连表头都没有，请重新导出")
            records = _csv_records(path, mapping)
        else:
            records = _xlsx_records(path, mapping, epoch_box, self.xlsx_max_mb)

        header: _Header | None = None
        header_keys: set[str] = set()
        key_starts: set[str] = set()
        ascii_keys = False
        first = width = None
        previous_last = None   # the last cell of the data row above (to spot a cut-off last field)
        csv_kind = kind == "csv"

        def repeated_header(cells: list) -> bool:
            """The header repeated mid-file (pages glued together)."""
            c = cells[first]
            return type(c) is str and (ascii_keys or not c.isascii()) and \
                not (_keeps_first(c) and nz.nfkc(c[0]) not in key_starts) and \
                nz.header_key(c) in header_keys and \
                _header_hits(cells, mapping) >= mapping.header_threshold and \
                {nz.header_key(c) for c in cells if not nz.is_empty(c)} <= \
                header_keys | set(mapping.header_index)

        def one(rec: _Record):
            """_SKIP, _STOP (no header in time), or the row's verdict: None or a reason."""
            nonlocal header, header_keys, key_starts, ascii_keys, first, width, previous_last
            raw = rec._payload   # CSV: the line(s) as read, for cheap checks; XLSX: None
            cells = rec.cells
            if rec.is_last and rec.open_quote:
                raise BatchRefused(f"文件在第{rec.line_no}行被截断（引号未闭合），文件不完整，请重新传送")
            if header is None:
                self.epoch = epoch_box[0] if epoch_box else nz.EXCEL_EPOCH
                if _is_blank(cells):
                    return _SKIP
                if _header_hits(cells, mapping) >= mapping.header_threshold:
                    header = _resolve_header(cells, mapping)
                    self.header = header
                    self.plan = _row_plan(header, mapping, self.epoch, self.names)
                    header_keys = {nz.header_key(c) for c in cells if not nz.is_empty(c)}
                    ascii_keys = any(k.isascii() for k in header_keys)
                    # a cell starting with an ideograph or a full-width digit keeps it (NFKC'd)
                    # first in its header key: one starting no header key cannot make the row a
                    # repeated header
                    key_starts = {k[0] for k in header_keys if k}
                    first = header.positions[0][0] if header.positions else None
                    width = header.width
                    return _SKIP
                return _STOP if rec.line_no >= HEADER_SCAN_ROWS else _SKIP   # a title row above
            c = cells[0] if cells else None
            if not (type(c) is str and (c.isascii() and c.strip() or _keeps_first(c))) \
                    and _is_blank(cells):
                return _SKIP   # (a first cell visibly not empty: not blank, without the call)
            if first is not None and first < len(cells) and repeated_header(cells):
                return _SKIP
            if raw is None:   # XLSX: one look at the row's texts for a total and a long cell
                texts = "\x00".join([c for c in cells if type(c) is str])
                if "计" in texts and _is_total(cells):
                    return _SKIP
            elif "计" in raw and _is_total(cells):
                return _SKIP
            n = len(cells)
            if csv_kind and n != width:
                if rec.is_last and not rec.ends_with_newline and n < width:
                    raise BatchRefused(
                        f"文件在第{rec.line_no}行被截断（该行只有{n}列，表头有{width}列，"
                        f"且文件末尾没有换行），文件不完整，请重新传送")
                if not (n > width and _is_blank(cells[width:])):
                    return _width_reason(n, width)
            if csv_kind and rec.is_last and not rec.ends_with_newline and cells:
                last_col = dict(header.positions).get(n - 1)
                if _cut_last_field(cells[-1], last_col, previous_last, mapping, self.epoch):
                    raise BatchRefused(
                        f"文件在第{rec.line_no}行最后一个字段“{nz.cell_text(cells[-1])[:40]}”处被截断"
                        f"（文件末尾没有换行，且该值不完整），文件不完整，请重新传送")
            previous_last = cells[-1] if cells else None
            too_long = _too_long(cells) if len(raw if raw is not None else texts) > MAX_CELL_CHARS \
                else None
            if too_long:
                rec._payload = _cap(rec.payload)
                return too_long
            return None

        def block_of_rows(recs: list) -> list:
            """one() over records after the header, none of them the file's last."""
            nonlocal previous_last
            rows = [rec.cells for rec in recs]
            skip = {i for i, c in enumerate([r[0] if r else None for r in rows])
                    if not (type(c) is str and (c.isascii() and c.strip() or _keeps_first(c)))
                    and _is_blank(rows[i])}
            if first is not None:
                skip.update(i for i, r in enumerate(rows) if first < len(r) and
                            type(c := r[first]) is str and (ascii_keys or not c.isascii())
                            and repeated_header(r))
            # a total row has 计 in a text cell: in the CSV line, or in the row's repr
            texts = [rec._payload for rec in recs] if csv_kind else list(map(repr, rows))
            skip.update(i for i, t in enumerate(texts) if "计" in t and _is_total(rows[i]))
            reasons = {}
            lens = list(map(len, rows))
            if csv_kind and (min(lens) != width or max(lens) != width):
                for i, n in enumerate(lens):
                    if n != width and i not in skip and \
                            not (n > width and _is_blank(rows[i][width:])):
                        reasons[i] = _width_reason(n, width)
            kept = [i for i in range(len(recs)) if i not in skip and i not in reasons] \
                if skip or reasons else range(len(recs))
            if kept:   # (a row rejected for its column count is not the row above)
                previous_last = rows[kept[-1]][-1] if rows[kept[-1]] else None
            # a repr is longer than the row's texts joined: a shorter one holds no long cell
            for i in [i for i, t in enumerate(texts) if len(t) > MAX_CELL_CHARS]:
                if i not in skip and i not in reasons and (csv_kind or len("\x00".join(
                        [c for c in rows[i] if type(c) is str])) > MAX_CELL_CHARS):
                    if too_long := _too_long(rows[i]):
                        recs[i]._payload = _cap(recs[i].payload)
                        reasons[i] = too_long
            if not skip and not reasons:
                return list(zip(recs, itertools.repeat(None)))
            return [(rec, reasons.get(i)) for i, rec in enumerate(recs) if i not in skip]

        for recs in records:
            if header is not None and not recs[-1].is_last:
                yield block_of_rows(recs)
                continue
            out = []
            for rec in recs:
                verdict = one(rec)
                if verdict is _STOP:
                    break
                if verdict is not _SKIP:
                    out.append((rec, verdict))
            else:
                if out:
                    yield out
                continue
            break   # no header within HEADER_SCAN_ROWS rows

        if header is None:
            expected = "、".join(c.headers[0] for c in mapping.required) or \
                "、".join(c.headers[0] for c in mapping.columns)
            raise BatchRefused(
                f"在文件前{HEADER_SCAN_ROWS}行中没有找到表头（应包含：{expected}）。"
                f"请让{mapping.department}按约定表头重新导出，或在映射文件 mappings/{mapping.folder}.yml 中补充表头写法")


_SKIP, _STOP = object(), object()   # FeedScan.blocks: a row that is not data; stop looking


def _width_reason(n: int, width: int) -> str:
    return f"本行有{n}列，表头有{width}列，列数对不上（可能有未加引号的逗号或换行），请核对该行"


def read_feed(path: Path, mapping: Mapping, xlsx_max_mb: int = XLSX_MAX_UNPACKED_MB) -> Iterator[FeedRow]:
    """Yield every data row of the file; raise BatchRefused if the file cannot be trusted."""
    scan = FeedScan(path, mapping, xlsx_max_mb)
    for rec, reason in scan:
        if reason is not None:
            yield FeedRow(rec.line_no, rec.payload, reason=reason)
            continue
        warnings: list = []
        try:
            values = _typed_row(rec.cells, scan.header, scan.plan, warnings)
        except nz.RowRejected as exc:
            yield FeedRow(rec.line_no, rec.payload, reason=str(exc))
            continue
        yield FeedRow(rec.line_no, rec._payload, values=values, warnings=warnings,
                      cells=rec.cells)
