"""公安 (gongan): UTF-8 / BOM CSVs, schema drift, header-only, truncated files."""
from __future__ import annotations

import datetime as dt

from feedfiles import RUN_DATE, assert_balanced, batches, field_warnings, rejects, rows, write_csv

from ingest.feeds import load_folder

HEADER = "身份证号,姓名,事件类型(死亡/户口迁出),事件日期,登记机关"


def test_utf8_csv_variants(conn, landing):
    lines = [
        HEADER,
        "341225199001011234,张三,死亡,2026-11-01,某某派出所",
        "３４１２２５１９９００１０１１２３ｘ,李四,户口迁出,2026/11/2,某某派出所",
        "341225199001011235,王五,失踪,20261103,某某派出所",
        "341225199001011236,赵六,死亡,46086.0,",
        "341225199001011237,钱七,死亡,11/03/2026,某某派出所",
        "341225199001011238,孙八,死亡,2026-11-01,某某派出所,多出来的一列",
    ]
    write_csv(landing, "gongan", "20261127", lines, eol="\n")
    [summary] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert (summary.status, summary.rows_in, summary.rows_loaded, summary.rows_rejected) == (
        "succeeded", 6, 4, 2)
    loaded = {r["line_no"]: r for r in rows(conn, "gongan")}
    # an unreadable non-identifying value: the row stays, the value is NULL, with a warning
    assert loaded[6]["event_on"] is None and loaded[6]["name"] == "钱七"
    [(line_no, column, original, reason)] = field_warnings(conn, summary.batch_id)
    assert (line_no, column, original) == (6, "事件日期", "11/03/2026")
    assert "事件日期“11/03/2026”不是可识别的日期" in reason
    assert loaded[2]["event_on"] == dt.date(2026, 11, 1) and loaded[2]["event_type"] == "死亡"
    assert loaded[3]["id_number"] == "34122519900101123X" and loaded[3]["event_on"] == dt.date(2026, 11, 2)
    assert loaded[5]["event_on"] == dt.date(2026, 3, 5) and loaded[5]["registration_office"] is None
    rej = {line: reason for line, _, reason in rejects(conn, summary.batch_id)}
    assert "事件类型“失踪”不在允许的取值(死亡/户口迁出)中" in rej[4]
    assert "本行有6列，表头有5列" in rej[7]
    assert_balanced(conn)


def test_bom_header_with_drift(conn, landing):
    # BOM, trailing spaces, full-width brackets, a missing optional and an unknown column
    lines = ["身份证号 ,姓名,事件类型（死亡/户口迁出） ,事件日期 ,户籍地址",
             "341225199001011234,张三,户口迁出,2026年11月1日,某某村3组"]
    write_csv(landing, "gongan", "20261127", lines, encoding="utf-8-sig")
    [summary] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert summary.status == "succeeded", summary.message
    [r] = rows(conn, "gongan")
    assert r["event_type"] == "户口迁出" and r["event_on"] == dt.date(2026, 11, 1)
    assert r["registration_office"] is None and r["extra"] == {"户籍地址": "某某村3组"}


def test_value_list_variant_matches_bare_header(conn, landing):
    write_csv(landing, "gongan", "20261127",
              ["身份证号,事件类型(死亡/迁出/其他),事件日期", "341225199001011234,迁出,2026-11-01"])
    [summary] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert summary.status == "succeeded", summary.message
    assert rows(conn, "gongan")[0]["event_type"] == "户口迁出"   # alias from the mapping


def test_header_only_file_succeeds_with_zero_rows(conn, landing):
    write_csv(landing, "gongan", "20261127", [HEADER])
    [summary] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert (summary.status, summary.rows_in) == ("succeeded", 0)
    [b] = batches(conn, "gongan")
    assert (b["status"], b["rows_in"], b["rows_loaded"], b["rows_rejected"]) == ("succeeded", 0, 0, 0)


def test_truncated_csv_is_refused_whole(conn, landing):
    write_csv(landing, "gongan", "20261126",
              [HEADER, "341225199001011234,张三,死亡,2026-11-01,某某派出所", "341225199001011235,李四,死"],
              newline_at_end=False)
    write_csv(landing, "gongan", "20261127",
              [HEADER, "341225199001011234,张三,死亡,2026-11-01,某某派出所", '341225199001011235,李四,死亡,2026-11-01,"某某派'],
              newline_at_end=False)
    s1, s2 = load_folder(conn, landing, "gongan", RUN_DATE)
    assert s1.status == "failed" and "第3行被截断" in s1.message and "只有3列" in s1.message
    assert s2.status == "failed" and "引号未闭合" in s2.message
    assert rows(conn, "gongan") == []                      # not half-loaded
    assert [b["status"] for b in batches(conn, "gongan")] == ["failed", "failed"]


def test_last_line_without_newline_but_complete_is_fine(conn, landing):
    write_csv(landing, "gongan", "20261127", [HEADER, "341225199001011234,张三,死亡,2026-11-01,某某派出所"],
              newline_at_end=False)
    [summary] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert (summary.status, summary.rows_loaded) == ("succeeded", 1)


def test_missing_required_column(conn, landing):
    write_csv(landing, "gongan", "20261127", ["身份证号,姓名,事件类型,登记机关", "341225199001011234,张三,死亡,所"])
    [summary] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert summary.status == "failed" and "缺少必需的列：事件日期" in summary.message


def test_undecodable_and_wrong_format_refused(conn, landing):
    path = landing / "gongan" / "gongan_20261126.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x81\x30\xff\xfe\x00\x00garbage")
    (landing / "gongan" / "gongan_20261127.csv").write_bytes(b"")
    s1, s2 = load_folder(conn, landing, "gongan", RUN_DATE)
    assert s1.status == "failed" and ("编码无法识别" in s1.message or "二进制" in s1.message)
    assert s2.status == "failed" and "文件为空" in s2.message


def test_semicolon_delimited_and_repeated_header(conn, landing):
    write_csv(landing, "gongan", "20261127", [
        HEADER.replace(",", ";"), "341225199001011234;张三;死亡;2026-11-01;所",
        HEADER.replace(",", ";"), "341225199001011235;李四;死亡;2026-11-02;所", "总计;2;;;"])
    [summary] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert (summary.status, summary.rows_in, summary.rows_loaded) == ("succeeded", 2, 2)
    assert [r["line_no"] for r in rows(conn, "gongan")] == [2, 4]


def test_repeated_header_with_a_chinese_first_column(conn, landing):
    """Columns reordered so a name comes first: the header repeated mid-file in another form
    (full-width brackets, a `*`) is still skipped, and a name that begins like a header is data."""
    write_csv(landing, "gongan", "20261127", [
        "姓名,身份证号,事件类型(死亡/户口迁出),事件日期,登记机关",
        "张三,341225199001011234,死亡,2026-11-01,所",
        "*姓名 ,身份证号码,事件类型（死亡/户口迁出）,事件日期,登记机关",
        "事件,341225199001011235,死亡,2026-11-02,所",
        "姓名哲,341225199001011236,死亡,2026-11-03,所"])
    [summary] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert (summary.status, summary.rows_in, summary.rows_loaded) == ("succeeded", 3, 3)
    assert [(r["line_no"], r["name"]) for r in rows(conn, "gongan")] == [
        (2, "张三"), (4, "事件"), (5, "姓名哲")]
