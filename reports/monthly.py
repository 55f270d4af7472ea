"""Monthly review (月研判), one per county: six months of trends from marts.rpt_monthly_review,
the villages and grid workers with the most findings, and what stayed open longest."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from expectations.catalog import load_rules
from reports.common import e, html_table, rows

TOP = 10
TREND_COLUMNS = [
    ("review_month", "月份"), ("monitored_households", "月末监测户"), ("households_entered", "新纳入户"),
    ("households_left", "风险消除户"), ("entered_with_illness_risk", "新纳入因病风险户"),
    ("monitored_with_measure", "有在帮扶措施户"), ("measure_coverage", "帮扶覆盖率"),
    ("income_below_threshold", "收入低于监测范围户"), ("income_below_threshold_unmonitored", "其中未纳入监测"),
    ("open_findings", "月末未解决问题"), ("new_findings", "当月新发现"), ("resolved_findings", "当月已解决"),
]
# the platform's code lists (risk types, measure categories) with the column suffixes
# rpt_monthly_review counts them under
RISK_TYPES = [("因病", "illness"), ("因残", "disability"), ("因学", "education"), ("因自然灾害", "disaster"),
              ("因意外事故", "accident"), ("因产业项目失败", "industry_failure"),
              ("因务工就业不稳", "unstable_employment"), ("缺劳动力", "lacking_labour"), ("因安全住房", "housing"),
              ("因安全饮水", "drinking_water"), ("其他", "other")]
MEASURE_CATEGORIES = [("产业帮扶", "industry"), ("就业帮扶", "employment"), ("金融帮扶", "finance"),
                      ("公益岗位帮扶", "public_welfare_job"), ("健康帮扶", "health"),
                      ("义务教育保障", "compulsory_education"), ("其他教育帮扶", "other_education"),
                      ("综合保障", "social_security"), ("住房安全保障", "housing_security"),
                      ("饮水安全保障", "drinking_water_security"), ("社会帮扶", "social_assistance"),
                      ("搬迁", "relocation"), ("生产生活条件改善", "living_conditions"),
                      ("基础设施建设", "infrastructure")]


@dataclass
class MonthlyReview:
    run_date: dt.date
    county_code: str
    county_name: str
    months: list[dict]
    villages: list[dict] = field(default_factory=list)     # village_code, village_name, open_findings
    workers: list[dict] = field(default_factory=list)      # worker_id, worker_name, paper_findings, visits
    longest_open: list[dict] = field(default_factory=list)  # rule_id, title, entity_id, village_name, days_open, detail


def collect(conn, run_date: dt.date) -> list[MonthlyReview]:
    titles = {r.rule_id: r.title for r in load_rules()}
    names = {r["region_code"]: r["region_name"] for r in rows(conn, "select region_code, region_name from marts.dim_region")}
    out = []
    for county in sorted({r["county_code"] for r in rows(conn, "select county_code from marts.rpt_monthly_review")}):
        months = rows(conn, "select * from marts.rpt_monthly_review where county_code = %s order by review_month", (county,))
        villages = rows(conn, """
            select village_code, count(*) as open_findings from dq.issue
            where status = 'open' and county_code = %s and village_code is not null
            group by village_code order by open_findings desc, village_code limit %s""", (county, TOP))
        for v in villages:
            v["village_name"] = names.get(v["village_code"], v["village_code"])
        workers = rows(conn, """
            select worker_id, max(worker_name) as worker_name, sum(paper_findings)::int as paper_findings,
                   sum(visits)::int as visits
            from marts.rpt_grid_worker_monthly where county_code = %s
            group by worker_id having sum(paper_findings) > 0
            order by paper_findings desc, worker_id limit %s""", (county, TOP))
        longest = rows(conn, """
            select rule_id, entity_id, village_code, first_detected_on, detail,
                   %s::date - first_detected_on as days_open
            from dq.issue where status = 'open' and county_code = %s
            order by first_detected_on, rule_id, entity_id limit %s""", (run_date, county, TOP))
        for i in longest:
            i["title"] = titles.get(i["rule_id"], "")
            i["village_name"] = names.get(i["village_code"], i["village_code"] or "")
        out.append(MonthlyReview(run_date, county, names.get(county, county), months, villages, workers, longest))
    return out


def subject(r: MonthlyReview) -> str:
    return f"【月研判】{r.county_name} {r.run_date:%Y年%m月} 防返贫监测月度研判"


def _trend_body(r: MonthlyReview) -> list[list]:
    body = []
    for mrow in r.months:
        vals = []
        for col, _ in TREND_COLUMNS:
            v = mrow[col]
            if col == "review_month":
                v = f"{v:%Y年%m月}"
            elif col == "measure_coverage":
                v = "" if v is None else f"{float(v) * 100:.1f}%"
            vals.append(v)
        body.append(vals)
    return body


def _risk_rows(r: MonthlyReview) -> list[list]:
    """Per risk type: monitored at the last month's end and entered in each month."""
    return [[zh, *[m[f"monitored_risk_{slug}"] for m in r.months[-1:]],
             *[m[f"entered_risk_{slug}"] for m in r.months]] for zh, slug in RISK_TYPES]


def _risk_header(r: MonthlyReview) -> list[str]:
    return ["风险类型", "月末监测户", *[f"{m['review_month']:%Y年%m月}新纳入" for m in r.months]]


