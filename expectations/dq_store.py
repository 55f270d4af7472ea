"""The dq schema (its tables: core/sql/dq.sql): validation runs, dq.issue (one row per problem, kept up to date) and its
history (dq.issue_event), and the merge of each rule run into them.

dq.issue only moves forward in run-date order: a run for a date earlier than one a rule has
already been merged for (a backfill, a catch-up) records that date's own slice
(dq.issue_slice, dq.rule_sync) and changes nothing in dq.issue or its history.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

import psycopg

from alerts.masking import mask_text
from core import locks
from core.warehouse import has_table

ISSUE_COLUMNS = ("rule_id", "severity", "entity_type", "entity_id",
                 "county_code", "town_code", "village_code", "detail")
# every column of dq.issue, in the order fetch_issues() returns and write_issues() takes them
ALL_COLUMNS = ISSUE_COLUMNS + (
    "first_detected_on", "last_detected_on", "status", "resolved_on", "verification_result",
    "verified_on", "verified_by", "verification_note", "verification_received_on",
    "verified_fingerprint", "due_on", "escalation_level", "escalated_on", "dismissed",
    "claimed_fixed_still_open")
RULE_RUN = "rule_run"
LEVEL_RANK = {"village": 0, "town": 1, "county": 2}


def fingerprint(detail: str | None) -> str:
    """What a 不属实 verdict is about: the finding's detail as it was then."""
    return hashlib.md5((detail or "").encode("utf-8")).hexdigest()


def fetch_issues(conn: psycopg.Connection, where: str, params=None) -> dict[tuple[str, str], dict]:
    """(rule_id, entity_id) -> the issue row as a dict, for the rows matching `where`."""
    cur = conn.execute(f"select {', '.join(ALL_COLUMNS)} from dq.issue i where {where}", params)
    return {(r[0], r[3]): dict(zip(ALL_COLUMNS, r)) for r in cur.fetchall()}


def _stage(conn: psycopg.Connection, table: str, definition: str, columns: Iterable[str],
           rows: Iterable[Iterable]) -> None:
    """Rows into the session's temp table `table` (made once from `definition`, emptied first)."""
    conn.execute(f"create temp table if not exists {table} {definition}")
    conn.execute(f"truncate {table}")
    with conn.cursor().copy(f"copy {table} ({', '.join(columns)}) from stdin") as cp:
        for row in rows:
            cp.write_row(row)


def write_issues(conn: psycopg.Connection, rows: Iterable[dict]) -> int:
    """Insert or replace whole dq.issue rows (every column of ALL_COLUMNS)."""
    rows = list(rows)
    if not rows:
        return 0
    _stage(conn, "issue_write", "(like dq.issue including defaults) on commit delete rows", ALL_COLUMNS,
           ([r[c] for c in ALL_COLUMNS] for r in rows))
    sets = ", ".join(f"{c} = excluded.{c}" for c in ALL_COLUMNS if c not in ("rule_id", "entity_id"))
    conn.execute(f"insert into dq.issue ({', '.join(ALL_COLUMNS)}) "
                 f"select {', '.join(ALL_COLUMNS)} from issue_write "
                 f"on conflict (rule_id, entity_id) do update set {sets}")
    conn.execute("truncate issue_write")
    return len(rows)


def write_events(conn: psycopg.Connection, events: Iterable[tuple]) -> int:
    """(rule_id, entity_id, run_date, event, detail, source) rows; an event already recorded
    for the same issue, date, kind and source is not recorded again. Returns rows added."""
    events = list(events)
    if not events:
        return 0
    _stage(conn, "event_write", "(rule_id text, entity_id text, run_date date, event text, detail text, "
           "source text, seq serial) on commit drop",
           ("rule_id", "entity_id", "run_date", "event", "detail", "source"), events)
    return conn.execute(
        "insert into dq.issue_event (rule_id, entity_id, run_date, event, detail, source) "
        "select rule_id, entity_id, run_date, event, detail, source from event_write order by seq "
        "on conflict do nothing").rowcount


def latest_run_date(conn: psycopg.Connection) -> dt.date | None:
    """The latest run date merged into dq.issue (None on a fresh warehouse). A run for an
    earlier date is a backfill/catch-up: it must send no digest (see is_catch_up)."""
    if not has_table(conn, "dq.rule_sync"):
        return None
    return conn.execute(
        "select max(d) from (select max(run_date) as d from dq.rule_sync "
        "union all select max(last_detected_on) from dq.issue "
        "union all select max(resolved_on) from dq.issue) s").fetchone()[0]


