"""Render one digest (Chinese): subject, plain text, HTML (every value masked, then escaped), CSV.
Only formatting: every count and ranking comes from the view model, alerts.collect.DigestData."""
from __future__ import annotations

import csv
import html
import io

from alerts.collect import DigestData
from alerts.masking import mask_text
from expectations.catalog import FAMILY_NAMES

SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
ENTITY_ZH = {"visit": "走访", "grid": "网格", "grid_worker": "网格员", "household": "户", "alert": "部门预警",
             "monitoring_case": "监测对象", "person": "人员", "county_year": "县·年度", "fund_project": "资金项目",
             "consumption_sale": "消费帮扶销售", "consumption_product": "消费帮扶产品", "source": "数据来源"}
LIST_LIMIT = 30
CHART_CID = "town-chart@fpr.local"


def m(v) -> str:
    """Masked text of any value."""
    return mask_text("" if v is None else str(v))


def e(v) -> str:
    """Masked, then HTML-escaped."""
    return html.escape(m(v), quote=True)


def since(d: DigestData) -> str:
    return "今日" if d.first_digest else "自上次摘要以来"


def subject(d: DigestData) -> str:
    return (f"【防返贫监测预警】{m(d.scope_label)} {d.run_date:%Y-%m-%d}：未解决 {len(d.open)} 条，"
            f"新增 {len(d.new)} 条，已解决 {len(d.resolved)} 条" + _followup_counts(d))


def _followup_counts(d: DigestData) -> str:
    """'，整改不实 n 条，逾期 n 条' for the parts that are not zero."""
    parts = [f"整改不实 {len(d.fix_disputed)} 条"] if d.fix_disputed else []
    parts += [f"逾期 {len(d.overdue)} 条"] if d.overdue else []
    return "".join("，" + p for p in parts)


def _summary(d: DigestData) -> str:
    s = (f"未解决问题 {len(d.open)} 条（其中高风险 {d.high_open} 条）；{since(d)}新增 {len(d.new)} 条、"
         f"已解决 {len(d.resolved)} 条。")
    if d.fix_disputed or d.overdue:
        s += f"需督办：{_followup_counts(d)[1:]}。"
    if not d.changed:
        s += "与上次摘要相比没有变化。"
    return s


def _validation_line(d: DigestData) -> str:
    v = d.validation
    return f"本次校验 {v['rules']} 条规则，通过 {v['passed']} 条，未通过 {v['failed']} 条。" if v else "本日尚无校验记录。"


def _docs_line(d: DigestData) -> str:
    return _validation_line(d) + (f"校验报告（Data Docs）：{d.docs_url}" if d.docs_url else "")


def _issue_line(i: dict) -> str:
    where = " ".join(x for x in (i.get("village_name"), i.get("village_code")) if x)
    extra = f"，已持续 {i['days_open']} 天" if "days_open" in i and i["change"] != "已解决" else ""
    return f"  [{i['rule_id']}] {where} {ENTITY_ZH.get(i['entity_type'], i['entity_type'])} {i['entity_id']}：{i['detail'] or ''}{extra}"


LEVEL_ZH = {"village": "村级整改", "town": "乡镇督办", "county": "县级督办"}
DISPUTED_TITLE = "整改不实（已报“已整改”，但数据仍显示问题，请重点督查）"
OVERDUE_TITLE = "逾期未整改（超过整改期限，逾期最久的在前）"


def _followup_line(i: dict) -> str:
    where = " ".join(x for x in (i.get("village_name"), i.get("village_code")) if x)
    return (f"  [{i['rule_id']}] {where} {ENTITY_ZH.get(i['entity_type'], i['entity_type'])} {i['entity_id']}："
            f"{i['detail'] or ''}；整改期限 {i.get('due_on') or '未定'}，逾期 {i.get('days_overdue', 0)} 天，"
            f"{LEVEL_ZH.get(i.get('escalation_level'), '')}"
            + (f"；{i['verified_on']} 报已整改" if i.get("claimed_fixed_still_open") else ""))


def _followup_text(d: DigestData) -> list[str]:
    """整改不实 first, then 逾期: ahead of everything else in the digest."""
    L = []
    for title, items in ((DISPUTED_TITLE, d.fix_disputed), (OVERDUE_TITLE, d.overdue)):
        if items:
            L += [f"【{title}】（{len(items)} 条，最多列出 {LIST_LIMIT} 条）："]
            L += [_followup_line(i) for i in items[:LIST_LIMIT]] + [""]
    return L


