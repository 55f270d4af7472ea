"""民政 (minzheng): XLSX with a title row, blank rows, a repeated header, a 合计 row."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from feedfiles import RUN_DATE, assert_balanced, batches, rejects, rows, write_xlsx

from ingest.feeds import load_folder

HEADER = ["身份证号", "姓名 ", "救助类型（农村低保/农村特困/临时救助）", "保障档次", "救助金额",
          "起始日期", "终止日期", "状态(在保/停保)"]


def test_messy_xlsx(conn, landing):
    data = [
        ["某某县2026年11月低保名单"],                                                           # 1 title
        [],                                                                                   # 2 blank
        HEADER,                                                                               # 3
        ["341225199001011234", "张三", "农村低保", "一档", 450, dt.datetime(2026, 3, 5), None, "在保"],  # 4
        [" 34122519900101123x ", "李四", " 农村特困 ", "二档", "1,234.50", 46086, "2026/12/31", "在保"],  # 5
        [None, None, None, None, None, None, None, None],                                    # 6 blank
        [3.41225e17, "王五", "农村低保", "一档", 450, "20260305", None, "在保"],              # 7 ID lost
        ["341225199001011235", "赵六", "城市低保", "一档", 450, "2026年3月5日", None, "在保"],  # 8 not in list
        HEADER,                                                                               # 9 repeated header
        ["341225199001011236", "钱七", "临时救助", None, "800元", 20260401, None, "停保", "新增列值"],  # 10
        ["合计", None, None, None, 2934.5, None, None, None],                                 # 11 totals
    ]
    write_xlsx(landing, "minzheng", "20261127", data, number_formats={"F5": "General"})

    [summary] = load_folder(conn, landing, "minzheng", RUN_DATE)
    assert summary.status == "succeeded", summary.message
    assert (summary.rows_in, summary.rows_loaded, summary.rows_rejected) == (5, 3, 2)

    loaded = {r["line_no"]: r for r in rows(conn, "minzheng")}
    assert sorted(loaded) == [4, 5, 10]                     # sheet row numbers
    assert loaded[4]["started_on"] == dt.date(2026, 3, 5)   # datetime cell
    assert loaded[4]["amount"] == Decimal("450")
    r = loaded[5]
    assert r["id_number"] == "34122519900101123X" and r["assistance_type"] == "农村特困"
    assert r["started_on"] == dt.date(2026, 3, 5)           # Excel serial number
    assert r["ended_on"] == dt.date(2026, 12, 31) and r["amount"] == Decimal("1234.50")
    r = loaded[10]
    assert r["started_on"] == dt.date(2026, 4, 1) and r["amount"] == Decimal("800")
    assert r["status"] == "停保" and r["support_tier"] is None
    assert r["extra"] == {"第9列": "新增列值"}               # a cell right of the header is kept

    [b] = batches(conn, "minzheng")
    rej = {line: (payload, reason) for line, payload, reason in rejects(conn, b["batch_id"])}
    assert sorted(rej) == [7, 8]
    assert "身份证号被Excel存成了数字(3.41225E+17)" in rej[7][1] and "民政局" in rej[7][1]
    assert json.loads(rej[7][0])[1] == "王五"                # payload: the row's cells as JSON
    assert "救助类型“城市低保”不在允许的取值(农村低保/农村特困/临时救助)中" in rej[8][1]
    assert_balanced(conn)


def test_cover_sheet_and_unknown_column(conn, landing):
    data = [HEADER[:3] + ["备注"] + HEADER[5:6] + HEADER[7:],
            ["341225199001011234", "张三", "农村低保", "核查中", "2026-03-05", "在保"]]
    write_xlsx(landing, "minzheng", "20261127", data, sheets_before=1)
    [summary] = load_folder(conn, landing, "minzheng", RUN_DATE)
    assert summary.status == "succeeded", summary.message
    [r] = rows(conn, "minzheng")
    assert r["extra"] == {"备注": "核查中"} and r["amount"] is None and r["line_no"] == 2


def test_header_only_xlsx_is_an_empty_success(conn, landing):
    write_xlsx(landing, "minzheng", "20261127", [["某某县2026年11月低保名单"], HEADER])
    [summary] = load_folder(conn, landing, "minzheng", RUN_DATE)
    assert (summary.status, summary.rows_in, summary.rows_loaded) == ("succeeded", 0, 0)


def test_corrupt_xlsx_is_refused(conn, landing):
    good = write_xlsx(landing, "minzheng", "20261127", [HEADER] + [
        ["341225199001011234", "张三", "农村低保", "一档", 450, "2026-03-05", None, "在保"]] * 200)
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])               # cut off in transfer
    fake = landing / "minzheng" / "minzheng_20261128.xlsx"
    fake.write_text("身份证号,姓名\n", encoding="utf-8")     # a CSV renamed to .xlsx

    s1, s2 = load_folder(conn, landing, "minzheng", RUN_DATE)
    assert s1.status == "failed" and "XLSX 文件已损坏或不完整" in s1.message
    assert s2.status == "failed" and "内容不是 Excel 工作簿" in s2.message
    assert [b["status"] for b in batches(conn, "minzheng")] == ["failed", "failed"]
    assert rows(conn, "minzheng") == []


def test_missing_required_column_in_xlsx(conn, landing):
    header = [h for h in HEADER if not h.startswith("状态")]
    write_xlsx(landing, "minzheng", "20261127", [["标题"], header,
                                                 ["341225199001011234", "张三", "农村低保", "一档", 450, "2026-03-05", None]])
    [summary] = load_folder(conn, landing, "minzheng", RUN_DATE)
    assert summary.status == "failed" and "缺少必需的列：状态(在保/停保)" in summary.message
    assert rows(conn, "minzheng") == []


def test_no_header_found(conn, landing):
    write_xlsx(landing, "minzheng", "20261127", [["证件", "名字"], ["341225199001011234", "张三"]])
    [summary] = load_folder(conn, landing, "minzheng", RUN_DATE)
    assert summary.status == "failed" and "没有找到表头" in summary.message