def is_catch_up(conn: psycopg.Connection, run_date: dt.date) -> bool:
    latest = latest_run_date(conn)
    return latest is not None and run_date < latest


def _later_rules(conn, rules: list[str], run_date: dt.date) -> set[str]:
    """Rules already merged for a date after run_date (also seen in dq.issue itself, for
    issues merged before dq.rule_sync existed)."""
    return {r for (r,) in conn.execute(
        """select rule_id from dq.rule_sync where rule_id = any(%(r)s) and run_date > %(d)s
           union select rule_id from dq.issue where rule_id = any(%(r)s)
                 and (last_detected_on > %(d)s or resolved_on > %(d)s)""",
        {"r": rules, "d": run_date})}


def _restart_clock(row: dict, run_date: dt.date, due_days: int) -> None:
    row.update(due_on=run_date + dt.timedelta(days=due_days), escalation_level="village",
               escalated_on=None, claimed_fixed_still_open=False)


def _merge_found(old: dict | None, f: dict, run_date: dt.date, due_days: int, events: list) -> dict:
    """The issue after this run found it; appends (event, detail) pairs to events."""
    if old is None:
        new = dict(f, first_detected_on=run_date, last_detected_on=run_date, status="open",
                   resolved_on=None, verification_result=None, verified_on=None, verified_by=None,
                   verification_note=None, verification_received_on=None,
                   verified_fingerprint=None, dismissed=False)
        _restart_clock(new, run_date, due_days)
        events.append(("opened", f"发现问题，整改期限 {new['due_on']}：{f['detail'] or ''}"))
        return new
    new = dict(old, **f, last_detected_on=max(old["last_detected_on"], run_date),
               status="open", resolved_on=None)
    if old["status"] == "resolved":
        _restart_clock(new, run_date, due_days)
        if old["verification_result"] in ("属实", "已整改"):   # a new occurrence needs a new check
            new.update(verification_result=None, verified_on=None, verified_by=None,
                       verification_note=None, verification_received_on=None)
        events.append(("redetected", (f"问题再次出现（{old['resolved_on']} 曾解决），"
                                     f"整改期限 {new['due_on']}：{f['detail'] or ''}")))
    if old["dismissed"] and fingerprint(f["detail"]) != old["verified_fingerprint"]:
        new["dismissed"] = False
        _restart_clock(new, run_date, due_days)
        events.append(("raised_again", (f"已核实为不属实，但问题记录已变化，重新预警，整改期限 "
                                       f"{new['due_on']}：{f['detail'] or ''}")))
    received = old["verification_received_on"]
    if (old["status"] == "open" and new["verification_result"] == "已整改"
            and not old["claimed_fixed_still_open"] and received and run_date > received):
        new["claimed_fixed_still_open"] = True
        events.append(("claimed_fixed_still_open",
                       (f"{old['verified_on']} 报“已整改”（核实人 {old['verified_by'] or '未填'}），"
                       f"但 {run_date} 数据仍显示该问题：整改不实")))
    if new["due_on"] is None:   # an issue from before deadlines existed
        new["due_on"] = new["first_detected_on"] + dt.timedelta(days=due_days)
    return new


