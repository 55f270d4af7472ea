"""Weekly screening (周排查), Mondays, one per town: the week's new, still open, overdue and
resolved findings, the households to visit this week, and the back-check draw.

The visit list (`visit_list`, the one switch point) is the closed-loop checklist's rows
(followup/, issue 13) when the town has a checklist for the date, else its own list from
dq.issue; either way one row per household with its reasons, earliest due date, days overdue
and whether a finding was reported fixed but is still there (整改不实), those first."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from expectations.catalog import load_rules
from followup.deadlines import overdue_days
from reports.backcheck import Candidate
from reports.checklist_rows import households_from_checklist
from reports.common import e, html_table, rows

ISSUE_COLUMNS = ["规则", "问题", "对象", "村", "发现日期", "说明"]
OVERDUE_COLUMNS = ["规则", "问题", "对象", "村", "发现日期", "整改期限", "逾期天数", "整改不实", "说明"]
VISIT_COLUMNS = ["户编号", "村", "未解决问题", "规则", "整改期限", "逾期天数", "整改不实", "来源"]
SOURCE_ZH = {"checklist": "核查清单", "dq_issue": "问题库"}


@dataclass
class WeeklyScreening:
    run_date: dt.date
    week_start: dt.date
    town_code: str
    town_name: str
    new: list[dict] = field(default_factory=list)
    still_open: list[dict] = field(default_factory=list)
    overdue: list[dict] = field(default_factory=list)
    resolved: list[dict] = field(default_factory=list)
    visits: list[dict] = field(default_factory=list)      # household_id, village_name, findings, rules
    backcheck: list[Candidate] = field(default_factory=list)


def issues_of_town(conn, town: str) -> list[dict]:
    return rows(conn, "select rule_id, entity_type, entity_id, village_code, detail, status, "
                      "first_detected_on, resolved_on, due_on, dismissed, claimed_fixed_still_open "
                      "from dq.issue where town_code = %s "
                      "order by first_detected_on, rule_id, entity_id", (town,))


def visit_list(conn, town: str, run_date: dt.date, outbox: Path) -> list[dict]:
    """The households to visit: the town's checklist for run_date when followup wrote one,
    else from dq.issue. 整改不实 first, then most overdue, then most findings."""
    out = households_from_checklist(conn, Path(outbox), run_date, town)
    if out is None:
        out = _visit_list_from_issues(conn, town, run_date)
    out.sort(key=lambda v: (not v["disputed"], -v["overdue_days"], -v["findings"], v["household_id"]))
    return out


def _visit_list_from_issues(conn, town: str, run_date: dt.date) -> list[dict]:
    """Open findings by household (household findings, visit findings through the visit)."""
    return rows(conn, """
        with open_issues as (
            select i.rule_id, i.due_on, i.claimed_fixed_still_open,
                   coalesce(h.household_id, v.household_id) as household_id
            from dq.issue as i
            left join marts.dim_household as h on i.entity_type = 'household' and h.household_id = i.entity_id
            left join marts.fct_visit as v on i.entity_type = 'visit' and v.visit_id = i.entity_id
            where i.status = 'open' and not i.dismissed and i.town_code = %s
        )
        select o.household_id, d.village_code, count(*)::int as findings,
               string_agg(distinct o.rule_id, '、' order by o.rule_id) as rules,
               min(o.due_on) as due_on,
               greatest(0, coalesce(%s::date - min(o.due_on), 0))::int as overdue_days,
               bool_or(o.claimed_fixed_still_open) as disputed, 'dq_issue' as source
        from open_issues as o join marts.dim_household as d using (household_id)
        group by o.household_id, d.village_code""", (town, run_date))


def collect(conn, run_date: dt.date, draws: dict[str, list[Candidate]] | None = None,
            outbox: Path | None = None) -> list[WeeklyScreening]:
    titles = {r.rule_id: r.title for r in load_rules()}
    names = {r["region_code"]: r["region_name"] for r in rows(conn, "select region_code, region_name from marts.dim_region")}
    week = run_date - dt.timedelta(days=run_date.weekday())
    since = run_date - dt.timedelta(days=6)          # the seven days up to the run date
    out = []
    towns = [r["region_code"] for r in rows(conn, "select region_code from marts.dim_region where region_level = 'town' order by 1")]
    for town in towns:
        w = WeeklyScreening(run_date, week, town, names.get(town, town))
        for i in issues_of_town(conn, town):
            i["title"] = titles.get(i["rule_id"], "")
            i["village_name"] = names.get(i["village_code"], i["village_code"] or "")
            if i["status"] == "open":
                if i["first_detected_on"] >= since:
                    w.new.append(i)
                else:
                    w.still_open.append(i)
                i["overdue_days"] = overdue_days(i, run_date)
                if i["overdue_days"] and not i["dismissed"]:
                    w.overdue.append(i)
            elif i["resolved_on"] and since <= i["resolved_on"] <= run_date:
                w.resolved.append(i)
        # 逾期: 整改不实 first, then the most days past the due date
        w.overdue.sort(key=lambda i: (not i["claimed_fixed_still_open"], -i["overdue_days"]))
        w.visits = visit_list(conn, town, run_date, outbox)
        for v in w.visits:
            v["village_name"] = names.get(v["village_code"], v["village_code"])
        w.backcheck = (draws or {}).get(town, [])
        out.append(w)
    return out


def subject(w: WeeklyScreening) -> str:
    return f"【周排查】{w.town_name} {w.week_start:%Y-%m-%d} 当周排查清单"


def _issue_rows(items: list[dict]) -> list[list]:
    return [[i["rule_id"], i["title"], i["entity_id"], i["village_name"], i["first_detected_on"], i["detail"]] for i in items]


def _overdue_rows(items: list[dict]) -> list[list]:
    return [[i["rule_id"], i["title"], i["entity_id"], i["village_name"], i["first_detected_on"], i["due_on"],
             i["overdue_days"], "是" if i["claimed_fixed_still_open"] else "", i["detail"]] for i in items]


def _visit_rows(w: WeeklyScreening) -> list[list]:
    return [[v["household_id"], v["village_name"], v["findings"], v["rules"], v["due_on"], v["overdue_days"],
             "是" if v["disputed"] else "", SOURCE_ZH[v["source"]]] for v in w.visits]


def _summary(w: WeeklyScreening) -> str:
    disputed = sum(1 for i in w.overdue if i["claimed_fixed_still_open"])
    return (f"本周新发现 {len(w.new)} 条，仍未解决 {len(w.still_open)} 条（其中逾期 {len(w.overdue)} 条、"
            f"逾期且整改不实 {disputed} 条），"
            f"本周已解决 {len(w.resolved)} 条；需入户核实 {len(w.visits)} 户，抽查 {len(w.backcheck)} 户。")


def render_text(w: WeeklyScreening) -> str:
    lines = [subject(w), "", _summary(w), "", "本周需入户核实的农户："]
    lines += [f"  {v['household_id']}（{v['village_name']}）：{v['findings']} 条（{v['rules']}）"
              + ("，整改不实" if v["disputed"] else "") + (f"，逾期 {v['overdue_days']} 天" if v["overdue_days"] else "")
              for v in w.visits]
    lines += ["", "逾期未整改（整改不实在前）："]
    lines += [f"  {i['rule_id']} {i['title']}：{i['entity_id']}（{i['village_name']}），逾期 {i['overdue_days']} 天"
              + ("，整改不实" if i["claimed_fixed_still_open"] else "") for i in w.overdue]
    lines += ["", "本周抽查（重新走访）农户："]
    lines += [f"  {c.household_id}（网格员 {c.worker_id or '无走访记录'}）" for c in w.backcheck]
    lines += ["", "附件为周排查清单（XLSX）。"]
    return "\n".join(lines)


def render_html(w: WeeklyScreening) -> str:
    return f"""<html><body style="font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;color:#222;max-width:980px">
