"""`make bench`: time each daily step on a synthetic province and print figures.

BENCH_HOUSEHOLDS (default 20000) sets the scale. Uses its own embedded PostgreSQL database
(`bench_<n>` on the `make run` server) so it never touches the demo warehouse.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
import time
from pathlib import Path

import psycopg

from ingest.settings import REPO_ROOT

RUN_DATE = dt.date(2026, 11, 28)


def _timed(label: str, fn, rows_fn=None, per_second: bool = True):
    t = time.perf_counter()
    result = fn()
    secs = time.perf_counter() - t
    rows = rows_fn() if rows_fn else None
    rate = f"{rows / secs:>10,.0f} 行/秒" if rows and per_second else ""
    print(f"  {label:<38}{secs:>8.1f} 秒  {rows if rows is not None else '':>10}  {rate}")
    return result


def main() -> None:
    from local import embedded_pg
    from expectations.validate import run_rules
    from ingest import warehouse
    from ingest.feeds.load import load_all as load_feeds
    from ingest.platform.client import PlatformClient
    from ingest.platform.load import load_all as load_platform
    from pipeline.dbt import run_dbt
    from sim.generator import generate
    from sim.platform_server import start_simulator

    households = int(os.environ.get("BENCH_HOUSEHOLDS", "20000"))
    base = embedded_pg.start(REPO_ROOT / "var" / "pg", database="postgres").rsplit("/", 1)[0]
    db = f"bench_{households}_{int(time.time())}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'create database "{db}"')
    url = f"{base}/{db}"
    os.environ["WAREHOUSE_URL"] = url
    work = Path(tempfile.mkdtemp(prefix="fpr-bench-"))
    os.environ["GX_PROJECT_DIR"] = str(work / "gx")

    def count(sql: str):
        return lambda: psycopg.connect(url).execute(sql).fetchone()[0]

    print(f"基准测试：{households} 户，运行日期 {RUN_DATE}，数据库 {db}")
    print(f"  {'步骤':<36}{'耗时':>10}  {'行数':>10}  速率")
    _timed("生成合成省份", lambda: generate(work / "sim", RUN_DATE, seed=42, households=households))
    with start_simulator(work / "sim", client_id="b", client_secret="b") as sim, warehouse.connect(url) as conn:
        client = PlatformClient(sim.url, "b", "b")
        _timed("平台接口拉取 + COPY 入库 (11 个资源)", lambda: load_platform(conn, client, RUN_DATE),
               count("select sum(rows_loaded) from raw.load_batch where source='platform'"))
        _timed("部门与资金文件读取 + COPY (15 个目录)", lambda: load_feeds(conn, work / "sim" / "landing", RUN_DATE),
               count("select sum(rows_in) from raw.load_batch where source<>'platform'"))
        _timed("平台增量拉取（无变化）", lambda: load_platform(conn, client, RUN_DATE + dt.timedelta(days=1)),
               count("select sum(rows_loaded) from raw.load_batch where source='platform' "
                     f"and run_date = date '{RUN_DATE + dt.timedelta(days=1)}'"))
    from pipeline.pii import install_hash_key
    with warehouse.connect(url) as conn:
        install_hash_key(conn, os.environ.get("PII_HASH_KEY") or secrets.token_hex(32))
    _timed("dbt build（全部模型与测试）", lambda: run_dbt(["build", "--quiet"], url, RUN_DATE))
    _timed("GX 规则校验 + dq.issue 合并", lambda: run_rules(RUN_DATE),
           count("select count(*) from dq.issue"), per_second=False)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'drop database "{db}" with (force)')


if __name__ == "__main__":
    main()
