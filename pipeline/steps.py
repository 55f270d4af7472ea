"""The daily pipeline's steps. DAG tasks call these; so do tests and `make run`."""
from __future__ import annotations

import datetime as dt
import logging
import os

from ingest import warehouse
from ingest.settings import Settings

log = logging.getLogger(__name__)


def resolve_warehouse_url() -> str:
    """WAREHOUSE_URL from the environment, else the Airflow connection `warehouse`."""
    url = os.environ.get("WAREHOUSE_URL")
    if url:
        return url
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection("warehouse")
    uri = conn.get_uri()
    os.environ["WAREHOUSE_URL"] = uri.replace("postgres://", "postgresql://", 1)
    return os.environ["WAREHOUSE_URL"]


def ingest_platform(run_date: dt.date) -> list[dict]:
    from ingest.platform.client import PlatformClient
    from ingest.platform.load import load_all

    resolve_warehouse_url()
    s = Settings.from_env()
    if not (s.platform_base_url and s.platform_client_id and s.platform_client_secret):
        raise RuntimeError("平台接口未配置：请设置 PLATFORM_BASE_URL / PLATFORM_CLIENT_ID / PLATFORM_CLIENT_SECRET")
    client = PlatformClient(s.platform_base_url, s.platform_client_id, s.platform_client_secret)
    with warehouse.connect() as conn:
        return load_all(conn, client, run_date)


def ingest_feeds(run_date: dt.date, folders: list[str] | None = None) -> list[dict]:
    from ingest.feeds.load import load_all

    resolve_warehouse_url()
    s = Settings.from_env()
    with warehouse.connect() as conn:
        return load_all(conn, s.landing_dir, run_date, folders=folders)


def run_quality(run_date: dt.date, families: list[str] | None = None) -> dict:
    from expectations.validate import run_rules

    resolve_warehouse_url()
    return run_rules(run_date, families=families)


def send_alerts(run_date: dt.date) -> list[dict]:
    from expectations.alerts.send import send_digests

    resolve_warehouse_url()
    s = Settings.from_env()
    with warehouse.connect() as conn:
        return send_digests(conn, run_date, s.outbox_dir)


def grant_bi_access() -> str | None:
    """Keep the read-only BI role able to read every mart (after each dbt build)."""
    from pipeline.bi_access import ensure_bi_reader

    resolve_warehouse_url()
    with warehouse.connect() as conn:
        return ensure_bi_reader(conn)


def generate_dbt_docs(run_date: dt.date) -> str:
    """`dbt docs generate` into DBT_DOCS_DIR (default var/dbt_docs); returns that directory."""
    from pathlib import Path

    from pipeline.dbt import DBT_PROJECT_DIR, run_dbt

    url = resolve_warehouse_url()
    out = Path(os.environ.get("DBT_DOCS_DIR", DBT_PROJECT_DIR.parent / "var" / "dbt_docs")).resolve()
    run_dbt(["docs", "generate", "--quiet", "--target-path", str(out)], url, run_date)
    return str(out)
