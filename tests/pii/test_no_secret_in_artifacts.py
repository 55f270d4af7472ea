"""Issue 9, done-when 1: run the whole DAG (`python -m local.run`, real Airflow, cosmos, dbt, GX,
digests) with a distinctive hash key, a warehouse login with a password and a distinctive
platform secret, then scan everything the run wrote for any of the three: every file under the
run's var/ (dbt target and docs, logs, GX stores and Data Docs, outbox, the Airflow SQLite
metadata database byte by byte, free pages included), dbt_project/target and logs, cosmos'
cache, the driver's own output, and the Airflow tables that hold rendered task fields and XCom
(checked to be non-empty, so the scan cannot pass by looking at nothing).

Slow (a whole DAG run); the scanner itself is proved on planted secrets first."""
from __future__ import annotations

import base64
import gzip
import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[2]


def needles(secrets: dict[str, str]) -> dict[bytes, str]:
    """Every way a secret could be written: as is, URL-quoted, hex, base64 at the three
    alignments (alone and as HTTP Basic `id:secret`), UTF-16."""
    out: dict[bytes, str] = {}
    for name, value in secrets.items():
        raw = value.encode()
        forms = {raw, quote(value, safe="").encode(), raw.hex().encode(), value.encode("utf-16-le")}
        for prefix in (b"", b"demo:", b"x", b"xx"):
            b64 = base64.b64encode(prefix + raw)
            # drop the characters that depend on the prefix or the padding
            skip = {0: 0, 1: 2, 2: 3, 3: 4, 5: 8}[len(prefix)]
            forms.add(b64[skip: skip + max(8, len(b64) - skip - 4)])
        out |= {f: name for f in forms if len(f) >= 8}
    return out


def _contents(path: Path) -> list[bytes]:
    data = path.read_bytes()
    parts = [data]
    try:
        if data[:2] == b"\x1f\x8b":
            parts.append(gzip.decompress(data))
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                parts += [z.read(n) for n in z.namelist()]
    except (OSError, zipfile.BadZipFile, EOFError):
        pass
    return parts


def scan_tree(roots: list[Path], secrets: dict[str, str]) -> tuple[list[str], int]:
    """(findings "<secret> in <file>", number of files read)."""
    forms = needles(secrets)
    found, files = [], 0
    for root in roots:
        if not root.exists():
            continue
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            files += 1
            for blob in _contents(path):
                hits = {name for form, name in forms.items() if form in blob}
                found += [f"{name} in {path}" for name in sorted(hits)]
    return sorted(set(found)), files


def scan_airflow_db(db: Path, secrets: dict[str, str]) -> tuple[list[str], dict[str, int]]:
    """Every text/blob value of every table (rendered fields, XCom, DAG runs, connections,
    variables, logs), decoded; returns findings and the row counts of the tables that matter."""
    forms = needles(secrets)
    found, counts = [], {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        names = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        for t in names:
            rows = conn.execute(f'select * from "{t}"').fetchall()
            counts[t] = len(rows)
            for row in rows:
                for v in row:
                    blob = v if isinstance(v, bytes) else str(v).encode() if v is not None else b""
                    for form, name in forms.items():
                        if form in blob:
                            found.append(f"{name} in airflow table {t}")
    return sorted(set(found)), counts


def test_scanner_finds_planted_secrets(tmp_path):
    secrets = {"key": "scan-self-test-key-0d9f2c", "password": "pw-7Hq2xR9s"}
    (tmp_path / "a.log").write_text(f"url postgresql://u:{secrets['password']}@h/db", encoding="utf-8")
    (tmp_path / "b.json.gz").write_bytes(gzip.compress(b'{"k": "' + base64.b64encode(b"demo:" + secrets["key"].encode()) + b'"}'))
    (tmp_path / "c.txt").write_bytes(secrets["key"].encode().hex().encode())
    with sqlite3.connect(tmp_path / "airflow.db") as db:
        db.execute("create table xcom (value blob)")
        db.execute("insert into xcom values (?)", (f'"{secrets["key"]}"'.encode(),))
    found, files = scan_tree([tmp_path], secrets)
    assert files == 4
    assert "password in " + str(tmp_path / "a.log") in found
    assert "key in " + str(tmp_path / "b.json.gz") in found
    assert "key in " + str(tmp_path / "c.txt") in found
    assert "key in " + str(tmp_path / "airflow.db") in found
    assert scan_airflow_db(tmp_path / "airflow.db", secrets)[0] == ["key in airflow table xcom"]
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "x.log").write_text("nothing to see", encoding="utf-8")
    assert scan_tree([clean], secrets) == ([], 1)


