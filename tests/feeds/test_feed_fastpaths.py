"""The reader's fast paths (per-column converters, calamine for XLSX) give exactly what the
general parsers (normalize.py, openpyxl) give: same values, same types, same Chinese reasons."""
from __future__ import annotations

import datetime as dt

from feedfiles import write_xlsx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.feeds import normalize as nz
from ingest.feeds import reader
from ingest.feeds.mapping import FOLDERS, load_mapping

COLUMNS = [(load_mapping(f), c) for f in FOLDERS for c in load_mapping(f).columns]
EPOCH = nz.EXCEL_EPOCH

_alphabet = st.sampled_from(list("0123456789-/.,元万年月日 Xx'E+\u3000１２\u200b是否") + ["农村低保", "男", "在保"])
_text = st.lists(_alphabet, max_size=22).map("".join)
_cells = st.one_of(
    _text, st.none(), st.integers(-10**20, 10**20), st.floats(allow_nan=True), st.booleans(),
    st.dates(), st.datetimes(),
    st.sampled_from(["2026-03-05", "2026-02-30", "1899-12-31", "20260305", "2026年3月5日", "2026/3/5",
                     "1,234.50元", "12.5万元", "1622500元", "-0", "007", "123456789012.5",
                     "341225199001011234", "  34122519900101123x ", "３４１２２５１９９００１０１１２３４",
                     "34122519900101123411", "3.41225E+17", "是", "否", "", " "]))


def _outcome(fn, cell):
    try:
        value = fn(cell)
    except nz.RowRejected as exc:
        return "rejected", str(exc)
    return "ok", value, type(value).__name__, str(value)


