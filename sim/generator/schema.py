"""Landing-file schemas: (key, contract header text, kind, value-list-in-parens?) per folder."""
from __future__ import annotations

# kind: id | date | money | int | text ; vl=True: the "(...)" in the header is a value list that
# real exports sometimes drop (units like (万元) are never dropped)
FOLDERS: dict[str, dict] = {
    "yibao": dict(fmt="csv", enc="gb18030", cols=[
        ("id", "身份证号", "id", False), ("name", "姓名", "text", False), ("kind", "就诊类型(住院/门诊)", "text", True),
        ("admit", "入院日期", "date", False), ("discharge", "出院日期", "date", False), ("total", "医疗总费用", "money", False),
        ("basic", "基本医保支付", "money", False), ("serious", "大病保险支付", "money", False), ("aid", "医疗救助支付", "money", False),
        ("self_pay", "个人自付", "money", False), ("compliant", "合规自付", "money", False), ("hospital", "医疗机构", "text", False),
        ("settle", "结算日期", "date", False)]),
    "minzheng": dict(fmt="xlsx", cols=[
        ("id", "身份证号", "id", False), ("name", "姓名", "text", False), ("kind", "救助类型(农村低保/农村特困/临时救助)", "text", True),
        ("level", "保障档次", "text", False), ("amount", "救助金额", "money", False), ("start", "起始日期", "date", False),
        ("end", "终止日期", "date", False), ("status", "状态(在保/停保)", "text", True)]),
    "canlian": dict(fmt="csv", enc="utf-8-sig", cols=[
        ("cert", "残疾人证号", "id", False), ("name", "姓名", "text", False), ("category", "残疾类别(视力/听力/言语/肢体/智力/精神/多重)", "text", True),
        ("grade", "残疾等级(一级/二级/三级/四级)", "text", True), ("issued", "发证日期", "date", False), ("status", "状态(有效/注销)", "text", True)]),
    "gongan": dict(fmt="csv", enc="utf-8", cols=[
        ("id", "身份证号", "id", False), ("name", "姓名", "text", False), ("event", "事件类型(死亡/户口迁出)", "text", True),
        ("event_date", "事件日期", "date", False), ("office", "登记机关", "text", False)]),
    "jiaoyu": dict(fmt="xlsx", cols=[
        ("id", "学生身份证号", "id", False), ("name", "姓名", "text", False), ("school", "学校名称", "text", False),
        ("stage", "学段(小学/初中/高中/中职/高校)", "text", True), ("grade", "年级", "text", False),
        ("status", "学籍状态(在校/休学/辍学/疑似辍学)", "text", True), ("aid_item", "资助项目", "text", False), ("aid_amount", "资助金额", "money", False)]),
    "zhujian": dict(fmt="csv", enc="gb18030", cols=[
        ("id", "户主身份证号", "id", False), ("name", "户主姓名", "text", False), ("village", "村代码", "text", False),
        ("date", "鉴定日期", "date", False), ("grade", "鉴定等级(A/B/C/D)", "text", True), ("rebuild", "改造状态(未改造/改造中/已改造)", "text", True)]),
    "shuili": dict(fmt="csv", enc="utf-8", cols=[
        ("village", "村代码", "text", False), ("natural", "自然村", "text", False), ("id", "户主身份证号", "id", False),
        ("supply", "供水方式(集中供水/分散供水)", "text", True), ("quality", "水质达标(是/否)", "text", True),
        ("guarantee", "供水保障(正常/季节性缺水/中断)", "text", True), ("date", "核查日期", "date", False)]),
    "renshe": dict(fmt="csv", enc="utf-8", cols=[
        ("id", "身份证号", "id", False), ("name", "姓名", "text", False), ("emp", "就业状态(已就业/未就业)", "text", True),
        ("place", "就业地(县内/县外省内/省外)", "text", True), ("income", "月收入", "money", False), ("public", "公益性岗位(是/否)", "text", True),
        ("date", "登记日期", "date", False)]),
    "fund_allocation": dict(fmt="xlsx", cols=[
        ("doc", "文号", "text", False), ("level", "资金级次(中央/省级/市级/县级)", "text", True), ("year", "年度", "int", False),
        ("county", "县代码", "text", False), ("amount", "金额(万元)", "money", False)]),
    "fund_project": dict(fmt="xlsx", cols=[
        ("pid", "项目库编号", "text", False), ("pname", "项目名称", "text", False), ("county", "县代码", "text", False), ("year", "年度", "int", False),
        ("cat", "项目类别(产业发展/就业/乡村建设/巩固三保障/搬迁后扶/项目管理费/其他)", "text", True), ("to_hh", "是否到户项目(是/否)", "text", True),
        ("level", "资金级次", "text", False), ("approved", "批复金额(万元)", "money", False), ("approved_on", "批复日期", "date", False),
        ("implementer", "实施主体", "text", False), ("link", "联农带农方式(务工/分红/订单/租金/其他)", "text", True),
        ("plan_tp", "计划带动脱贫户数", "int", False), ("plan_mon", "计划带动监测户数", "int", False), ("asset", "资产类型(经营性/公益性/到户类)", "text", True)]),
    "fund_payment": dict(fmt="csv", enc="gb18030", cols=[
        ("voucher", "支付凭证号", "text", False), ("pid", "项目库编号", "text", False), ("payee", "收款单位", "text", False),
        ("date", "支付日期", "date", False), ("amount", "支付金额(元)", "money", False)]),
    "project_beneficiary": dict(fmt="csv", enc="utf-8", cols=[
        ("pid", "项目库编号", "text", False), ("hid", "户编号", "text", False), ("way", "受益方式", "text", False), ("amount", "受益金额(元)", "money", False)]),
    "consumption_supplier": dict(fmt="xlsx", cols=[
        ("code", "统一社会信用代码", "text", False), ("sname", "供应商名称", "text", False), ("county", "注册县代码", "text", False),
        ("is832", "是否832平台供应商(是/否)", "text", True), ("kind", "主体类型(企业/合作社/家庭农场/个体户)", "text", True)]),
    "consumption_product": dict(fmt="xlsx", cols=[
        ("cert", "认定编号", "text", False), ("product", "产品名称", "text", False), ("category", "品类", "text", False),
        ("supplier", "供应商统一社会信用代码", "text", False), ("org", "认定机构", "text", False), ("granted", "认定日期", "date", False),
        ("expires", "有效期至", "date", False), ("county", "产地县代码", "text", False), ("value", "价值量(万元)", "money", False)]),
    "consumption_sale": dict(fmt="csv", enc="utf-8", cols=[
        ("sale", "销售单号", "text", False), ("cert", "认定编号", "text", False), ("channel", "销售渠道(832平台/专柜专馆/单位采购/直播电商/其他)", "text", True),
        ("buyer", "购买单位", "text", False), ("date", "销售日期", "date", False), ("qty", "数量", "int", False), ("amount", "金额(元)", "money", False)]),
}
DEPT_FOLDERS = ["yibao", "minzheng", "canlian", "gongan", "jiaoyu", "zhujian", "shuili", "renshe"]
FUND_FOLDERS = ["fund_allocation", "fund_project", "fund_payment", "project_beneficiary",
                "consumption_supplier", "consumption_product", "consumption_sale"]
