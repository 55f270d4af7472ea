"""Verification checklists (核查清单): one XLSX per town and per village of the open,
non-dismissed findings that need a visit, masked, in Chinese, with the columns to fill in
and a drop-down for the result. Returned as they are, they read back through the intake.

Files: <outbox>/checklists/<YYYYMMDD>/<town code>/乡镇核查清单_<code>_<name>_<YYYYMMDD>.xlsx and
村核查清单_<code>_<name>_<YYYYMMDD>.xlsx beside it. The same content gives the same bytes
(fixed zip times and document dates), so a digest that attaches them is not sent twice.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import psycopg

from alerts.collect import region_names
from alerts.masking import mask_text
from core.warehouse import dict_rows, has_column
from core.xlsx import workbook_bytes
from expectations import catalog
from followup.deadlines import LEVEL_ZH, overdue_days

SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
ENTITY_ZH = {"visit": "走访", "grid": "网格", "grid_worker": "网格员", "household": "户", "alert": "部门预警",
             "monitoring_case": "监测对象", "person": "人员", "fund_project": "资金项目"}
RESULTS = ("属实", "不属实", "已整改")
# (header, width); the last four are filled in by whoever verifies
COLUMNS = [("序号", 6), ("乡镇", 10), ("村", 10), ("规则编号", 11), ("规则含义", 34), ("严重程度", 8),
           ("对象类型", 9), ("对象编号", 14), ("户编号", 14), ("网格员", 16), ("问题说明", 50),
           ("首次发现", 12), ("整改期限", 12), ("督办状态", 24), ("上次核实", 26),
           ("核实结果", 10), ("核实人", 10), ("核实日期", 12), ("说明", 30)]
FILL_FROM = 15            # 0-based index of 核实结果
HEADER_ROW = 4
INSTRUCTIONS = ("填写说明：请逐条入户（或到网格员处）核实，在“核实结果”中选择 属实 / 不属实 / 已整改，"
                "填写核实人和核实日期（如 2026-12-03），需要说明的写在“说明”里。前面各列请不要修改。"
                "填好后原样交回乡镇，由乡镇放入数据平台的 verification 目录（文件名 verification_日期.xlsx）。")
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def checklist_dir(outbox_dir: Path, run_date: dt.date) -> Path:
    return Path(outbox_dir) / "checklists" / f"{run_date:%Y%m%d}"


def town_workbooks(outbox_dir: Path, run_date: dt.date, towns) -> list[Path]:
    """The town checklists written for run_date, for the town digest to attach."""
    day = checklist_dir(outbox_dir, run_date)
    return [p for t in sorted(towns) for p in sorted((day / t).glob("乡镇核查清单_*.xlsx"))]


def _lookup(conn, table: str, key: str, cols: tuple[str, ...], ids: list[str]) -> dict[str, tuple]:
    if not ids or not all(has_column(conn, table, c) for c in (key, *cols)):
        return {}
    rows = conn.execute(f"select {key}::text, {', '.join(cols)} from {table} where {key}::text = any(%s)",
                        (ids,)).fetchall()
    return {r[0]: r[1:] for r in rows}


def _context(conn, issues: list[dict]) -> None:
    """household_id / worker (id and name) of each finding, where the marts know them."""
    by_type: dict[str, list[str]] = {}
    for i in issues:
        by_type.setdefault(i["entity_type"], []).append(i["entity_id"])
    visits = _lookup(conn, "marts.fct_visit", "visit_id", ("household_id", "worker_id"), by_type.get("visit", []))
    cases = _lookup(conn, "marts.fct_monitoring_case", "case_id", ("household_id",),
                    by_type.get("monitoring_case", []))
    persons = _lookup(conn, "marts.dim_person", "person_id", ("household_id",), by_type.get("person", []))
    for i in issues:
        eid, et = i["entity_id"], i["entity_type"]
        i["household_id"] = {"household": eid}.get(et) or (
            (visits.get(eid) or cases.get(eid) or persons.get(eid) or (None,))[0])
        i["worker_id"] = eid if et == "grid_worker" else (visits.get(eid) or (None, None))[1]
    workers = _lookup(conn, "marts.dim_grid_worker", "worker_id", ("worker_name",),
                      sorted({i["worker_id"] for i in issues if i["worker_id"]}))
    for i in issues:
        name = (workers.get(i["worker_id"] or "") or ("",))[0] or ""
        i["worker"] = " ".join(x for x in (i["worker_id"], name) if x)


def checklist_issues(conn: psycopg.Connection, run_date: dt.date) -> list[dict]:
    """Open, non-dismissed findings located in a town: 整改不实 first, then the most overdue."""
    cur = conn.execute(
        "select * from dq.issue where status = 'open' and not dismissed and town_code is not null")
    issues = dict_rows(cur)
    _context(conn, issues)
    rank = {"county": 0, "town": 1, "village": 2}
    issues.sort(key=lambda i: (not i["claimed_fixed_still_open"], rank[i["escalation_level"]],
                               -overdue_days(i, run_date), {"high": 0, "medium": 1}.get(i["severity"], 2),
                               i["village_code"] or "", i["rule_id"], i["entity_id"]))
    return issues


def _status(i: dict, run_date: dt.date) -> str:
    parts = []
    if i["claimed_fixed_still_open"]:
        parts.append("整改不实")
    n = overdue_days(i, run_date)
    parts.append(f"逾期{n}天·{LEVEL_ZH[i['escalation_level']]}" if n else "期限内")
    return "；".join(parts)


def _last_check(i: dict) -> str:
    if not i["verification_result"]:
        return ""
    return f"{i['verification_result']}（{i['verified_on']}，{i['verified_by'] or '未填核实人'}）"


def _row(n: int, i: dict, names: dict, titles: dict, run_date: dt.date) -> list:
    return [n, names.get(i["town_code"] or "", i["town_code"]), names.get(i["village_code"] or "", i["village_code"] or ""),
            i["rule_id"], titles.get(i["rule_id"], ""), SEVERITY_ZH.get(i["severity"], i["severity"]),
            ENTITY_ZH.get(i["entity_type"], i["entity_type"]), i["entity_id"], i["household_id"] or "",
            i["worker"], i["detail"] or "", i["first_detected_on"], i["due_on"], _status(i, run_date),
            _last_check(i), None, None, None, None]


def build_workbook(title: str, issues: list[dict], names: dict, titles: dict, run_date: dt.date) -> bytes:
    """One checklist as XLSX bytes; every text value masked."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "核查清单"
    last_col = get_column_letter(len(COLUMNS))
    overdue = sum(1 for i in issues if overdue_days(i, run_date))
    disputed = sum(1 for i in issues if i["claimed_fixed_still_open"])
    for row, text, size in ((1, title, 14), (2, INSTRUCTIONS, 10),
                            (3, (f"共 {len(issues)} 条；其中整改不实 {disputed} 条，已逾期 {overdue} 条。"
                                f"生成日期 {run_date:%Y-%m-%d}。"), 10)):
        ws.merge_cells(f"A{row}:{last_col}{row}")
        cell = ws.cell(row=row, column=1, value=mask_text(text))
        cell.font = Font(bold=row == 1, size=size)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.row_dimensions[2].height = 42
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    fill_in = PatternFill("solid", fgColor="FFF2CC")
    for c, (head, width) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=c, value=head)
        cell.font = Font(bold=True)
        cell.fill = fill_in if c > FILL_FROM else PatternFill("solid", fgColor="DDEBF7")
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(c)].width = width
    for n, i in enumerate(issues, start=1):
        r = HEADER_ROW + n
        for c, value in enumerate(_row(n, i, names, titles, run_date), start=1):
            if isinstance(value, str):
                value = mask_text(value)
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"          # text, never a formula
            if isinstance(value, dt.date) or c == FILL_FROM + 3:
                cell.number_format = "yyyy-mm-dd"
            cell.border = border
            cell.alignment = Alignment(wrap_text=c in (5, 11, 19), vertical="top")
            if c > FILL_FROM:
                cell.fill = fill_in
        # printed sheets do not grow rows for wrapped text: size them (~0.6 CJK glyphs a unit)
        lines = max(-(-len(mask_text(i["detail"] or "")) * 10 // (COLUMNS[10][1] * 6)), 1)
        ws.row_dimensions[r].height = 15 * lines + 3
    first, last = HEADER_ROW + 1, HEADER_ROW + max(len(issues), 1)
    result_col = get_column_letter(FILL_FROM + 1)
    dv = DataValidation(type="list", formula1='"' + ",".join(RESULTS) + '"', allow_blank=True,
                        showErrorMessage=True, errorTitle="核实结果",
                        error="请从下拉列表中选择：属实、不属实、已整改",
                        showInputMessage=True, promptTitle="核实结果", prompt="请选择：属实 / 不属实 / 已整改")
    dv.add(f"{result_col}{first}:{result_col}{last}")
    ws.add_data_validation(dv)
    date_col = get_column_letter(FILL_FROM + 3)
    dates = DataValidation(type="date", operator="between", formula1="DATE(2020,1,1)",
                           formula2="DATE(2100,12,31)", allow_blank=True, showErrorMessage=True,
                           errorTitle="核实日期", error="请填写日期，如 2026-12-03")
    dates.add(f"{date_col}{first}:{date_col}{last}")
    ws.add_data_validation(dates)
    ws.freeze_panes = f"A{first}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToHeight = 0
    wb.properties.creator = "防返贫动态监测数据平台"
    wb.properties.title = mask_text(title)
    return workbook_bytes(wb, run_date)


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("_") or "未命名"


def write_checklists(conn: psycopg.Connection, run_date: dt.date, outbox_dir: Path) -> list[Path]:
    """Write the day's checklists (replacing that day's earlier ones); returns the files."""
    issues = checklist_issues(conn, run_date)
    names = region_names(conn)
    titles = {r.rule_id: r.title for r in catalog.load_rules()}
    day = checklist_dir(outbox_dir, run_date)
    tmp = day.with_name(day.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    by_town: dict[str, list[dict]] = {}
    by_village: dict[str, list[dict]] = {}
    for i in issues:
        by_town.setdefault(i["town_code"], []).append(i)
        if i["village_code"]:
            by_village.setdefault(i["village_code"], []).append(i)
    written = []
    for code, items, kind in ([(t, v, "乡镇") for t, v in sorted(by_town.items())]
                              + [(v, x, "村") for v, x in sorted(by_village.items())]):
        town = items[0]["town_code"]
        place = names.get(town, town) + ("" if kind == "乡镇" else names.get(code, code))
        title = f"{place} 防返贫动态监测问题核查清单（{run_date:%Y年%m月%d日}）"
        path = tmp / town / f"{kind}核查清单_{code}_{_safe(names.get(code, ''))}_{run_date:%Y%m%d}.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(build_workbook(title, items, names, titles, run_date))
        written.append(day / path.relative_to(tmp))
    tmp.mkdir(parents=True, exist_ok=True)
    if day.exists():
        old = day.with_name(day.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        day.rename(old)
        tmp.rename(day)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(day)
    return written
