"""`make run`: the daily pipeline end to end on the embedded defaults.

What is configured is used as is: WAREHOUSE_URL, PLATFORM_BASE_URL (+ credentials) and
LANDING_DIR replace the embedded PostgreSQL, the simulator and the generated files; nothing
of ours is generated or started for a source that is configured. RUN_DATE picks the date.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from core.settings import REPO_ROOT, Settings

# Everything `make run` writes lives here (FPR_VAR_DIR moves it, e.g. for the end-to-end test).
VAR = Path(os.environ.get("FPR_VAR_DIR", REPO_ROOT / "var"))
DAG_ID = "fpr_daily_monitoring"
log = logging.getLogger("make-run")


def _generate_if_needed(out: Path, run_date, households: int, seed: int) -> None:
    from sim.generator import generate

    manifest = out / "manifest.json"
    wanted = {"run_date": run_date.isoformat(), "households": households, "seed": seed}
    if manifest.exists():
        have = json.loads(manifest.read_text(encoding="utf-8"))
        if all(str(have.get(k)) == str(v) for k, v in wanted.items()):
            print(f"合成数据已存在：{out}（种子 {seed}，{households} 户）")
            return
    t = time.monotonic()
    generate(out, run_date, seed=seed, households=households)
    print(f"已生成合成省份数据：{out}（{households} 户，{time.monotonic() - t:.1f} 秒）")


def _pii_hash_key() -> str:
    """The demo's hash key: random once per var/ folder (production sets PII_HASH_KEY)."""
    path = VAR / "pii_hash_key"
    if not path.exists():
        import secrets
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def airflow_env(warehouse_url: str, home: Path | None = None) -> dict[str, str]:
    """The environment `airflow dags test` runs in; `home`: AIRFLOW_HOME (default var/airflow)."""
    home = home or VAR / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW_CONN_WAREHOUSE": warehouse_url,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
        "SCARF_ANALYTICS": "false",
        "FPR_TASK_RETRIES": os.environ.get("FPR_TASK_RETRIES", "0"),
        "PYTHONPATH": str(REPO_ROOT),
    }


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    run_date = Settings.from_env(connection_id=None).day()
    started = time.monotonic()
    bin_dir = Path(sys.executable).parent

    url = os.environ.get("WAREHOUSE_URL")
    if not url:
        from local import embedded_pg
        url = embedded_pg.start(VAR / "pg")
        os.environ["WAREHOUSE_URL"] = url
        print(f"嵌入式 PostgreSQL：{url.rsplit('@', 1)[-1]}")

    need_platform = not os.environ.get("PLATFORM_BASE_URL")
    need_landing = not os.environ.get("LANDING_DIR")
    sim_dir = VAR / "sim"
    simulator = None
    if need_platform or need_landing:
        _generate_if_needed(sim_dir, run_date, int(os.environ.get("SIM_HOUSEHOLDS", "20000")),
                            int(os.environ.get("SIM_SEED", "42")))
    if need_landing:
        os.environ["LANDING_DIR"] = str(sim_dir / "landing")
    if need_platform:
        from sim.platform_server import start_simulator
        secret = os.environ.get("SIM_CLIENT_SECRET", "demo-secret-not-for-production")
        simulator = start_simulator(sim_dir, client_id="demo", client_secret=secret)
        os.environ.update(PLATFORM_BASE_URL=simulator.url, PLATFORM_CLIENT_ID="demo",
                          PLATFORM_CLIENT_SECRET=secret)
        print(f"平台模拟器：{simulator.url}")
    os.environ.setdefault("OUTBOX_DIR", str(VAR / "outbox"))
    if not os.environ.get("PII_HASH_KEY"):
        os.environ["PII_HASH_KEY"] = _pii_hash_key()
    os.environ.setdefault("GX_PROJECT_DIR", str(VAR / "gx"))
    os.environ.setdefault("DBT_DOCS_DIR", str(VAR / "dbt_docs"))

    try:
        env = airflow_env(url)
        launched = time.time()
        subprocess.run([str(bin_dir / "airflow"), "db", "migrate"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"运行 Airflow DAG {DAG_ID}，运行日期 {run_date} …")
        proc = subprocess.run([str(bin_dir / "airflow"), "dags", "test", DAG_ID, run_date.isoformat()],
                              env=env, stdout=open(VAR / "airflow" / "last_run.log", "w"),
                              stderr=subprocess.STDOUT)
        from core import warehouse
        from pipeline.run_report import DATA_PROBLEM
        from pipeline.summary import build_summary, day_report
        with warehouse.connect(url) as conn:
            print(build_summary(conn, run_date))
            problems = day_report(conn, run_date, since=launched)
        print(f"-- 总耗时 {time.monotonic() - started:.0f} 秒；Airflow 日志：{VAR / 'airflow' / 'last_run.log'}")
        if proc.returncode != 0:
            if problems and all(p.startswith(DATA_PROBLEM) for p in problems):
                # the pipeline did its job: the bad deliveries are reported, the rest processed
                print("-- 流水线已完成；以下数据问题已汇总发给数据工程师（发件箱 report_*.eml）：")
                print("\n".join(f"   !! {p}" for p in problems))
                return 0
            print(f"!! Airflow DAG 运行失败（退出码 {proc.returncode}），详见日志", file=sys.stderr)
            print("\n".join(f"   !! {p}" for p in problems), file=sys.stderr)
            return proc.returncode
        return 0
    finally:
        if simulator is not None:
            simulator.stop()


if __name__ == "__main__":
    sys.exit(main())
