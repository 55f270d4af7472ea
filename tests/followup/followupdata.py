"""Shared data and fixtures for tests/followup (imported by conftest.py and the tests)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

D1 = dt.date(2026, 12, 1)
COUNTY, TOWN1, TOWN2 = "341225", "341225101", "341225102"
V11, V12, V21 = "341225101201", "341225101202", "341225102201"
COUNTY_SUP = "county-341225@example.gov.cn"
TOWN_SUP = "town-341225101@example.gov.cn"
FALLBACK = "city-office@example.gov.cn"
FULL_ID = "341225199001011234"

REGIONS = [(COUNTY, "阜南县", "county"), (TOWN1, "甲镇", "town"), (TOWN2, "乙乡", "town"),
           (V11, "东村", "village"), (V12, "西村", "village"), (V21, "南村", "village")]
VISITS = [("V001", "H001", "W001"), ("V002", "H002", "W001"), ("V003", "H003", "W002"),
          ("V010", "H010", "W003")]
WORKERS = [("W001", "张网格"), ("W002", "李网格"), ("W003", "王网格")]

ROUTING = f"""
fallback: {{name: 市防返贫监测工作专班, email: {FALLBACK}}}
regions:
  "{COUNTY}":
    - {{name: 县专班负责人, email: {COUNTY_SUP}}}
  "{TOWN1}":
    - {{name: 甲镇负责人, email: {TOWN_SUP}}}
sender: {{name: 防返贫动态监测数据平台, email: platform@example.gov.cn}}
"""

# two days to fix a high finding, three a medium one; county after two more days overdue
FOLLOWUP = """
due_days:
  severity: {high: 2, medium: 3, low: 5}
escalation:
  county_after_overdue_days:
    severity: {high: 2, medium: 2, low: 2}
"""


@pytest.fixture()
def warehouse(fresh_db_url):
    """An autocommit connection to a fresh warehouse with dq and small marts."""
    from core.schema import ensure_schema
    from core.warehouse import connect

    with connect(fresh_db_url) as conn:
        ensure_schema(conn, "raw", "dq")
        conn.execute("create schema marts")
        conn.execute("create table marts.dim_region (region_code text primary key, region_name text, "
                     "region_level text)")
        conn.execute("create table marts.fct_visit (visit_id text primary key, household_id text, worker_id text)")
        conn.execute("create table marts.dim_grid_worker (worker_id text primary key, worker_name text)")
        with conn.cursor() as cur:
            cur.executemany("insert into marts.dim_region values (%s, %s, %s)", REGIONS)
            cur.executemany("insert into marts.fct_visit values (%s, %s, %s)", VISITS)
            cur.executemany("insert into marts.dim_grid_worker values (%s, %s)", WORKERS)
        yield conn


def followup_cfg():
    """The follow-up periods as the pipeline reads them (Settings.followup_config)."""
    from core.settings import Settings
    from followup.config import load_config

    return load_config(Settings.from_env(connection_id=None).followup_config)


@pytest.fixture()
def followup_config(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "followup.yml"
    path.write_text(FOLLOWUP, encoding="utf-8")
    monkeypatch.setenv("FOLLOWUP_CONFIG", str(path))
    return path


@pytest.fixture()
def routing_file(tmp_path) -> Path:
    path = tmp_path / "routing.yml"
    path.write_text(ROUTING, encoding="utf-8")
    return path


def finding(rule_id: str, entity_id: str, village: str | None, detail: str,
            entity_type: str | None = None) -> tuple:
    """A finding as the GX runner hands it to sync_issues (severity and entity from the catalog)."""
    from expectations.catalog import load_rules

    rule = {r.rule_id: r for r in load_rules()}[rule_id]
    town = village[:9] if village else None
    return (rule_id, rule.severity, entity_type or rule.entity_type, entity_id,
            COUNTY, town, village, detail)


def issue(conn, rule_id: str, entity_id: str) -> dict:
    cur = conn.execute("select * from dq.issue where rule_id = %s and entity_id = %s", (rule_id, entity_id))
    row = cur.fetchone()
    return dict(zip([c.name for c in cur.description], row)) if row else {}


def events(conn, rule_id: str, entity_id: str) -> list[tuple]:
    """(run_date, event) of a finding, in order."""
    from expectations.dq_store import issue_history

    return [(r["run_date"], r["event"]) for r in issue_history(conn, rule_id, entity_id)]
