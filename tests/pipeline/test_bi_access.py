"""BI access: a login role granted bi_reader reads every mart (also after dbt rebuilds one), is
refused everything else (temp tables, functions, other schemas and databases, view definitions,
the hash key and function), every mart column has a Chinese comment, and the example queries of
docs/bi.md return the figures computed independently from raw rows and landing files."""
from __future__ import annotations

import importlib.util
import re
import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from conftest import RUN_DATE
from landing_files import payments_per_project, sales

DOC = Path(__file__).resolve().parents[2] / "docs" / "bi.md"
PASSWORD = "bi-reader-test-pw"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
_spec = importlib.util.spec_from_file_location("bi_probe", Path(__file__).resolve().parents[1] / "pii" / "bi_probe.py")
bi_probe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bi_probe)


def _as_user(url: str, user: str, password: str) -> str:
    p = urlsplit(url)
    return urlunsplit(p._replace(netloc=f"{user}:{password}@{p.hostname}:{p.port}"))


@pytest.fixture(scope="module")
def bi_url(pipeline_db):
    """ensure_bi_reader with the password from the environment, then a dbt rebuild of one mart:
    default privileges must keep the rebuilt table readable."""
    from core.settings import Settings
    from pipeline.bi_access import ensure_bi_reader
    from pipeline.dbt import run_dbt

    mp = pytest.MonkeyPatch()
    mp.setenv("BI_READER_PASSWORD", PASSWORD)
    mp.delenv("BI_READER_USER", raising=False)
    try:
        s = Settings.from_env(connection_id=None)
        with psycopg.connect(pipeline_db, autocommit=True) as conn:
            user = ensure_bi_reader(conn, s.bi_reader_user, s.bi_reader_password)
            assert ensure_bi_reader(conn, s.bi_reader_user, s.bi_reader_password) == user == "bi_user"  # idempotent
    finally:
        mp.undo()
    run_dbt(["run", "--quiet", "--select", "rpt_consumption_monthly"], pipeline_db, RUN_DATE)
    return _as_user(pipeline_db, "bi_user", PASSWORD)


def _tables(url: str, schema: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = %s order by 1", (schema,))]


def test_no_login_role_without_password(pipeline_db, monkeypatch):
    from pipeline.bi_access import ensure_bi_reader

    monkeypatch.delenv("BI_READER_PASSWORD", raising=False)
    with psycopg.connect(pipeline_db, autocommit=True) as conn:
        assert ensure_bi_reader(conn) is None
        assert conn.execute("select not rolcanlogin from pg_roles where rolname = 'bi_reader'").fetchone()[0]


def test_bi_role_reads_every_mart(pipeline_db, bi_url):
    marts = _tables(pipeline_db, "marts")
    assert {"fct_fund_project", "rpt_fund_usage", "fct_industry_project", "dim_consumption_supplier",
            "dim_consumption_product", "fct_consumption_sale", "rpt_consumption_monthly"} <= set(marts)
    with psycopg.connect(bi_url) as conn:
        for t in marts:
            conn.execute(f'select * from marts."{t}" limit 1').fetchall()
        assert conn.execute("select count(*) from marts.rpt_consumption_monthly").fetchone()[0] > 0


def test_bi_role_refused_everything_else(pipeline_db, bi_url, pg_server_url):
    other = f"other_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{pg_server_url}/postgres", autocommit=True) as su:
        su.execute(f'create database "{other}"')
        su.execute(f'revoke connect on database "{other}" from public')   # the DBA step of docs/bi.md
    bi_probe.assert_reads_every_mart(pipeline_db, bi_url)
    bi_probe.assert_refused_everything_else(pipeline_db, bi_url, other)


def test_every_mart_column_has_a_chinese_comment(pipeline_db):
    with psycopg.connect(pipeline_db) as conn:
        rows = conn.execute("""
            select c.table_name, c.column_name,
                   col_description(format('%I.%I', c.table_schema, c.table_name)::regclass, c.ordinal_position),
                   obj_description(format('%I.%I', c.table_schema, c.table_name)::regclass, 'pg_class')
            from information_schema.columns c
            where c.table_schema = 'marts'""").fetchall()
    assert rows
    bad = [(t, c) for t, c, col, _ in rows if not CHINESE.search(col or "")]
    assert bad == [], "mart columns without a Chinese comment"
    assert [t for t, _, _, tab in rows if not CHINESE.search(tab or "")] == [], "mart tables without a comment"


