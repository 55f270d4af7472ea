"""Build one Chinese digest per county from dq.issue: plain text + HTML + CSV attachment."""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import psycopg

from expectations.alerts.masking import mask_text
from expectations.alerts.routing import Recipient
from expectations.catalog import FAMILY_NAMES, load_rules

SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}


@dataclass
class CountyDigest:
    county_code: str
    county_name: str
    run_date: dt.date
    issues: list[dict] = field(default_factory=list)      # open issues
    resolved_today: int = 0

    @property
    def new_today(self) -> list[dict]:
        return [i for i in self.issues if i["first_detected_on"] == self.run_date]


def collect(conn: psycopg.Connection, run_date: dt.date) -> list[CountyDigest]:
    """Open issues grouped by county (issues without a county are grouped under '')."""
    names = dict(conn.execute(
        "select region_code, region_name from marts.dim_region where region_level = 'county'"
    ).fetchall()) if _has_table(conn, "marts", "dim_region") else {}
    cur = conn.execute(
        """select rule_id, severity, entity_type, entity_id, coalesce(county_code, '') as county_code,
                  town_code, village_code, detail, first_detected_on, last_detected_on
           from dq.issue where status = 'open'
           order by county_code, rule_id, village_code nulls last, entity_id""")
    cols = [c.name for c in cur.description]
    digests: dict[str, CountyDigest] = {}
    for row in cur.fetchall():
        item = dict(zip(cols, row))
        d = digests.setdefault(item["county_code"], CountyDigest(
            item["county_code"], names.get(item["county_code"], item["county_code"] or "未知县"), run_date))
        d.issues.append(item)
    for county, n in conn.execute(
            "select coalesce(county_code, ''), count(*) from dq.issue "
            "where status = 'resolved' and resolved_on = %s group by 1", (run_date,)).fetchall():
        if county in digests:
            digests[county].resolved_today = n
    return list(digests.values())


def _has_table(conn, schema: str, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{schema}.{table}",)).fetchone()[0]


def _rule_rows(d: CountyDigest) -> list[tuple[str, str, int, int]]:
    titles = {r.rule_id: r.title for r in load_rules()}
    counts: dict[str, list[int]] = {}
    for i in d.issues:
        c = counts.setdefault(i["rule_id"], [0, 0])
        c[0] += 1
        c[1] += i["first_detected_on"] == d.run_date
    return [(rid, titles.get(rid, ""), n, new) for rid, (n, new) in sorted(counts.items())]


def subject(d: CountyDigest) -> str:
    return (f"【防返贫监测预警】{d.county_name} {d.run_date:%Y-%m-%d}："
            f"未解决问题 {len(d.issues)} 条，今日新增 {len(d.new_today)} 条")


def render_text(d: CountyDigest) -> str:
    lines = [f"{d.county_name}（{d.county_code}）防返贫动态监测数据质量日报 {d.run_date:%Y年%m月%d日}", "",
             f"未解决问题 {len(d.issues)} 条，今日新增 {len(d.new_today)} 条，今日已解决 {d.resolved_today} 条。",
             "", "按规则统计："]
    for rid, title, n, new in _rule_rows(d):
        lines.append(f"  {rid} {title}：{n} 条（新增 {new}）")
    lines += ["", "今日新增问题（最多列出 50 条，完整清单见附件 CSV）："]
    for i in d.new_today[:50]:
        lines.append(f"  [{i['rule_id']}] {i['village_code'] or ''} {i['entity_type']} {i['entity_id']}："
                     f"{mask_text(i['detail'])}")
    lines += ["", "本邮件由防返贫动态监测数据平台自动生成，个人信息已脱敏。"]
    return "\n".join(lines)


def render_html(d: CountyDigest) -> str:
    e = lambda v: html.escape(str(v if v is not None else ""))  # noqa: E731
    rows = "".join(f"<tr><td>{e(rid)}</td><td>{e(title)}</td><td align=right>{n}</td>"
                   f"<td align=right>{new}</td></tr>" for rid, title, n, new in _rule_rows(d))
    new_rows = "".join(
        f"<tr><td>{e(i['rule_id'])}</td><td>{e(i['village_code'])}</td><td>{e(i['entity_type'])}</td>"
        f"<td>{e(i['entity_id'])}</td><td>{e(mask_text(i['detail']))}</td></tr>" for i in d.new_today[:50])
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"></head>
<body style="font-family:sans-serif">
<h2>{e(d.county_name)}（{e(d.county_code)}）防返贫动态监测数据质量日报 {d.run_date:%Y年%m月%d日}</h2>
<p>未解决问题 <b>{len(d.issues)}</b> 条，今日新增 <b>{len(d.new_today)}</b> 条，今日已解决 <b>{d.resolved_today}</b> 条。</p>
<h3>按规则统计</h3>
<table border=1 cellspacing=0 cellpadding=4><tr><th>规则</th><th>含义</th><th>未解决</th><th>今日新增</th></tr>{rows}</table>
<h3>今日新增问题（最多 50 条，完整清单见附件）</h3>
<table border=1 cellspacing=0 cellpadding=4><tr><th>规则</th><th>村</th><th>对象</th><th>编号</th><th>说明</th></tr>{new_rows}</table>
<p style="color:#666">本邮件由防返贫动态监测数据平台自动生成，个人信息已脱敏。</p>
</body></html>"""


def render_csv(d: CountyDigest) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["规则编号", "规则族", "严重程度", "对象类型", "对象编号", "县代码", "乡镇代码", "村代码",
                "问题说明", "首次发现", "最近发现"])
    for i in d.issues:
        fam = FAMILY_NAMES.get(i["rule_id"].split("-")[0], "")
        w.writerow([i["rule_id"], fam, SEVERITY_ZH.get(i["severity"], i["severity"]), i["entity_type"],
                    i["entity_id"], i["county_code"], i["town_code"] or "", i["village_code"] or "",
                    mask_text(i["detail"]), i["first_detected_on"], i["last_detected_on"]])
    return buf.getvalue().encode("utf-8-sig")   # BOM so Excel opens it as UTF-8


def build_message(d: CountyDigest, sender: Recipient, to: list[Recipient]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject(d)
    msg["From"] = formataddr((sender.name, sender.email))
    msg["To"] = ", ".join(formataddr((r.name, r.email)) for r in to)
    msg["Message-ID"] = make_msgid(domain=sender.email.split("@")[-1])
    msg["X-FPR-County"] = d.county_code
    msg["X-FPR-Run-Date"] = d.run_date.isoformat()
    msg.set_content(render_text(d))
    msg.add_alternative(render_html(d), subtype="html")
    msg.add_attachment(render_csv(d), maintype="text", subtype="csv",
                       filename=f"issues_{d.county_code}_{d.run_date:%Y%m%d}.csv")
    return msg
