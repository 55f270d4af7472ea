"""Issue 8 on the file side: one bad value, row or file costs that value, row or file, never
the day, and it is always visible (real PostgreSQL, real files)."""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pytest
from feedfiles import (
    RUN_DATE,
    assert_balanced,
    batches,
    field_warnings,
    rejects,
    rows,
    write_csv,
    write_xlsx,
)

from ingest.batches import field_warning_counts, unresolved_failures
from ingest.feeds import load_all, load_folder

PAYMENT = "支付凭证号,项目库编号,收款单位,支付日期,支付金额(元)"
RENSHE = "身份证号,姓名,就业状态,就业地,月收入,公益性岗位,登记日期"


def cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# --- 1. numbers are bounded on read -----------------------------------------------------------

def test_implausible_amounts_never_reach_the_table(conn, landing):
    """A payment is its amount (identifying: true): an implausible one rejects the row."""
    write_csv(landing, "fund_payment", "20261128", [
        PAYMENT,
        "PZ1,XM1,社,2026-05-01,12345678901234567890",      # 20 digits
        "PZ2,XM1,社,2026-05-01,1E+200000",                  # would fail COPY in PostgreSQL
        "PZ3,XM1,社,2026-05-01,-1e12",
        "PZ4,XM1,社,2026-05-01,1E-200000",                  # would overflow numeric too
        "PZ5,XM1,社,2026-05-01,\"999,999,999,999.99\"",     # the largest plausible amount
    ], encoding="gb18030")
    [s] = load_folder(conn, landing, "fund_payment", RUN_DATE)
    assert (s.status, s.rows_in, s.rows_loaded, s.rows_rejected) == ("succeeded", 5, 2, 3), s.message
    got = {r["voucher_no"]: r["amount"] for r in rows(conn, "fund_payment")}
    assert got == {"PZ4": Decimal("0"), "PZ5": Decimal("999999999999.99")}
    reasons = [reason for _, _, reason in rejects(conn, s.batch_id)]
    assert len(reasons) == 3 and all("支付金额(元)" in r and "超出合理范围" in r for r in reasons), reasons
    # what landed casts into every downstream money column
    conn.execute("select amount::numeric(14,2) from raw.feed_fund_payment").fetchall()
    assert_balanced(conn)


def test_implausible_amount_in_a_detail_column_is_nulled(conn, landing):
    write_xlsx(landing, "minzheng", "20261128", [
        ["身份证号", "姓名", "救助类型", "救助金额", "起始日期", "状态"],
        ["341225199001011234", "张三", "农村低保", "12345678901234567890", "2026-01-01", "在保"],
        ["341225199001011235", "李四", "农村低保", 1e300, "2026-01-01", "在保"],
        ["341225199001011236", "王五", "农村低保", "1E+200000", "2026-01-01", "在保"],
        ["341225199001011237", "赵六", "农村低保", "425.5元", "2026-01-01", "在保"],
    ])
    [s] = load_folder(conn, landing, "minzheng", RUN_DATE)
    assert (s.status, s.rows_loaded, s.rows_rejected, s.fields_warned) == ("succeeded", 4, 0, 3), s.message
    assert [r["amount"] for r in rows(conn, "minzheng")] == [None, None, None, Decimal("425.5")]
    for _, column, _, reason in field_warnings(conn, s.batch_id):
        assert column == "救助金额" and "超出合理范围" in reason, reason
    assert_balanced(conn)


def test_implausible_integers_and_xlsx_numbers(conn, landing):
    header = ["项目库编号", "县代码", "年度", "项目类别", "是否到户项目", "批复金额(万元)", "批复日期",
              "计划带动脱贫户数", "计划带动监测户数"]
    write_xlsx(landing, "fund_project", "20261128", [
        header,
        ["XM1", "341225", "1E+200000", "产业发展", "是", 1e300, "2026-04-01", "99999999999999999999户", 2**40],
        ["XM2", "341225", 2026, "产业发展", "是", "1622500元", "2026-04-01", 3, 4],
    ])
    [s] = load_folder(conn, landing, "fund_project", RUN_DATE)
    assert (s.status, s.rows_loaded, s.rows_rejected, s.fields_warned) == ("succeeded", 2, 0, 4), s.message
    first, second = rows(conn, "fund_project")
    assert (first["year"], first["approved_amount_wan"], first["planned_poverty_households"],
            first["planned_monitored_households"]) == (None, None, None, None)
    assert second["approved_amount_wan"] == Decimal("162.25")   # 元 in a 万元 column, converted
    assert all(cjk(w[3]) for w in field_warnings(conn, s.batch_id))


