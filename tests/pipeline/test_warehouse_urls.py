"""Every valid libpq URL reaches the warehouse through dbt (issue: a URL without a password
failed every dbt task). Against a server with SCRAM passwords over TCP and trust on its
socket; dbt's own `debug` connects with the profile built from the URL."""
from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import psycopg
import pytest

from pipeline import dbt, steps
from tests.pipeline import auth_pg

ENCODED = quote(auth_pg.PASSWORD, safe="")


@pytest.fixture(scope="module")
def server():
    srv, stop = auth_pg.start()
    yield srv
    stop()


def _dbt_connects(url: str) -> bool:
    return dbt.invoke(["debug", "--connection"], url).success


def test_there_is_one_dbt_profile_path():
    """pipeline/dbt.py writes the only dbt profile: no profiles.yml in the repository, no other
    `--profiles-dir`, and docker-compose's airflow-init parses through pipeline.dbt too."""
    import subprocess

    import yaml

    repo = dbt.DBT_PROJECT_DIR.parent
    tracked = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True,
                             check=True).stdout.split()
    assert not [f for f in tracked if f.endswith("profiles.yml")]
    users = [f for f in tracked if f.endswith((".py", ".yml", ".toml", "Makefile", "Dockerfile"))
             and f != "pipeline/dbt.py" and not f.startswith("tests/")
             and "--profiles-dir" in (repo / f).read_text(encoding="utf-8")]
    assert users == []
    compose = yaml.safe_load((repo / "docker-compose.yml").read_text(encoding="utf-8"))
    init = " ".join(compose["services"]["airflow-init"]["command"])
    assert "python -m pipeline.dbt parse" in init and "--profiles-dir" not in init


def test_profile_parts_of_each_url_form():
    out, pw = dbt.profile_for(f"postgresql://etl:{ENCODED}@db.example:6432/wh?sslmode=require")
    assert (out["host"], out["port"], out["user"], out["dbname"], out["sslmode"]) == (
        "db.example", 6432, "etl", "wh", "require")
    assert pw == auth_pg.PASSWORD and auth_pg.PASSWORD not in repr(out)
    out, pw = dbt.profile_for("postgresql://etl@/wh?host=/var/run/postgresql")
    assert (out["host"], out["user"], pw) == ("/var/run/postgresql", "etl", "")
    out, _ = dbt.profile_for("postgresql://etl@%2Fvar%2Frun%2Fpostgresql:5433/wh")
    assert (out["host"], out["port"]) == ("/var/run/postgresql", 5433)


def test_airflow_connection_parts_become_a_valid_url():
    url = steps.connection_url("etl", auth_pg.PASSWORD, "db.example", 5432, "wh", {"sslmode": "require", "x": 1})
    assert url == f"postgresql://etl:{ENCODED}@db.example:5432/wh?sslmode=require"
    assert steps.connection_url("etl", None, "/run/postgresql", None, "wh", {}) == \
        "postgresql://etl@/wh?host=%2Frun%2Fpostgresql"
    for u in (url, steps.connection_url("etl", "", "h", 5432, "wh", {})):
        assert psycopg.conninfo.conninfo_to_dict(u)["dbname"] == "wh"


def test_password_with_reserved_characters(server):
    assert _dbt_connects(f"postgresql://postgres:{ENCODED}@127.0.0.1:{server.port}/postgres")


def test_wrong_password_is_refused(server):
    """The server really checks passwords: the other tests are not passing by trust."""
    assert not _dbt_connects(f"postgresql://postgres:wrong@127.0.0.1:{server.port}/postgres")


def test_no_password_in_url_uses_pgpassword(server, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", auth_pg.PASSWORD)
    assert _dbt_connects(f"postgresql://postgres@127.0.0.1:{server.port}/postgres")


def test_no_password_in_url_uses_pgpass_file(server, tmp_path, monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    pgpass = tmp_path / "pgpass"
    escaped = auth_pg.PASSWORD.replace("\\", "\\\\").replace(":", "\\:")
    pgpass.write_text(f"127.0.0.1:{server.port}:*:postgres:{escaped}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert _dbt_connects(f"postgresql://postgres@127.0.0.1:{server.port}/postgres")


def test_unix_socket_with_trust(server, monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    assert _dbt_connects(f"postgresql://postgres@/postgres?host={server.socket_dir}&port={server.port}")
    assert _dbt_connects(f"postgresql://postgres@{quote(str(server.socket_dir), safe='')}:{server.port}/postgres")


def test_sslmode_in_url_reaches_dbt(server):
    # the test server has no TLS: `require` must be refused and `disable`/`prefer` accepted,
    # which shows the parameter is passed on rather than dropped
    base = f"postgresql://postgres:{ENCODED}@127.0.0.1:{server.port}/postgres"
    assert _dbt_connects(base + "?sslmode=prefer")
    assert not _dbt_connects(base + "?sslmode=require")


@pytest.mark.skipif(bool(os.environ.get("TEST_WAREHOUSE_URL")),
                    reason="uses its own server: the run against another server version adds nothing")
@pytest.mark.parametrize("form", ["password", "socket_trust"])
def test_whole_dag_runs_with_each_url_form(server, form, tmp_path):
    """`make run`'s driver (the real DAG under `airflow dags test`) against each URL form."""

    from tests.test_make_run_e2e import run_make_run

    name = f"w_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.socket_conninfo(), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = (f"postgresql://postgres:{ENCODED}@127.0.0.1:{server.port}/{name}" if form == "password"
           else f"postgresql://postgres@/{name}?host={server.socket_dir}&port={server.port}")
    run_make_run(url, tmp_path / "var", households=200, seed=5, unset=("PGPASSWORD", "PGPASSFILE"))
    with psycopg.connect(server.socket_conninfo(name)) as conn:
        marts = conn.execute("select count(*) from information_schema.tables "
                             "where table_schema = 'marts'").fetchone()[0]
        rules = conn.execute("select count(distinct rule_id) from dq.validation_run").fetchone()[0]
    assert marts >= 17 and rules > 30
    assert list((tmp_path / "var" / "outbox").glob("*.eml"))
