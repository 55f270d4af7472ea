"""What `make bench` measures, each run in a fresh (spawned) process so its peak RSS is its
own: the project's step and the limit it is held against, warm-up runs first, then repeats.

Every function returns {"runs": [seconds of each measured repeat], "peak_rss_mb", ...}."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import resource
import time
from pathlib import Path

import psycopg


def _rss_mb() -> float:
    """This process's peak resident memory (MB). On Linux the high-water mark of its own
    address space (VmHWM): ru_maxrss survives exec, so a child spawned by a large parent
    would report the parent's size (the bench driver once held a city's platform files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _repeat(fn, warmup: int, repeats: int, reset=None) -> list[float]:
    runs = []
    for i in range(warmup + repeats):
        if reset:
            reset()
        t = time.perf_counter()
        fn()
        if i >= warmup:
            runs.append(time.perf_counter() - t)
    return runs


def _reset_raw(url: str, platform: bool, tables: list[str] | None = None) -> None:
    """Forget what a loader loaded so it loads the same files/records again."""
    with psycopg.connect(url, autocommit=True) as conn:
        names = [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            "and table_name like %s", ("platform\\_%" if platform else "feed\\_%",))]
        if tables is not None:
            names = [n for n in names if n in tables]
        if names:
            conn.execute("truncate " + ", ".join(f"raw.{n}" for n in names))
        if platform:
            conn.execute("delete from raw.load_batch where source = 'platform'")
        else:
            entities = [n.removeprefix("feed_") for n in names]
            conn.execute("delete from raw.load_batch where source <> 'platform' and entity = any(%s)",
                         (entities,))


def platform_load(url: str, sim_url: str, run_date: str, warmup: int, repeats: int) -> dict:
    from core import schema, warehouse
    from ingest.platform.client import PlatformClient
    from ingest.platform.load import load_all

    day = dt.date.fromisoformat(run_date)
    with warehouse.connect(url) as conn:
        schema.ensure_schema(conn, "raw")
        runs = _repeat(lambda: load_all(conn, PlatformClient(sim_url, "bench", "bench"), day),
                       warmup, repeats, reset=lambda: _reset_raw(url, platform=True))
        rows = conn.execute("select coalesce(sum(rows_loaded), 0) from raw.load_batch "
                            "where source = 'platform'").fetchone()[0]
    return {"runs": runs, "rows": int(rows), "peak_rss_mb": _rss_mb()}


def feeds_load(url: str, landing: str, folders: list[str], run_date: str, warmup: int,
               repeats: int) -> dict:
    from core import schema, warehouse
    from ingest.feeds.load import load_all

    day = dt.date.fromisoformat(run_date)
    tables = [f"feed_{f}" for f in folders]
    with warehouse.connect(url) as conn:
        schema.ensure_schema(conn, "raw")
        runs = _repeat(lambda: load_all(conn, Path(landing), day, folders=folders), warmup, repeats,
                       reset=lambda: _reset_raw(url, platform=False, tables=tables))
        rows = conn.execute("select coalesce(sum(rows_in), 0) from raw.load_batch "
                            "where entity = any(%s)", (folders,)).fetchone()[0]
    return {"runs": runs, "rows": int(rows), "peak_rss_mb": _rss_mb()}


