"""Read-only access to the marts for BI tools (Superset, Metabase, FineBI), least privilege.

`bi_reader` is a NOLOGIN group role that may connect to the warehouse and read schema `marts`,
nothing else: no TEMP, no CREATE anywhere (so no tables or functions of its own), no USAGE on
raw/staging/intermediate/snapshots/dq/private, no access to view definitions where PostgreSQL
lets us take it away (docs/bi.md says what it cannot hide). A login role (`BI_READER_USER`,
default `bi_user`) is created or updated as a member of it only when `BI_READER_PASSWORD` is set.

The pipeline's own login needs no superuser and no CREATEROLE: what exists is read from
pg_roles first, so when a DBA has created the roles (pipeline/sql/dba_setup.sql) nothing needs
CREATEROLE; when something cannot be done with the login's privileges it is logged as a Chinese
warning naming the DBA step, and the daily run does not fail.

dbt rebuilds mart tables (create a new table, swap, drop the old one), so a grant on
yesterday's table is lost. Default privileges keep every table the pipeline login creates in
`marts` readable from the moment it exists; this function, run after every dbt build, also
grants SELECT on every table already there. We do not use dbt's `grants` config: it fails the
whole build when `bi_reader` does not exist, and creating roles is not dbt's job.

Idempotent: run it as often as you like.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from dataclasses import dataclass

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

ROLE = "bi_reader"
READABLE_SCHEMA = "marts"
# Schemas the BI role must never use (listed so a stray grant is taken back).
PRIVATE_SCHEMAS = ("raw", "staging", "intermediate", "snapshots", "dq", "private", "public")
# Catalog objects that print view and rule definitions (the SQL of staging views). Revocable
# from PUBLIC only by a superuser; the DBA script does it and grants them back to the pipeline.
DEFINITION_CATALOG_RELATIONS = ("pg_catalog.pg_views", "pg_catalog.pg_matviews", "pg_catalog.pg_rules",
                                "pg_catalog.pg_rewrite")
DEFINITION_CATALOG_FUNCTIONS = ("pg_catalog.pg_get_viewdef(oid)", "pg_catalog.pg_get_viewdef(oid, boolean)",
                                "pg_catalog.pg_get_viewdef(oid, integer)", "pg_catalog.pg_get_viewdef(text)",
                                "pg_catalog.pg_get_viewdef(text, boolean)", "pg_catalog.pg_get_ruledef(oid)",
                                "pg_catalog.pg_get_ruledef(oid, boolean)")
DBA_SCRIPT = "pipeline/sql/dba_setup.sql"


@dataclass(frozen=True)
class LoginRights:
    name: str
    superuser: bool
    createrole: bool
    owns_database: bool


def _rights(conn: psycopg.Connection) -> LoginRights:
    row = conn.execute(
        """select r.rolname, r.rolsuper, r.rolcreaterole, pg_has_role(current_user, d.datdba, 'USAGE')
           from pg_roles r, pg_database d
           where r.rolname = current_user and d.datname = current_database()""").fetchone()
    return LoginRights(*row)


def _role_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select exists (select 1 from pg_roles where rolname = %s)", (name,)).fetchone()[0]


def _try(conn: psycopg.Connection, statement: sql.Composable | str, warning: str) -> bool:
    """One statement in a savepoint; refused for lack of privilege -> a warning, not a failure."""
    try:
        with conn.transaction():
            conn.execute(statement)
        return True
    except psycopg.errors.InsufficientPrivilege as exc:
        log.warning("%s（%s；见 %s）", warning, str(exc).strip().splitlines()[0], DBA_SCRIPT)
        return False


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
    b64 = lambda b: base64.b64encode(b).decode()
    return (f"SCRAM-SHA-256${iterations}:{b64(salt)}"
            f"${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}")


def _ensure_group_role(conn: psycopg.Connection, me: LoginRights, role: str) -> bool:
    if _role_exists(conn, role):
        return True
    if me.superuser or me.createrole:
        _create_role(conn, role, sql.SQL("nologin"))
        return True
    log.warning("只读角色 %s 不存在，且数据库账号 %s 无权创建角色（CREATEROLE）：本次不授予 BI 权限。"
                "请 DBA 以超级用户执行 %s 创建该角色", role, me.name, DBA_SCRIPT)
    return False


def _lock_down_database(conn: psycopg.Connection, me: LoginRights, db: sql.Identifier, role: sql.Identifier) -> None:
    _try(conn, sql.SQL("grant connect on database {} to {}").format(db, role),
         "无法授予只读角色连接数据仓库的权限")
    if me.owns_database or me.superuser:
        # the owner keeps its own rights; everybody else connects only through a granted role
        _try(conn, sql.SQL("revoke connect, temporary on database {} from public").format(db),
             "无法收回 PUBLIC 在数据仓库上的 CONNECT/TEMP 权限")
        _try(conn, sql.SQL("revoke temporary on database {} from {}").format(db, role),
             "无法收回只读角色的 TEMP 权限")
    else:
        log.warning("数据库账号 %s 不是数据仓库的所有者：PUBLIC 仍可连接并建临时表，请 DBA 执行 %s",
                    me.name, DBA_SCRIPT)


def _hide_definitions(conn: psycopg.Connection, me: LoginRights) -> None:
    """View and rule definitions (staging SQL): only a superuser may take them from PUBLIC;
    the pipeline login keeps them (dbt reads pg_rewrite to link views)."""
    if not me.superuser:
        return   # the DBA script does it (docs/bi.md)
    for rel in DEFINITION_CATALOG_RELATIONS:
        conn.execute(sql.SQL("revoke select on {} from public").format(sql.SQL(rel)))
    for fn in DEFINITION_CATALOG_FUNCTIONS:
        conn.execute(sql.SQL("revoke execute on function {} from public").format(sql.SQL(fn)))


def ensure_bi_reader(conn: psycopg.Connection, login_user: str = "bi_user",
                     password: str | None = None, role: str = ROLE) -> str | None:
    """Keep `role` (default bi_reader) reading every mart and nothing else; create/update the
    login role when a password is given (Settings.bi_reader_user / bi_reader_password).
    Returns the login role's name if one is set up."""
    role_id, schema = sql.Identifier(role), sql.Identifier(READABLE_SCHEMA)
    db = sql.Identifier(conn.execute("select current_database()").fetchone()[0])
    me = _rights(conn)
    with conn.transaction():
        if not _ensure_group_role(conn, me, role):
            return None
        conn.execute(sql.SQL("create schema if not exists {}").format(schema))
        _lock_down_database(conn, me, db, role_id)
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(schema, role_id))
        _try(conn, sql.SQL("revoke create on schema {} from {}, public").format(schema, role_id),
             "无法收回 marts 模式上的 CREATE 权限")
        _try(conn, sql.SQL("grant select on all tables in schema {} to {}").format(schema, role_id),
             "有些集市表不属于本账号，未能授予只读权限")
        conn.execute(sql.SQL("alter default privileges in schema {} grant select on tables to {}")
                     .format(schema, role_id))
        present = [r[0] for r in conn.execute(
            "select nspname from pg_namespace where nspname = any(%s) order by 1", (list(PRIVATE_SCHEMAS),))]
        for name in present:
            s = sql.Identifier(name)
            _try(conn, sql.SQL("revoke all on schema {} from {}, public").format(s, role_id),
                 f"无法收回模式 {name} 上的权限")
            _try(conn, sql.SQL("revoke all on all tables in schema {} from {}, public").format(s, role_id),
                 f"无法收回模式 {name} 中表的权限")
            _try(conn, sql.SQL("revoke all on all functions in schema {} from {}, public").format(s, role_id),
                 f"无法收回模式 {name} 中函数的权限")
        _hide_definitions(conn, me)
        if not password:
            log.info("BI_READER_PASSWORD 未设置：只维护 %s 角色，不创建登录用户", role)
            return None
        owner = conn.execute("select rolname from pg_roles where rolname = %s and "
                             "(rolsuper or rolname = current_user)", (login_user,)).fetchone()
        if owner:   # a typo in BI_READER_USER must not reset the warehouse owner's password
            raise ValueError(f"BI_READER_USER={login_user!r} 是数据库所有者或超级用户，不能用作只读登录")
        return _ensure_login(conn, me, login_user, password, role)


def _ensure_login(conn: psycopg.Connection, me: LoginRights, login_user: str, password: str,
                  role: str) -> str | None:
    user = sql.Identifier(login_user)
    exists = _role_exists(conn, login_user)
    if not (me.superuser or me.createrole):
        if not exists:
            log.warning("登录账号 %s 不存在，数据库账号 %s 无权创建（CREATEROLE）：请 DBA 执行 %s",
                        login_user, me.name, DBA_SCRIPT)
            return None
        # the DBA created it and owns its password; a member already is all we need
        if not conn.execute("select pg_has_role(%s, %s, 'MEMBER')", (login_user, role)).fetchone()[0]:
            log.warning("登录账号 %s 不是 %s 的成员，且本账号无权授予：请 DBA 执行 grant %s to %s",
                        login_user, role, role, login_user)
            return None
        log.info("登录账号 %s 由 DBA 管理（本账号无 CREATEROLE），不修改其密码", login_user)
        return login_user
    if not exists:
        _create_role(conn, login_user, sql.SQL("login"))
    conn.execute(sql.SQL("alter role {} with login password {}")
                 .format(user, sql.Literal(scram_verifier(password))))
    conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(role), user))
    return login_user
