"""Gather what one recipient's digest says: open issues in their regions, what is new, still
open (and for how long) or resolved since their last digest, names, grid workers, Data Docs.

DigestData is the digest's whole view model (every count and ranking a digest or a robot card
shows); alerts.render and alerts.robots only format it."""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import psycopg

from alerts import state
from alerts.headers import header_text
from alerts.routing import Audience, Routing
from core.warehouse import dict_rows, has_column, has_table
from expectations.catalog import FAMILY_NAMES, load_rules

log = logging.getLogger(__name__)

ISSUE_SQL = """
select i.rule_id, i.severity, i.entity_type, i.entity_id, coalesce(i.county_code, '') as county_code,
       i.town_code, i.village_code, i.detail, i.first_detected_on, i.last_detected_on, i.status,
       i.resolved_on, i.due_on, i.escalation_level, i.dismissed, i.verification_result, i.verified_on,
       i.claimed_fixed_still_open
from dq.issue i
where {where}
order by i.rule_id, i.entity_id
"""


@dataclass
class DigestData:
    audience: Audience
    run_date: dt.date
    scope_label: str
    open: list[dict]                     # every open issue in scope (each has 'change', 'days_open')
    new: list[dict]
    still_open: list[dict]
    resolved: list[dict]
    first_digest: bool                   # no earlier digest for this recipient
    docs_url: str | None = None
    validation: dict = field(default_factory=dict)   # rules / passed / failed for the run date
    region_names: dict[str, str] = field(default_factory=dict)
    # follow-up (followup/): past their due date at this recipient's level, most overdue first
    # (a town sees town and county level, a county only county level); 整改不实; how many of
    # those two were flagged today (a digest is worth sending for them)
    overdue: list[dict] = field(default_factory=list)
    fix_disputed: list[dict] = field(default_factory=list)
    flagged_today: int = 0
    rule_titles: dict[str, str] = field(default_factory=dict)   # rule id -> its sentence (catalog)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.resolved or self.flagged_today)

    @property
    def open_keys(self) -> set[str]:
        return {state.issue_key(i) for i in self.open}

    @property
    def high_open(self) -> int:
        return sum(1 for i in self.open if i["severity"] == "high")

    def rule_title(self, rule_id: str) -> str:
        return self.rule_titles.get(rule_id, "（规则目录中无此规则）")

    def families(self) -> list[tuple[str, str, list[tuple[str, str, int, int, int]]]]:
        """[(family code, family name, [(rule id, meaning, open, new, resolved)])], most open first."""
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for i in self.open:
            counts[i["rule_id"]][0] += 1
            counts[i["rule_id"]][1] += i["change"] == "新增"
        for i in self.resolved:
            counts[i["rule_id"]][2] += 1
        fams: dict[str, list] = defaultdict(list)
        for rid, (n, new, res) in sorted(counts.items()):
            fams[rid.split("-")[0]].append((rid, self.rule_title(rid), n, new, res))
        order = sorted(fams, key=lambda f: (-sum(r[2] for r in fams[f]), f))
        return [(f, FAMILY_NAMES.get(f, f), fams[f]) for f in order]

    def worst_villages(self, n: int = 10) -> list[tuple[str, str, int, int]]:
        """(village code, name, open, of which high) worst first."""
        tot, high = Counter(), Counter()
        for i in self.open:
            if i.get("village_code"):
                tot[i["village_code"]] += 1
                high[i["village_code"]] += i["severity"] == "high"
        order = sorted(tot, key=lambda v: (-tot[v], -high[v], v))[:n]
        return [(v, self.region_names.get(v, ""), tot[v], high[v]) for v in order]

    def worst_workers(self, n: int = 10) -> list[tuple[str, str, str, int]]:
        """(worker id, name, village name, open issues) worst first."""
        tot: Counter = Counter()
        info: dict[str, tuple[str, str]] = {}
        for i in self.open:
            w = i.get("worker_id")
            if w:
                tot[w] += 1
                info.setdefault(w, (i.get("worker_name") or "", self.region_names.get(i.get("village_code") or "", "")))
        order = sorted(tot, key=lambda w: (-tot[w], w))[:n]
        return [(w, info[w][0], info[w][1], tot[w]) for w in order]

    def by_town(self) -> list[tuple[str, str, int]]:
        """(town code, name, open issues), most first."""
        c = Counter(i.get("town_code") or "" for i in self.open)
        return [(t, self.region_names.get(t, "") if t else "未定位乡镇", n)
                for t, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]


