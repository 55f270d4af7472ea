"""Small synthetic provinces run through the real pipeline steps once per session:
simulator over real HTTP -> platform client -> raw; landing files (then the redeliveries:
one identical copy and one corrected file) -> raw; dbt build; GX rules -> dq.issue.

`pipeline_db` holds a province with planted violations, `clean_pipeline_db` one without."""
from __future__ import annotations

import csv
import datetime as dt
import shutil
import uuid
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


def _new_db(server_url: str) -> str:
    name = f"p_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return f"{server_url}/{name}"


def run_pipeline(province: Path, url: str, gx_dir: Path, run_date: dt.date = RUN_DATE,
                 redeliver: bool = True) -> None:
    """The daily steps up to the rules (pipeline.steps.run_day) for run_date into the database
    at url, the province's platform served by the simulator (then, with `redeliver`, the
    province's later deliveries, loaded after its files)."""
    from core.settings import Settings
    from pipeline import steps
    from sim.platform_server import start_simulator

    landing = province / "landing"
    with start_simulator(province, client_id="t", client_secret="s") as sim:
        settings = Settings.from_env(connection_id=None).replace(
            warehouse_url=url, gx_project_dir=Path(gx_dir), landing_dir=landing,
            platform_base_url=sim.url, platform_client_id="t", platform_client_secret="s")

        def after(step: str) -> None:
            # later deliveries: identical bytes load nothing, a corrected file replaces its day
            redelivery = province / "landing_redelivery"
            if step == "ingest_feeds" and redeliver and redelivery.exists():
                for f in redelivery.rglob("*.*"):
                    target = landing / f.relative_to(redelivery)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, target)
                steps.ingest_feeds(settings, run_date)

        day = steps.run_day(settings, run_date, until="quality", after_step=after)
    # as the steps' callers would see it: no platform resource failed, every dbt node built
    assert not day["ingest_platform"]["failed"], day["ingest_platform"]
    assert day["transform"]["success"], day["transform"]


def _province(tmp_path_factory, name: str, clean: bool) -> Path:
    from sim.generator import generate

    out = tmp_path_factory.mktemp(name)
    generate(out, RUN_DATE, seed=7, households=HOUSEHOLDS, clean=clean)
    return out


@pytest.fixture(scope="session")
def province(tmp_path_factory) -> Path:
    return _province(tmp_path_factory, "province", clean=False)


@pytest.fixture(scope="session")
def clean_province(tmp_path_factory) -> Path:
    return _province(tmp_path_factory, "clean_province", clean=True)


@pytest.fixture(scope="session")
def pipeline_db(province, pg_server_url, tmp_path_factory) -> str:
    url = _new_db(pg_server_url)
    run_pipeline(province, url, tmp_path_factory.mktemp("gx"))
    return url


@pytest.fixture(scope="session")
def clean_pipeline_db(clean_province, pg_server_url, tmp_path_factory) -> str:
    url = _new_db(pg_server_url)
    run_pipeline(clean_province, url, tmp_path_factory.mktemp("gx_clean"))
    return url


@pytest.fixture(scope="session")
def truth(province) -> dict[str, set[str]]:
    return read_truth(province / "ground_truth.csv")


def _issues(url: str, rule_id: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute(
            "select entity_id from dq.issue where rule_id=%s and status='open'", (rule_id,))}


@pytest.fixture(scope="session")
def open_issues(pipeline_db):
    """rule_id -> the entity ids of its open issues (planted province)."""
    return lambda rule_id: _issues(pipeline_db, rule_id)


@pytest.fixture(scope="session")
def clean_open_issues(clean_pipeline_db):
    """rule_id -> the entity ids of its open issues (clean province)."""
    return lambda rule_id: _issues(clean_pipeline_db, rule_id)


@pytest.fixture(scope="session")
def run_date() -> dt.date:
    return RUN_DATE


@pytest.fixture(scope="session")
def pipeline_runner():
    """run_pipeline(province, url, gx_dir, run_date) for tests that run it again."""
    return run_pipeline
