"""Deadlines and escalation (限时整改, 逐级督办).

Every open issue has a due date (dq.issue.due_on: found, or reopened / raised again, plus the
days config/followup.yml gives its rule or severity). Past it the issue escalates to the
town (the 逾期 section of the town digest); overdue by a second period, to the county. A
dismissed (不属实) issue does not escalate while the verdict stands. Levels only go up,
until the clock restarts (the issue comes back after resolution, or is raised again).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

import psycopg

from core import locks
from expectations import dq_store
from followup.config import FollowupConfig, load_config

SOURCE = "deadline"
LEVEL_ZH = {"village": "村级整改", "town": "乡镇督办", "county": "县级督办"}


def target_level(issue: dict, run_date: dt.date, cfg: FollowupConfig) -> str:
    overdue = (run_date - issue["due_on"]).days
    if overdue > cfg.county_after.days(issue["rule_id"], issue["severity"]):
        return "county"
    return "town" if overdue > 0 else "village"


def escalate(conn: psycopg.Connection, run_date: dt.date, cfg: FollowupConfig | None = None) -> dict:
    """Give every open issue its due date and raise its escalation level as the date passes."""
    cfg = cfg or load_config()   # the default file; the pipeline passes Settings.followup_config's
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (locks.ISSUE_MERGE,))
        issues = dq_store.fetch_issues(conn, "i.status = 'open'")
        changed, events = [], []
        for key, old in issues.items():
            new = dict(old)
            if new["due_on"] is None:   # opened before deadlines existed
                new["due_on"] = new["first_detected_on"] + dt.timedelta(
                    days=cfg.due.days(new["rule_id"], new["severity"]))
            if not new["dismissed"]:
                level = target_level(new, run_date, cfg)
                if dq_store.LEVEL_RANK[level] > dq_store.LEVEL_RANK[new["escalation_level"]]:
                    overdue = (run_date - new["due_on"]).days
                    new.update(escalation_level=level, escalated_on=run_date)
                    events.append((*key, run_date, "escalated",
                                   f"整改期限 {new['due_on']} 已过 {overdue} 天，升级为{LEVEL_ZH[level]}", SOURCE))
            if new != old:
                changed.append(new)
        dq_store.write_issues(conn, changed)
        added = dq_store.write_events(conn, events)
    final = {**issues, **{(n["rule_id"], n["entity_id"]): n for n in changed}}
    by_level = dict(Counter(i["escalation_level"] for i in final.values() if not i["dismissed"]))
    return {"escalated": added, "by_level": by_level}


def overdue_days(issue: dict, run_date: dt.date) -> int:
    return max(0, (run_date - issue["due_on"]).days) if issue.get("due_on") else 0