# --- 2. a file cut inside its last field ------------------------------------------------------

@pytest.mark.parametrize("last, where", [
    ("341225199001011235,李四,已就业,县内,3000,否,2026-11-2", "2026-11-2"),     # 2026-11-28 cut
    ("341225199001011235,李四,已就业,县内,3000,否,2026-1", "2026-1"),
    ("341225199001011235,李四,已就业,县内,3000,否,2026年11月2", "2026年11月2"),
])
def test_file_cut_inside_its_last_date_is_refused_whole(conn, landing, last, where):
    first = ("341225199001011234,张三,已就业,县内,3000,否,2026-11-28" if "年" not in last
             else "341225199001011234,张三,已就业,县内,3000,否,2026年11月28日")
    write_csv(landing, "renshe", "20261128", [RENSHE, first, last], newline_at_end=False)
    [s] = load_folder(conn, landing, "renshe", RUN_DATE)
    assert s.status == "failed" and "被截断" in s.message and where in s.message, s.message
    assert rows(conn, "renshe") == []
    assert [b["status"] for b in batches(conn, "renshe")] == ["failed"]


def test_file_cut_inside_its_last_amount_is_refused_whole(conn, landing):
    write_csv(landing, "fund_payment", "20261128", [
        PAYMENT, "PZ1,XM1,社,2026-05-01,300000.00", "PZ2,XM1,社,2026-05-01,123456.0"],
        newline_at_end=False)
    [s] = load_folder(conn, landing, "fund_payment", RUN_DATE)
    assert s.status == "failed" and "被截断" in s.message
    assert rows(conn, "fund_payment") == []


def test_same_values_with_a_final_newline_load(conn, landing):
    write_csv(landing, "renshe", "20261128", [
        RENSHE, "341225199001011234,张三,已就业,县内,3000,否,2026-11-28",
        "341225199001011235,李四,已就业,县内,3000,否,2026-11-2"])
    [s] = load_folder(conn, landing, "renshe", RUN_DATE)
    assert (s.status, s.rows_loaded) == ("succeeded", 2)
    assert rows(conn, "renshe")[1]["registered_on"] == dt.date(2026, 11, 2)


def test_truncated_xlsx_is_refused_whole(conn, landing):
    path = write_xlsx(landing, "minzheng", "20261128", [
        ["身份证号", "姓名", "救助类型", "起始日期", "状态"],
        *[[f"34122519900101{1000 + i}", "张三", "农村低保", "2026-01-01", "在保"] for i in range(50)]])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])    # shorter than its zip directory declares
    [s] = load_folder(conn, landing, "minzheng", RUN_DATE)
    assert s.status == "failed" and cjk(s.message)
    assert rows(conn, "minzheng") == []


# --- 4. every file found gets a batch row; unresolved failures fail the day ------------------

def test_unreadable_file_gets_a_failed_batch(conn, landing):
    folder = landing / "gongan"
    folder.mkdir(parents=True)
    (folder / "gongan_20261128.csv").symlink_to(landing / "does-not-exist.csv")   # dangling
    [s] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert s.status == "failed" and s.batch_id is not None and cjk(s.message)
    [b] = batches(conn, "gongan")
    assert (b["status"], b["origin"], b["file_date"]) == ("failed", "gongan_20261128.csv", RUN_DATE)


def test_a_broken_folder_gets_a_failed_batch(conn, landing):
    [s] = load_all(conn, landing, RUN_DATE, folders=["no_such_folder"])
    assert s.status == "failed" and cjk(s.message)
    assert [(src, origin) for src, origin, _ in unresolved_failures(conn, RUN_DATE)] == [
        ("no_such_folder", "no_such_folder/")]