def copy_limit(url: str, tables: list[str], warmup: int, repeats: int) -> dict:
    """COPY of the same rows into tables shaped like the loader's (same columns and indexes)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists bench_copy")
        dumps = {}
        for t in tables:
            buf = io.BytesIO()
            with conn.cursor().copy(f"copy (select * from raw.{t}) to stdout") as cp:
                for chunk in cp:
                    buf.write(chunk)
            dumps[t] = buf.getvalue()
            conn.execute(f"drop table if exists bench_copy.{t}")
            conn.execute(f"create table bench_copy.{t} (like raw.{t} including defaults including indexes)")

        def load():
            with conn.transaction():
                for t, data in dumps.items():
                    with conn.cursor().copy(f"copy bench_copy.{t} from stdin") as cp:
                        cp.write(data)

        def reset():
            conn.execute("truncate " + ", ".join(f"bench_copy.{t}" for t in tables))

        runs = _repeat(load, warmup, repeats, reset=reset)
        conn.execute("drop schema bench_copy cascade")
    return {"runs": runs, "peak_rss_mb": _rss_mb()}


def _install_hash_key(url: str) -> None:
    import psycopg

    from core.settings import Settings
    from pipeline import pii

    with psycopg.connect(url, autocommit=True) as conn:
        pii.install_hash_key(conn, pii.check_key(Settings.from_env(connection_id=None).pii_hash_key))


def _preload(gx: bool) -> None:
    """Import dbt (and GX) before the clock starts: an Airflow worker pays that once, not per day."""
    import dbt.cli.main  # noqa: F401
    if gx:
        import great_expectations  # noqa: F401

        import expectations.gx_rules  # noqa: F401


def _model_timings() -> list[dict]:
    """Each node of the last dbt invocation, slowest first (from its run_results.json)."""
    from pipeline.dbt import DBT_PROJECT_DIR

    results = json.loads((DBT_PROJECT_DIR / "target" / "run_results.json").read_text())
    return sorted(({"node": r["unique_id"], "seconds": round(r["execution_time"], 3),
                    "status": r["status"]} for r in results["results"]), key=lambda r: -r["seconds"])


def dbt_build(url: str, run_date: str, out_dir: str) -> dict:
    from pipeline.dbt import DAILY_BUILD, DBT_PROJECT_DIR, run_dbt

    _install_hash_key(url)
    _preload(gx=False)

    t = time.perf_counter()
    run_dbt([*DAILY_BUILD, "--quiet"], url, dt.date.fromisoformat(run_date))
    secs = time.perf_counter() - t
    models = _model_timings()
    manifest = Path(out_dir) / "manifest.json"
    manifest.write_bytes((DBT_PROJECT_DIR / "target" / "manifest.json").read_bytes())
    return {"runs": [secs], "models": models, "manifest": str(manifest), "peak_rss_mb": _rss_mb()}


def _settings(url: str, gx_dir: str):
    """This bench's settings: the environment's, on the bench database and GX folder."""
    from core.settings import Settings

    return Settings.from_env(connection_id=None).replace(warehouse_url=url, gx_project_dir=Path(gx_dir))


def rules(url: str, gx_dir: str, run_date: str, warmup: int, repeats: int) -> dict:
    from expectations.validate import run_rules

    settings = _settings(url, gx_dir)
    out = {}
    runs = _repeat(lambda: out.update(run_rules(settings, dt.date.fromisoformat(run_date))), warmup, repeats)
    return {"runs": runs, "found": out.get("found"), "not_run": out.get("not_run"),
            "peak_rss_mb": _rss_mb()}


def rules_by_hand(url: str, run_date: str, warmup: int, repeats: int) -> dict:
    """The limit for `rules`: each rule's SQL straight through psycopg, then the same merge."""
    from psycopg.rows import dict_row

    from expectations import catalog, dq_store, policy
    from followup.config import load_config

    day = dt.date.fromisoformat(run_date)
    settings = _settings(url, "")
    params = policy.sql_parameters(policy.load_policy(settings.policy_file), day)
    catalog_rules = catalog.load_rules()
    found = {}

    def run():
        with psycopg.connect(url) as conn:
            findings = []
            cur = conn.cursor(row_factory=dict_row)
            for r in catalog_rules:
                sql = r.render_sql(params).replace("{batch}", r.table)
                for row in cur.execute(sql):
                    findings.append((r.rule_id, r.severity, r.entity_type,
                                     "（空）" if row["entity_id"] is None else str(row["entity_id"]),
                                     row.get("county_code"), row.get("town_code"),
                                     row.get("village_code"), row.get("detail")))
            found.update(dq_store.sync_issues(conn, day, [r.rule_id for r in catalog_rules], findings,
                                              due=load_config(settings.followup_config).due))

    runs = _repeat(run, warmup, repeats)
    return {"runs": runs, "found": found.get("found"), "peak_rss_mb": _rss_mb()}