def _owner_login(pg_server_url: str, tag: str, password: str) -> str:
    """A login with a password that owns a fresh warehouse database (the DBA script's shape)."""
    from pipeline.bi_access import scram_verifier

    role, db = f"scan_{tag}", f"scan_{tag}"
    subprocess.run(["psql", f"{pg_server_url}/postgres", "-X", "-q", "-f", str(REPO / "pipeline" / "sql" / "dba_setup.sql"),
                    "-v", f"warehouse={db}", "-v", f"pipeline={role}", "-v", f"bi_login=bi_scan_{tag}"],
                   check=True, capture_output=True, text=True, timeout=120)
    with psycopg.connect(f"{pg_server_url}/postgres", autocommit=True) as su:
        su.execute(sql.SQL("alter role {} password {}").format(sql.Identifier(role), sql.Literal(scram_verifier(password))))
    host = pg_server_url.rsplit("@", 1)[1]
    return f"postgresql://{role}:{password}@{host}/{db}"


def test_a_whole_run_leaves_no_key_password_or_secret(pg_server_url, tmp_path):
    tag = uuid.uuid4().hex[:8]
    secrets = {"PII_HASH_KEY": f"pii-key-{uuid.uuid4().hex}",
               "warehouse password": f"whpw{uuid.uuid4().hex[:16]}",
               "platform secret": f"platsecret-{uuid.uuid4().hex[:16]}"}
    url = _owner_login(pg_server_url, tag, secrets["warehouse password"])
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PLATFORM_BASE_URL", "PLATFORM_CLIENT_ID", "PLATFORM_CLIENT_SECRET", "LANDING_DIR",
                        "OUTBOX_DIR", "GX_PROJECT_DIR", "DBT_DOCS_DIR", "AIRFLOW_HOME", "BI_READER_PASSWORD")}
    env.update(WAREHOUSE_URL=url, FPR_VAR_DIR=str(var), RUN_DATE="2026-11-28", SIM_HOUSEHOLDS="300",
               SIM_SEED="3", PII_HASH_KEY=secrets["PII_HASH_KEY"], SIM_CLIENT_SECRET=secrets["platform secret"])
    proc = subprocess.run([sys.executable, "-m", "local.run"], cwd=REPO, env=env, check=False,
                          capture_output=True, text=True, timeout=1500)
    (tmp_path / "driver_output.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")

    cosmos_cache = Path(tempfile.gettempdir()) / "cosmos"
    roots = [var, REPO / "dbt_project" / "target", REPO / "dbt_project" / "logs", REPO / "logs",
             tmp_path / "driver_output.txt", cosmos_cache]
    found, files = scan_tree(roots, secrets)
    airflow_db = var / "airflow" / "airflow.db"
    db_found, counts = scan_airflow_db(airflow_db, secrets)
    report = "\n".join(found + db_found)
    print(f"scanned {files} files; airflow tables with rows: "
          f"{ {t: n for t, n in counts.items() if n} }\n{report or 'nothing found'}")

    log = var / "airflow" / "last_run.log"
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + (
        log.read_text()[-5000:] if log.exists() else "")
    assert files > 100 and (var / "outbox").is_dir() and (var / "dbt_docs" / "manifest.json").exists()
    assert counts.get("rendered_task_instance_fields", 0) > 0 and counts.get("xcom", 0) > 0
    assert found + db_found == [], report
