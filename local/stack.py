"""The real Airflow stack as processes on this machine, the way a site runs it (`make test-stack`).

PostgreSQL (the machine's 15 binaries, else the embedded server) holds the Airflow metadata and
the warehouse; the warehouse belongs to a login that owns its database but is no superuser.
Redis is the Celery broker. Then `airflow api-server`, `scheduler`, `dag-processor`,
`triggerer` and two `airflow celery worker`s, each worker with its own AIRFLOW_HOME, working
directory, log-server port and host name (two hosts in miniature). The synthetic province and
the platform simulator feed it, as in `make run`. Paths a multi-host site must share
(docs/deployment.md) live under one `shared/` folder.

Usage: python -m local.stack [--dag-id ID] [--run-date YYYY-MM-DD] [--keep]
  starts everything, triggers the DAG through the REST API, waits, prints task states and the
  worker of each task, stops everything (unless --keep: then until Ctrl-C).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from core.settings import REPO_ROOT

REPO = REPO_ROOT
DAG_ID = "fpr_daily_monitoring"
PG15_BIN = Path(os.environ.get("PG15_BIN", "/usr/lib/postgresql/15/bin"))
PIPELINE_LOGIN = "fpr_pipeline"
ADMIN = "admin"
TELEMETRY_OFF = {"AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False", "DO_NOT_TRACK": "1",
                 "SCARF_ANALYTICS": "false", "GX_ANALYTICS_ENABLED": "False",
                 "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
TERMINAL = {"success", "failed"}


def hostname() -> str:
    """[core] hostname_callable for the stack: each worker reports its own name, so task
    instances tell which "host" ran them (on one machine getfqdn() is the same for all).
    The names are labels, not resolvable: the UI cannot fetch task logs from the workers'
    log servers; read them under <root>/w*/logs."""
    return os.environ.get("FPR_STACK_HOSTNAME") or socket.getfqdn()


def check_celery_provider() -> None:
    """Fail at once, and say why, when the installed celery breaks the Celery provider (celery
    5.7 dropped celery.backends.database.retry, which provider 3.26 imports)."""
    try:
        import airflow.providers.celery.executors.celery_executor_utils  # noqa: F401
    except ImportError as exc:
        from importlib.metadata import version

        raise RuntimeError(
            f"apache-airflow-providers-celery {version('apache-airflow-providers-celery')} cannot run "
            f"with celery {version('celery')} ({exc}); pin a celery the provider supports "
            "(celery[redis]>=5.5,<5.7) in pyproject.toml and re-lock") from exc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, ok, timeout: float, interval: float = 1.0, proc_check=None):
    """Poll ok() until it returns something truthy; bounded."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        if proc_check:
            proc_check()
        try:
            value = ok()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - not up yet, whatever the reason
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s ({last_exc!r})")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path


