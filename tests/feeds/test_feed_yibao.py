"""医保 (yibao): a messy GB18030 CSV, every date/money/ID variant, rejects with reasons."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from feedfiles import RUN_DATE, assert_balanced, batches, field_warnings, rejects, rows, write_csv

from ingest.feeds import load_folder

FW = str.maketrans("0123456789x", "０１２３４５６７８９ｘ")   # to full-width

HEADER = ("身份证号 ,姓名,就诊类型（住院/门诊） ,入院日期,出院日期,医疗总费用,基本医保支付,"
          "大病保险支付,医疗救助支付,个人自付,合规自付,医疗机构 ,结算日期,备注")


def test_messy_gb18030_csv(conn, landing):
    lines = [
        HEADER,                                                                        # 1
        '341225199001011234,张三,住院,2026-03-05,2026/3/9,"1,234.50",800,100,50,284.5元,200.00,县人民医院,20260310,',  # 2
        f' {"34122519900101123x".translate(FW)} ,李四, 门诊 ,2026年3月5日,,46086,,,,,,乡卫生院,2026.3.5,复诊',  # 3
        '3.41225E+17,王五,住院,2026-03-01,2026-03-02,100,50,0,0,50,50,县医院,2026-03-02,',    # 4
        '',                                                                            # 5
        '341225199001011235,赵六,急诊,2026-03-01,,100,0,0,0,100,100,县医院,2026-03-02,',     # 6
        '341225199001011236,钱七,住院,2026-13-45,,100,0,0,0,100,100,县医院,2026-03-02,',     # 7
        '341225199001011237,孙八,住院,2026-03-01,,abc,0,0,0,100,100,县医院,2026-03-02,',     # 8
        '3412251990010112,周九,住院,2026-03-01,,100,0,0,0,100,100,县医院,2026-03-02,',       # 9
        '34122519900101123811,吴十,门诊,,,¥88,,,,,88元,"县医院\n南院区",2026-03-02,',        # 10-11
        '341225199001011230,郑一,门诊,,,,,,,,,县医院,2026-03-02,',                          # 12 wrong check digit: kept
        ',无证号,门诊,,,,,,,,,县医院,2026-03-02,',                                           # 13
        '身份证号,姓名,就诊类型(住院/门诊),入院日期,出院日期,医疗总费用,基本医保支付,大病保险支付,医疗救助支付,个人自付,合规自付,医疗机构,结算日期,备注',  # 14
        '合计,,,,,"1,522.50",850,100,50,434.5,438,,,',                                     # 15
    ]
    write_csv(landing, "yibao", "20261127", lines, encoding="gb18030")

    [summary] = load_folder(conn, landing, "yibao", RUN_DATE)
    assert summary.status == "succeeded", summary.message
    assert (summary.rows_in, summary.rows_loaded, summary.rows_rejected) == (10, 7, 3)

    loaded = {r["line_no"]: r for r in rows(conn, "yibao")}
    assert sorted(loaded) == [2, 3, 6, 7, 8, 10, 12]
    r = loaded[2]
    assert r["id_number"] == "341225199001011234" and r["visit_type"] == "住院"
    assert (r["admitted_on"], r["discharged_on"], r["settled_on"]) == (
        dt.date(2026, 3, 5), dt.date(2026, 3, 9), dt.date(2026, 3, 10))
    assert r["total_cost"] == Decimal("1234.50") and r["out_of_pocket"] == Decimal("284.5")
    assert r["compliant_oop"] == Decimal("200.00") and r["extra"] is None
    r = loaded[3]
    assert r["id_number"] == "34122519900101123X" and r["visit_type"] == "门诊"
    assert r["admitted_on"] == dt.date(2026, 3, 5)          # 2026年3月5日
    assert r["discharged_on"] is None and r["basic_insurance_paid"] is None
    assert r["total_cost"] == Decimal("46086")             # a number in a money column stays a number
    assert r["settled_on"] == dt.date(2026, 3, 5)
    assert r["extra"] == {"备注": "复诊"}                   # unknown column kept
    r = loaded[10]                                         # 20-char disability number in the ID column
    assert r["id_number"] == "341225199001011238"
    assert r["extra"] == {"身份证号原值": "34122519900101123811"}
    assert r["total_cost"] == Decimal("88") and r["compliant_oop"] == Decimal("88")
    assert r["institution"] == "县医院\n南院区"
    assert loaded[12]["id_number"] == "341225199001011230"

    [b] = batches(conn, "yibao")
    rej = {line: (payload, reason) for line, payload, reason in rejects(conn, b["batch_id"])}
    assert sorted(rej) == [4, 9, 13]                       # the ID number identifies the row
    assert rej[4][0].startswith("3.41225E+17,王五")        # original line text
    assert rej[4][1] == "身份证号为科学计数法(3.41225E+17)，原号码已丢失，请让医保局重新导出（身份证号列设为文本格式）"
    # any other unreadable value: the settlement stays, that value is NULL, with a warning
    assert (loaded[6]["visit_type"], loaded[7]["admitted_on"], loaded[8]["total_cost"]) == (None, None, None)
    assert loaded[8]["compliant_oop"] == Decimal("100")
    warned = {line: (column, original, reason)
              for line, column, original, reason in field_warnings(conn, b["batch_id"])}
    assert sorted(warned) == [6, 7, 8]
    assert warned[6][:2] == ("就诊类型", "急诊") and "就诊类型“急诊”不在允许的取值(住院/门诊)中" in warned[6][2]
    assert warned[7][:2] == ("入院日期", "2026-13-45") and "入院日期“2026-13-45”不是真实存在的日期" in warned[7][2]
    assert warned[8][:2] == ("医疗总费用", "abc") and "医疗总费用“abc”不是有效金额" in warned[8][2]
    assert "不是15/18位身份证号或20位残疾人证号" in rej[9][1]
    assert "身份证号为空" in rej[13][1]
    assert_balanced(conn)


def test_column_comments_and_types(conn):
    cols = dict(conn.execute(
        "select a.attname, col_description(a.attrelid, a.attnum) from pg_attribute a "
        "where a.attrelid = 'raw.feed_yibao'::regclass and a.attnum > 0").fetchall())
    assert cols["visit_type"] == "就诊类型(住院/门诊)"
    assert cols["compliant_oop"] == "合规自付"
    assert cols["extra"].startswith("映射文件中没有的额外列")
    types = dict(conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'feed_yibao'").fetchall())
    assert types["total_cost"] == "numeric" and types["settled_on"] == "date"
    assert types["extra"] == "jsonb" and types["load_batch_id"] == "bigint"


def test_missing_required_column_refuses_file(conn, landing):
    header = HEADER.replace(",合规自付", "")
    write_csv(landing, "yibao", "20261127", [header, "341225199001011234,张三,住院,,,,,,,,县医院,2026-03-02,"],
              encoding="gb18030")
    [summary] = load_folder(conn, landing, "yibao", RUN_DATE)
    assert summary.status == "failed"
    assert "缺少必需的列：合规自付" in summary.message and "医保局" in summary.message
    [b] = batches(conn, "yibao")
    assert b["status"] == "failed" and "合规自付" in b["message"]
    assert rows(conn, "yibao") == []


def test_missing_optional_column_gives_nulls(conn, landing):
    header = "身份证号,姓名,合规自付,结算日期"
    write_csv(landing, "yibao", "20261127", [header, "341225199001011234,张三,20000.5,2026-11-01"],
              encoding="gb18030")
    [summary] = load_folder(conn, landing, "yibao", RUN_DATE)
    assert summary.status == "succeeded" and summary.rows_loaded == 1
    [r] = rows(conn, "yibao")
    assert r["compliant_oop"] == Decimal("20000.5") and r["visit_type"] is None
    assert r["institution"] is None and r["total_cost"] is None


def test_gb18030_decoded_not_assumed_utf8(conn, landing):
    # the same content in UTF-8 loads identically: the encoding is detected, not assumed
    for day, enc in (("20261126", "gb18030"), ("20261127", "utf-8")):
        write_csv(landing, "yibao", day, [HEADER, f"341225199001011234,张三{day[-1]},住院,,,,,,,,1,医院,{day},"],
                  encoding=enc)
    summaries = load_folder(conn, landing, "yibao", RUN_DATE)
    assert [s.status for s in summaries] == ["succeeded", "succeeded"]
    assert [r["name"] for r in rows(conn, "yibao")] == ["张三6", "张三7"]


def test_reject_payload_is_original_text(conn, landing):
    write_csv(landing, "yibao", "20261127", [HEADER, "3.41225E+17,王五,住院,,,,,,,,1,县医院,2026-03-02,"],
              encoding="gb18030")
    [summary] = load_folder(conn, landing, "yibao", RUN_DATE)
    [(line, payload, reason)] = rejects(conn, summary.batch_id)
    assert line == 2 and payload == "3.41225E+17,王五,住院,,,,,,,,1,县医院,2026-03-02,"
    assert json.dumps(reason, ensure_ascii=False)   # plain Chinese text


def test_gb18030_cut_mid_character_is_refused(conn, landing):
    path = write_csv(landing, "yibao", "20261127",
                     [HEADER, "341225199001011234,张三,住院,,,,,,,,1,县人民医院,2026-03-02,"], encoding="gb18030")
    path.write_bytes(path.read_bytes().rstrip(b"\r\n,2026-03-02")[:-1])   # half of 院
    [summary] = load_folder(conn, landing, "yibao", RUN_DATE)
    assert summary.status == "failed" and "截断" in summary.message