def render_text(d: DigestData) -> str:
    L = [f"{d.scope_label} 防返贫动态监测数据质量日报 {d.run_date:%Y年%m月%d日}", "", _summary(d), "",
         *_followup_text(d),
         "一、按规则族统计（未解决 / 新增 / 已解决）："]
    for _, fname, rules in d.families():
        L.append(f"  {fname}：未解决 {sum(r[2] for r in rules)} 条")
        for rid, title, n, new, res in rules:
            L.append(f"    {rid} {title}：{n} / {new} / {res}")
    L += ["", "二、问题最多的村："]
    L += [f"  {name or code}（{code}）：{n} 条，其中高风险 {h} 条" for code, name, n, h in d.worst_villages()] or ["  无"]
    L += ["", "三、问题最多的网格员："]
    L += [f"  {wid} {name} {vname}：{n} 条" for wid, name, vname, n in d.worst_workers()] or ["  无"]
    for title, items in ((f"四、{since(d)}新增问题", d.new), ("五、仍未解决的问题（持续最久的在前）", d.still_open),
                         (f"六、{since(d)}已解决的问题", d.resolved)):
        L += ["", f"{title}（{len(items)} 条，最多列出 {LIST_LIMIT} 条，完整清单见附件 CSV）："]
        L += [_issue_line(i) for i in items[:LIST_LIMIT]] or ["  无"]
    L += ["", _docs_line(d), "", "本邮件由防返贫动态监测数据平台自动生成，个人信息已脱敏。"]
    return m("\n".join(L))


_TABLE = 'border="1" cellspacing="0" cellpadding="4" style="border-collapse:collapse;font-size:13px"'


def _issue_table(items: list[dict], with_days: bool) -> str:
    if not items:
        return "<p>无</p>"
    head = "<tr><th>规则</th><th>村</th><th>对象</th><th>编号</th><th>说明</th>" + \
           ("<th>已持续（天）</th>" if with_days else "") + "</tr>"
    rows = "".join(
        f"<tr><td>{e(i['rule_id'])}</td><td>{e(i.get('village_name') or i.get('village_code'))}</td>"
        f"<td>{e(ENTITY_ZH.get(i['entity_type'], i['entity_type']))}</td><td>{e(i['entity_id'])}</td>"
        f"<td>{e(i['detail'])}</td>" + (f"<td align=\"right\">{e(i.get('days_open'))}</td>" if with_days else "")
        + "</tr>" for i in items[:LIST_LIMIT])
    more = f"<p>另有 {len(items) - LIST_LIMIT} 条，见附件。</p>" if len(items) > LIST_LIMIT else ""
    return f"<table {_TABLE}>{head}{rows}</table>{more}"


def _verdict(i: dict) -> str:
    r = i.get("verification_result") or ""
    return f"{r}（{i['verified_on']}）" if r and i.get("verified_on") else r


def _followup_table(items: list[dict]) -> str:
    head = ("<tr><th>规则</th><th>村</th><th>对象</th><th>编号</th><th>说明</th><th>整改期限</th>"
            "<th>逾期（天）</th><th>督办层级</th><th>核实结果</th></tr>")
    rows = "".join(
        f"<tr><td>{e(i['rule_id'])}</td><td>{e(i.get('village_name') or i.get('village_code'))}</td>"
        f"<td>{e(ENTITY_ZH.get(i['entity_type'], i['entity_type']))}</td><td>{e(i['entity_id'])}</td>"
        f"<td>{e(i['detail'])}</td><td>{e(i.get('due_on'))}</td>"
        f"<td align=\"right\">{e(i.get('days_overdue'))}</td>"
        f"<td>{e(LEVEL_ZH.get(i.get('escalation_level'), ''))}</td><td>{e(_verdict(i))}</td></tr>"
        for i in items[:LIST_LIMIT])
    more = f"<p>另有 {len(items) - LIST_LIMIT} 条，见附件。</p>" if len(items) > LIST_LIMIT else ""
    return f"<table {_TABLE}>{head}{rows}</table>{more}"


def _followup_html(d: DigestData) -> str:
    out = ""
    for title, items in ((DISPUTED_TITLE, d.fix_disputed), (OVERDUE_TITLE, d.overdue)):
        if items:
            out += f'<h3 style="color:#c00000">{e(title)}（{len(items)} 条）</h3>{_followup_table(items)}'
    return out