@dataclass
class Stack:
    root: Path
    run_date: str = "2026-11-28"
    households: int = 300
    seed: int = 3
    workers: int = 2
    concurrency: int = 2
    # False: the scheduler creates no runs from the cron schedule (unpausing a DAG whose
    # start_date is past would start today's run at once); triggered and backfill runs still run
    schedule: bool = False
    pii_hash_key: str = field(default_factory=lambda: secrets.token_hex(32))
    procs: list[Proc] = field(default_factory=list)
    simulator: object = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Stack:
        t0 = time.monotonic()
        self.root = self.root.resolve()
        if self.root.exists():
            shutil.rmtree(self.root)
        (self.root / "logs").mkdir(parents=True)
        self.shared = self.root / "shared"
        self.shared.mkdir()
        self._start_postgres()
        self._start_redis()
        self._start_sources()
        self._prepare_airflow()
        self._start_airflow()
        self.timings = {"start_s": round(time.monotonic() - t0, 1)}
        return self

    def stop(self) -> None:
        """Stop every process this stack started (by its own process group), then PostgreSQL."""
        for p in reversed(self.procs):
            if p.popen.poll() is None:
                try:
                    os.killpg(p.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for p in reversed(self.procs):
            try:
                p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.popen.wait(timeout=10)
        self.procs.clear()
        if self.simulator is not None:
            self.simulator.stop()
            self.simulator = None
        if getattr(self, "_pg_stop", None):
            self._pg_stop()
            self._pg_stop = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()

    # -- parts -------------------------------------------------------------------------------
    def _start_postgres(self) -> None:
        data = self.root / "pg"
        if (PG15_BIN / "initdb").exists():
            from local import system_pg

            port = free_port()
            self.server_url = system_pg.start(data, port).rsplit("/", 1)[0]
            self._pg_stop = lambda: system_pg.stop(data)
        else:  # no PostgreSQL 15 here: the embedded server
            from local import embedded_pg

            self.server_url = embedded_pg.start(data, database="postgres").rsplit("/", 1)[0]
            self._pg_stop = lambda: embedded_pg.stop(data)
        import psycopg

        self.pipeline_password = secrets.token_urlsafe(18)
        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as conn:
            conn.execute("create database airflow")
            # the pipeline's own login: owns its database, creates its schemas, nothing more
            conn.execute(f"create role {PIPELINE_LOGIN} login nosuperuser nocreatedb nocreaterole "
                         f"password '{self.pipeline_password}'")
            conn.execute(f"create database warehouse owner {PIPELINE_LOGIN}")
        host_port = self.server_url.rsplit("@", 1)[1]
        self.pg_host, self.pg_port = host_port.split(":")
        self.metadata_url = f"postgresql+psycopg2://{self.server_url.split('://', 1)[1]}/airflow"
        self.warehouse_url = (f"postgresql://{PIPELINE_LOGIN}:{self.pipeline_password}"
                              f"@{host_port}/warehouse")

    def _start_redis(self) -> None:
        exe = shutil.which("redis-server")
        if not exe:
            raise RuntimeError("redis-server is missing: apt-get install -y redis-server")
        self.redis_port = free_port()
        (self.root / "redis").mkdir()
        self._spawn("redis", [exe, "--bind", "127.0.0.1", "--port", str(self.redis_port),
                              "--save", "", "--appendonly", "no", "--dir", str(self.root / "redis")],
                    env=dict(os.environ), cwd=self.root / "redis")
        import redis

        _wait("redis", lambda: redis.Redis(port=self.redis_port).ping(), 30, 0.3)

    def _start_sources(self) -> None:
        import datetime as dt

        from sim.generator import generate
        from sim.platform_server import start_simulator

        sim_dir = self.root / "sim"
        generate(sim_dir, dt.date.fromisoformat(self.run_date), seed=self.seed,
                 households=self.households)
        secret = secrets.token_urlsafe(12)
        self.simulator = start_simulator(sim_dir, client_id="stack", client_secret=secret)
        self.sources = {"PLATFORM_BASE_URL": self.simulator.url, "PLATFORM_CLIENT_ID": "stack",
                        "PLATFORM_CLIENT_SECRET": secret,
                        "LANDING_DIR": str(sim_dir / "landing")}

    def _base_env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        self.api_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.admin_password = secrets.token_urlsafe(12)
        passwords = self.root / "passwords.json"
        passwords.write_text(json.dumps({ADMIN: self.admin_password}))
        passwords.chmod(0o600)
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("AIRFLOW", "WAREHOUSE_URL", "PLATFORM_", "LANDING_DIR",
                                     "OUTBOX_DIR", "GX_PROJECT_DIR", "DBT_DOCS_DIR"))}
        conn = {"conn_type": "postgres", "host": self.pg_host, "port": int(self.pg_port),
                "login": PIPELINE_LOGIN, "password": self.pipeline_password, "schema": "warehouse"}
        return {
            **keep, **TELEMETRY_OFF, **self.sources,
            "PYTHONPATH": str(REPO),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(self.schedule),
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "local.stack.hostname",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__BASE_URL": f"{self.api_url}/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.metadata_url.replace("+psycopg2", ""),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.concurrency),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW_CONN_WAREHOUSE": json.dumps(conn),
            "PII_HASH_KEY": self.pii_hash_key,
            # the paths docs/deployment.md says a multi-host site must share
            "OUTBOX_DIR": str(self.shared / "outbox"),
            "GX_PROJECT_DIR": str(self.shared / "gx"),
            "DBT_DOCS_DIR": str(self.shared / "dbt_docs"),
            "FPR_TASK_RETRIES": os.environ.get("FPR_TASK_RETRIES", "0"),
            "AIRFLOW_HOME": str(self.root / "airflow"),
        }

    def _prepare_airflow(self) -> None:
        self.env = self._base_env()
        (self.root / "airflow").mkdir()
        # dbt's manifest and partial-parse state, as airflow-init writes them (docker-compose.yml)
        from pipeline.dbt import run_dbt

        saved = dict(os.environ)
        try:
            os.environ["PII_HASH_KEY"] = self.pii_hash_key
            run_dbt(["parse", "--quiet"], self.warehouse_url)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self._airflow(["db", "migrate"], self.env, "db-migrate")

    def _airflow(self, args: list[str], env: dict, name: str) -> None:
        log = self.root / "logs" / f"{name}.log"
        with open(log, "w") as out:
            rc = subprocess.run([str(Path(sys.executable).parent / "airflow"), *args], env=env,
                                cwd=self.root, stdout=out, stderr=subprocess.STDOUT, timeout=600, check=False).returncode
        if rc:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({rc}): {log.read_text()[-3000:]}")

    def _start_airflow(self) -> None:
        check_celery_provider()
        af = str(Path(sys.executable).parent / "airflow")
        self._spawn("api-server", [af, "api-server", "-H", "127.0.0.1", "-p", str(self.api_port),
                                   "-w", "1"], self.env, self.root / "airflow")
        _wait("api-server", lambda: requests.get(f"{self.api_url}/api/v2/monitor/health",
                                                 timeout=5).ok, 180, 1, self._check_alive)
        for name in ("scheduler", "dag-processor", "triggerer"):
            self._spawn(name, [af, name], self.env, self.root / "airflow")
        self.worker_names = []
        for i in range(1, self.workers + 1):
            name = f"w{i}"
            home = self.root / name
            (home / "work").mkdir(parents=True)
            env = {**self.env, "AIRFLOW_HOME": str(home), "FPR_STACK_HOSTNAME": f"{name}.stack",
                   "DBT_LOG_PATH": str(home / "dbt_logs"),
                   "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}
            self._spawn(f"worker-{name}", [af, "celery", "worker", "--concurrency",
                                           str(self.concurrency), "--celery-hostname",
                                           f"{name}@stack"], env, home / "work")
            self.worker_names.append(f"{name}.stack")
        for name in self.worker_names:
            short = name.split(".")[0]
            log = self.root / "logs" / f"worker-{short}.log"
            _wait(f"celery worker {short}",
                  lambda log=log, short=short: f"{short}@stack ready" in log.read_text(errors="replace"),
                  240, 1, self._check_alive)
        health = _wait("scheduler/dag-processor/triggerer healthy", self._all_healthy, 180, 2,
                       self._check_alive)
        self.health = health

    def _all_healthy(self):
        h = requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
        parts = ("scheduler", "dag_processor", "triggerer")
        return h if all((h.get(p) or {}).get("status") == "healthy" for p in parts) else None

    def _spawn(self, name: str, cmd: list[str], env: dict, cwd: Path) -> Proc:
        log = self.root / "logs" / f"{name}.log"
        with open(log, "w") as out:   # the child keeps its own copy of the descriptor
            popen = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        p = Proc(name, popen, log)
        self.procs.append(p)
        return p

    def _check_alive(self) -> None:
        for p in self.procs:
            if p.popen.poll() is not None:
                raise RuntimeError(f"{p.name} exited ({p.popen.returncode}): "
                                   f"{p.log.read_text(errors='replace')[-3000:]}")

    # -- REST API ----------------------------------------------------------------------------
    def token(self) -> str:
        if not getattr(self, "_token", None):
            r = requests.post(f"{self.api_url}/auth/token",
                              json={"username": ADMIN, "password": self.admin_password}, timeout=30)
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kw) -> dict:
        r = requests.request(method, f"{self.api_url}/api/v2{path}", timeout=60,
                             headers={"Authorization": f"Bearer {self.token()}"}, **kw)
        if not r.ok:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:2000]}")
        return r.json() if r.content else {}

    def wait_dag(self, dag_id: str, timeout: float = 300) -> dict:
        """Until the dag-processor has serialized the DAG; then unpause it."""
        def parsed():
            try:
                return self.api("GET", f"/dags/{dag_id}")
            except RuntimeError as exc:
                errors = self.api("GET", "/importErrors").get("import_errors", [])
                if errors:
                    raise RuntimeError(f"DAG import errors: {errors}") from exc
                raise
        dag = _wait(f"DAG {dag_id} parsed", parsed, timeout, 2, self._check_alive)
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        return dag

    def trigger(self, dag_id: str, logical_date: str, conf: dict | None = None) -> str:
        body = {"logical_date": logical_date, "conf": conf or {}}
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        return _wait(f"run {run_id}", lambda: (s := self.api(
            "GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]) in TERMINAL and s,
            timeout, 5, self._check_alive)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        out, offset = [], 0
        while True:
            page = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                            params={"limit": 100, "offset": offset})
            out += page["task_instances"]
            offset += len(page["task_instances"])
            if not page["task_instances"] or offset >= page["total_entries"]:
                return out

    def backfill(self, dag_id: str, from_date: str, to_date: str, conf: dict | None = None) -> dict:
        return self.api("POST", "/backfills", json={
            "dag_id": dag_id, "from_date": from_date, "to_date": to_date,
            "dag_run_conf": conf or {}, "reprocess_behavior": "none", "max_active_runs": 1})

    def backfill_runs(self, dag_id: str, backfill: dict) -> list[dict]:
        """The backfill's runs: backfill-type runs with a logical date in its range (a run
        carries no backfill id in the REST API)."""
        runs = self.api("GET", f"/dags/{dag_id}/dagRuns",
                        params={"run_type": "backfill", "limit": 100,
                                "logical_date_gte": backfill["from_date"],
                                "logical_date_lte": backfill["to_date"]})["dag_runs"]
        return sorted(runs, key=lambda r: r["logical_date"])

    def wait_backfill(self, dag_id: str, backfill: dict, timeout: float) -> list[dict]:
        def done():
            if not self.api("GET", f"/backfills/{backfill['id']}").get("completed_at"):
                return None
            runs = self.backfill_runs(dag_id, backfill)
            return runs if all(r["state"] in TERMINAL for r in runs) else None
        return _wait(f"backfill {backfill['id']}", done, timeout, 5, self._check_alive)


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so a plain `kill` still runs Stack.stop()."""
    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, raise_interrupt)


def report(tis: list[dict]) -> str:
    """One line per task instance: state, worker, duration; then tasks per worker."""
    from collections import Counter

    lines = []
    for ti in sorted(tis, key=lambda t: (t.get("start_date") or "", t["task_id"])):
        idx = "" if ti.get("map_index", -1) == -1 else f"[{ti['map_index']}]"
        dur = ti.get("duration")
        lines.append(f"  {ti['state'] or '-':<16} {ti.get('hostname') or '-':<12} "
                     f"{(f'{dur:.0f}s' if dur else '-'):>6}  {ti['task_id']}{idx}")
    per = Counter(ti.get("hostname") or "-" for ti in tis)
    lines.append("  tasks per worker: " + ", ".join(f"{k}={v}" for k, v in sorted(per.items())))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dag-id", default=DAG_ID)
    ap.add_argument("--run-date", default=os.environ.get("RUN_DATE", "2026-11-28"))
    ap.add_argument("--households", type=int, default=int(os.environ.get("SIM_HOUSEHOLDS", "300")))
    ap.add_argument("--root", type=Path, default=REPO / "var" / "stack")
    ap.add_argument("--timeout", type=float, default=2400)
    ap.add_argument("--keep", action="store_true", help="leave the stack up until Ctrl-C")
    a = ap.parse_args()
    os.environ.update(TELEMETRY_OFF)
    # a plain `kill` stops the stack too (the with-block's exit stops every process)
    stop_on_sigterm()
    with Stack(a.root, run_date=a.run_date, households=a.households) as stack:
        print(f"stack up in {stack.timings['start_s']} s: {stack.api_url} (logs {stack.root / 'logs'})")
        stack.wait_dag(a.dag_id)
        t = time.monotonic()
        run_id = stack.trigger(a.dag_id, f"{a.run_date}T06:00:00+08:00", {"run_date": a.run_date})
        state = stack.wait_run(a.dag_id, run_id, a.timeout)
        print(f"{run_id}: {state} in {time.monotonic() - t:.0f} s")
        print(report(stack.task_instances(a.dag_id, run_id)))
        if a.keep:
            print(f"admin password in {stack.root / 'passwords.json'}; Ctrl-C stops")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