def next_day(url: str, sim_url: str, landing: str, gx_dir: str, run_date: str) -> dict:
    """The whole direct day for run_date (platform pull, files, dbt build, rules), once: the
    daily steps in their order (pipeline.steps.run_day)."""
    from pipeline import steps

    day = dt.date.fromisoformat(run_date)
    settings = _settings(url, gx_dir).replace(platform_base_url=sim_url, platform_client_id="bench",
                                               platform_client_secret="bench", landing_dir=Path(landing))
    _preload(gx=True)
    seconds: dict = {}
    peak: dict = {}   # the process's peak RSS after each step: which step raised it
    vacuuming = _autovacuum_workers(url)   # day one's bulk writes still being vacuumed
    t0 = time.perf_counter()
    steps.run_day(settings, day, until="quality", seconds=seconds,
                  after_step=lambda name: peak.update({name: _rss_mb()}))
    total = time.perf_counter() - t0
    models = _model_timings()
    with psycopg.connect(url) as conn:
        changed = conn.execute("select coalesce(sum(rows_loaded), 0) from raw.load_batch "
                               "where run_date = %s", (day,)).fetchone()[0]
    names = {"ingest_platform": "platform", "ingest_feeds": "files", "transform": "dbt", "quality": "rules"}
    return {"runs": [total], "parts": {names[k]: round(v, 2) for k, v in seconds.items()},
            "peak_rss_mb_after": {names[k]: v for k, v in peak.items()},
            "rows": int(changed), "peak_rss_mb": _rss_mb(), "models": models,
            "autovacuum_workers_at_start": vacuuming}


def _autovacuum_workers(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("select count(*) from pg_stat_activity "
                            "where backend_type = 'autovacuum worker'").fetchone()[0]


def direct_day(url: str, sim_url: str, landing: str, work: str, run_date: str) -> dict:
    """The limit for `dag_overhead`: the same day as the DAG (every step of pipeline.steps.DAY
    and close_day) called directly in this fresh interpreter, day one in a database of its
    own. Imports are inside the clock (no _preload): the DAG pays them once too."""
    t0 = time.perf_counter()
    from local.run import DAG_ID
    from pipeline import steps

    work_dir = Path(work)
    day = dt.date.fromisoformat(run_date)
    settings = _settings(url, str(work_dir / "gx_direct")).replace(
        platform_base_url=sim_url, platform_client_id="bench", platform_client_secret="bench",
        landing_dir=Path(landing), outbox_dir=work_dir / "outbox_direct",
        dbt_docs_dir=work_dir / "dbt_docs_direct")
    seconds: dict = {}
    outcomes = steps.run_day(settings, day, seconds=seconds)
    t = time.perf_counter()
    try:   # a planted province makes close_day fail on purpose, as in the DAG
        steps.close_day(settings, DAG_ID, f"bench_direct_{run_date}", day, outcomes)
    except RuntimeError:
        pass
    seconds["close_day"] = time.perf_counter() - t
    total = time.perf_counter() - t0
    seconds["outside_steps"] = total - sum(seconds.values())
    return {"runs": [total], "tasks": {k: round(v, 2) for k, v in seconds.items()}, "peak_rss_mb": _rss_mb()}


def task_times(airflow_db: Path, dag_id: str) -> dict[str, float]:
    """Seconds per task of the DAG's run, from Airflow's metadata (SQLite under AIRFLOW_HOME)."""
    import sqlite3

    con = sqlite3.connect(airflow_db)
    try:
        rows = con.execute("select task_id, (julianday(end_date) - julianday(start_date)) * 86400 from task_instance "
                           "where dag_id = ? and start_date is not null and end_date is not null", (dag_id,)).fetchall()
    finally:
        con.close()
    return {task: round(sec, 2) for task, sec in rows}


def dag_run(url: str, sim_url: str, landing: str, work: str, run_date: str) -> dict:
    """The daily DAG on day one under `airflow dags test`, driven as `make run` drives it
    (local/run.py: same environment, `airflow db migrate` first, unmeasured); wall time of the run."""
    import subprocess
    import sys

    from local.run import DAG_ID, airflow_env

    work_dir = Path(work)
    home = work_dir / "airflow"
    os.environ.update(WAREHOUSE_URL=url, LANDING_DIR=landing, PLATFORM_BASE_URL=sim_url, PLATFORM_CLIENT_ID="bench",
                      PLATFORM_CLIENT_SECRET="bench", OUTBOX_DIR=str(work_dir / "outbox_dag"),
                      GX_PROJECT_DIR=str(work_dir / "gx_dag"), DBT_DOCS_DIR=str(work_dir / "dbt_docs_dag"),
                      FPR_TASK_RETRIES="0")
    env = airflow_env(url, home)
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    t = time.perf_counter()
    with open(home / "dag_run.log", "w") as log:
        proc = subprocess.run([airflow, "dags", "test", DAG_ID, run_date], env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - t
    # a planted province makes close_day fail the run on purpose (its data problems are reported)
    return {"runs": [seconds], "returncode": proc.returncode, "tasks": task_times(home / "airflow.db", DAG_ID),
            "peak_rss_mb": None}