def test_late_file_that_fails_is_escalated_until_a_good_delivery(conn, landing, monkeypatch,
                                                                  fresh_db_url):
    from pipeline import steps

    header = "身份证号,姓名,事件类型,事件日期,登记机关"
    write_csv(landing, "gongan", "20261125", ["身份证号,姓名", "341225199001011234,张三"])  # late, bad
    write_csv(landing, "gongan", "20261128", [header, "341225199001011234,张三,死亡,2026-11-01,所"])
    load_all(conn, landing, RUN_DATE, folders=["gongan"])
    [(source, origin, message)] = unresolved_failures(conn, RUN_DATE)
    assert (source, origin) == ("gongan", "gongan_20261125.csv") and "没有找到表头" in message
    assert unresolved_failures(conn, dt.date(2026, 11, 24)) == []    # not yet due then
    monkeypatch.setenv("WAREHOUSE_URL", fresh_db_url)
    # the day's report (close_day) lists what is still unresolved
    assert [o for _, o, _ in steps.unresolved_loads(conn, RUN_DATE)] == ["gongan_20261125.csv"]
    # the department re-sends the day: resolved
    write_csv(landing, "gongan", "20261125", [header, "341225199001011235,李四,死亡,2026-11-01,所"])
    load_all(conn, landing, RUN_DATE, folders=["gongan"])
    assert unresolved_failures(conn, RUN_DATE) == []
    assert steps.unresolved_loads(conn, RUN_DATE) == []


# --- 5. master data survives a bad non-key field ----------------------------------------------

def test_master_data_rows_survive_bad_details(conn, landing):
    write_xlsx(landing, "consumption_product", "20261128", [
        ["认定编号", "产品名称", "品类", "供应商统一社会信用代码", "认定机构", "认定日期", "有效期至", "产地县代码", "价值量(万元)"],
        ["RD1", "黄山毛峰", "茶叶", "91341225MA2N0XYZ1K", "省局", "2026-01-01", "长期", "3412", "五万"],
        ["RD2", "笋干", "干货", "9134", "省局", "2026-01-01", "2027-12-31", "341225", "1622500元"],
        ["", "无编号", "干货", "91341225MA2N0XYZ1K", "省局", "2026-01-01", "2027-12-31", "341225", "1"],
    ])
    write_xlsx(landing, "fund_project", "20261128", [
        ["项目库编号", "县代码", "年度", "项目类别", "是否到户项目", "批复金额(万元)", "批复日期"],
        ["XM1", "341225", "2026年", "交通", "不详", "待定", "2026-04-01"],
    ])
    write_xlsx(landing, "consumption_supplier", "20261128", [
        ["统一社会信用代码", "供应商名称", "注册县代码", "是否832平台供应商", "主体类型"],
        ["91341225MA2N0XYZ1K", "某某茶业", "34122", "也许", "公司"],
    ])
    summaries = {s.folder: s for s in load_all(
        conn, landing, RUN_DATE, folders=["consumption_product", "fund_project", "consumption_supplier"])}
    product = summaries["consumption_product"]
    assert (product.rows_loaded, product.rows_rejected, product.fields_warned) == (2, 1, 4)
    got = {r["cert_no"]: r for r in rows(conn, "consumption_product")}
    assert got["RD1"]["value_wan"] is None and got["RD1"]["valid_until"] is None
    assert got["RD2"]["supplier_credit_code"] is None and got["RD2"]["value_wan"] == Decimal("162.25")
    assert "认定编号为空" in rejects(conn, product.batch_id)[0][2]
    [project] = rows(conn, "fund_project")
    assert project["project_id"] == "XM1" and project["year"] == 2026
    assert (project["project_category"], project["is_household_project"], project["approved_amount_wan"]) == (None, None, None)
    [supplier] = rows(conn, "consumption_supplier")
    assert supplier["credit_code"] == "91341225MA2N0XYZ1K" and supplier["county_code"] is None
    ids = [s.batch_id for s in summaries.values()]
    assert field_warning_counts(conn, ids) == {
        summaries["consumption_product"].batch_id: 4, summaries["fund_project"].batch_id: 3,
        summaries["consumption_supplier"].batch_id: 3}
    for batch_id in ids:
        for line_no, column, original, reason in field_warnings(conn, batch_id):
            assert line_no >= 2 and column and original and cjk(reason)
    assert_balanced(conn)


