"""The dq schema: validation runs, dq.issue (one row per problem, kept up to date) and its
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

DQ_DDL = """
create schema if not exists dq;
create or replace function dq.distance_km(lat1 double precision, lon1 double precision,
                                          lat2 double precision, lon2 double precision)
returns double precision language sql immutable as $$
  select 2 * 6371.0088 * asin(sqrt(
      power(sin(radians(lat2 - lat1) / 2), 2)
    + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lon2 - lon1) / 2), 2)))
$$;
create table if not exists dq.issue (
    rule_id           text not null,
    severity          text not null,
    entity_type       text not null,
    entity_id         text not null,
    county_code       text,
    town_code         text,
    village_code      text,
    detail            text,
    first_detected_on date not null,
    last_detected_on  date not null,
    status            text not null check (status in ('open', 'resolved')),
    resolved_on       date,
    primary key (rule_id, entity_id)
);
create index if not exists issue_status_idx on dq.issue (status, county_code);
comment on table dq.issue is '数据质量与预警问题：每个规则×对象一行，逐日更新（消失的问题标记为已解决，不删除）';
comment on column dq.issue.rule_id is '规则编号（见规则目录）';
comment on column dq.issue.severity is '严重程度（high 高 / medium 中 / low 低）';
comment on column dq.issue.entity_type is '对象类型（visit 走访 / grid 网格 / household 户 …）';
comment on column dq.issue.entity_id is '对象编号';
comment on column dq.issue.county_code is '县代码';
comment on column dq.issue.town_code is '乡镇代码';
comment on column dq.issue.village_code is '村代码';
comment on column dq.issue.detail is '问题说明（中文，已脱敏）';
comment on column dq.issue.first_detected_on is '首次发现日期';
comment on column dq.issue.last_detected_on is '最近一次发现日期';
comment on column dq.issue.status is '状态（open 未解决 / resolved 已解决）';
comment on column dq.issue.resolved_on is '解决日期（问题不再出现的运行日期）';
create table if not exists dq.validation_run (
    run_id          text not null,
    run_date        date not null,
    suite_name      text not null,
    rule_id         text not null,
    success         boolean not null,
    unexpected_rows integer not null,
    started_at      timestamptz not null,
    finished_at     timestamptz not null,
    data_docs_url   text,
    primary key (run_id, rule_id)
);
-- verification, deadlines and escalation (followup/); added columns keep old rows valid
alter table dq.issue add column if not exists verification_result text
    check (verification_result in ('属实', '不属实', '已整改'));
alter table dq.issue add column if not exists verified_on date;
alter table dq.issue add column if not exists verified_by text;
alter table dq.issue add column if not exists verification_note text;
alter table dq.issue add column if not exists verification_received_on date;
alter table dq.issue add column if not exists verified_fingerprint text;
alter table dq.issue add column if not exists due_on date;
alter table dq.issue add column if not exists escalation_level text not null default 'village'
    check (escalation_level in ('village', 'town', 'county'));
alter table dq.issue add column if not exists escalated_on date;
alter table dq.issue add column if not exists dismissed boolean not null default false;
alter table dq.issue add column if not exists claimed_fixed_still_open boolean not null default false;
comment on column dq.issue.verification_result is '最近一次核实结果（属实 / 不属实 / 已整改；空为尚未核实）';
comment on column dq.issue.verified_on is '最近一次核实日期';
comment on column dq.issue.verified_by is '核实人（已脱敏）';
comment on column dq.issue.verification_note is '核实说明（已脱敏）';
comment on column dq.issue.verification_received_on is '核实结果交回日期（核查结果文件的日期）';
comment on column dq.issue.verified_fingerprint is '核实时问题说明的指纹（md5）：记录变化后“不属实”不再有效，重新预警';
comment on column dq.issue.due_on is '整改期限（发现或重新预警之日加上 config/followup.yml 规定的天数）';
comment on column dq.issue.escalation_level is '督办层级（village 村 / town 乡镇：已逾期 / county 县：逾期超过第二个期限）';
comment on column dq.issue.escalated_on is '最近一次升级督办的运行日期';
comment on column dq.issue.dismissed is '是否已核实为不属实且记录未变化（为真时不再预警、不进核查清单）';
comment on column dq.issue.claimed_fixed_still_open is '整改不实：已报“已整改”，但之后的运行中数据仍显示该问题';
create table if not exists dq.issue_event (
    event_id    bigserial primary key,
    rule_id     text not null,
    entity_id   text not null,
    run_date    date not null,
    event       text not null check (event in ('opened', 'redetected', 'resolved', 'verified',
                    'dismissed', 'raised_again', 'escalated', 'claimed_fixed_still_open')),
    detail      text,
    source      text not null,
    recorded_at timestamptz not null default now()
);
-- a rerun of the same date records nothing twice
create unique index if not exists issue_event_once_idx
    on dq.issue_event (rule_id, entity_id, run_date, event, source);