def sync_issues(conn: psycopg.Connection, run_date: dt.date, evaluated_rules: list[str],
                findings: Iterable[tuple], source: str = RULE_RUN, due=None) -> dict[str, int]:
    """Merge this run's findings into dq.issue for the rules that were evaluated. `due`: the
    due-date periods (followup.config; default config/followup.yml's).

    New findings open an issue (with its due date); findings seen before refresh
    last_detected_on (a resolved issue that comes back is reopened, its clock restarted); a
    dismissed (不属实) issue whose detail changed is raised again; an issue reported 已整改
    that is still found on a later run is flagged 整改不实; open issues of an evaluated rule
    that were not found are resolved, never deleted. Every change is a dq.issue_event row.
    Re-running the same date changes nothing. A rule already merged for a later date only
    records this date's slice (forward only: a backfill never changes today's status).
    """
    from followup.config import load_config

    due = due or load_config().due
    rules = sorted(set(evaluated_rules))
    found: dict[tuple[str, str], dict] = {}
    for row in findings:
        key = (row[0], row[3])
        if key not in found:        # one issue per entity, however many rows show it
            found[key] = dict(zip(ISSUE_COLUMNS, row))
            # detail is free text from the rules (department values): masked before it is stored
            found[key]["detail"] = mask_text(found[key]["detail"]) if found[key]["detail"] else None
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (locks.ISSUE_MERGE,))
        later = _later_rules(conn, rules, run_date)
        _record_slice(conn, run_date, rules, found)
        current = [r for r in rules if r not in later]
        out = {"found": sum(1 for k in found if k[0] in current), "new": 0, "resolved": 0,
               "events": 0, "catch_up_rules": len(later)}
        if not current:
            return out
        _stage(conn, "found_key", "(rule_id text, entity_id text) on commit drop", ("rule_id", "entity_id"),
               (key for key in found if key[0] in current))
        existing = fetch_issues(
            conn, "i.rule_id = any(%(r)s) and (i.status = 'open' or exists (select 1 from found_key f "
                  "where f.rule_id = i.rule_id and f.entity_id = i.entity_id))", {"r": current})
        changed, events = [], []
        for key, f in found.items():
            if key[0] not in current:
                continue
            old = existing.get(key)
            evs: list = []
            new = _merge_found(old, f, run_date, due.days(f["rule_id"], f["severity"]), evs)
            out["new"] += old is None
            if new != old:
                changed.append(new)
            events += [(*key, run_date, ev, detail, source) for ev, detail in evs]
        for key, old in existing.items():
            if key in found or old["status"] != "open":
                continue
            confirmed = "，与“已整改”的核实结果一致" if old["verification_result"] == "已整改" else ""
            changed.append(dict(old, status="resolved", resolved_on=run_date, claimed_fixed_still_open=False))
            events.append((*key, run_date, "resolved", f"数据不再显示该问题{confirmed}", source))
            out["resolved"] += 1
        write_issues(conn, changed)
        out["events"] = write_events(conn, events)
    return out


def _record_slice(conn, run_date: dt.date, rules: list[str], found: dict) -> None:
    conn.execute("delete from dq.issue_slice where run_date = %s and rule_id = any(%s)", (run_date, rules))
    with conn.cursor().copy("copy dq.issue_slice (run_date, rule_id, entity_id, detail_fingerprint) "
                            "from stdin") as cp:
        for (rule_id, entity_id), f in found.items():
            if rule_id in rules:
                cp.write_row((run_date, rule_id, entity_id, fingerprint(f["detail"])))
    counts = {r: 0 for r in rules}
    for rule_id, _ in found:
        if rule_id in counts:
            counts[rule_id] += 1
    with conn.cursor() as cur:
        cur.executemany("insert into dq.rule_sync (rule_id, run_date, findings) values (%s, %s, %s) "
                        "on conflict (rule_id, run_date) do update set findings = excluded.findings",
                        [(r, run_date, n) for r, n in counts.items()])


def issue_history(conn: psycopg.Connection, rule_id: str, entity_id: str) -> list[dict]:
    """A finding's whole life, oldest first: run_date, event, detail, source."""
    cur = conn.execute("select run_date, event, detail, source from dq.issue_event "
                       "where rule_id = %s and entity_id = %s order by run_date, event_id",
                       (rule_id, entity_id))
    return [dict(zip(("run_date", "event", "detail", "source"), r)) for r in cur.fetchall()]


def record_validation_runs(conn: psycopg.Connection, rows: list[dict]) -> None:
    with conn.transaction():
        for r in rows:
            conn.execute(
                """insert into dq.validation_run (run_id, run_date, suite_name, rule_id, success,
                       unexpected_rows, started_at, finished_at, data_docs_url)
                   values (%(run_id)s, %(run_date)s, %(suite_name)s, %(rule_id)s, %(success)s,
                       %(unexpected_rows)s, %(started_at)s, %(finished_at)s, %(data_docs_url)s)
                   on conflict (run_id, rule_id) do update set success = excluded.success,
                       unexpected_rows = excluded.unexpected_rows,
                       finished_at = excluded.finished_at""", r)


def open_issue_counts(conn: psycopg.Connection) -> dict[str, int]:
    rows = conn.execute("select rule_id, count(*) from dq.issue where status='open' "
                        "group by rule_id order by rule_id").fetchall()
    return dict(rows)


