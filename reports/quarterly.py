"""Quarterly department linkage (季联动): one sheet per department feed from
marts.rpt_dept_linkage_quarterly, for the joint meeting with the departments."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reports.common import e, html_table, rows

COLUMNS = [
    ("quarter_label", "季度"), ("rows_received", "收到数据行"), ("signals", "部门信号"),
    ("matched_signals", "匹配到人员"), ("matched_share", "匹配率"), ("households_brought_in", "因信号纳入监测户"),
    ("verified_signals", "已核实"), ("unverified_signals", "未核实"), ("median_days_to_verify", "核实用时中位数（天）"),
    ("signals_with_platform_alert", "有对应平台预警"), ("verified_by_platform_alert", "平台预警已核实"),
]


@dataclass
class QuarterlyLinkage:
    run_date: dt.date
    quarter_label: str
    departments: list[dict]          # this quarter's row per feed
    history: dict[str, list[dict]]   # folder -> the four quarters


def collect(conn, run_date: dt.date) -> QuarterlyLinkage:
    all_rows = rows(conn, "select * from marts.rpt_dept_linkage_quarterly order by folder, quarter_start")
    current = max((r["quarter_start"] for r in all_rows), default=None)
    history: dict[str, list[dict]] = {}
    for r in all_rows:
        history.setdefault(r["folder"], []).append(r)
    now = [r for r in all_rows if r["quarter_start"] == current]
    return QuarterlyLinkage(run_date, now[0]["quarter_label"] if now else "", now, history)


def _cells(r: dict) -> list:
    out = []
    for col, _ in COLUMNS:
        v = r[col]
        if col == "matched_share":
            v = "" if v is None else f"{float(v) * 100:.1f}%"
        elif col == "median_days_to_verify":
            v = "" if v is None else float(v)
        out.append(v)
    return out

VERIFY_NOTE = ("核实口径：部门信号有对应平台预警（同一人、同一部门）的，以预警核实结果为准（已纳入监测、经核实无风险为已核实），"
               "用时算到核实网格员的首次预警核查走访；没有对应平台预警的，以信号之后首次预警核查走访为核实。")


def subject(q: QuarterlyLinkage) -> str:
    return f"【季联动】{q.quarter_label} 部门数据联动情况"


def render_text(q: QuarterlyLinkage) -> str:
    lines = [subject(q), ""]
    for r in q.departments:
        lines.append(f"{r['department']}（{r['folder']}）：收到 {r['rows_received']} 行，信号 {r['signals']} 条，"
                     f"匹配 {r['matched_signals']} 条，因信号纳入监测 {r['households_brought_in']} 户，"
                     f"未核实 {r['unverified_signals']} 条")
    lines += ["", VERIFY_NOTE, "附件每个部门一张工作表（近四个季度）。"]
    return "\n".join(lines)


def render_html(q: QuarterlyLinkage) -> str:
    return f"""<html><body style="font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;color:#222;max-width:980px">
<h2>{e(subject(q))}</h2>
{html_table(["部门"] + [h for _, h in COLUMNS], [[r["department"]] + _cells(r) for r in q.departments])}
<p style="color:#666;font-size:12px">{e(VERIFY_NOTE)}附件每个部门一张工作表（近四个季度）。</p></body></html>"""


def xlsx_sheets(q: QuarterlyLinkage) -> list[tuple[str, list[str], list[list]]]:
    sheets = [("汇总", ["部门"] + [h for _, h in COLUMNS], [[r["department"]] + _cells(r) for r in q.departments])]
    for hist in q.history.values():
        sheets.append((hist[0]["department"], [h for _, h in COLUMNS], [_cells(r) for r in hist]))
    return sheets
