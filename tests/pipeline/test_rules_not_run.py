"""Rules whose tables were not built today (or whose query fails) do not stop the others, are
reported in `not_run`, and leave their open issues as they were (issue 8 item 2)."""
import datetime as dt
import uuid

import psycopg
import pytest

RUN_DATE = dt.date(2026, 11, 28)   # the planted province's day (conftest.RUN_DATE)


@pytest.fixture
def copied_db(pipeline_db, pg_server_url):
    """A copy of the planted province's warehouse after its day ran, for this test to damage."""
    name = f"p_{uuid.uuid4().hex[:10]}"
    source = pipeline_db.rsplit("/", 1)[1]
    with psycopg.connect(f"{pg_server_url}/postgres", autocommit=True) as conn:
        # a template must have no sessions: idle pooled ones left by earlier steps are ended
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity "
                     "where datname = %s and pid <> pg_backend_pid()", (source,))
        conn.execute(f'create database "{name}" template "{source}"')
    yield f"{pg_server_url}/{name}"
    with psycopg.connect(f"{pg_server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'drop database "{name}" with (force)')


def _open(conn, rule_prefixes):
    return {r[0]: r[1:] for r in conn.execute(
        "select rule_id || '/' || entity_id, status, last_detected_on, resolved_on, detail "
        "from dq.issue where split_part(rule_id, '-', 1) = any(%s)", (rule_prefixes,))}


def _run(url, tmp_path, monkeypatch, **kwargs):
    from core.settings import Settings
    from expectations.validate import run_rules

    monkeypatch.setenv("WAREHOUSE_URL", url)
    monkeypatch.setenv("GX_PROJECT_DIR", str(tmp_path / "gx"))
    return run_rules(Settings.from_env(), RUN_DATE, **kwargs)


@pytest.mark.parametrize("declared", [True, False], ids=["dbt-reported", "query-fails"])
def test_missing_mart_skips_its_family_only(copied_db, truth, tmp_path, monkeypatch, declared):
    from expectations.catalog import load_rules

    needs_case = {r.rule_id for r in load_rules() if "marts.fct_monitoring_case" in r.relations}
    assert {r.split("-")[0] for r in needs_case} == {"CONS", "EXIT"}
    others = [r.rule_id for r in load_rules() if r.rule_id not in needs_case]
    with psycopg.connect(copied_db, autocommit=True) as conn:
        before = _open(conn, ["CONS", "EXIT"])
        assert before and all(v[0] == "open" for v in before.values())
        # the other rules' issues are removed: finding them again proves those rules ran
        conn.execute("delete from dq.issue where split_part(rule_id, '-', 1) <> all(%s)",
                     (["CONS", "EXIT"],))
        conn.execute("drop table marts.fct_monitoring_case cascade")

    unavailable = {"marts.fct_monitoring_case"} if declared else frozenset()
    result = _run(copied_db, tmp_path, monkeypatch, unavailable=unavailable)

    assert {r["rule_id"] for r in result["not_run"]} == needs_case
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r["reason"]) for r in result["not_run"])
    assert result["evaluated"] == len(others)
    with psycopg.connect(copied_db) as conn:
        assert _open(conn, ["CONS", "EXIT"]) == before
        for rule_id in others:
            found = {r[0] for r in conn.execute(
                "select entity_id from dq.issue where rule_id=%s and status='open'", (rule_id,))}
            assert found == truth[rule_id], rule_id


def test_failing_join_skips_only_the_rules_that_read_it(copied_db, truth, tmp_path, monkeypatch):
    """MISS-02..06 validate dim_household and join int_dept_signals_linked (MISS-07 validates
    it); MISS-01 is in the same suite as MISS-02..06 and must still run."""
    from expectations.catalog import load_rules

    readers = {r.rule_id for r in load_rules() if "intermediate.int_dept_signals_linked" in r.relations}
    with psycopg.connect(copied_db, autocommit=True) as conn:
        before = _open(conn, ["MISS"])
        conn.execute("delete from dq.issue where rule_id = 'MISS-01'")
        conn.execute("drop table intermediate.int_dept_signals_linked cascade")

    result = _run(copied_db, tmp_path, monkeypatch, families=["MISS"])

    assert {r["rule_id"] for r in result["not_run"]} == readers
    with psycopg.connect(copied_db) as conn:
        after = _open(conn, ["MISS"])
        assert {k: v for k, v in after.items() if k.split("/")[0] in readers} == \
               {k: v for k, v in before.items() if k.split("/")[0] in readers}
        assert {k.split("/", 1)[1] for k in after if k.startswith("MISS-01/")} == truth["MISS-01"]


def test_data_docs_built_apart_from_the_run(copied_db, tmp_path, monkeypatch):
    """build_data_docs() in a process of its own renders what run_rules stored."""
    import subprocess
    import sys

    result = _run(copied_db, tmp_path, monkeypatch, families=["GRID"])
    index = tmp_path / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert result["data_docs_url"] == index.as_uri()
    assert not index.exists()          # the run itself builds no docs
    script = ("from core.settings import Settings; from expectations.validate import build_data_docs; "
              "print(build_data_docs(Settings.from_env(connection_id=None).gx_project_dir))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith(index.as_uri())
    pages = list((index.parent / "validations").rglob("*.html"))
    assert pages and any("GRID-04" in p.read_text(encoding="utf-8") for p in pages)


def test_tables_the_login_cannot_read_are_left_out(pg_server_url):
    """The check GX made asset by asset, in one query: a table that is missing or that this
    login may not select from is not validated (its rules go to not_run, see _build)."""
    from expectations.validate import _readable

    name, role = f"r_{uuid.uuid4().hex[:10]}", f"reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{pg_server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
        conn.execute(f'create role "{role}" nologin')
    try:
        with psycopg.connect(f"{pg_server_url}/{name}", autocommit=True) as conn:
            conn.execute("create schema marts")
            conn.execute("create table marts.granted (x int)")
            conn.execute("create table marts.withheld (x int)")
            conn.execute(f'grant usage on schema marts to "{role}"')
            conn.execute(f'grant select on marts.granted to "{role}"')
            tables = ["marts.granted", "marts.withheld", "marts.missing"]
            assert _readable(conn, tables) == {"marts.granted", "marts.withheld"}
            conn.execute(f'set role "{role}"')
            assert _readable(conn, tables) == {"marts.granted"}
    finally:
        with psycopg.connect(f"{pg_server_url}/postgres", autocommit=True) as conn:
            conn.execute(f'drop database "{name}" with (force)')
            conn.execute(f'drop role "{role}"')
