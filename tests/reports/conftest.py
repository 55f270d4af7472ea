"""A synthetic province with 120 days of landing files, run through the real daily steps
(simulator over HTTP, feed loader, dbt build, GX rules), then the report marts rebuilt after
the rules as the periodic DAGs do. Tests compare every report figure with Python over the
generated files (the province's own records), never with the report SQL."""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import psycopg
import pytest
from reportdata import DAYS, HOUSEHOLDS, RUN_DATE


@pytest.fixture(scope="session")
def history_province(tmp_path_factory) -> Path:
    from sim.generator import generate

    if os.environ.get("REPORTS_TEST_PROVINCE"):     # developer loop: reuse a generated province
        return Path(os.environ["REPORTS_TEST_PROVINCE"])
    out = tmp_path_factory.mktemp("history")
    generate(out, RUN_DATE, seed=11, households=HOUSEHOLDS, days=DAYS)
    return out


def _settings(url: str):
    from core.settings import Settings

    return Settings.from_env(connection_id=None).replace(warehouse_url=url)


@pytest.fixture(scope="session")
def reports_db(pg_server_url, history_province, tmp_path_factory) -> str:
    from reports.marts import rebuild_report_marts
    from tests.pipeline.conftest import run_pipeline

    if os.environ.get("REPORTS_TEST_DB"):           # developer loop: reuse a built warehouse
        os.environ["WAREHOUSE_URL"] = os.environ["REPORTS_TEST_DB"]
        rebuild_report_marts(_settings(os.environ["REPORTS_TEST_DB"]), RUN_DATE)
        return os.environ["REPORTS_TEST_DB"]
    url = f"{pg_server_url}/r_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{pg_server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'create database "{url.rsplit("/", 1)[1]}"')
    # the figures are checked against the landing files as generated: no later redeliveries
    run_pipeline(history_province, url, tmp_path_factory.mktemp("gx"), RUN_DATE, redeliver=False)
    rebuild_report_marts(_settings(url), RUN_DATE)
    return url


@pytest.fixture(scope="session")
def platform_records(history_province) -> dict[str, list[dict]]:
    out = {}
    for path in (history_province / "platform").glob("*.jsonl"):
        with open(path, encoding="utf-8") as fh:
            out[path.stem] = [json.loads(line) for line in fh]
    return out


@pytest.fixture()
def db(reports_db):
    with psycopg.connect(reports_db) as conn:
        yield conn