def region_names(conn) -> dict[str, str]:
    """Region code -> name, findable by the code as stored and by its short form: a 12-digit
    county code (622921000000) also answers to 622921, a town's (622921103000) to 622921103,
    so routing keys and dq.issue's 6 / 9-digit codes find the name whatever the mart holds."""
    if not has_table(conn, "marts.dim_region"):
        return {}
    level = "region_level" if has_column(conn, "marts.dim_region", "region_level") else "null::text"
    names: dict[str, str] = {}
    for code, name, lvl in conn.execute(f"select region_code::text, region_name, {level} "
                                        "from marts.dim_region where region_code is not null").fetchall():
        names[code] = name = header_text(name, 100)   # a label: one line, whatever the mart holds
        known = lvl in ("county", "town", "village")    # else read the level off the zeros
        if len(code) == 12 and (lvl == "county" or (not known and code[6:] == "000000")):
            names.setdefault(code[:6], name)
        elif len(code) == 12 and (lvl == "town" or (not known and code[9:] == "000")):
            names.setdefault(code[:9], name)
    return names


def _workers(conn, issues: list[dict]) -> None:
    """Attach worker_id / worker_name: the worker itself, or the worker who made the visit."""
    visit_ids = [i["entity_id"] for i in issues if i["entity_type"] == "visit"]
    by_visit: dict[str, str] = {}
    if visit_ids and has_table(conn, "marts.fct_visit") and has_column(conn, "marts.fct_visit", "worker_id"):
        by_visit = dict(conn.execute("select visit_id::text, worker_id from marts.fct_visit "
                                     "where visit_id::text = any(%s) and worker_id is not null",
                                     (visit_ids,)).fetchall())
    for i in issues:
        i["worker_id"] = i["entity_id"] if i["entity_type"] == "grid_worker" else by_visit.get(i["entity_id"])
    ids = sorted({i["worker_id"] for i in issues if i["worker_id"]})
    names: dict[str, str] = {}
    if ids and has_table(conn, "marts.dim_grid_worker") and has_column(conn, "marts.dim_grid_worker", "worker_name"):
        names = dict(conn.execute("select worker_id::text, worker_name from marts.dim_grid_worker "
                                  "where worker_id::text = any(%s)", (ids,)).fetchall())
    for i in issues:
        i["worker_name"] = names.get(i["worker_id"] or "", "")


def served_docs_url(recorded: str | None, base_url: str | None = None) -> str | None:
    """A Data Docs link a supervisor can open: `base_url` (Settings.data_docs_base_url, where the
    site is served; `index.html` is appended unless it names a page), else a recorded http(s)
    URL, else none. GX records a file:// URL on the worker that validated: useless to anyone else."""
    base = (base_url or "").strip()
    if base:
        if base.split(":", 1)[0].lower() not in ("http", "https"):
            log.warning("DATA_DOCS_BASE_URL 不是 http(s) 地址，摘要中不放校验报告链接")
            return None
        return base if base.lower().endswith((".html", ".htm")) else base.rstrip("/") + "/index.html"
    if recorded and recorded.split(":", 1)[0].lower() in ("http", "https"):
        return recorded
    return None


def data_docs(conn, run_date: dt.date, base_url: str | None = None) -> tuple[str | None, dict]:
    """Data Docs link for the digest (see served_docs_url) and the run date's pass/fail counts."""
    if not has_table(conn, "dq.validation_run"):
        return served_docs_url(None, base_url), {}
    row = conn.execute("select run_id, data_docs_url from dq.validation_run where run_date = %s "
                       "order by finished_at desc, run_id desc limit 1", (run_date,)).fetchone()
    if not row:
        return served_docs_url(None, base_url), {}
    rules, passed = conn.execute("select count(*), count(*) filter (where success) from dq.validation_run "
                                 "where run_id = %s", (row[0],)).fetchone()
    return served_docs_url(row[1], base_url), {"run_id": row[0], "rules": rules, "passed": passed, "failed": rules - passed}


def scope_label(a: Audience, names: dict[str, str], routing: Routing, unrouted: list[str]) -> str:
    parts = [names.get(c, c) for c in sorted(a.counties)]
    parts += [names.get(t, t) for t in sorted(a.towns) if t[:6] not in a.counties]
    if a.unrouted and unrouted:
        parts.append("未配置负责人的地区（" + "、".join(names.get(c, c) if c else "无区划" for c in unrouted) + "）")
    return "、".join(parts) or "全部地区"


