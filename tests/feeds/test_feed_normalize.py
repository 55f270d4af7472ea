"""Value parsers: every date, money and ID variant from CONTRACT §4 (no database)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ingest.feeds import normalize as nz

MARCH_5 = dt.date(2026, 3, 5)


@pytest.mark.parametrize("value", [
    "2026-03-05", "2026/3/5", "20260305", "2026年3月5日", "46086", "46086.0", " ２０２６－０３－０５ ",
    "2026-03-05 00:00:00", "2026.3.5", 46086, 46086.75, 20260305, dt.datetime(2026, 3, 5, 8, 30), MARCH_5,
])
def test_dates(value):
    assert nz.parse_date(value, "结算日期") == MARCH_5


@pytest.mark.parametrize("value, reason", [
    ("2026-02-30", "不是真实存在的日期"), ("03/05/2026", "不是可识别的日期"), ("2026", "不是可识别的日期"),
    (2026, "不是可识别的日期"), ("明天", "不是可识别的日期"), ("2226-01-01", "超出合理日期范围"),
])
def test_bad_dates(value, reason):
    with pytest.raises(nz.RowRejected, match=reason):
        nz.parse_date(value, "结算日期")


def test_empty_is_null():
    for parse in (nz.parse_date, nz.parse_money, nz.parse_text):
        for empty in (None, "", "  ", "\u3000"):
            assert parse(empty, "列") is None if parse is not nz.parse_text else parse(empty) is None


@pytest.mark.parametrize("value, expected", [
    ("1,234.50", Decimal("1234.50")), ("1234.5元", Decimal("1234.5")), ("¥1234.5", Decimal("1234.5")),
    ("１，２３４.５０", Decimal("1234.50")), (1234.5, Decimal("1234.5")), (0.1, Decimal("0.1")),
    (12, Decimal("12")), ("1.5万元", Decimal("15000.0")), ("-20.00", Decimal("-20.00")),
])
def test_money_yuan(value, expected):
    assert nz.parse_money(value, "金额") == expected


def test_money_wan_keeps_wan():
    assert nz.parse_money("120.5万元", "批复金额(万元)", "wan") == Decimal("120.5")
    assert nz.parse_money("120.5", "批复金额(万元)", "wan") == Decimal("120.5")
    # a cell carrying its own unit is read in it and converted to the column's (CONTRACT)
    assert nz.parse_money("1622500元", "批复金额(万元)", "wan") == Decimal("162.25")
    for bad in ("abc", "NaN", "1.2.3", True, "--", "待核"):
        with pytest.raises(nz.RowRejected):
            nz.parse_money(bad, "金额")


@pytest.mark.parametrize("value, expected", [
    ("341225199001011234", "341225199001011234"), (" 34122519900101123x ", "34122519900101123X"),
    ("３４１２２５１９９００１０１１２３Ｘ", "34122519900101123X"), ("'341225199001011234", "341225199001011234"),
    ("341225900101123", "341225900101123"), ("34122519900101123X11", "34122519900101123X11"),
    ("341225199001011230", "341225199001011230"),   # wrong check digit: kept, ID-01 reports it
    (341225900101123, "341225900101123"),
])
def test_id_numbers(value, expected):
    assert nz.parse_id_number(value, "身份证号", "医保局") == expected


def test_id_number_exact_integer_cell_accepted_only_if_check_digit_proves_it():
    valid = next(f"34122519900101123{d}" for d in "0123456789X"
                 if nz.id_check_digit_ok(f"34122519900101123{d}"))
    if valid.endswith("X"):
        valid = "110105194912310021"          # an integer cannot end in X
    assert nz.id_check_digit_ok(valid)
    assert nz.parse_id_number(int(valid), "身份证号", "民政局") == valid
    lost = int(valid[:15] + "000")             # what Excel's 15 digits leave of it
    assert not nz.id_check_digit_ok(str(lost))
    for cell in (lost, float(valid)):
        with pytest.raises(nz.RowRejected, match="被Excel存成了数字"):
            nz.parse_id_number(cell, "身份证号", "民政局")


@pytest.mark.parametrize("value, reason", [
    ("3.41225E+17", "身份证号为科学计数法(3.41225E+17)，原号码已丢失，请让医保局重新导出"),
    ("3.41225e17", "科学计数法"), ("34122519900101123", "17个字符"), ("3412251990010112AB", "不是15/18位"),
    ("34122519900101123X1", "19个字符"),
])
def test_bad_id_numbers(value, reason):
    with pytest.raises(nz.RowRejected, match=reason.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        nz.parse_id_number(value, "身份证号", "医保局")


def test_enum_and_shi_fou():
    assert nz.parse_enum(" 农村 低保 ", "救助类型", ("农村低保", "临时救助"), {}) == "农村低保"
    assert nz.parse_enum("低保", "救助类型", ("农村低保",), {"低保": "农村低保"}) == "农村低保"
    with pytest.raises(nz.RowRejected, match="救助类型“城市低保”不在允许的取值"):
        nz.parse_enum("城市低保", "救助类型", ("农村低保", "临时救助"), {})
    assert nz.parse_shi_fou(" 是 ", "x") is True and nz.parse_shi_fou("否", "x") is False
    assert nz.parse_shi_fou(False, "x") is False


def test_header_key():
    assert nz.header_key("救助类型（农村低保/农村特困/临时救助） ") == nz.header_key("救助类型(农村低保/农村特困/临时救助)")
    assert nz.header_key("\ufeff身份证号") == nz.header_key("*身份证号 ") == "身份证号"


def test_integer_and_code():
    assert nz.parse_integer("2026年", "年度", ("年",)) == 2026
    assert nz.parse_integer(35.0, "户数") == 35
    with pytest.raises(nz.RowRejected, match="不是整数"):
        nz.parse_integer("3.5", "户数")
    with pytest.raises(nz.RowRejected, match="数值过大"):
        nz.parse_integer("99999999999", "户数")
    assert nz.parse_code(341225103204.0, "村代码", r"\d{12}") == "341225103204"
    assert nz.parse_code(" ９１ab ", "代码", upper=True) == "91AB"
