"""Runtime settings: every variable the platform reads, read once from the environment
(`Settings.from_env()`) and passed down as an argument. Nothing else reads os.environ for
them; README's table of variables is tested against `Settings.variables()`.

Left to the libraries that read the environment by design: libpq's PG* defaults, dbt's
DBT_ENV_SECRET_*, Airflow's AIRFLOW__* and AIRFLOW_CONN_*, and the robot webhooks whose
variable names the routing file gives."""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
REPO_ROOT = Path(__file__).resolve().parent.parent
VAR = REPO_ROOT / "var"
CONFIG = REPO_ROOT / "config"
WAREHOUSE_CONN_ID = "warehouse"

log = logging.getLogger(__name__)


def today_shanghai() -> dt.date:
    return dt.datetime.now(TZ).date()


def _var(name: str, default=None, parse=str):
    """A field read from environment variable `name` (unset or empty: `default`)."""
    return field(default=default, metadata={"env": name, "parse": parse})


@dataclass(frozen=True)
class Settings:
    warehouse_url: str | None = _var("WAREHOUSE_URL")
    platform_base_url: str | None = _var("PLATFORM_BASE_URL")
    platform_client_id: str | None = _var("PLATFORM_CLIENT_ID")
    platform_client_secret: str | None = _var("PLATFORM_CLIENT_SECRET")
    landing_dir: Path = _var("LANDING_DIR", VAR / "landing", Path)
    run_date: dt.date | None = _var("RUN_DATE", None, dt.date.fromisoformat)
    outbox_dir: Path = _var("OUTBOX_DIR", VAR / "outbox", Path)
    smtp_conn_id: str | None = _var("ALERT_SMTP_CONN_ID")
    smtp_attempts: int = _var("ALERT_SMTP_ATTEMPTS", 3, int)
    smtp_backoff: float = _var("ALERT_SMTP_BACKOFF", 5.0, float)
    routing_file: Path = _var("ALERT_ROUTING_FILE", CONFIG / "routing.yml", Path)
    policy_file: Path = _var("POLICY_FILE", CONFIG / "policy.yml", Path)
    pii_hash_key: str | None = _var("PII_HASH_KEY")
    bi_reader_user: str = _var("BI_READER_USER", "bi_user")
    bi_reader_password: str | None = _var("BI_READER_PASSWORD")
    dbt_docs_dir: Path = _var("DBT_DOCS_DIR", VAR / "dbt_docs", Path)
    dbt_threads: int = _var("DBT_THREADS", 4, int)
    data_docs_base_url: str | None = _var("DATA_DOCS_BASE_URL")
    followup_config: Path = _var("FOLLOWUP_CONFIG", CONFIG / "followup.yml", Path)
    reports_dir: Path = _var("REPORTS_DIR", VAR / "reports", Path)
    gx_project_dir: Path = _var("GX_PROJECT_DIR", VAR / "gx", Path)
    feed_xlsx_max_unpacked_mb: int = _var("FEED_XLSX_MAX_UNPACKED_MB", 256, int)
    robot_attempts: int = _var("ALERT_ROBOT_ATTEMPTS", 3, int)
    robot_backoff: float = _var("ALERT_ROBOT_BACKOFF", 5.0, float)
    robot_timeout: float = _var("ALERT_ROBOT_TIMEOUT", 10.0, float)
    task_retries: int = _var("FPR_TASK_RETRIES", 2, int)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ,
                 connection_id: str | None = WAREHOUSE_CONN_ID) -> "Settings":
        """Every field from `environ`. Without WAREHOUSE_URL the warehouse is the Airflow
        connection `connection_id` (None: no look-up, e.g. while a DAG file is parsed)."""
        values = {}
        for f in dataclasses.fields(cls):
            raw = (environ.get(f.metadata["env"]) or "").strip()
            if raw:
                try:
                    values[f.name] = f.metadata["parse"](raw)
                except ValueError:
                    raise ValueError(f"环境变量 {f.metadata['env']} 的值无效：{raw!r}") from None
        if not values.get("warehouse_url") and connection_id:
            values["warehouse_url"] = airflow_connection_url(connection_id)
        return cls(**values)

    @classmethod
    def variables(cls) -> list[str]:
        """The environment variables, in field order."""
        return [f.metadata["env"] for f in dataclasses.fields(cls)]

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    def require_warehouse_url(self) -> str:
        if not self.warehouse_url:
            raise RuntimeError("WAREHOUSE_URL 未设置：请提供数仓 PostgreSQL 连接串，或 Airflow 连接 "
                               f"`{WAREHOUSE_CONN_ID}` (WAREHOUSE_URL is not set)")
        return self.warehouse_url

    def day(self) -> dt.date:
        """RUN_DATE, default today in Asia/Shanghai."""
        return self.run_date or today_shanghai()


def airflow_connection_url(conn_id: str) -> str | None:
    """The Airflow connection `conn_id` as a libpq URL; None where there is none (or no Airflow)."""
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:
        return None
    try:
        c = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    return connection_url(c.login, c.password, c.host, c.port, c.schema, c.extra_dejson)


def connection_url(login: str | None, password: str | None, host: str | None, port: int | None,
                   dbname: str | None, extra: dict) -> str:
    """An Airflow connection's parts as a libpq URL: parts quoted, no password when it has
    none (trust or .pgpass), a socket directory as `?host=`, libpq-only extras."""
    from urllib.parse import quote, urlencode

    query = {k: v for k, v in extra.items()
             if k in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name")}
    user = quote(login, safe="") + (f":{quote(password, safe='')}" if password else "") + "@" if login else ""
    if host and host.startswith("/"):
        query["host"], hostport = host, ""
    else:
        hostport = (host or "") + (f":{port}" if port and host else "")
    return (f"postgresql://{user}{hostport}/{quote(dbname or 'postgres', safe='')}"
            + (f"?{urlencode(query)}" if query else ""))