def _coverage_rows(r: MonthlyReview) -> list[list]:
    """Per measure category: monitored households with a running measure of it, per month end."""
    out = []
    for zh, slug in MEASURE_CATEGORIES:
        cells = []
        for m in r.months:
            n, total = m[f"monitored_with_{slug}"], m["monitored_households"]
            cells.append(f"{n}（{n / total * 100:.1f}%）" if total else str(n))
        out.append([zh, *cells])
    return out


def _coverage_header(r: MonthlyReview) -> list[str]:
    return ["帮扶措施类别", *[f"{m['review_month']:%Y年%m月}" for m in r.months]]


def render_text(r: MonthlyReview) -> str:
    last = r.months[-1] if r.months else {}
    headline = (f"截至 {r.run_date:%Y-%m-%d}：监测户 {last.get('monitored_households', 0)} 户，本月新纳入 "
                f"{last.get('households_entered', 0)} 户、风险消除 {last.get('households_left', 0)} 户，"
                f"未解决问题 {last.get('open_findings', 0)} 条。")
    lines = [subject(r), "", headline, "", "近6个月："]
    for vals in _trend_body(r):
        lines.append("  " + "，".join(f"{h}{v}" for (_, h), v in zip(TREND_COLUMNS, vals)))
    if r.months:
        lines += ["", "各风险类型（月末监测户 / 本月新纳入）："] + [
            f"  {zh}：{last[f'monitored_risk_{slug}']} 户 / {last[f'entered_risk_{slug}']} 户" for zh, slug in RISK_TYPES]
        lines += ["", "各类帮扶措施覆盖（月末监测户中有在该类措施的户数）："] + [
            f"  {zh}：{last[f'monitored_with_{slug}']} 户" for zh, slug in MEASURE_CATEGORIES]
    lines += ["", "问题最多的村："] + [f"  {v['village_name']}：{v['open_findings']} 条" for v in r.villages]
    lines += ["", "纸面排查问题最多的网格员："] + [f"  {w['worker_name']}（{w['worker_id']}）：{w['paper_findings']} 条" for w in r.workers]
    lines += ["", "持续时间最长的未解决问题："] + [
        f"  {i['rule_id']} {i['title']}：{i['entity_id']}（{i['village_name']}），已 {i['days_open']} 天" for i in r.longest_open]
    lines += ["", "附件为月研判数据包（XLSX）。"]
    return "\n".join(lines)


def render_html(r: MonthlyReview, chart_src: str = "cid:monthly_trend") -> str:
    last = r.months[-1] if r.months else {}
    return f"""<html><body style="font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;color:#222;max-width:980px">
<h2 style="margin-bottom:4px">{e(subject(r))}</h2>
<p>截至 {e(r.run_date.isoformat())}：监测户 <b>{e(last.get('monitored_households', 0))}</b> 户，本月新纳入
<b>{e(last.get('households_entered', 0))}</b> 户、风险消除 <b>{e(last.get('households_left', 0))}</b> 户，
未解决问题 <b>{e(last.get('open_findings', 0))}</b> 条。</p>
<img src="{e(chart_src)}" alt="近6个月趋势" style="max-width:100%">
<h3>近6个月趋势</h3>
{html_table([h for _, h in TREND_COLUMNS], _trend_body(r))}
<h3>风险类型</h3>
{html_table(_risk_header(r), _risk_rows(r)) if r.months else ""}
<h3>各类帮扶措施覆盖（月末监测户）</h3>
{html_table(_coverage_header(r), _coverage_rows(r)) if r.months else ""}
<h3>问题最多的村</h3>
{html_table(["村", "未解决问题"], [[v["village_name"], v["open_findings"]] for v in r.villages])}
<h3>纸面排查问题最多的网格员（近6个月走访）</h3>
{html_table(["网格员", "编号", "走访次数", "纸面排查问题"], [[w["worker_name"], w["worker_id"], w["visits"], w["paper_findings"]] for w in r.workers])}
<h3>持续时间最长的未解决问题</h3>
{html_table(["规则", "问题", "对象", "村", "已持续（天）", "说明"],
            [[i["rule_id"], i["title"], i["entity_id"], i["village_name"], i["days_open"], i["detail"]] for i in r.longest_open])}
<p style="color:#666;font-size:12px">附件为月研判数据包（XLSX）。身份证号、手机号已脱敏。</p>
</body></html>"""


def xlsx_sheets(r: MonthlyReview) -> list[tuple[str, list[str], list[list]]]:
    mart_cols = list(r.months[0].keys()) if r.months else []
    return [
        ("月度趋势", [h for _, h in TREND_COLUMNS], _trend_body(r)),
        ("风险类型", _risk_header(r), _risk_rows(r) if r.months else []),
        ("帮扶覆盖", _coverage_header(r), _coverage_rows(r) if r.months else []),
        ("月研判明细", mart_cols, [[mrow[c] for c in mart_cols] for mrow in r.months]),
        ("问题最多的村", ["村代码", "村", "未解决问题"], [[v["village_code"], v["village_name"], v["open_findings"]] for v in r.villages]),
        ("网格员", ["网格员编号", "网格员", "走访次数", "纸面排查问题"], [[w["worker_id"], w["worker_name"], w["visits"], w["paper_findings"]] for w in r.workers]),
        ("久拖未决", ["规则", "问题", "对象", "村", "发现日期", "已持续（天）", "说明"],
         [[i["rule_id"], i["title"], i["entity_id"], i["village_name"], i["first_detected_on"], i["days_open"], i["detail"]] for i in r.longest_open]),
    ]
