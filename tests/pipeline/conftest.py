"""A small synthetic province run through the real pipeline steps once per session:
simulator over real HTTP -> platform client -> raw; landing files -> raw; dbt build; GX rules."""
from __future__ import annotations

import csv
import datetime as dt
import os
from collections import defaultdict
from pathlib import Path

import psycopg
import pytest

RUN_DATE = dt.date(2026, 11, 28)
HOUSEHOLDS = 600


def read_truth(path: Path) -> dict[str, set[str]]:
    truth: dict[str, set[str]] = defaultdict(set)
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            truth[row["rule_id"]].add(row["entity_id"])
    return truth


@pytest.fixture(scope="session")
def province(tmp_path_factory) -> Path:
    from sim.generator import generate

    out = tmp_path_factory.mktemp("province")
    generate(out, RUN_DATE, seed=7, households=HOUSEHOLDS)
    return out


@pytest.fixture(scope="session")
def pipeline_db(province, session_db_url, tmp_path_factory) -> str:
    """Run every daily step for RUN_DATE into a fresh database; returns its URL."""
    from ingest import warehouse
    from ingest.feeds.load import load_all as load_feeds
    from ingest.platform.client import PlatformClient
    from ingest.platform.load import load_all as load_platform
    from pipeline.dbt import run_dbt
    from expectations.validate import run_rules
    from sim.platform_server import start_simulator

    os.environ["WAREHOUSE_URL"] = session_db_url
    os.environ["GX_PROJECT_DIR"] = str(tmp_path_factory.mktemp("gx"))
    with start_simulator(province, client_id="t", client_secret="s") as sim:
        client = PlatformClient(sim.url, "t", "s")
        with warehouse.connect(session_db_url) as conn:
            load_platform(conn, client, RUN_DATE)
            load_feeds(conn, province / "landing", RUN_DATE)
    run_dbt(["build", "--quiet"], session_db_url, RUN_DATE)
    run_rules(RUN_DATE)
    return session_db_url


@pytest.fixture(scope="session")
def truth(province) -> dict[str, set[str]]:
    return read_truth(province / "ground_truth.csv")


@pytest.fixture(scope="session")
def open_issues(pipeline_db):
    """rule_id -> the entity ids of its open issues."""
    def query(rule_id: str) -> set[str]:
        with psycopg.connect(pipeline_db) as conn:
            return {r[0] for r in conn.execute(
                "select entity_id from dq.issue where rule_id=%s and status='open'", (rule_id,))}
    return query
