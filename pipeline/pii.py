"""The keyed hash of ID numbers, computed inside PostgreSQL so the key never enters SQL text.

dbt models call `private.pii_hash(text)` (macro `id_hash`); the function reads the key from
`private.pii_key`, a one-row table in a schema only the pipeline login (its owner) can use
(core/sql/private.sql): PUBLIC, and so `bi_reader`, has neither USAGE on the schema nor
EXECUTE on the function. The
key therefore never appears in compiled SQL, dbt's target/ or docs, logs or Airflow metadata.

`install_hash_key(conn, key)` runs before dbt every day (idempotent). It sends the key with
COPY, whose data PostgreSQL never writes to its statement log (a bind parameter would be
logged under `log_statement = all`). A different key is a rotation: the old row is replaced
and the table rewritten (VACUUM FULL) so no dead copy of the old key stays in its file; the
next `dbt build` rebuilds every hash (docs/pii.md).

The hash itself is unchanged from the first release: hex SHA-256 of `key || ':' || id`, the ID
normalised by dbt (trim, full-width -> half-width, upper case, first 18 characters) before it
is hashed, so department rows and platform persons join on the same value.
"""
from __future__ import annotations

import hmac
import logging

import psycopg

from core import locks
from core.schema import ensure_schema

log = logging.getLogger(__name__)

SCHEMA = "private"
MIN_KEY_LENGTH = 16


def check_key(key: str | None) -> str:
    if not key:
        raise ValueError("环境变量 PII_HASH_KEY 未设置：身份证号哈希需要一个只有流水线知道的密钥")
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"PII_HASH_KEY 太短（至少 {MIN_KEY_LENGTH} 个字符；建议 openssl rand -hex 32）")
    return key


def install_hash_key(conn: psycopg.Connection, key: str) -> str:
    """Store the key where only the pipeline login can read it; returns 'installed', 'unchanged'
    or 'rotated' (never the key). Run before every dbt build."""
    check_key(key)
    # the whole schema: what dbt's models call besides the hash (dq.distance_km) comes with it
    ensure_schema(conn)
    with conn.transaction():   # two installs at once (retries, parallel runs) take turns
        conn.execute("select pg_advisory_xact_lock(%s)", (locks.PII_KEY,))
        row = conn.execute(f"select key_material from {SCHEMA}.pii_key").fetchone()
        if row and hmac.compare_digest(row[0].encode(), key.encode()):
            return "unchanged"
        conn.execute(f"delete from {SCHEMA}.pii_key")
        with conn.cursor().copy(f"copy {SCHEMA}.pii_key (key_material) from stdin") as cp:
            cp.write_row((key,))
    if row is None:
        log.info("已安装个人信息哈希密钥")
        return "installed"
    # the deleted row would stay in the table's file until vacuumed: rewrite it now
    if conn.autocommit:
        conn.execute(f"vacuum full {SCHEMA}.pii_key")
    else:
        log.warning("连接不是 autocommit，未能 VACUUM FULL %s.pii_key；旧密钥的已删除行将在下次清理时消失", SCHEMA)
    log.warning("个人信息哈希密钥已更换：下一次 dbt build 将重算所有哈希")
    return "rotated"


def install_configured_hash_key(settings) -> str:
    """DAG task body: Settings.pii_hash_key (PII_HASH_KEY) into the warehouse. Returns only the
    status word, so XCom holds no key."""
    from core import warehouse

    key = check_key(settings.pii_hash_key)
    with warehouse.connect(settings.require_warehouse_url()) as conn:
        conn.autocommit = True
        return install_hash_key(conn, key)