create index if not exists issue_event_issue_idx on dq.issue_event (rule_id, entity_id, event_id);
comment on table dq.issue_event is '问题的每一次变化一行（发现、再次出现、解决、核实、不属实、重新预警、升级督办、整改不实），可据以还原每条问题的全过程';
comment on column dq.issue_event.rule_id is '规则编号';
comment on column dq.issue_event.entity_id is '对象编号';
comment on column dq.issue_event.run_date is '发生变化的运行日期';
comment on column dq.issue_event.event is '变化（opened 发现 / redetected 再次出现 / resolved 解决 / verified 核实 / dismissed 核实为不属实 / raised_again 记录变化重新预警 / escalated 逾期升级 / claimed_fixed_still_open 整改不实）';
comment on column dq.issue_event.detail is '说明（中文）';
comment on column dq.issue_event.source is '来源（rule_run 规则运行 / verification:文件名 核查结果 / deadline 期限检查）';
create table if not exists dq.rule_sync (
    rule_id  text not null,
    run_date date not null,
    findings integer not null,
    primary key (rule_id, run_date)
);
comment on table dq.rule_sync is '每条规则每个运行日期合并一次：该日发现的问题数（补跑过去的日期也记录）';
create table if not exists dq.issue_slice (
    run_date           date not null,
    rule_id            text not null,
    entity_id          text not null,
    detail_fingerprint text not null,
    primary key (run_date, rule_id, entity_id)
);
comment on table dq.issue_slice is '每个运行日期每条规则发现的问题（当日切片；补跑过去的日期只写切片，不改变当前问题状态）';
comment on table dq.validation_run is '每次校验运行每条规则一行：运行编号、校验套件、问题数、是否通过、时间';
"""

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
MERGE_LOCK = 4242003


def ensure_dq_schema(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(4242002)")
        conn.execute(DQ_DDL)


def fingerprint(detail: str | None) -> str:
    """What a 不属实 verdict is about: the finding's detail as it was then."""
    return hashlib.md5((detail or "").encode("utf-8")).hexdigest()


def fetch_issues(conn: psycopg.Connection, where: str, params=None) -> dict[tuple[str, str], dict]:
    """(rule_id, entity_id) -> the issue row as a dict, for the rows matching `where`."""
    cur = conn.execute(f"select {', '.join(ALL_COLUMNS)} from dq.issue i where {where}", params)
    return {(r[0], r[3]): dict(zip(ALL_COLUMNS, r)) for r in cur.fetchall()}


def write_issues(conn: psycopg.Connection, rows: Iterable[dict]) -> int:
    """Insert or replace whole dq.issue rows (every column of ALL_COLUMNS)."""
    rows = list(rows)
    if not rows:
        return 0
    conn.execute("create temp table if not exists issue_write (like dq.issue including defaults) "
                 "on commit delete rows")
    conn.execute("truncate issue_write")
    with conn.cursor().copy(f"copy issue_write ({', '.join(ALL_COLUMNS)}) from stdin") as cp:
        for r in rows:
            cp.write_row([r[c] for c in ALL_COLUMNS])
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
    conn.execute("create temp table if not exists event_write (rule_id text, entity_id text, "
                 "run_date date, event text, detail text, source text, seq serial) on commit drop")
    conn.execute("truncate event_write")
    with conn.cursor().copy("copy event_write (rule_id, entity_id, run_date, event, detail, source) "
                            "from stdin") as cp:
        for ev in events:
            cp.write_row(ev)
    return conn.execute(
        "insert into dq.issue_event (rule_id, entity_id, run_date, event, detail, source) "
        "select rule_id, entity_id, run_date, event, detail, source from event_write order by seq "
        "on conflict do nothing").rowcount


def latest_run_date(conn: psycopg.Connection) -> dt.date | None:
    """The latest run date merged into dq.issue (None on a fresh warehouse). A run for an
    earlier date is a backfill/catch-up: it must send no digest (see is_catch_up)."""
    if not conn.execute("select to_regclass('dq.rule_sync') is not null").fetchone()[0]:
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
        conn.execute("select pg_advisory_xact_lock(%s)", (MERGE_LOCK,))
        later = _later_rules(conn, rules, run_date)
        _record_slice(conn, run_date, rules, found)
        current = [r for r in rules if r not in later]
        out = {"found": sum(1 for k in found if k[0] in current), "new": 0, "resolved": 0,
               "events": 0, "catch_up_rules": len(later)}
        if not current:
            return out
        conn.execute("create temp table if not exists found_key (rule_id text, entity_id text) "
                     "on commit drop")
        conn.execute("truncate found_key")
        with conn.cursor().copy("copy found_key (rule_id, entity_id) from stdin") as cp:
            for key in found:
                if key[0] in current:
                    cp.write_row(key)
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


