"""The dbt files of the feeds are generated from the mappings (ingest.feeds.dbt_codegen), and a
new mapping alone brings a new feed all the way into dbt staging."""
from __future__ import annotations

import datetime as dt
import re
import shutil
from decimal import Decimal

import psycopg
from feedfiles import RUN_DATE, write_csv

import pipeline.dbt
from ingest.feeds import dbt_codegen, ensure_feed_tables, load_all, load_folder
from ingest.feeds import mapping as feed_mapping
from ingest.feeds.mapping import FOLDERS, MAPPINGS_DIR, discover_folders, load_mapping
from pipeline.dbt import DBT_PROJECT_DIR, run_dbt

INT_DEPT_SIGNALS = DBT_PROJECT_DIR / "models" / "intermediate" / "monitoring" / "int_dept_signals.sql"

# A department feed nobody has heard of yet: 农业农村局's farmland subsidy, one row per plot.
NEW_FOLDER = "nongye"
NEW_MAPPING = """\
folder: nongye
department: 农业农村局
cadence: weekly
description: 耕地地力保护补贴发放
business_key: [plot_id]
columns:
  - {name: plot_id, headers: [地块编号], type: code, required: true, nullable: false}
  - {name: holder_id_number, headers: [承包户身份证号], type: id_number, required: true}
  - {name: area_mu, headers: [面积(亩)], type: numeric}
  - {name: subsidy_amount, headers: [补贴金额(元)], type: money_yuan}
  - {name: paid_on, headers: [发放日期], type: date}
"""
HEADER = "地块编号,承包户身份证号,面积(亩),补贴金额(元),发放日期"


def test_committed_dbt_files_are_what_the_mappings_generate():
    stale = dbt_codegen.drift()
    assert not stale, (f"generated dbt files differ from ingest/feeds/mappings: {stale}; "
                       f"run `{dbt_codegen.MAKE_TARGET}` and commit the result")


def test_folders_are_discovered_and_verification_stays_out_of_the_daily_load():
    every = discover_folders(daily_only=False)
    assert every == tuple(sorted(p.stem for p in MAPPINGS_DIR.glob("*.yml")))
    assert "verification" in every and not load_mapping("verification").daily_load
    assert set(FOLDERS) == set(every) - {"verification"}
    assert not (DBT_PROJECT_DIR / dbt_codegen.staging_model_path("verification")).exists()
    sources = (DBT_PROJECT_DIR / dbt_codegen.SOURCES_FILE).read_text(encoding="utf-8")
    assert "feed_verification" not in sources
    assert "identifier: feed_yibao" in sources


def test_a_broken_mapping_is_still_a_folder_and_fails_alone(conn, tmp_path, monkeypatch, landing):
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, mappings)
    (mappings / "broken.yml").write_text("folder: broken\ncolumns: [", encoding="utf-8")
    monkeypatch.setattr(feed_mapping, "MAPPINGS_DIR", mappings)
    assert {"broken", "gongan"} <= set(discover_folders())
    (landing / "gongan").mkdir(parents=True)
    summaries = load_all(conn, landing, RUN_DATE, folders=["broken", "gongan"])
    assert [(s.folder, s.status) for s in summaries] == [("broken", "failed")]


def test_staging_model_repeats_the_mapping_key_and_columns():
    jiaoyu = dbt_codegen.staging_sql(load_mapping("jiaoyu"))
    assert "{{ feed_rows('jiaoyu', ['id_number']) }}" in jiaoyu
    assert "{{ feed_rows('gongan') }}" in dbt_codegen.staging_sql(load_mapping("gongan"))
    canlian = dbt_codegen.staging_sql(load_mapping("canlian"))
    listed = re.findall(r"^ {8}(\w+),?$", canlian, flags=re.M)
    assert listed == ["disability_cert_no", "id_number", "name", "disability_category",
                      "disability_grade", "issued_on", "status",
                      "extra", "file_date", "line_no", "load_batch_id"]


