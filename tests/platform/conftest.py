"""Fixtures for the platform tests: small JSONL data files and a running simulator."""
from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import psycopg
import pytest

from ingest.platform.client import PlatformClient
from sim.platform_server import start_simulator

CST = dt.timezone(dt.timedelta(hours=8))
BASE = dt.datetime(2026, 11, 20, 8, 0, tzinfo=CST)
SIM_NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=CST)
SECRET = "test-secret"


def household(i: int) -> dict:
    # seven records share each updated_at, so ties are broken by id
    return {
        "household_id": f"H{(i * 7919) % 100000:06d}",  # ids not in time order
        "village_code": f"341225103{i % 50:03d}",
        "natural_village": f"自然村{i % 9}",
        "household_type": "脱贫户" if i % 3 else "一般农户",
        "head_person_id": f"P{i:06d}",
        "household_size": 1 + i % 6,
        "phone": None,
        "home_lat": 33.1 + i * 1e-5, "home_lon": 115.2,
        "in_relocation_site": False, "no_labor_household": i % 17 == 0,
        "grid_id": f"G{i % 40:03d}",
        "updated_at": (BASE + dt.timedelta(minutes=i // 7)).isoformat(),
        "is_deleted": False,
    }


def income(i: int) -> dict:
    return {"household_id": f"H{i:06d}", "year": 2025, "net_income": 30000 + i,
            "per_capita_net_income": 9000.5, "updated_at": (BASE + dt.timedelta(hours=i)).isoformat(),
            "is_deleted": False}


def write_jsonl(path: Path, records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


@pytest.fixture(scope="session")
def platform_data(tmp_path_factory) -> Path:
    """<dir>/platform/households.jsonl (3000) and incomes.jsonl (40, composite key)."""
    root = tmp_path_factory.mktemp("sim")
    write_jsonl(root / "platform" / "households.jsonl", (household(i) for i in range(3000)))
    write_jsonl(root / "platform" / "incomes.jsonl", (income(i) for i in range(40)))
    return root


@pytest.fixture()
def conn(fresh_db_url):
    """An autocommit connection to a database of the test's own."""
    with psycopg.connect(fresh_db_url, autocommit=True) as c:
        yield c


@pytest.fixture()
def sim_factory(platform_data):
    """start_simulator with test defaults; every simulator started is stopped afterwards."""
    started = []

    def make(**kw):
        kw.setdefault("client_secret", SECRET)
        kw.setdefault("now", SIM_NOW)
        sim = start_simulator(kw.pop("data_dir", platform_data), **kw)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture()
def sim(sim_factory):
    return sim_factory()


@pytest.fixture()
def client_for():
    """client_for(sim, **kw): a PlatformClient with tiny backoffs; closed afterwards."""
    made = []

    def make(sim, **kw) -> PlatformClient:
        kw.setdefault("backoff_base", 0.001)
        kw.setdefault("backoff_max", 0.01)
        kw.setdefault("timeout", 5)
        client = PlatformClient(sim.url, "demo", kw.pop("secret", SECRET), **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture(autouse=True)
def _quiet_logs(caplog):
    caplog.set_level(logging.INFO, logger="ingest.platform")