@settings(max_examples=1500, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(index=st.integers(0, len(COLUMNS) - 1), cell=_cells)
def test_compiled_converters_match_the_general_parsers(index, cell):
    mapping, col = COLUMNS[index]
    fast = reader._converter(col, mapping, EPOCH)
    assert _outcome(fast, cell) == _outcome(lambda c: reader._convert(c, col, mapping, EPOCH), cell)


def test_a_date_cell_in_a_number_column_is_rejected_not_a_crash():
    mapping = load_mapping("fund_project")
    col = next(c for c in mapping.columns if c.type in ("integer", "numeric"))
    outcome = _outcome(reader._converter(col, mapping, EPOCH), dt.date(2026, 3, 5))
    assert outcome[0] == "rejected" and "2026-03-05" in outcome[1]


def _rows(path, mapping):
    return [(r.line_no, r.values, r.reason, r.warnings, r.payload) for r in reader.read_feed(path, mapping)]


def test_calamine_reads_an_xlsx_as_openpyxl_does(tmp_path, monkeypatch):
    header = ["身份证号", "姓名 ", "救助类型（农村低保/农村特困/临时救助）", "保障档次", "救助金额",
              "起始日期", "终止日期", "状态(在保/停保)"]
    data = [
        ["某某县2026年11月低保名单"], [], header,
        ["341225199001011234", "张三", "农村低保", "一档", 350, dt.datetime(2026, 1, 1), None, "在保"],
        [341225199001011234, "李四", "农村特困", 2, 1234.5, 46023, "2026-12-31", "停保"],  # ID lost to float
        ["34122519900101123X", "王五", "临时救助", None, "1,200元", "2026年3月5日", dt.date(2026, 6, 1), "在保"],
        [], ["合计", None, None, None, 2784.5],
        ["341225199001011234", "赵六", "低保", "一档", "abc", "2026-02-30", None, "在保", "多出的一列"],
    ]
    path = write_xlsx(tmp_path, "minzheng", "20261128", data)
    mapping = load_mapping("minzheng")
    assert reader._calamine_sheet_rows(path, mapping) is not None   # calamine did read it
    fast = _rows(path, mapping)
    monkeypatch.setattr(reader, "_calamine_sheet_rows", lambda *a: None)   # openpyxl only
    assert fast == _rows(path, mapping)
    assert len(fast) == 4 and any(r[2] for r in fast)   # the lost ID is rejected either way


def test_a_workbook_with_a_sheet_above_the_calamine_limit_is_streamed_by_openpyxl(tmp_path, monkeypatch):
    """calamine holds the whole sheet in memory: above the limit openpyxl streams it, with the
    same rows."""
    rows = [["身份证号", "姓名", "救助类型", "救助金额", "起始日期", "状态"]] + [
        [f"34122519900101{i:04d}", f"张{i}", "农村低保", 300 + i, dt.date(2026, 1, 1), "在保"] for i in range(300)]
    path = write_xlsx(tmp_path, "minzheng", "20261128", rows)
    mapping = load_mapping("minzheng")
    assert reader._check_unpacked_size(path) > 10_000   # the sheet's XML, in bytes
    by_calamine = _rows(path, mapping)

    def no_calamine(*args):
        raise AssertionError("calamine was asked to read a sheet above its limit")

    monkeypatch.setattr(reader, "XLSX_CALAMINE_MAX_SHEET_MB", 0)
    monkeypatch.setattr(reader, "_calamine_sheet_rows", no_calamine)
    assert _rows(path, mapping) == by_calamine and len(by_calamine) == 300


_csv_piece = st.sampled_from(['"', '""', ",", "\t", ";", "|", "a", "张", " ", "\r\n", "\n", "\r", "1"])


@settings(max_examples=400, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(text=st.lists(_csv_piece, max_size=40).map("".join),
       delimiter=st.sampled_from(reader.CSV_DELIMITERS), block=st.sampled_from([1, 7, 1 << 16]))
def test_csv_blocks_read_as_the_csv_module_reads_line_by_line(monkeypatch, text, delimiter, block):
    """Blocks whose quoted fields close on their own line are split at once; the records, their
    line numbers and raw text are those the csv module gives fed line by line."""
    import io

    monkeypatch.setattr(reader, "CSV_BLOCK", block)

    def outcome(fn):
        try:
            return list(fn())
        except Exception as exc:   # the same refusal, in Chinese
            return type(exc).__name__, str(exc)

    def by_line():
        return reader._csv_records_by_line(io.StringIO(text, newline=""), delimiter, 0)

    assert outcome(lambda: reader._csv_lines(io.StringIO(text, newline=""), delimiter)) == \
        outcome(by_line)


def test_quoted_fields_on_one_line_are_split_a_block_at_a_time(monkeypatch):
    import io

    lines = [f'{i},"1,{i}0.50","张 三"\r\n' for i in range(50)]
    monkeypatch.setattr(reader, "_csv_records_by_line", lambda *a: (_ for _ in ()).throw(AssertionError))
    got = list(reader._csv_lines(io.StringIO("".join(lines), newline=""), ","))
    assert got == [(i + 1, line, [str(i), f"1,{i}0.50", "张 三"]) for i, line in enumerate(lines)]


def test_a_quote_opening_on_a_blocks_last_line_is_read_across_the_blocks(monkeypatch):
    """The csv module ends a quoted field at the end of the lines it is given: a record whose
    quote opens on the last line of a block is read on with the lines after it."""
    import io

    text = 'a,b\r\n1,"x\r\ny"\r\n2,z\r\n'
    monkeypatch.setattr(reader, "CSV_BLOCK", 8)   # 'a,b' and '1,"x' make the first block
    assert list(reader._csv_lines(io.StringIO(text, newline=""), ",")) == [
        (1, "a,b\r\n", ["a", "b"]), (2, '1,"x\r\ny"\r\n', ["1", "x\r\ny"]), (4, "2,z\r\n", ["2", "z"])]


def test_a_quote_inside_an_unquoted_field_keeps_the_block_at_once(monkeypatch):
    """A line with a quote mid-field (the csv module keeps it as written) is still one record;
    only the last line of a block has to close its quoted fields on its own."""
    import io

    lines = ['5寸"屏",1\n', '2,"b"\n']
    monkeypatch.setattr(reader, "_csv_records_by_line", lambda *a: (_ for _ in ()).throw(AssertionError))
    got = list(reader._csv_lines(io.StringIO("".join(lines), newline=""), ","))
    assert got == [(1, lines[0], ['5寸"屏"', "1"]), (2, lines[1], ["2", "b"])]


# rows a file may hold after its header: data, and every kind of row the scan skips or rejects
_MINZHENG = load_mapping("minzheng")
_HEADER = ["身份证号", "姓名", "救助类型", "保障档次", "救助金额", "起始日期", "终止日期", "状态"]
_DATA = ["341225199001011234", "张三", "农村低保", "一档", "425.5元", "2026-01-01", "", "在保"]
_NO_UNIT = ["34122519900101123x", "李四", "农村特困", "", "1,200", "2026/2/1", "2026年12月31日", "停保"]
_ROWS = st.sampled_from([
    _DATA, _NO_UNIT,
    [], [""] * 8, [" ", "\u3000"] + [""] * 6,                  # blank (also after NFKC)
    _HEADER, [" 身份证号", "姓名 ", "救助类型"] + [""] * 5,     # the header again, padded
    ["合计", "", "", "", "850"], ["", "小计", "", "", "12"], ["设计院", "合计"] + [""] * 6,
    _DATA + [""], _DATA + ["多出的一列"], _DATA[:5],               # other widths
    ["张三"] + _DATA[1:], ["１２３", "王五"] + _DATA[2:],          # a non-ASCII first cell
    [_DATA[0], "长" * (reader.MAX_CELL_CHARS + 1)] + _DATA[2:],   # a cell far too long
    ["'341225199001011234", "赵六", "低保", "一档", "abc", "2026-02-30", "", "在保"],
])


def _scan(path, mapping):
    try:
        return [(rec.line_no, rec.payload, rec.cells, reason)
                for rec, reason in reader.FeedScan(path, mapping)]
    except Exception as exc:   # the same refusal, at the same row
        return type(exc).__name__, str(exc)


@settings(max_examples=150, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(rows=st.lists(_ROWS, max_size=30), block=st.sampled_from([1, 40, 300]),
       end=st.sampled_from(["\r\n", ""]))
@example(rows=[_DATA, _NO_UNIT], block=1, end="")   # cut off: no 元 where the row above has it
def test_a_csv_block_of_rows_is_scanned_as_row_by_row(tmp_path_factory, monkeypatch, rows, block, end):
    """FeedScan checks a block of rows after the header a column at a time: the same rows,
    reasons and refusals as one block holding the whole file (read row by row)."""
    import csv
    import io

    def money_last(r):   # a last field cut off is spotted against the row above's amount
        return r[:4] + r[5:] + r[4:5] if len(r) == 8 else r

    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(
        [["某某县低保名单"], *map(money_last, [_HEADER, *rows])])
    path = tmp_path_factory.mktemp("scan") / "minzheng_20261128.csv"
    path.write_text(out.getvalue().removesuffix("\r\n") + end, encoding="utf-8")
    monkeypatch.setattr(reader, "CSV_BLOCK", 1 << 30)
    whole = _scan(path, _MINZHENG)
    monkeypatch.setattr(reader, "CSV_BLOCK", block)
    assert _scan(path, _MINZHENG) == whole


@settings(max_examples=40, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(rows=st.lists(_ROWS, max_size=20), block=st.sampled_from([1, 3]))
def test_an_xlsx_block_of_rows_is_scanned_as_row_by_row(tmp_path_factory, monkeypatch, rows, block):
    path = write_xlsx(tmp_path_factory.mktemp("scan"), "minzheng", "20261128",
                      [["某某县低保名单"], _HEADER, *[[c if c != "" else None for c in r] for r in rows],
                       [341225199001011234, "李四", "农村特困", 2, 1234.5, 46023, None, "停保"]])
    monkeypatch.setattr(reader, "RECORD_BLOCK", 1 << 30)
    whole = _scan(path, _MINZHENG)
    monkeypatch.setattr(reader, "RECORD_BLOCK", block)
    assert _scan(path, _MINZHENG) == whole
