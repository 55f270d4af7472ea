"""The dq schema: validation runs and dq.issue (one row per open problem, kept up to date)."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

import psycopg

from expectations.alerts.masking import mask_text

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
comment on table dq.validation_run is '每次校验运行每条规则一行：运行编号、校验套件、问题数、是否通过、时间';
"""

ISSUE_COLUMNS = ("rule_id", "severity", "entity_type", "entity_id",
                 "county_code", "town_code", "village_code", "detail")


def ensure_dq_schema(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(4242002)")
        conn.execute(DQ_DDL)


def sync_issues(conn: psycopg.Connection, run_date: dt.date, evaluated_rules: list[str],
                findings: Iterable[tuple]) -> dict[str, int]:
    """Merge this run's findings into dq.issue for the rules that were evaluated.

    New findings open an issue; findings seen before refresh last_detected_on (a resolved
    issue that comes back is reopened); open issues of an evaluated rule that were not found
    are resolved, never deleted. Re-running the same date changes nothing.
    """
    with conn.transaction():
        conn.execute("create temp table found (rule_id text, severity text, entity_type text, "
                     "entity_id text, county_code text, town_code text, village_code text, "
                     "detail text) on commit drop")
        with conn.cursor().copy(f"copy found ({', '.join(ISSUE_COLUMNS)}) from stdin") as cp:
            seen = set()
            for row in findings:
                key = (row[0], row[3])
                if key in seen:      # one issue per entity, however many rows show it
                    continue
                seen.add(key)
                # detail is free text from the rules (department values): mask it before it is stored
                cp.write_row((*row[:7], mask_text(row[7])) if row[7] else row)
        inserted = conn.execute(
            """
            insert into dq.issue (rule_id, severity, entity_type, entity_id, county_code,
                                  town_code, village_code, detail, first_detected_on,
                                  last_detected_on, status)
            select rule_id, severity, entity_type, entity_id, county_code, town_code,
                   village_code, detail, %(d)s, %(d)s, 'open' from found
            on conflict (rule_id, entity_id) do update set
                severity = excluded.severity, entity_type = excluded.entity_type,
                county_code = excluded.county_code, town_code = excluded.town_code,
                village_code = excluded.village_code, detail = excluded.detail,
                last_detected_on = greatest(dq.issue.last_detected_on, excluded.last_detected_on),
                status = 'open', resolved_on = null
            returning (xmax = 0) as is_new
            """, {"d": run_date}).fetchall()
        resolved = conn.execute(
            """
            update dq.issue i set status = 'resolved', resolved_on = %(d)s
            where i.status = 'open' and i.rule_id = any(%(rules)s)
              and not exists (select 1 from found f
                              where f.rule_id = i.rule_id and f.entity_id = i.entity_id)
            """, {"d": run_date, "rules": list(evaluated_rules)}).rowcount
    return {"found": len(inserted), "new": sum(1 for (n,) in inserted if n), "resolved": resolved}


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