# --- 6. links, huge fields, BOM + GB18030, zip bombs ------------------------------------------

def test_symlink_to_a_file_outside_is_not_followed(conn, landing, tmp_path):
    secret = tmp_path / "outside.csv"
    secret.write_text("身份证号,姓名,事件类型,事件日期\n341225199001011234,外人,死亡,2026-11-01\n")
    (landing / "gongan").mkdir(parents=True)
    (landing / "gongan" / "gongan_20261128.csv").symlink_to(secret)
    [s] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert s.status == "failed" and "符号链接" in s.message
    assert rows(conn, "gongan") == []
    assert [b["status"] for b in batches(conn, "gongan")] == ["failed"]


def test_huge_field_rejects_its_row_not_the_file(conn, landing):
    header = "身份证号,姓名,事件类型,事件日期,登记机关"
    write_csv(landing, "gongan", "20261128", [
        header, "341225199001011234,张三,死亡,2026-11-01,所",
        f'341225199001011235,李四,死亡,2026-11-01,"{"长" * 140_000}"',
        "341225199001011236,王五,死亡,2026-11-01,所"])
    [s] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert (s.status, s.rows_in, s.rows_loaded, s.rows_rejected) == ("succeeded", 3, 2, 1), s.message
    [(line_no, _, reason)] = rejects(conn, s.batch_id)
    assert line_no == 3 and "内容过长" in reason


def test_runaway_field_refuses_the_file_in_chinese(conn, landing):
    header = "身份证号,姓名,事件类型,事件日期,登记机关"
    write_csv(landing, "gongan", "20261128", [
        header, f'341225199001011235,李四,死亡,2026-11-01,"{"x" * (1 << 20)}x"'])
    [s] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert s.status == "failed" and "超过" in s.message and "field" not in s.message


def test_utf8_bom_in_front_of_gb18030(conn, landing):
    path = write_csv(landing, "gongan", "20261128", [
        "身份证号,姓名,事件类型,事件日期,登记机关", "341225199001011234,张三,死亡,2026-11-01,某某派出所"],
        encoding="gb18030")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    [s] = load_folder(conn, landing, "gongan", RUN_DATE)
    assert (s.status, s.rows_loaded) == ("succeeded", 1), s.message
    [r] = rows(conn, "gongan")
    assert (r["name"], r["registration_office"]) == ("张三", "某某派出所")


def test_xlsx_decompressing_past_the_limit_is_refused(conn, landing):
    from core.settings import Settings

    limit = Settings.from_env({"FEED_XLSX_MAX_UNPACKED_MB": "1"}, connection_id=None).feed_xlsx_max_unpacked_mb
    write_xlsx(landing, "minzheng", "20261128", [
        ["身份证号", "姓名", "救助类型", "起始日期", "状态"],
        *[[f"34122519900101{1000 + i % 9000}", "张" * 50, "农村低保", "2026-01-01", "在保"]
          for i in range(8000)]])
    assert os.path.getsize(landing / "minzheng" / "minzheng_20261128.xlsx") < 1 << 20
    [s] = load_folder(conn, landing, "minzheng", RUN_DATE, xlsx_max_mb=limit)
    assert s.status == "failed" and "解压后过大" in s.message
    assert rows(conn, "minzheng") == []


# --- 8. audit times ----------------------------------------------------------------------------

def test_file_batch_times_are_real(conn, landing):
    write_csv(landing, "gongan", "20261128", ["身份证号,姓名,事件类型,事件日期,登记机关"] + [
        f"34122519900101{1000 + i},张三,死亡,2026-11-01,所" for i in range(2000)])
    load_folder(conn, landing, "gongan", RUN_DATE)
    started, finished = conn.execute("select started_at, finished_at from raw.load_batch").fetchone()
    assert finished > started     # one transaction, yet two different clock readings