ALL_FOLDERS = DEPT_FOLDERS + FUND_FOLDERS
# which column's date decides the file a row lands in (rows without one carry "_d")
DATE_KEY = {"yibao": "settle", "minzheng": "start", "canlian": "issued", "gongan": "event_date", "zhujian": "date",
            "shuili": "date", "renshe": "date", "fund_project": "approved_on", "fund_payment": "date",
            "consumption_product": "granted", "consumption_sale": "date"}


def short_header(h: str) -> str:
    """Header without its value list in parentheses."""
    return h.split("(")[0]

# Platform resources: contract fields in contract order (each item also has updated_at, is_deleted)
RESOURCES: dict[str, list[str]] = {
    "regions": ["code", "name", "level", "parent_code", "lat", "lon"],
    "households": ["household_id", "village_code", "natural_village", "household_type", "head_person_id", "household_size", "phone",
                   "home_lat", "home_lon", "in_relocation_site", "no_labor_household", "grid_id"],
    "persons": ["person_id", "household_id", "name", "gender", "id_type", "id_number", "birth_date", "relation_to_head", "ethnicity",
                "education", "student_status", "health_status", "labor_skill", "work_place", "work_months", "med_insured",
                "dibao_status", "tekun_status", "status"],
    "monitoring_cases": ["case_id", "household_id", "monitor_category", "identified_on", "risk_types", "risk_note", "discovery_channel",
                         "is_eliminated", "eliminated_on", "eliminate_method", "contact_worker_id"],
    "incomes": ["household_id", "year", "wage_income", "business_income", "property_income", "transfer_income", "business_expense",
                "net_income", "per_capita_net_income", "compliant_oop_expense"],
    "guarantees": ["household_id", "assessed_on", "housing_unsafe", "dropout", "water_unsafe", "uninsured_member"],
    "assistance_measures": ["measure_id", "household_id", "person_id", "category", "item", "start_date", "end_date", "amount", "fund_project_id"],
    "grids": ["grid_id", "village_code", "name", "level"],
    "grid_workers": ["worker_id", "name", "phone", "role", "grid_ids", "appointed_on", "trained_on", "acknowledged_on", "last_login_at", "status"],
    "visits": ["visit_id", "household_id", "worker_id", "visit_type", "mode", "started_at", "ended_at", "submitted_at", "gps_lat", "gps_lon",
               "gps_accuracy_m", "photo_sha256", "signature_sha256", "risk_found", "notes"],
    "alerts": ["alert_id", "source_dept", "person_id", "id_number", "warning_type", "event_date", "amount", "pushed_at", "verify_due_on",
               "verify_result", "verified_by_worker_id"],
}
KEYS: dict[str, tuple[str, ...]] = {
    "regions": ("code",), "households": ("household_id",), "persons": ("person_id",), "monitoring_cases": ("case_id",),
    "incomes": ("household_id", "year"), "guarantees": ("household_id",), "assistance_measures": ("measure_id",),
    "grids": ("grid_id",), "grid_workers": ("worker_id",), "visits": ("visit_id",), "alerts": ("alert_id",),
}
