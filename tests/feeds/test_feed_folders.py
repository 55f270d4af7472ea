"""One realistic file for every other landing folder, loaded through load_all."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from feedfiles import RUN_DATE, assert_balanced, field_warnings, rejects, rows, write_csv, write_xlsx

from ingest.feeds import FOLDERS, load_all, load_mapping

D = dt.date

# folder -> (format, encoding, header, data rows, {column: expected value of the first row})
CASES = {
    "canlian": ("csv", "utf-8-sig",
                ["残疾人证号", "姓名", "残疾类别(视力/听力/言语/肢体/智力/精神/多重)", "残疾等级(一级/二级/三级/四级)", "发证日期", "状态(有效/注销)"],
                [["34122519900101123x11", "张三", "肢体残疾", "１级", "2026-10-01", "有效"],
                 ["341225199001011234", "李四", "视力", "五级", "2026-10-01", "有效"]],
                {"disability_cert_no": "34122519900101123X11", "id_number": "34122519900101123X",
                 "disability_category": "肢体", "disability_grade": "一级", "issued_on": D(2026, 10, 1)}),
    "jiaoyu": ("xlsx", None,
               ["学生身份证号", "姓名", "学校名称", "学段(小学/初中/高中/中职/高校)", "年级", "学籍状态(在校/休学/辍学/疑似辍学)", "资助项目", "资助金额"],
               [["341225201001011234", "张小", "某某中学", "初中", "八年级", "疑似辍学", "两免一补", 625.5],
                ["341225201001011235", "李小", "某某小学", "小学", "三年级", "退学", None, None]],
               {"school_stage": "初中", "enrolment_status": "疑似辍学", "aid_amount": Decimal("625.5"), "grade": "八年级"}),
    "zhujian": ("csv", "gb18030",
                ["户主身份证号", "户主姓名", "村代码", "鉴定日期", "鉴定等级(A/B/C/D)", "改造状态(未改造/改造中/已改造)"],
                [["341225199001011234", "张三", "341225103204", "2026年10月8日", "C级", "未改造"],
                 ["341225199001011235", "李四", "3412251032", "2026-10-08", "C", "未改造"]],
                {"village_code": "341225103204", "safety_grade": "C", "appraised_on": D(2026, 10, 8)}),
    "shuili": ("csv", "utf-8",
               ["村代码", "自然村", "户主身份证号", "供水方式(集中供水/分散供水)", "水质达标(是/否)", "供水保障(正常/季节性缺水/中断)", "核查日期"],
               [["341225103204", "上湾", "", "分散供水", "否", "季节性缺水", "2026/11/3"],
                ["341225103204", "下湾", "341225199001011234", "集中供水", "不知道", "正常", "2026/11/3"]],
               {"head_id_number": None, "water_quality_ok": False, "supply_status": "季节性缺水", "checked_on": D(2026, 11, 3)}),
    "renshe": ("csv", "utf-8",
               ["身份证号", "姓名", "就业状态(已就业/未就业)", "就业地(县内/县外省内/省外)", "月收入", "公益性岗位(是/否)", "登记日期"],
               [["341225199001011234", "张三", "已就业", "省外", "4,500元", "否", "20261101"],
                ["341225199001011235", "李四", "已就业", "国外", "", "否", "20261101"]],
               {"work_place": "省外", "monthly_income": Decimal("4500"), "public_welfare_job": False}),
    "fund_allocation": ("xlsx", None,
                        ["文号", "资金级次(中央/省级/市级/县级)", "年度", "县代码", "金额(万元)"],
                        [["皖财农〔2026〕12号", "中央", 2026, 341225, 1234.5678],
                         ["皖财农〔2026〕13号", "乡镇", 2026, 341225, 10]],
                        {"fund_level": "中央", "year": 2026, "county_code": "341225", "amount_wan": Decimal("1234.5678")}),
    "fund_project": ("xlsx", None,
                     ["项目库编号", "项目名称", "县代码", "年度", "项目类别(产业发展/就业/乡村建设/巩固三保障/搬迁后扶/项目管理费/其他)",
                      "是否到户项目(是/否)", "资金级次", "批复金额(万元)", "批复日期", "实施主体", "联农带农方式(务工/分红/订单/租金/其他)",
                      "计划带动脱贫户数", "计划带动监测户数", "资产类型(经营性/公益性/到户类)"],
                     [["XM2026-001", "茶园提升", "341225", "2026年", "产业发展", "是", "中央", "120.5", dt.datetime(2026, 4, 1),
                       "某某合作社", "分红", "35户", 4, "经营性"],
                      ["XM2026-002", "道路", "341225", 2026, "交通", "否", "县级", 80, dt.datetime(2026, 4, 1),
                       "某某镇", "务工", 0, 0, "公益性"]],
                     {"project_id": "XM2026-001", "year": 2026, "is_household_project": True,
                      "approved_amount_wan": Decimal("120.5"), "approved_on": D(2026, 4, 1),
                      "planned_poverty_households": 35, "planned_monitored_households": 4}),
    "fund_payment": ("csv", "gb18030",
                     ["支付凭证号", "项目库编号", "收款单位", "支付日期", "支付金额(元)"],
                     [["PZ0001", "XM2026-001", "某某合作社", "2026-05-01", "300,000.00"],
                      ["PZ0002", "XM2026-001", "某某合作社", "2026-05-01", "12.5万元"],
                      ["PZ0003", "", "某某合作社", "2026-05-01", "1"]],
                     {"voucher_no": "PZ0001", "amount": Decimal("300000.00"), "paid_on": D(2026, 5, 1)}),
    "project_beneficiary": ("csv", "utf-8",
                            ["项目库编号", "户编号", "受益方式", "受益金额(元)"],
                            [["XM2026-001", "H341225103204001", "分红", "500"],
                             ["XM2026-001", "H341225103204002", "务工", "一千"]],
                            {"household_id": "H341225103204001", "benefit_amount": Decimal("500")}),
    "consumption_supplier": ("xlsx", None,
                             ["统一社会信用代码", "供应商名称", "注册县代码", "是否832平台供应商(是/否)", "主体类型(企业/合作社/家庭农场/个体户)"],
                             [["91341225ma2n0xyz1k", "某某茶业", "341225", "是", "企业"],
                              ["9134122", "某某合作社", "341225", "否", "合作社"]],
                             {"credit_code": "91341225MA2N0XYZ1K", "is_832_supplier": True, "entity_type": "企业"}),
    "consumption_product": ("xlsx", None,
                            ["认定编号", "产品名称", "品类", "供应商统一社会信用代码", "认定机构", "认定日期", "有效期至", "产地县代码", "价值量(万元)"],
                            [["RD2026-0001", "黄山毛峰", "茶叶", "91341225MA2N0XYZ1K", "省乡村振兴局", 46023, "2027-12-31", "341225", "56.78"],
                             ["RD2026-0002", "笋干", "干货", "91341225MA2N0XYZ1K", "省乡村振兴局", "2026-01-01", "2027-12-31", "341225", "5元"]],
                            {"cert_no": "RD2026-0001", "certified_on": D(2026, 1, 1), "valid_until": D(2027, 12, 31),
                             "value_wan": Decimal("56.78")}),
    "consumption_sale": ("csv", "utf-8",
                         ["销售单号", "认定编号", "销售渠道(832平台/专柜专馆/单位采购/直播电商/其他)", "购买单位", "销售日期", "数量", "金额(元)"],
                         [["XS0001", "RD2026-0001", "832平台", "某某局食堂", "2026-06-01", "12.5", "1,250.00"],
                          ["XS0002", "RD2026-0001", "地摊", "某某局食堂", "2026-06-01", "1", "100"]],
                         {"channel": "832平台", "quantity": Decimal("12.5"), "amount": Decimal("1250.00")}),
}

# The last data row of each case: rejected when the bad value identifies the row (business
# key, nullable: false); otherwise loaded with the value NULL and a field warning.
REJECTED = {
    "jiaoyu": "学籍状态“退学”不在允许的取值",
    "fund_allocation": "资金级次“乡镇”不在允许的取值",
    "fund_payment": "项目库编号为空（必填）",
    "consumption_supplier": "统一社会信用代码“9134122”格式不对",
}
WARNED = {   # folder -> (column nulled, reason)
    "canlian": ("disability_grade", "残疾等级“五级”不在允许的取值"),
    "zhujian": ("village_code", "村代码“3412251032”格式不对：应为12位统计用区划代码"),
    "shuili": ("water_quality_ok", "水质达标“不知道”应为“是”或“否”"),
    "renshe": ("work_place", "就业地“国外”不在允许的取值"),
    "fund_project": ("project_category", "项目类别“交通”不在允许的取值"),
    "project_beneficiary": ("benefit_amount", "受益金额(元)“一千”不是有效金额"),
    "consumption_sale": ("channel", "销售渠道“地摊”不在允许的取值"),
}
CONVERTED = {"consumption_product": ("value_wan", Decimal("0.0005"))}   # 5元 in a 万元 column


def _write(landing, folder):
    fmt, enc, header, data, _ = CASES[folder]
    if fmt == "xlsx":
        return write_xlsx(landing, folder, "20261128", [[f"某某县{folder}导出"], header, *data, ["合计"]])
    lines = [",".join(header)] + [",".join(f'"{c}"' for c in row) for row in data]
    return write_csv(landing, folder, "20261128", lines, encoding=enc)


def test_every_folder_has_a_case():
    assert set(CASES) | {"yibao", "minzheng", "gongan"} == set(FOLDERS)
    for folder in FOLDERS:
        assert load_mapping(folder).columns


def test_all_other_folders_load(conn, landing):
    assert set(REJECTED) | set(WARNED) | set(CONVERTED) == set(CASES)
    for folder in CASES:
        _write(landing, folder)
    summaries = {s.folder: s for s in load_all(conn, landing, RUN_DATE, folders=list(CASES))}
    for folder, (_, _, _, data, expected) in CASES.items():
        s = summaries[folder]
        n = len(data)   # the last data row of each case is the bad one
        first = rows(conn, folder)[0]
        for column, value in expected.items():
            assert first[column] == value, (folder, column, first[column])
        if folder in REJECTED:
            assert (s.status, s.rows_in, s.rows_loaded, s.rows_rejected) == ("succeeded", n, n - 1, 1), (folder, s)
            [(_, _, reason)] = rejects(conn, s.batch_id)
            assert REJECTED[folder] in reason, (folder, reason)
            continue
        assert (s.status, s.rows_in, s.rows_loaded, s.rows_rejected) == ("succeeded", n, n, 0), (folder, s)
        last = rows(conn, folder)[-1]
        if folder in CONVERTED:
            column, value = CONVERTED[folder]
            assert last[column] == value and s.fields_warned == 0, (folder, last[column])
            continue
        column, reason = WARNED[folder]
        assert last[column] is None and s.fields_warned == 1, (folder, last)
        [(line_no, _, _, got)] = field_warnings(conn, s.batch_id)
        assert reason in got and line_no == last["line_no"], (folder, got)
    assert rows(conn, "fund_payment")[1]["amount"] == Decimal("125000")   # 12.5万元 in a 元 column
    assert_balanced(conn)


@pytest.mark.parametrize("folder", ["fund_payment", "consumption_sale"])
def test_missing_required_money_column_refused(conn, landing, folder):
    fmt, enc, header, data, _ = CASES[folder]
    keep = [i for i, h in enumerate(header) if "金额" not in h]
    lines = [",".join(header[i] for i in keep)] + [",".join(row[i] for i in keep) for row in data]
    write_csv(landing, folder, "20261128", lines, encoding=enc)
    [s] = load_all(conn, landing, RUN_DATE, folders=[folder])
    assert s.status == "failed" and "缺少必需的列" in s.message and "金额" in s.message