# ---- docs/bi.md example queries -------------------------------------------------------------

def doc_examples() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    return {m.group(1): m.group(0).strip().rstrip(";")
            for m in (re.search(r"--\s*example:\s*(\S+).*", block, re.S)
                      for block in re.findall(r"```sql\n(.*?)```", text, re.S)) if m}


def _round4(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def projects(pipeline_db) -> dict[str, dict]:
    """Latest raw version per project (file date, batch, line), approved amount in yuan."""
    latest: dict[str, tuple] = {}
    with psycopg.connect(pipeline_db) as conn:
        for row in conn.execute("""
                select f.project_id, f.file_date, f.load_batch_id, f.line_no, f.county_code, f.year,
                       f.project_category, f.approved_amount_wan
                from raw.feed_fund_project f
                join raw.load_batch b on b.batch_id = f.load_batch_id and b.status = 'succeeded'"""):
            if row[0] not in latest or row[1:4] > latest[row[0]][1:4]:
                latest[row[0]] = row
    return {pid: dict(county=r[4], year=r[5], industry=r[6] == "产业发展", approved=r[7] * 10000)
            for pid, r in latest.items()}


def expected_results(name: str, projects: dict, province: Path) -> list[tuple]:
    paid = payments_per_project(province, RUN_DATE)
    if name in ("industry_share_by_county", "payment_progress_by_county"):
        agg = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0)])
        for pid, p in projects.items():
            a = agg[(p["county"], p["year"])]
            a[0] += p["approved"] if p["industry"] else 0
            a[1] += p["approved"]
            a[2] += paid.get(pid, Decimal(0))
        if name == "industry_share_by_county":
            return [(c, y, ind, tot, _round4(ind / tot)) for (c, y), (ind, tot, _) in sorted(agg.items())]
        return [(c, y, tot, pd, _round4(pd / tot)) for (c, y), (_, tot, pd) in sorted(agg.items())]
    if name == "slowest_projects":
        progress = sorted((_round4(paid.get(pid, Decimal(0)) / p["approved"]), pid) for pid, p in projects.items())
        return [(pid, prog) for prog, pid in progress[:10]]
    if name == "monthly_sales_by_channel":
        agg = defaultdict(lambda: [0, Decimal(0)])
        for s in sales(province, RUN_DATE):
            a = agg[(s["sold_on"].strftime("%Y-%m"), s["channel"] or "未填")]
            a[0] += 1
            a[1] += s["amount"]
        return [(m, ch, n, amt) for (m, ch), (n, amt) in sorted(agg.items())]
    raise AssertionError(f"docs/bi.md example {name} has no independent check in this test")


def test_doc_examples_return_expected_figures(bi_url, projects, province):
    examples = doc_examples()
    assert {"industry_share_by_county", "payment_progress_by_county", "slowest_projects",
            "monthly_sales_by_channel"} <= set(examples)
    with psycopg.connect(bi_url) as conn:
        for name, sql in examples.items():
            got = conn.execute(sql).fetchall()
            if name == "slowest_projects":
                got = [(r[0], r[6]) for r in got]
            elif name == "monthly_sales_by_channel":
                got = [(m, ch, int(n), amt) for m, ch, n, amt in got]
            expected = expected_results(name, projects, province)
            if name != "slowest_projects":  # grouped reports: text collation may order differently
                got, expected = sorted(got), sorted(expected)
            assert got == expected, name


def test_scram_verifier_matches_libpq(fresh_db_url):
    """The BI password goes to the server as a SCRAM verifier, never in clear: it must be the
    verifier libpq itself computes for the same salt."""
    import base64

    from pipeline.bi_access import scram_verifier

    with psycopg.connect(fresh_db_url) as conn:
        reference = conn.pgconn.encrypt_password(b"pencil", b"bi_user", b"scram-sha-256").decode()
    iterations, salt = reference.split("$")[1].split(":")
    assert scram_verifier("pencil", int(iterations), base64.b64decode(salt)) == reference
