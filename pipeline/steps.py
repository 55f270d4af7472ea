"""The daily pipeline's steps. DAG tasks call these; so do tests and `make run`."""
from __future__ import annotations

import datetime as dt
import logging
import os

from ingest import warehouse
from ingest.settings import Settings

log = logging.getLogger(__name__)


def resolve_run_date(param: str | None, logical_or_run_after) -> str:
    """The run's date: an explicit `run_date` param (YYYY-MM-DD, checked) or the run's logical
    date (or, for runs without one, its run_after) in Asia/Shanghai."""
    if param:
        try:
            return dt.datetime.strptime(str(param), "%Y-%m-%d").date().isoformat()
        except ValueError:
            raise ValueError(f"参数 run_date 必须是 YYYY-MM-DD 格式的日期，收到 {param!r}") from None
    import pendulum

    return pendulum.instance(logical_or_run_after).in_timezone("Asia/Shanghai").date().isoformat()


def resolve_warehouse_url() -> str:
    """WAREHOUSE_URL from the environment, else the Airflow connection `warehouse` (the one
    cosmos gives dbt), as a postgresql:// URL with its parts quoted."""
    url = os.environ.get("WAREHOUSE_URL")
    if url:
        return url
    from urllib.parse import quote, urlencode

    from airflow.sdk import BaseHook

    c = BaseHook.get_connection("warehouse")
    # only libpq parameters: provider-only extras would make psycopg refuse the URL
    query = urlencode({k: v for k, v in c.extra_dejson.items()
                       if k in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout",
                                "application_name")})
    os.environ["WAREHOUSE_URL"] = (
        f"postgresql://{quote(c.login or '', safe='')}:{quote(c.password or '', safe='')}"
        f"@{c.host}:{c.port or 5432}/{quote(c.schema or 'postgres', safe='')}" + (f"?{query}" if query else ""))
    return os.environ["WAREHOUSE_URL"]


def ingest_platform(run_date: dt.date) -> dict:
    """Pull every resource. A resource that fails is reported (its batch is 'failed') but does
    not stop the day: rules and digests still run, FRESH-01 sees the gap, and check_ingest
    fails the run at the end so the engineers hear of it."""
    from ingest.platform.client import PlatformClient
    from ingest.platform.load import PlatformLoadError, load_all

    resolve_warehouse_url()
    s = Settings.from_env()
    if not (s.platform_base_url and s.platform_client_id and s.platform_client_secret):
        raise RuntimeError("平台接口未配置：请设置 PLATFORM_BASE_URL / PLATFORM_CLIENT_ID / PLATFORM_CLIENT_SECRET")
    client = PlatformClient(s.platform_base_url, s.platform_client_id, s.platform_client_secret)
    with warehouse.connect() as conn:
        try:
            summaries, failures = load_all(conn, client, run_date), {}
        except PlatformLoadError as exc:
            log.error("%s", exc)
            summaries, failures = exc.summaries, exc.failures
    # XCom gets plain JSON: counts per resource, failures by name
    return {"loaded": {x["resource"]: x["rows_loaded"] for x in summaries},
            "rejected": {x["resource"]: x["rows_rejected"] for x in summaries if x["rows_rejected"]},
            "failed": failures}


def ingest_feeds(run_date: dt.date, folders: list[str] | None = None) -> dict:
    """Load every landing folder; a file that cannot be read is a 'failed' batch, the rest go on."""
    from collections import Counter

    from ingest.feeds.load import load_all

    resolve_warehouse_url()
    s = Settings.from_env()
    with warehouse.connect() as conn:
        summaries = load_all(conn, s.landing_dir, run_date, folders=folders)
    for f in summaries:
        if f.status == "failed":
            log.warning("文件 %s/%s 装载失败：%s", f.folder, f.file, f.message)
    return {"by_status": dict(Counter(f.status for f in summaries)),
            "loaded": [{"file": f.file, "rows_loaded": f.rows_loaded, "rows_rejected": f.rows_rejected}
                       for f in summaries if f.status == "succeeded"],
            "failed": [{"file": f.file, "message": f.message} for f in summaries if f.status == "failed"]}


def check_ingest(run_date: dt.date) -> str:
    """Last task of the day: fail (and so e-mail the engineers) while any platform pull or
    file up to the run date failed and nothing loaded it since (ingest.batches)."""
    from ingest.batches import require_no_unresolved_failures

    resolve_warehouse_url()
    with warehouse.connect() as conn:
        return require_no_unresolved_failures(conn, run_date)


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