def test_each_staging_model_has_its_yml_describing_every_column():
    """jaffle-shop style: stg_feeds__<folder>.yml beside the .sql, one Chinese description a column."""
    import yaml

    for folder in FOLDERS:
        sql = dbt_codegen.staging_sql(load_mapping(folder))
        listed = re.findall(r"^ {8}(\w+),?$", sql, flags=re.M)
        doc = yaml.safe_load(dbt_codegen.staging_yml(load_mapping(folder)))
        (model,) = doc["models"]
        assert model["name"] == f"stg_feeds__{folder}" and model["description"]
        assert [c["name"] for c in model["columns"]] == listed, folder
        assert all(re.search(r"[\u4e00-\u9fff]", c["description"]) for c in model["columns"]), folder
    minzheng = yaml.safe_load(dbt_codegen.staging_yml(load_mapping("minzheng")))["models"][0]
    described = {c["name"]: c["description"] for c in minzheng["columns"]}
    assert described["amount"] == "救助金额（元）"
    assert described["load_batch_id"].startswith("装载批次号")


def test_every_department_signal_feed_has_its_cte_in_int_dept_signals():
    sql = INT_DEPT_SIGNALS.read_text(encoding="utf-8")
    signal_feeds = [f for f in FOLDERS if load_mapping(f).source_dept]
    assert len(signal_feeds) == 8
    for folder in signal_feeds:
        assert re.search(rf"^(with )?{folder} \{{\{{ cols \}}\}} as \(", sql, flags=re.M), folder
    assert {load_mapping(f).source_dept for f in FOLDERS if load_mapping(f).health_data} == {"医保", "残联"}


def test_a_new_mapping_flows_through_to_staging(fresh_db_url, tmp_path, monkeypatch, landing):
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, mappings)
    (mappings / f"{NEW_FOLDER}.yml").write_text(NEW_MAPPING, encoding="utf-8")
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(feed_mapping, "MAPPINGS_DIR", mappings)
    monkeypatch.setattr(pipeline.dbt, "DBT_PROJECT_DIR", project)

    # discovered from the file alone; the committed dbt files are now behind (the drift test's case)
    assert NEW_FOLDER in discover_folders()
    model = dbt_codegen.staging_model_path(NEW_FOLDER)
    assert str(model) in dbt_codegen.drift(project)
    dbt_codegen.write(project)
    assert dbt_codegen.drift(project) == []
    assert f"identifier: feed_{NEW_FOLDER}" in (project / dbt_codegen.SOURCES_FILE).read_text(encoding="utf-8")

    write_csv(landing, NEW_FOLDER, "20261120", [
        HEADER,
        "DK-001,341225199001011234,2.5,\"1,250.00\",2026-11-18",
        "DK-002,341225199001011235,1.0,500,2026-11-18",
    ])
    write_csv(landing, NEW_FOLDER, "20261127", [   # a week later: DK-001 re-measured
        HEADER,
        "DK-001,341225199001011234,3.0,1500元,2026-11-25",
    ])
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        ensure_feed_tables(conn, [NEW_FOLDER])
        summaries = load_folder(conn, landing, NEW_FOLDER, RUN_DATE)
        assert [s.status for s in summaries] == ["succeeded", "succeeded"]
        assert conn.execute(f"select count(*) from raw.feed_{NEW_FOLDER}").fetchone()[0] == 3

    run_dbt(["build", "--quiet", "--select", f"stg_feeds__{NEW_FOLDER}"], fresh_db_url, RUN_DATE)

    with psycopg.connect(fresh_db_url) as conn:
        cur = conn.execute(f"select * from staging.stg_feeds__{NEW_FOLDER} order by plot_id")
        columns = [d.name for d in cur.description]
        staged = cur.fetchall()
    assert columns == ["plot_id", "holder_id_number", "area_mu", "subsidy_amount", "paid_on",
                       "extra", "file_date", "line_no", "load_batch_id"]
    # latest row per business key (plot_id): DK-001 from the later file, DK-002 as delivered
    assert [row[:5] + row[6:7] for row in staged] == [
        ("DK-001", "341225199001011234", Decimal("3.0"), Decimal("1500"), dt.date(2026, 11, 25),
         dt.date(2026, 11, 27)),
        ("DK-002", "341225199001011235", Decimal("1.0"), Decimal("500"), dt.date(2026, 11, 18),
         dt.date(2026, 11, 20)),
    ]