def collect(conn: psycopg.Connection, run_date: dt.date, routing: Routing,
            docs_base_url: str | None = None) -> list[DigestData]:
    """One DigestData per recipient (every recipient in the routing file, and the fallback);
    `docs_base_url`: Settings.data_docs_base_url."""
    names = region_names(conn)
    # a finding verified 不属实 (dismissed) stops alerting until its record changes
    open_issues = dict_rows(conn.execute(ISSUE_SQL.format(where="i.status = 'open' and not i.dismissed")))
    audiences = routing.audiences(open_issues)
    unrouted = routing.unrouted_counties(open_issues)
    baselines = {a.key: state.baseline(conn, a.key, run_date) for a in audiences}
    open_keys = {state.issue_key(i) for i in open_issues}
    gone = set().union(*(b for b in baselines.values() if b)) - open_keys
    resolved_issues = dict_rows(conn.execute(
        ISSUE_SQL.format(where="i.status = 'resolved' and (i.resolved_on = %(d)s "
                               "or i.rule_id || '|' || i.entity_id = any(%(gone)s))"),
        {"d": run_date, "gone": sorted(gone)}))
    _workers(conn, open_issues + resolved_issues)
    for i in open_issues + resolved_issues:
        i["village_name"] = names.get(i["village_code"] or "", "")
    for i in open_issues:
        i["days_open"] = (run_date - i["first_detected_on"]).days + 1
        i["days_overdue"] = max(0, (run_date - i["due_on"]).days) if i["due_on"] else 0
    flagged = _flagged_today(conn, run_date)
    docs_url, validation = data_docs(conn, run_date, docs_base_url)
    titles = {r.rule_id: r.title for r in load_rules()}
    routed = routing.counties

    out = []
    for a in audiences:
        base = baselines[a.key]
        mine = [dict(i) for i in open_issues if a.covers(i, routed)]
        if base is None:    # first digest for this recipient: today's changes per dq.issue
            is_new = lambda i: i["first_detected_on"] >= run_date  # noqa: E731
            res = [i for i in resolved_issues if i["resolved_on"] == run_date and a.covers(i, routed)]
        else:
            is_new = lambda i, base=base: state.issue_key(i) not in base  # noqa: E731
            res = [i for i in resolved_issues if state.issue_key(i) in base and a.covers(i, routed)]
        for i in mine:
            i["change"] = "新增" if is_new(i) else "仍未解决"
        for i in res:
            i["change"] = "已解决"
        overdue = sorted((i for i in mine if _overdue_for(a, i, routed)),
                         key=lambda i: (-i["days_overdue"], i["rule_id"], i["entity_id"]))
        disputed = [i for i in mine if i["claimed_fixed_still_open"]]
        out.append(DigestData(
            audience=a, run_date=run_date, scope_label=scope_label(a, names, routing, unrouted),
            open=mine, new=[i for i in mine if i["change"] == "新增"],
            still_open=sorted((i for i in mine if i["change"] == "仍未解决"),
                              key=lambda i: (-i["days_open"], i["rule_id"], i["entity_id"])),
            resolved=res, first_digest=base is None, docs_url=docs_url, validation=validation,
            region_names=names, overdue=overdue, fix_disputed=disputed, rule_titles=titles,
            flagged_today=len({state.issue_key(i) for i in overdue} & flagged["escalated"])
            + len({state.issue_key(i) for i in disputed} & flagged["claimed_fixed_still_open"])))
    return out


def _overdue_for(a: Audience, issue: dict, routed: set[str]) -> bool:
    """County view (the issue's county is the recipient's, or the fallback's): county level
    only; town view: town and county level."""
    level = issue["escalation_level"]
    county = issue.get("county_code") or ""
    county_view = county in a.counties or (a.unrouted and county not in routed)
    return level == "county" if county_view else level in ("town", "county")


def _flagged_today(conn, run_date: dt.date) -> dict[str, set[str]]:
    """Keys of the issues escalated, and of those flagged 整改不实, on run_date."""
    out: dict[str, set[str]] = {"escalated": set(), "claimed_fixed_still_open": set()}
    if has_table(conn, "dq.issue_event"):
        for event, key in conn.execute(
                "select event, rule_id || '|' || entity_id from dq.issue_event where run_date = %s "
                "and event in ('escalated', 'claimed_fixed_still_open')", (run_date,)):
            out[event].add(key)
    return out
