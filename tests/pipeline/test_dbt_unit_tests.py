"""dbt's own unit tests (`unit_tests:` in the models' yml) against the test PostgreSQL: the identity
logic (stg_platform__persons, int_person_identity) and who is monitored (int_monitoring_cases, int_household_monitoring)
on fixed rows whose expected results follow DOMAIN.md. The daily build leaves them out
(pipeline.dbt.DAILY_BUILD): they test our SQL, not the day's data."""
from __future__ import annotations

import datetime as dt
import json

import pytest

RUN_DATE = dt.date(2026, 11, 28)
UNIT_TESTED = ("stg_platform__persons", "int_person_identity", "int_monitoring_cases", "int_household_monitoring")


@pytest.fixture(scope="module")
def empty_warehouse(pg_server_url):
    """Empty raw tables and every model up to the unit-tested ones built on them (no rows): dbt
    reads the column types of a unit test's inputs from the warehouse. (Not `--empty`: dbt's
    limit-0 subquery for a source cannot take the alias our models give it.)"""
    from core import warehouse
    from ingest.feeds import ensure_feed_tables
    from ingest.platform.load import ensure_platform_tables
    from pipeline.dbt import run_dbt
    from pipeline.pii import install_hash_key
    from tests.conftest import _create_db

    url = _create_db(pg_server_url, "u")
    with warehouse.connect(url) as conn:
        ensure_platform_tables(conn)
        ensure_feed_tables(conn)
        install_hash_key(conn, "unit-test-key-" + "0" * 32)   # int_person_identity hashes ID numbers
    run_dbt(["run", "--quiet", "--select", *(f"+{m}" for m in UNIT_TESTED)], url, RUN_DATE)
    return url


def _ran() -> dict[str, str]:
    """unique_id -> status of the last dbt invocation's nodes."""
    from pipeline.dbt import DBT_PROJECT_DIR

    results = json.loads((DBT_PROJECT_DIR / "target" / "run_results.json").read_text(encoding="utf-8"))
    return {r["unique_id"]: r["status"] for r in results["results"]}


def test_unit_tests_pass(empty_warehouse):
    from pipeline.dbt import UNIT_TESTS, invoke

    outcome = invoke(list(UNIT_TESTS), empty_warehouse, RUN_DATE)
    assert outcome.success, json.dumps(outcome.messages, ensure_ascii=False, indent=1)
    ran = _ran()
    assert all(uid.startswith("unit_test.") for uid in ran) and set(ran.values()) == {"pass"}, ran
    per_model = {m: [uid for uid in ran if uid.split(".")[2] == m] for m in UNIT_TESTED}
    assert all(per_model.values()), per_model   # every model has its cases
    assert len(ran) >= 5


def test_a_wrong_expectation_fails(empty_warehouse, tmp_path, monkeypatch):
    """The unit tests really compare rows: the same project with one expected value changed fails."""
    import shutil

    import pipeline.dbt
    from pipeline.dbt import DBT_PROJECT_DIR, invoke

    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    yml = project / "models" / "intermediate" / "monitoring" / "int_monitoring_cases.yml"
    text = yml.read_text(encoding="utf-8")
    wrong = text.replace("{case_id: C4, household_id: H2, eliminated_by_run_date: false}",
                         "{case_id: C4, household_id: H2, eliminated_by_run_date: true}")
    assert wrong != text
    yml.write_text(wrong, encoding="utf-8")
    monkeypatch.setattr(pipeline.dbt, "DBT_PROJECT_DIR", project)
    outcome = invoke(["test", "--select", "int_monitoring_cases,test_type:unit"], empty_warehouse, RUN_DATE)
    assert not outcome.success
    assert outcome.failed == ["unit_test.fpr_monitoring.int_monitoring_cases.int_monitoring_cases_eliminated_by_the_run_date"]


def test_the_daily_build_leaves_unit_tests_out(empty_warehouse):
    """The DAG's `dbt build` selection runs the model and its data tests, not its unit tests."""
    from pipeline.dbt import DAILY_BUILD, invoke

    outcome = invoke([*DAILY_BUILD, "--select", "int_monitoring_cases"], empty_warehouse, RUN_DATE)
    assert outcome.success, outcome.messages
    kinds = {uid.split(".")[0] for uid in _ran()}
    assert kinds == {"model", "test"}, kinds


def test_unique_by_index_holds_only_with_a_unique_index(empty_warehouse):
    """The generic test standing in for `unique` on a key with a unique index (tests/generic/
    unique_by_index.sql) passes with the model's index, and fails once it is gone or is not unique."""
    import psycopg

    from pipeline.dbt import invoke

    select = ["test", "--select", "int_person_identity,test_name:unique_by_index"]
    assert invoke(select, empty_warehouse, RUN_DATE).success
    with psycopg.connect(empty_warehouse, autocommit=True) as conn:
        schema, name = conn.execute(
            "select schemaname, indexname from pg_indexes where tablename = 'int_person_identity' "
            "and indexdef like 'CREATE UNIQUE INDEX%%(person_id)'").fetchone()
        conn.execute(f'drop index "{schema}"."{name}"')
        try:
            missing = invoke(select, empty_warehouse, RUN_DATE)
            conn.execute(f'create index plain_person_id on "{schema}".int_person_identity (person_id)')
            not_unique = invoke(select, empty_warehouse, RUN_DATE)
        finally:
            conn.execute(f'drop index if exists "{schema}".plain_person_id')
            conn.execute(f'create unique index "{name}" on "{schema}".int_person_identity (person_id)')
    for outcome in (missing, not_unique):
        assert not outcome.success
        assert [uid.split(".")[2] for uid in outcome.failed] == ["unique_by_index_int_person_identity_person_id"]
