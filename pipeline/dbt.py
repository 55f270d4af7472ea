"""Run dbt in-process (dbt's programmatic API) against the warehouse URL.

The profile is built here from the URL as libpq reads it, so every valid libpq URL works: no
password (trust, `.pgpass`, `PGPASSWORD`), a percent-encoded password, `?sslmode=...`, a
unix-socket host (`?host=/var/run/postgresql` or `%2Fvar%2Frun%2Fpostgresql`). The password
reaches dbt only through a `DBT_ENV_SECRET_` variable, which dbt scrubs from its logs; the
profile file holds no secret and is the same every day, so partial parsing is kept.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core.settings import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
PROFILE = "fpr_monitoring"
SECRET_ENV = "DBT_ENV_SECRET_WAREHOUSE_PASSWORD"
# The run date reaches dbt's `run_date()` macro through the environment: as a --vars value
# it would change dbt's config checksum every day and cost a full re-parse of the project.
RUN_DATE_ENV = "FPR_DBT_RUN_DATE"
# libpq parameters dbt-postgres accepts as profile fields
_PASSTHROUGH = ("sslmode", "sslcert", "sslkey", "sslrootcert", "connect_timeout",
                "application_name", "keepalives_idle")
# dbt node types that build a relation (a failed or skipped one is unavailable to the rules)
_RELATION_NODES = ("model", "snapshot", "seed")
# The day's build: models, seeds, snapshots and data tests, without dbt's unit tests. Unit
# tests check our SQL on fixed rows, not the day's data: they run in the test suite
# (`dbt test --select test_type:unit`, tests/pipeline/test_dbt_unit_tests.py), and a code
# change that breaks one fails CI instead of a county's daily run.
DAILY_BUILD = ("build", "--exclude-resource-type", "unit_test")
UNIT_TESTS = ("test", "--select", "test_type:unit")


def manifest_path() -> Path:
    """The manifest the last dbt invocation wrote (bench reads each model's compiled SQL)."""
    return DBT_PROJECT_DIR / "target" / "manifest.json"


def _default_host() -> str:
    """libpq's own default when a URL names no host: PGHOST, else its socket directory."""
    if os.environ.get("PGHOST"):
        return os.environ["PGHOST"]
    for d in ("/var/run/postgresql", "/run/postgresql", "/tmp"):
        if Path(d, ".s.PGSQL.5432").exists():
            return d
    return "localhost"


def profile_for(url: str, threads: int = 4) -> tuple[dict, str]:
    """(dbt profile output without the password, the password or '') for a libpq URL
    (`threads`: Settings.dbt_threads). PG* defaults are libpq's own, read as libpq reads them."""
    from psycopg.conninfo import conninfo_to_dict

    p = conninfo_to_dict(url)
    host = str(p.get("host") or _default_host()).split(",")[0]
    out = {
        "type": "postgres",
        "host": host,
        "port": int(str(p.get("port") or os.environ.get("PGPORT") or 5432).split(",")[0]),
        "user": str(p.get("user") or os.environ.get("PGUSER") or _os_user()),
        "password": "{{ env_var('%s', '') }}" % SECRET_ENV,
        "dbname": str(p.get("dbname") or os.environ.get("PGDATABASE") or p.get("user") or _os_user()),
        "schema": "public",
        "threads": int(threads),
    }
    for key in _PASSTHROUGH:
        if p.get(key) not in (None, ""):
            out[key] = int(p[key]) if key in ("connect_timeout", "keepalives_idle") else str(p[key])
    # libpq reads PGPASSWORD only when no password is given; dbt always passes one, so pass it on.
    # An empty password still lets libpq fall back to the password file (.pgpass / PGPASSFILE).
    password = str(p.get("password") or os.environ.get("PGPASSWORD") or "")
    return out, password


def _os_user() -> str:
    import getpass

    return getpass.getuser()


def _profiles_dir(url: str, threads: int) -> tuple[Path, str]:
    """A private directory holding profiles.yml for this URL (no secret in it)."""
    output, password = profile_for(url, threads)
    text = yaml.safe_dump({PROFILE: {"target": "default", "outputs": {"default": output}}},
                          sort_keys=True, allow_unicode=True)
    # one directory per distinct profile: concurrent runs against other warehouses never mix
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    base = Path(tempfile.gettempdir()) / f"fpr-dbt-profile-{os.getuid()}-{digest}"
    base.mkdir(mode=0o700, exist_ok=True)
    if not (base / "profiles.yml").exists():
        tmp = base / f"profiles.yml.{os.getpid()}"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(base / "profiles.yml")
    return base, password


@dataclass
class DbtOutcome:
    """What one dbt invocation did: per-node failures and the relations the rules cannot use."""
    success: bool
    failed: list[str] = field(default_factory=list)       # unique_ids that errored
    skipped: list[str] = field(default_factory=list)      # unique_ids skipped (upstream failed)
    unavailable: list[str] = field(default_factory=list)  # schema.table not built today
    messages: dict[str, str] = field(default_factory=dict)  # unique_id -> dbt's error message
    warned: int = 0
    error: str | None = None                              # dbt could not run at all

    def as_dict(self) -> dict:
        return {"success": self.success, "failed": self.failed, "skipped": self.skipped,
                "unavailable": self.unavailable, "messages": self.messages, "warned": self.warned,
                "error": self.error}


def _vars(extra: dict | None) -> list[str]:
    return ["--vars", json.dumps(extra)] if extra else []


def invoke(args: list[str], url: str, run_date: dt.date | None = None,
           extra_vars: dict | None = None, project_dir: Path | None = None,
           threads: int = 4, callbacks: list | None = None) -> DbtOutcome:
    """Invoke dbt; never raises for a failing node: the outcome says what failed.
    `callbacks`: dbt's event callbacks (dbtRunner's public API), e.g. to see how it parsed."""
    from dbt.cli.main import dbtRunner

    profiles_dir, password = _profiles_dir(url, threads)
    os.environ[SECRET_ENV] = password
    given_date = os.environ.get(RUN_DATE_ENV)   # a hand run's own, kept when no date is passed
    if run_date:
        os.environ[RUN_DATE_ENV] = run_date.isoformat()
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    cmd = [*args, "--project-dir", str(project_dir or DBT_PROJECT_DIR), "--profiles-dir", str(profiles_dir),
           *_vars(extra_vars)]
    try:
        res = dbtRunner(callbacks=callbacks or []).invoke(cmd)
    finally:
        os.environ.pop(SECRET_ENV, None)
        if given_date is None:
            os.environ.pop(RUN_DATE_ENV, None)
        else:
            os.environ[RUN_DATE_ENV] = given_date
    outcome = DbtOutcome(success=bool(res.success))
    results = getattr(res.result, "results", None) or []
    for r in results:
        node = getattr(r, "node", None)
        status = str(getattr(r, "status", "")).lower()
        if node is None:
            continue
        relation = _relation(node)
        if status in ("error", "fail", "runtime error"):
            outcome.failed.append(node.unique_id)
            outcome.messages[node.unique_id] = str(getattr(r, "message", "") or "")[:2000]
        elif status == "skipped":
            outcome.skipped.append(node.unique_id)
        elif status == "warn":
            outcome.warned += 1
        if relation and status in ("error", "skipped", "runtime error"):
            outcome.unavailable.append(relation)
    if not res.success and not results:
        outcome.error = str(res.exception or "dbt 未能运行（见 dbt 日志）")
    return outcome


def _relation(node) -> str | None:
    if getattr(node, "resource_type", None) is None or str(node.resource_type) not in _RELATION_NODES:
        return None
    schema, name = getattr(node, "schema", None), getattr(node, "alias", None) or getattr(node, "name", None)
    return f"{schema}.{name}" if schema and name else None


def run_dbt(args: list[str], url: str, run_date: dt.date | None = None,
            extra_vars: dict | None = None, threads: int = 4) -> None:
    """Invoke dbt and raise with dbt's own message when anything failed (tests, `make docs`)."""
    outcome = invoke(args, url, run_date, extra_vars, threads=threads)
    if not outcome.success:
        what = outcome.error or "、".join(outcome.failed) or "见上方 dbt 日志"
        raise RuntimeError(f"dbt {' '.join(args)} 失败：{what}")


def main(argv: list[str] | None = None) -> int:
    """`python -m pipeline.dbt parse`: dbt with the pipeline's own profile, for deploy steps
    (docker-compose's airflow-init parses the project this way). The warehouse comes from
    WAREHOUSE_URL or the Airflow connection `warehouse`, as in the DAG's tasks."""
    import sys

    from core.settings import Settings

    args = list(sys.argv[1:] if argv is None else argv) or ["parse"]
    settings = Settings.from_env()
    outcome = invoke(args, settings.require_warehouse_url(), threads=settings.dbt_threads)
    if not outcome.success:
        print(outcome.error or "、".join(outcome.failed), file=sys.stderr)
    return 0 if outcome.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
