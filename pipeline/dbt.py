"""Run dbt outside Airflow (tests, `make run` parse step) with the profile in dbt_project/."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"


def profile_env(url: str) -> dict[str, str]:
    """WAREHOUSE_URL -> the env vars dbt_project/profiles.yml reads."""
    parts = urlsplit(url)
    return {
        "WAREHOUSE_HOST": parts.hostname or "127.0.0.1",
        "WAREHOUSE_PORT": str(parts.port or 5432),
        "WAREHOUSE_USER": unquote(parts.username or "postgres"),
        "WAREHOUSE_PASSWORD": unquote(parts.password or ""),
        "WAREHOUSE_DB": parts.path.lstrip("/") or "postgres",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }


def run_dbt(args: list[str], url: str, run_date: dt.date | None = None) -> None:
    """Invoke dbt in-process; raises with dbt's own message when the command fails."""
    from dbt.cli.main import dbtRunner

    os.environ.update(profile_env(url))
    cmd = [*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    if run_date is not None:
        cmd += ["--vars", f"{{run_date: '{run_date.isoformat()}'}}"]
    result = dbtRunner().invoke(cmd)
    if not result.success:
        raise RuntimeError(f"dbt {' '.join(args)} 失败：{result.exception or '见上方 dbt 日志'}")


def manifest_path() -> Path:
    return DBT_PROJECT_DIR / "target" / "manifest.json"