<h2>{e(subject(w))}</h2><p>{e(_summary(w))}</p>
<h3>本周需入户核实的农户</h3>
{html_table(VISIT_COLUMNS, _visit_rows(w))}
<h3>本周抽查（重新走访）农户</h3>
{html_table(["户编号", "村", "最近走访网格员", "抽样权重"], [[c.household_id, c.village_code, c.worker_id or "", c.weight] for c in w.backcheck])}
<h3>本周新发现</h3>{html_table(ISSUE_COLUMNS, _issue_rows(w.new))}
<h3>逾期未整改（整改不实在前）</h3>{html_table(OVERDUE_COLUMNS, _overdue_rows(w.overdue))}
<h3>本周已解决</h3>{html_table(ISSUE_COLUMNS, _issue_rows(w.resolved))}
<p style="color:#666;font-size:12px">仍未解决的全部问题见附件。身份证号、手机号已脱敏。</p>
</body></html>"""


def xlsx_sheets(w: WeeklyScreening) -> list[tuple[str, list[str], list[list]]]:
    return [
        ("入户核实", VISIT_COLUMNS, _visit_rows(w)),
        ("抽查名单", ["户编号", "村代码", "最近走访网格员", "抽样权重"], [[c.household_id, c.village_code, c.worker_id or "", c.weight] for c in w.backcheck]),
        ("本周新发现", ISSUE_COLUMNS, _issue_rows(w.new)),
        ("仍未解决", ISSUE_COLUMNS, _issue_rows(w.still_open)),
        ("逾期未整改", OVERDUE_COLUMNS, _overdue_rows(w.overdue)),
        ("本周已解决", ISSUE_COLUMNS, _issue_rows(w.resolved)),
    ]