def render_html(d: DigestData, chart_cid: str | None = CHART_CID, chart_src: str | None = None) -> str:
    """chart_src overrides the image source (e.g. a data: URI for a browser preview)."""
    fam = ""
    for _, fname, rules in d.families():
        fam += (f'<tr style="background:#f3f3f3"><td colspan="2"><b>{e(fname)}</b></td>'
                f'<td align="right"><b>{sum(r[2] for r in rules)}</b></td><td align="right">{sum(r[3] for r in rules)}</td>'
                f'<td align="right">{sum(r[4] for r in rules)}</td></tr>')
        fam += "".join(f'<tr><td>{e(rid)}</td><td>{e(title)}</td><td align="right">{n}</td>'
                       f'<td align="right">{new}</td><td align="right">{res}</td></tr>'
                       for rid, title, n, new, res in rules)
    villages = "".join(f'<tr><td>{e(name or code)}</td><td>{e(code)}</td><td align="right">{n}</td>'
                       f'<td align="right">{h}</td></tr>' for code, name, n, h in d.worst_villages())
    workers = "".join(f'<tr><td>{e(wid)}</td><td>{e(name)}</td><td>{e(vname)}</td><td align="right">{n}</td></tr>'
                      for wid, name, vname, n in d.worst_workers())
    src = chart_src or (f"cid:{chart_cid}" if chart_cid else None)
    chart = f'<h3>各乡镇未解决问题</h3><img src="{html.escape(src)}" alt="各乡镇未解决问题数">' if src and d.open else ""
    docs = e(_validation_line(d))
    if d.docs_url and d.docs_url.split(":", 1)[0].lower() in ("http", "https"):
        docs += f' <a href="{html.escape(d.docs_url, quote=True)}">打开校验报告（Data Docs）</a>'
    s = since(d)
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{e(subject(d))}</title></head>
<body style="font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;max-width:900px">
<h2>{e(d.scope_label)} 防返贫动态监测数据质量日报 {d.run_date:%Y年%m月%d日}</h2>
<p style="font-size:15px">{e(_summary(d))}</p>
{_followup_html(d)}
<h3>一、按规则族统计</h3>
<table {_TABLE}><tr><th>规则</th><th>含义</th><th>未解决</th><th>{s}新增</th><th>{s}已解决</th></tr>{fam or '<tr><td colspan="5">无</td></tr>'}</table>
<h3>二、问题最多的村</h3>
{f'<table {_TABLE}><tr><th>村</th><th>代码</th><th>未解决</th><th>其中高风险</th></tr>{villages}</table>' if villages else '<p>无</p>'}
<h3>三、问题最多的网格员</h3>
{f'<table {_TABLE}><tr><th>网格员编号</th><th>姓名</th><th>村</th><th>未解决</th></tr>{workers}</table>' if workers else '<p>无</p>'}
{chart}
<h3>四、{s}新增问题（{len(d.new)} 条）</h3>{_issue_table(d.new, False)}
<h3>五、仍未解决的问题（{len(d.still_open)} 条，持续最久的在前）</h3>{_issue_table(d.still_open, True)}
<h3>六、{s}已解决的问题（{len(d.resolved)} 条）</h3>{_issue_table(d.resolved, False)}
<p>{docs}</p>
<p style="color:#666">完整清单见附件 CSV。本邮件由防返贫动态监测数据平台自动生成，个人信息已脱敏。</p>
</body></html>"""


CSV_HEADER = ["本期变化", "规则编号", "规则族", "规则含义", "严重程度", "对象类型", "对象编号", "县代码", "乡镇代码",
              "乡镇", "村代码", "村", "网格员编号", "问题说明", "首次发现", "最近发现", "持续天数", "状态", "解决日期",
              "整改期限", "逾期天数", "督办层级", "核实结果", "整改不实"]


def _cell(v) -> str:
    s = m(v)
    return "'" + s if s[:1] in ("=", "+", "@", "\t", "\r") else s   # no formulas when opened in Excel


def render_csv(d: DigestData) -> bytes:
    names = d.region_names
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEADER)
    for i in sorted(d.open, key=lambda i: (i["change"] != "新增", i["rule_id"], i["entity_id"])) + d.resolved:
        w.writerow([_cell(x) for x in (
            i["change"], i["rule_id"], FAMILY_NAMES.get(i["rule_id"].split("-")[0], ""), d.rule_titles.get(i["rule_id"], ""),
            SEVERITY_ZH.get(i["severity"], i["severity"]), ENTITY_ZH.get(i["entity_type"], i["entity_type"]),
            i["entity_id"], i["county_code"], i["town_code"], names.get(i["town_code"] or "", ""),
            i["village_code"], names.get(i["village_code"] or "", ""), i.get("worker_id"), i["detail"],
            i["first_detected_on"], i["last_detected_on"], i.get("days_open", ""),
            "未解决" if i["status"] == "open" else "已解决", i["resolved_on"] or "",
            i.get("due_on") or "", i.get("days_overdue", ""), LEVEL_ZH.get(i.get("escalation_level"), ""),
            i.get("verification_result") or "", "是" if i.get("claimed_fixed_still_open") else "")])
    return buf.getvalue().encode("utf-8-sig")   # BOM so Excel opens it as UTF-8
