"""Read-only access to the marts for BI tools (Superset, Metabase, FineBI).

`bi_reader` is a NOLOGIN group role that may read schema `marts` and nothing else. A login
role (`BI_READER_USER`, default `bi_user`) is created or updated as a member of it only when
`BI_READER_PASSWORD` is set: the password never lives in code or config files.

dbt rebuilds mart tables (create a new table, swap, drop the old one), so a grant on
yesterday's table is lost. Two things keep the marts readable:
- default privileges: every table the warehouse user (the one dbt runs as) creates in
  `marts` is readable by `bi_reader` from the moment it is created;
- this function, run after every dbt build, also grants SELECT on every table already there
  (tables built by another role, or before the role existed).
We do not use dbt's `grants` config: it fails the whole build when `bi_reader` does not
exist yet, and creating roles is not dbt's job.

Idempotent: run it as often as you like.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

ROLE = "bi_reader"
READABLE_SCHEMA = "marts"
# Schemas the BI role must never read (listed so a stray grant is taken back).
PRIVATE_SCHEMAS = ("raw", "staging", "intermediate", "snapshots", "dq")


def _create_role(conn: psycopg.Connection, name: str, options: sql.Composable) -> None:
    # Roles are cluster-wide: another database on the same server may create it concurrently.
    conn.execute(sql.SQL(
        "do $$ begin create role {} {}; "
        "exception when duplicate_object or unique_violation then null; end $$"
    ).format(sql.Identifier(name), options))


def scram_verifier(password: str, iterations: int = 4096, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores (RFC 5802/7677), computed here so the
    clear password never travels in SQL (statement logs, pg_stat_statements)."""
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return (f"SCRAM-SHA-256${iterations}:{b64(salt)}"
            f"${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}")


def ensure_bi_reader(conn: psycopg.Connection, login_user: str | None = None,
                     password: str | None = None) -> str | None:
    """Create/refresh `bi_reader` and its grants; returns the login role's name if one was set up."""
    login_user = login_user or os.environ.get("BI_READER_USER", "bi_user")
    password = password if password is not None else os.environ.get("BI_READER_PASSWORD")
    role, schema = sql.Identifier(ROLE), sql.Identifier(READABLE_SCHEMA)
    db = conn.execute("select current_database()").fetchone()[0]
    with conn.transaction():
        _create_role(conn, ROLE, sql.SQL("nologin"))
        conn.execute(sql.SQL("create schema if not exists {}").format(schema))
        conn.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(db), role))
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(schema, role))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(schema, role))
        conn.execute(sql.SQL("alter default privileges in schema {} grant select on tables to {}")
                     .format(schema, role))
        present = {r[0] for r in conn.execute(
            "select nspname from pg_namespace where nspname = any(%s)", (list(PRIVATE_SCHEMAS),))}
        for name in sorted(present):
            s = sql.Identifier(name)
            conn.execute(sql.SQL("revoke all on schema {} from {}").format(s, role))
            conn.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(s, role))
        if not password:
            log.info("BI_READER_PASSWORD 未设置：只维护 %s 角色，不创建登录用户", ROLE)
            return None
        owner = conn.execute("select rolname from pg_roles where rolname = %s and "
                             "(rolsuper or rolname = current_user)", (login_user,)).fetchone()
        if owner:   # a typo in BI_READER_USER must not reset the warehouse owner's password
            raise ValueError(f"BI_READER_USER={login_user!r} 是数据库所有者或超级用户，不能用作只读登录")
        user = sql.Identifier(login_user)
        _create_role(conn, login_user, sql.SQL("login"))
        conn.execute(sql.SQL("alter role {} with login password {}")
                     .format(user, sql.Literal(scram_verifier(password))))
        conn.execute(sql.SQL("grant {} to {}").format(role, user))
    return login_user
