"""core.settings: one Settings from the environment, and README's table of variables lists
exactly its variables."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from core.settings import CONFIG, VAR, Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_variables() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Pointing it at real sources", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names += [n for n in re.findall(r"`([A-Z][A-Z0-9_<>]*)`", first) if "<" not in n]
    return names


def test_readme_table_lists_exactly_the_settings_variables():
    listed = _readme_variables()
    assert len(listed) == len(set(listed)), "a variable is listed twice"
    assert set(listed) == set(Settings.variables())


def test_defaults_and_parsing():
    s = Settings.from_env({}, connection_id=None)
    assert s.warehouse_url is None and s.outbox_dir == VAR / "outbox"
    assert s.routing_file == CONFIG / "routing.yml" and s.task_retries == 2 and s.bi_reader_user == "bi_user"
    s = Settings.from_env({"FPR_TASK_RETRIES": "0", "RUN_DATE": "2026-11-28", "OUTBOX_DIR": "/x/out",
                           "ALERT_ROBOT_BACKOFF": "0.5", "LANDING_DIR": ""}, connection_id=None)
    assert (s.task_retries, s.run_date, s.outbox_dir, s.robot_backoff) == (0, dt.date(2026, 11, 28), Path("/x/out"), 0.5)
    assert s.landing_dir == VAR / "landing"       # empty is unset
    with pytest.raises(ValueError, match="FPR_TASK_RETRIES"):
        Settings.from_env({"FPR_TASK_RETRIES": "two"}, connection_id=None)
    with pytest.raises(RuntimeError, match="WAREHOUSE_URL"):
        Settings.from_env({}, connection_id=None).require_warehouse_url()


def test_warehouse_from_the_airflow_connection(monkeypatch):
    """Without WAREHOUSE_URL the warehouse is the Airflow connection `warehouse` (here from
    Airflow's own AIRFLOW_CONN_* variable)."""
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgresql://etl:p%40ss@db.example:6432/wh?sslmode=require")
    s = Settings.from_env({})
    assert s.warehouse_url == "postgresql://etl:p%40ss@db.example:6432/wh?sslmode=require"
    assert Settings.from_env({"WAREHOUSE_URL": "postgresql://other/x"}).warehouse_url == "postgresql://other/x"
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE")
    assert Settings.from_env({}).warehouse_url is None
