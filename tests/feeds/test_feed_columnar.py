"""The loader's column-at-a-time COPY path (columnar.py) gives exactly what read_feed gives row
by row: the same COPY text for every loaded row, the same rejects and field warnings, in order."""
from __future__ import annotations

import datetime as dt

from feedfiles import write_csv, write_xlsx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.feeds import columnar
from ingest.feeds.mapping import FOLDERS, load_mapping
from ingest.feeds.reader import read_feed

SETTINGS = dict(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
PREFIX = "7\t2026-11-28\t"

_TEXT_CELLS = st.one_of(
    st.sampled_from(["", " ", "2026-03-05", "2026-02-29", "2024-02-29", "2026-04-31", "2026/3/5",
                     "20260305", "2026年3月5日", "1899-12-31", "2101-01-01", "1,234.50", "1234.5",
                     "-0", "007", "12.5万元", "1622500元", "123456789012.5", "99999", "35", "35.0",
                     "341225199001011234", "34122519900101123X", "34122519900101123x",
                     "34122519900101123411", "3.41225E+17", "３４１２２５", "341225", "341225123456",
                     "91341225MA2N0XYZ1K", "农村低保", "低保", "在保", "是", "否", "男", "一级", "住院",
                     "张三", " 张三 ", "（备注）", "a\\b", "x\ty", "\u3000", "合计", "\u200b", "'341225"]),
    st.text(alphabet=st.sampled_from(list("0123456789-./,元万年月日Xx 张农是")), max_size=14),
)
_XLSX_CELLS = st.one_of(
    _TEXT_CELLS.map(lambda t: t.replace("\t", " ")), st.none(),
    st.integers(-10**13, 10**13), st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(), st.dates(dt.date(1890, 1, 1), dt.date(2110, 1, 1)),
    st.datetimes(dt.datetime(1890, 1, 1), dt.datetime(2110, 1, 1)))


def _expected(path, mapping):
    lines, rejects, warnings = [], [], []
    for row in read_feed(path, mapping):
        if row.reason is not None:
            rejects.append((row.line_no, row.payload, row.reason))
            continue
        lines.append(f"{PREFIX}{row.line_no}\t" + "\t".join(map(columnar.copy_text, row.values)))
        warnings.extend((row.line_no, *w) for w in row.warnings)
    return lines, rejects, warnings


def _columnar(path, mapping, monkeypatch, chunk_rows):
    monkeypatch.setattr(columnar, "CHUNK_ROWS", chunk_rows)
    lines, rejects, warnings, rows_in = [], [], [], 0
    for chunk in columnar.copy_chunks(path, mapping, PREFIX):
        assert chunk.loaded == chunk.text.count("\n")
        lines += chunk.text.splitlines()
        rejects += chunk.rejects
        warnings += chunk.warnings
        rows_in += chunk.rows_in
    assert rows_in == len(lines) + len(rejects)
    return lines, rejects, warnings


def _headers(mapping):
    return [c.headers[0] for c in mapping.columns] + ["备注"]


@settings(**SETTINGS)
@given(folder=st.sampled_from(FOLDERS), data=st.data(), chunk_rows=st.sampled_from([1, 3, 1000]))
def test_csv_columns_load_as_read_feed_reads_them(tmp_path_factory, monkeypatch, folder, data,
                                                   chunk_rows):
    mapping = load_mapping(folder)
    header = _headers(mapping)
    rows = data.draw(st.lists(st.lists(_TEXT_CELLS, min_size=len(header), max_size=len(header)),
                              max_size=8))
    lines = [",".join(header)] + [",".join(c.replace(",", "，") for c in r) for r in rows]
    path = write_csv(tmp_path_factory.mktemp("csv"), folder, "20261128", lines)
    assert _columnar(path, mapping, monkeypatch, chunk_rows) == _expected(path, mapping)


@settings(**SETTINGS)
@given(folder=st.sampled_from(FOLDERS), data=st.data(), chunk_rows=st.sampled_from([2, 1000]))
def test_xlsx_columns_load_as_read_feed_reads_them(tmp_path_factory, monkeypatch, folder, data,
                                                    chunk_rows):
    mapping = load_mapping(folder)
    header = _headers(mapping)
    rows = data.draw(st.lists(st.lists(_XLSX_CELLS, min_size=1, max_size=len(header) + 2),
                              max_size=6))
    path = write_xlsx(tmp_path_factory.mktemp("xlsx"), folder, "20261128", [header, *rows])
    assert _columnar(path, mapping, monkeypatch, chunk_rows) == _expected(path, mapping)


def test_clean_columns_take_the_vector_path(tmp_path, monkeypatch):
    """A file of canonical cells is copied without calling a converter cell by cell."""
    mapping = load_mapping("gongan")
    lines = ["身份证号,姓名,事件类型(死亡/户口迁出),事件日期,登记机关"] + [
        f"34122519900101{1000 + i},张{i},死亡,2026-11-0{1 + i % 9},某某派出所" for i in range(50)]
    path = write_csv(tmp_path, "gongan", "20261128", lines)
    calls = []
    monkeypatch.setattr(columnar, "_holes", lambda *a: calls.append(a) or (_ for _ in ()).throw(AssertionError))
    [chunk] = columnar.copy_chunks(path, mapping, PREFIX)
    assert (chunk.loaded, chunk.rejects, chunk.warnings, calls) == (50, [], [], [])


def test_a_columns_memo_of_texts_changes_no_output_also_when_full(
        tmp_path, monkeypatch):
    """The memo of a column's texts (shared by a folder's files) changes no output, also once
    it is full and cleared part-way through a chunk."""
    mapping = load_mapping("gongan")
    lines = ["身份证号,姓名,事件类型(死亡/户口迁出),事件日期,登记机关"] + [
        f"34122519900101{1000 + i},张{i % 7},死亡,{['2026年11月1日', '2026-02-30', '2026-11-02'][i % 3]},某某派出所"
        for i in range(60)]
    path = write_csv(tmp_path, "gongan", "20261128", lines)
    expected = _expected(path, mapping)
    assert _columnar(path, mapping, monkeypatch, 1000) == expected
    assert _columnar(path, mapping, monkeypatch, 1000) == expected   # memo warm
    monkeypatch.setattr(columnar, "MEMO_SIZE", 2)
    assert _columnar(path, mapping, monkeypatch, 7) == expected     # cleared as it goes


def test_a_memo_dropped_for_distinct_texts_changes_no_output(tmp_path, monkeypatch):
    """Amounts and names are mostly distinct: their columns' memo is dropped after a trial,
    the dates' is kept, and what is loaded, rejected and warned stays read_feed's."""
    mapping = load_mapping("renshe")
    lines = ["身份证号,姓名,就业状态(已就业/未就业),就业地(县内/县外省内/省外),月收入,公益性岗位(是/否),登记日期"] + [
        f"3412251990010{10000 + i},张{i},已就业,县内,{['1,2{}.5元', '{}元', '{}.37', 'x{}'][i % 4].format(i)},"
        f"否,{['2026-11-01', '2026年11月2日', '2026-02-30'][i % 3]}" for i in range(3000)]
    path = write_csv(tmp_path, "renshe", "20261128", lines)
    monkeypatch.setattr(columnar, "MEMO_TRIAL", 500)
    memos = {}
    original = columnar._ColumnCopy.vector

    def vector(self, cells):
        out = original(self, cells)
        memos[self.col.name] = self.memo is not None
        return out

    monkeypatch.setattr(columnar._ColumnCopy, "vector", vector)
    assert _columnar(path, mapping, monkeypatch, 400) == _expected(path, mapping)
    assert (memos["monthly_income"], memos["name"], memos["registered_on"]) == (False, False, True)
