"""Issue 11.1 and 9.3 as a site runs it: a DBA runs pipeline/sql/dba_setup.sql as superuser,
then the whole pipeline (loads, hash key, dbt build, rules) and bi_access run as a login that
owns the warehouse but is no superuser and may create neither roles nor databases; the BI login
reads every mart and is refused everything else."""
from __future__ import annotations

import logging
import subprocess
import uuid
from pathlib import Path

import psycopg
from bi_probe import as_user, assert_reads_every_mart, assert_refused_everything_else
from psycopg import sql

REPO = Path(__file__).resolve().parents[2]
DBA_SCRIPT = REPO / "pipeline" / "sql" / "dba_setup.sql"


def _dba(server_url: str, **variables: str) -> None:
    cmd = ["psql", f"{server_url}/postgres", "-X", "-q", "-f", str(DBA_SCRIPT)]
    for k, v in variables.items():
        cmd += ["-v", f"{k}={v}"]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)


def test_owner_login_without_superuser_runs_the_pipeline_and_bi_access(pg_server_url, tmp_path_factory, caplog,
                                                                       pipeline_fixtures):
    from pipeline.bi_access import ensure_bi_reader, scram_verifier
    from sim.generator import generate

    tag = uuid.uuid4().hex[:8]
    warehouse, pipeline, bi_login, other = f"w_{tag}", f"fpr_pipe_{tag}", f"bi_{tag}", f"other_{tag}"
    with psycopg.connect(f"{pg_server_url}/postgres", autocommit=True) as su:
        su.execute(f'create database "{other}"')
    _dba(pg_server_url, warehouse=warehouse, pipeline=pipeline, bi_login=bi_login)
    _dba(pg_server_url, warehouse=warehouse, pipeline=pipeline, bi_login=bi_login)   # idempotent
    with psycopg.connect(f"{pg_server_url}/postgres", autocommit=True) as su:
        # the DBA sets the passwords; and keeps BI out of other databases (the script's step 2)
        for role, pw in ((pipeline, "pipe-pw"), (bi_login, "bi-pw")):
            su.execute(sql.SQL("alter role {} password {}").format(sql.Identifier(role), sql.Literal(scram_verifier(pw))))
        su.execute(f'revoke connect on database "{other}" from public')
        rights = su.execute("select rolsuper, rolcreaterole, rolcreatedb from pg_roles where rolname = %s",
                            (pipeline,)).fetchone()
    assert rights == (False, False, False)
    owner_url = as_user(f"{pg_server_url}/{warehouse}", pipeline, "pipe-pw")

    province = tmp_path_factory.mktemp("owner_province")
    generate(province, pipeline_fixtures.RUN_DATE, seed=5, households=120)
    pipeline_fixtures.run_pipeline(province, owner_url, tmp_path_factory.mktemp("owner_gx"))
    # what the pipeline run logged (the province's truncated file, GX's import warnings) is not bi_access's
    caplog.clear()
    with psycopg.connect(owner_url, autocommit=True) as conn, caplog.at_level(logging.WARNING):
        assert ensure_bi_reader(conn, login_user=bi_login, password="bi-pw") == bi_login
        assert ensure_bi_reader(conn, login_user=bi_login, password="bi-pw") == bi_login
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
        # a role nobody created: a clear Chinese warning, no failure
        assert ensure_bi_reader(conn, login_user=bi_login, password="bi-pw", role=f"absent_{tag}") is None
        warned = " ".join(r.getMessage() for r in caplog.records)
        assert "无权创建角色" in warned and "dba_setup.sql" in warned
        # a login the DBA did not create: warned, not failed
        assert ensure_bi_reader(conn, login_user=f"nobody_{tag}", password="x") is None

    bi_url = as_user(owner_url, bi_login, "bi-pw")
    assert_reads_every_mart(owner_url, bi_url)
    assert_refused_everything_else(owner_url, bi_url, other)
