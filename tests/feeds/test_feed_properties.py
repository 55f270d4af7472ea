"""Property-based tests of every reader (CSV in each encoding, XLSX) over mutated files:
truncation, byte flips, junk cells, huge cells, random unicode. Whatever the file holds:
no unhandled exception, every reason and message in Chinese, and for every batch
rows_in = rows_loaded + rows_rejected (real PostgreSQL for the loader properties)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import shutil

import psycopg
import pytest
from feedfiles import write_xlsx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ingest.batches import BatchRefused
from ingest.feeds import ensure_feed_tables, load_folder, load_mapping
from ingest.feeds.reader import read_feed

SETTINGS = dict(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

# folder -> (encoding, header, good rows): one per CSV encoding the reader detects
CSV_BASES = {
    "yibao": ("gb18030",
              ["身份证号", "姓名", "就诊类型", "入院日期", "出院日期", "医疗总费用", "基本医保支付", "大病保险支付",
               "医疗救助支付", "个人自付", "合规自付", "医疗机构", "结算日期"],
              [["341225199001011234", "张三", "住院", "2026-03-05", "2026/3/9", "1,234.50", "800", "100", "50",
                "284.5元", "200.00", "县人民医院", "20260310"],
               ["34122519900101123x", "李四", "门诊", "2026年3月5日", "", "46086", "", "", "", "", "88", "乡卫生院", "2026.3.5"]]),
    "canlian": ("utf-8-sig",
                ["残疾人证号", "姓名", "残疾类别", "残疾等级", "发证日期", "状态"],
                [["34122519900101123X11", "张三", "肢体残疾", "一级", "2026-10-01", "有效"],
                 ["34122519900101123511", "李四", "视力", "2级", "2026/10/1", "注销"]]),
    "gongan": ("utf-8",
               ["身份证号", "姓名", "事件类型", "事件日期", "登记机关"],
               [["341225199001011234", "张三", "死亡", "2026-11-01", "某某派出所"],
                ["341225199001011235", "李四", "户口迁出", "2026-11-28", "某某派出所"]]),
    "fund_payment": ("utf-16",
                     ["支付凭证号", "项目库编号", "收款单位", "支付日期", "支付金额(元)"],
                     [["PZ1", "XM1", "某某合作社", "2026-05-01", "300,000.00"],
                      ["PZ2", "XM1", "某某合作社", "2026-05-01", "12.5万元"]]),
}
XLSX_BASES = {
    "minzheng": (["身份证号", "姓名", "救助类型", "保障档次", "救助金额", "起始日期", "终止日期", "状态"],
                 [["341225199001011234", "张三", "农村低保", "一档", 425.5, dt.datetime(2026, 1, 1), None, "在保"],
                  ["341225199001011235", "李四", "农村特困", "", "1,200元", "2026-02-01", "2026-12-31", "停保"]]),
    "consumption_product": (["认定编号", "产品名称", "品类", "供应商统一社会信用代码", "认定机构", "认定日期", "有效期至",
                             "产地县代码", "价值量(万元)"],
                            [["RD1", "黄山毛峰", "茶叶", "91341225MA2N0XYZ1K", "省局", 46023, "2027-12-31", "341225", "56.78"],
                             ["RD2", "笋干", "干货", "91341225MA2N0XYZ1K", "省局", "2026-01-01", "2027-12-31", 341225, "1622500元"]]),
}

# what may go into a cell: junk, numbers the columns cannot hold, huge text, any unicode
XML_SAFE = st.characters(blacklist_categories=("Cs", "Cc"))
JUNK = st.one_of(
    st.sampled_from(["", "--", "待核", "1E+200000", "12345678901234567890", "-0", "NaN", "inf",
                     "2026-02-30", "3.41225E+17", "合计", "１２３", "x\"y", "a,b", "a\nb", "\ufeff",
                     "身份证号", "1622500元", "12.5万", "9" * 400, "2026-11-2"]),
    st.text(min_size=0, max_size=30),
    st.integers(min_value=-10**25, max_value=10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
HUGE = st.integers(min_value=131_000, max_value=140_000).map(lambda n: "长" * n)


def cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _csv_text(header, rows, raw: bool) -> str:
    if raw:   # written by hand: quotes and commas inside cells are not escaped
        return "\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue()


@st.composite
def mutated_csv(draw):
    folder = draw(st.sampled_from(sorted(CSV_BASES)))
    encoding, header, base = CSV_BASES[folder]
    rows = [list(r) for r in base] * draw(st.integers(1, 3))
    for _ in range(draw(st.integers(0, 4))):   # cell-level: junk, random unicode, huge
        r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(header) - 1))
        rows[r][c] = draw(st.one_of(JUNK, HUGE) if draw(st.integers(0, 9)) == 0 else JUNK)
    if draw(st.booleans()):
        rows[draw(st.integers(0, len(rows) - 1))].append(draw(JUNK))   # an extra cell
    text = _csv_text(header, rows, raw=draw(st.booleans()))
    data = bytearray(text.encode(encoding))
    flips = draw(st.integers(1, 3)) if draw(st.integers(0, 2)) == 0 else 0
    for _ in range(flips):                     # byte-level: flips
        if data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
    cut = draw(st.integers(1, max(1, len(data)))) if draw(st.integers(0, 2)) == 0 else None
    if cut is not None:                        # truncation anywhere, also inside a character
        data = data[:cut]
    elif draw(st.booleans()):
        data = data.rstrip(b"\r\n\x00")        # no final newline
    return folder, "csv", bytes(data)


@st.composite
def mutated_xlsx(draw, tmp_dir):
    folder = draw(st.sampled_from(sorted(XLSX_BASES)))
    header, base = XLSX_BASES[folder]
    rows = [list(r) for r in base] * draw(st.integers(1, 3))
    cell = st.one_of(JUNK.map(lambda s: "".join(ch for ch in s if ch.isprintable() or ch in "\n\t")),
                     st.text(alphabet=XML_SAFE, max_size=20),
                     st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**20, 10**20),
                     st.booleans(), st.none(),
                     st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 1, 1)))
    for _ in range(draw(st.integers(0, 4))):
        r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(header) - 1))
        rows[r][c] = draw(cell)
    if draw(st.integers(0, 9)) == 0:
        rows[0][draw(st.integers(0, len(header) - 1))] = "长" * 32_000   # Excel's own cell limit
    name = next(_names)
    path = write_xlsx(tmp_dir, folder, name, [[f"某某县{folder}导出"], header, *rows, ["合计"]])
    data = bytearray(path.read_bytes())
    shutil.rmtree(path.parent)
    flips = 1 if draw(st.integers(0, 4)) == 0 else 0
    for _ in range(flips):
        i = draw(st.integers(0, len(data) - 1))
        data[i] ^= draw(st.integers(1, 255))
    if draw(st.integers(0, 5)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    return folder, "xlsx", bytes(data)


_names = (f"{d:%Y%m%d}" for d in (dt.date(2001, 1, 1) + dt.timedelta(days=i) for i in itertools.count()))


def _read_all(path, folder) -> tuple[int, str | None]:
    """Read the whole file: (rows, None) or (0, the refusal); asserts every reason is Chinese."""
    n = 0
    try:
        for row in read_feed(path, load_mapping(folder)):
            n += 1
            assert (row.values is None) == (row.reason is not None)
            if row.reason is not None:
                assert cjk(row.reason), row.reason
            for label, _original, reason in row.warnings:
                assert cjk(reason) and label, (label, reason)
    except BatchRefused as exc:
        assert cjk(str(exc)), str(exc)
        event("file refused")
        return 0, str(exc)
    event("file read")
    return n, None


def _write(landing, folder, kind, data, day):
    path = landing / folder / f"{folder}_{day}.{kind}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@settings(max_examples=60, **SETTINGS)
@given(case=mutated_csv())
def test_csv_reader_never_crashes(tmp_path, case):
    folder, kind, data = case
    _read_all(_write(tmp_path, folder, kind, data, "20261128"), folder)


@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_xlsx_reader_never_crashes(tmp_path, data):
    folder, kind, content = data.draw(mutated_xlsx(tmp_path / "build"))
    _read_all(_write(tmp_path, folder, kind, content, "20261128"), folder)


@pytest.fixture(scope="module")
def feed_db(pg_server_url):
    import uuid

    name = f"prop_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{pg_server_url}/postgres", autocommit=True) as c:
        c.execute(f'create database "{name}"')
    url = f"{pg_server_url}/{name}"
    with psycopg.connect(url, autocommit=True) as c:
        ensure_feed_tables(c, list(CSV_BASES) + list(XLSX_BASES))
        yield c


def _assert_batch_sound(conn, folder, summary):
    status, rows_in, loaded, rejected, warned, message = conn.execute(
        "select status, rows_in, rows_loaded, rows_rejected, fields_warned, message "
        "from raw.load_batch where batch_id = %s", (summary.batch_id,)).fetchone()
    assert status == summary.status
    if status == "failed":
        assert cjk(message), message
        assert conn.execute(f"select count(*) from raw.feed_{folder} where load_batch_id = %s",
                            (summary.batch_id,)).fetchone()[0] == 0   # nothing half-loaded
        return
    assert rows_in == loaded + rejected, summary
    assert conn.execute(f"select count(*) from raw.feed_{folder} where load_batch_id = %s",
                        (summary.batch_id,)).fetchone()[0] == loaded
    reasons = [r for (r,) in conn.execute(
        "select reason from raw.rejected_row where batch_id = %s", (summary.batch_id,))]
    assert len(reasons) == rejected and all(map(cjk, reasons)), reasons
    warnings = [r for (r,) in conn.execute(
        "select reason from raw.field_warning where batch_id = %s", (summary.batch_id,))]
    assert len(warnings) == warned and all(map(cjk, warnings)), warnings


def _load_and_check(conn, landing, folder, kind, data):
    day = next(_names)
    path = _write(landing, folder, kind, data, day)
    try:
        summaries = load_folder(conn, landing, folder, dt.datetime.strptime(day, "%Y%m%d").date())
    finally:
        path.unlink()
    [summary] = summaries
    event(f"batch {summary.status}")
    if summary.fields_warned or summary.rows_rejected:
        event("batch with rejected rows or field warnings")
    assert summary.status in ("succeeded", "failed", "duplicate"), summary
    if summary.status != "duplicate":
        _assert_batch_sound(conn, folder, summary)


@settings(max_examples=30, **SETTINGS)
@given(case=mutated_csv())
def test_csv_loader_balances_every_batch(feed_db, tmp_path, case):
    _load_and_check(feed_db, tmp_path / "landing", *case)


@settings(max_examples=15, **SETTINGS)
@given(data=st.data())
def test_xlsx_loader_balances_every_batch(feed_db, tmp_path, data):
    case = data.draw(mutated_xlsx(tmp_path / "build"))
    _load_and_check(feed_db, tmp_path / "landing", *case)
