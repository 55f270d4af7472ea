"""Synthetic province generator: determinism, contract shape, ground truth coverage, messy files."""
from __future__ import annotations

import csv
import filecmp
import json
import re
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest

from sim.generator import generate
from sim.generator.ids import id_valid, normalise
from sim.generator.schema import ALL_FOLDERS, RESOURCES
from sim.generator.truth import RULES

R = date(2026, 11, 28)
N = 400


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("dirty")
    return out, generate(out, R, seed=42, households=N)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean")
    return out, generate(out, R, seed=42, households=N, clean=True)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _jsonl(out: Path, res: str) -> list[dict]:
    return [json.loads(line) for line in (out / "platform" / f"{res}.jsonl").read_text(encoding="utf-8").splitlines()]


def _truth(out: Path) -> set[tuple[str, str]]:
    rows = list(csv.reader((out / "ground_truth.csv").open(encoding="utf-8")))
    assert rows[0] == ["rule_id", "entity_id"]
    return {tuple(r) for r in rows[1:]}


def test_deterministic(dirty, tmp_path):
    out, _ = dirty
    again = tmp_path / "again"
    generate(again, R, seed=42, households=N)
    assert _files(out) == _files(again)
    diff = [f for f in _files(out) if not filecmp.cmp(out / f, again / f, shallow=False)]
    assert diff == []


def test_other_seed_differs(dirty, tmp_path):
    out, _ = dirty
    other = tmp_path / "other"
    generate(other, R, seed=43, households=N)
    assert (out / "platform" / "persons.jsonl").read_bytes() != (other / "platform" / "persons.jsonl").read_bytes()


def test_platform_contract_shape(dirty):
    out, m = dirty
    ts_re = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
    deleted_in = set()
    for res, fields in RESOURCES.items():
        recs = _jsonl(out, res)
        assert recs and len(recs) == m["platform_counts"][res]
        for r in recs:
            assert list(r) == fields + ["updated_at", "is_deleted"], res
            assert ts_re.match(r["updated_at"]) and r["updated_at"][:10] <= R.isoformat()
            assert isinstance(r["is_deleted"], bool)
            if r["is_deleted"]:
                deleted_in.add(res)
    assert {"households", "persons", "visits", "monitoring_cases", "grid_workers", "alerts"} <= deleted_in
    # some records changed on the run date and the days before (incremental pulls)
    assert any(r["updated_at"].startswith(R.isoformat()) for r in _jsonl(out, "persons"))
    visits = _jsonl(out, "visits")
    for v in visits:
        for k in ("started_at", "ended_at", "submitted_at"):
            assert ts_re.match(v[k])
        assert isinstance(v["photo_sha256"], list)
        if v["mode"] != "入户":
            assert v["gps_lat"] is None
    # a deleted household still has live persons, visits and a case pointing at it
    dead_h = {h["household_id"] for h in _jsonl(out, "households") if h["is_deleted"]}
    assert any(p["household_id"] in dead_h and not p["is_deleted"] for p in _jsonl(out, "persons"))
    assert any(v["household_id"] in dead_h for v in visits)
    assert any(c["household_id"] in dead_h for c in _jsonl(out, "monitoring_cases"))
    regions = _jsonl(out, "regions")
    assert all(len(r["code"]) == 12 for r in regions if r["level"] == "village")


def test_every_rule_has_truth(dirty):
    out, m = dirty
    gt = _truth(out)
    counts = {r: sum(1 for x, _ in gt if x == r) for r in RULES}
    assert [r for r, c in counts.items() if c == 0] == []
    assert counts == m["truth_counts"]
    # every plant is found by the truth (except PAPER-08, planted per household, flagged per visit)
    for rule, plants in m["plants"].items():
        if rule == "PAPER-08":
            continue
        assert {p["entity_id"] for p in plants} <= {e for r, e in gt if r == rule}, rule
    assert ("FRESH-01", "shuili") in gt


def test_clean_has_no_truth(clean):
    out, m = clean
    assert _truth(out) == set()
    assert m["plants"] == {}
    assert all(c == 0 for c in m["truth_counts"].values())


def test_deleted_records_drop_out(dirty):
    out, m = dirty
    gt = _truth(out)
    ents = {e for _, e in gt}
    dead_h = set(m["tombstones"]["households"])
    assert not dead_h & ents
    visits = _jsonl(out, "visits")
    assert not {v["visit_id"] for v in visits if v["household_id"] in dead_h or v["is_deleted"]} & ents
    assert not set(m["tombstones"]["persons"]) & ents
    assert not set(m["tombstones"]["alerts"]) & ents
    # the withdrawn (corrected) row and the future-dated file change nothing
    assert ("ID-03", m["redeliveries"][1]["withdrawn_person_id"]) not in gt
    assert m["truth_if_redelivery_ignored"]
    assert ("ID-03", m["future_files"][0]["person_id"]) not in gt


def test_id_numbers_valid_except_plants(dirty):
    out, m = dirty
    planted = {p["entity_id"] for r in ("ID-01",) for p in m["plants"][r]} | set(m["tombstones"]["persons"])
    dead_h = set(m["tombstones"]["households"])
    bad = set()
    for p in _jsonl(out, "persons"):
        n = normalise(p["id_number"])
        if not id_valid(n):
            bad.add(p["person_id"])
        elif p["person_id"] not in {x["entity_id"] for x in m["plants"]["ID-04"] + m["plants"]["ID-02"]} and p["household_id"] not in dead_h:
            assert n[6:14] == p["birth_date"].replace("-", "") and (int(n[16]) % 2 == 1) == (p["gender"] == "男")
            assert n.startswith("341225")
    assert bad and bad <= planted
    assert any(len(p["id_number"]) == 20 and p["id_type"] == "残疾人证" for p in _jsonl(out, "persons"))


REQUIRED_CASES = [
    "encoding_gb18030", "encoding_utf8", "encoding_utf8_bom", "encoding_differs_from_contract",
    "xlsx_title_row", "xlsx_blank_rows", "xlsx_repeated_header", "xlsx_totals_row",
    "date_iso", "date_slash", "date_compact", "date_cn", "date_excel_serial",
    "money_comma", "money_yuan", "money_empty",
    "id_fullwidth_digits", "id_surrounding_spaces", "id_lowercase_x", "id_scientific_notation",
    "header_trailing_spaces", "header_fullwidth_brackets", "header_without_value_list",
    "missing_optional_column", "extra_unknown_column", "empty_file_header_only", "truncated_file",
    "redelivery_identical", "redelivery_corrected",
]


def test_every_messy_case_present(dirty):
    out, m = dirty
    cases = m["messy_cases"]
    assert [c for c in REQUIRED_CASES if not cases.get(c)] == []
    for c, files in cases.items():
        for f in files:
            assert (out / f).is_file(), (c, f)
    # truncated: older than the run date, no trailing newline, last line short
    tr = out / m["truncated_file"]
    assert not tr.name.endswith(f"{R:%Y%m%d}.csv")
    assert not tr.read_bytes().endswith(b"\n")
    # header-only file
    assert len((out / m["header_only_file"]).read_bytes().decode("utf-8-sig").strip().splitlines()) == 1
    ident, corr = m["redeliveries"]
    assert (out / ident["file"]).read_bytes() == (out / ident["replaces"]).read_bytes()
    assert (out / corr["file"]).read_bytes() != (out / corr["replaces"]).read_bytes()
    raw = (out / "landing/yibao").glob("*.csv")
    assert any(b"3.41225E+17" in p.read_bytes() for p in raw)
    xl = next(f for f in cases["xlsx_title_row"] if "minzheng" in f)
    ws = openpyxl.load_workbook(out / xl).active
    rows = list(ws.iter_rows(values_only=True))
    assert "低保" in str(rows[0][0]) and rows[-1][0] == "合计"
    assert any(all(c is None for c in r) for r in rows)


def test_landing_layout_and_rejects(dirty):
    out, m = dirty
    for folder in ALL_FOLDERS:
        names = sorted(p.name for p in (out / "landing" / folder).iterdir())
        assert names, folder
        dated = {n.split("_")[-1][:8] for n in names}
        assert (f"{R:%Y%m%d}" in dated) == (folder not in m["missing_for_run_date"]), folder
        assert all(re.fullmatch(rf"{folder}_\d{{8}}\.(csv|xlsx)", n) for n in names)
    # FRESH-01 expects only the daily department feeds: a missing export (consumption_supplier) is no finding
    from sim.generator.schema import DEPT_FOLDERS
    assert set(m["missing_for_run_date"]) - set(DEPT_FOLDERS), "the province should also miss an export"
    assert set(m["missing_for_run_date"]) & set(DEPT_FOLDERS) == {e for r, e in _truth(out) if r == "FRESH-01"}
    rej = list(csv.DictReader((out / "expected_rejects.csv").open(encoding="utf-8")))
    assert {r["reason_kind"] for r in rej} >= {"id_scientific_notation", "bad_date", "bad_money", "truncated_row"}
    for r in rej:
        p = out / "landing" / r["folder"] / r["file"]
        if p.suffix == ".csv":
            enc = "gb18030" if r["folder"] in ("yibao", "zhujian", "fund_payment") else "utf-8-sig"
            lines = p.read_bytes().decode(enc, errors="replace").splitlines()
            assert int(r["line_no"]) <= len(lines)
    hist = (R - timedelta(days=5)).strftime("%Y%m%d")
    assert (out / "landing" / "yibao" / f"yibao_{hist}.csv").is_file()



def test_a_city_is_generated_county_by_county(tmp_path):
    """Beyond `county_households`, several counties, each with its own codes, ID numbers and plants."""
    out = tmp_path / "city"
    m = generate(out, R, seed=42, households=900, county_households=300)
    codes = [c["code"] for c in m["counties"]]
    assert len(codes) == 3 and codes[0] == "341225" and sum(c["households"] for c in m["counties"]) == 900
    for res, key in (("households", "household_id"), ("persons", "person_id"), ("visits", "visit_id"),
                     ("monitoring_cases", "case_id"), ("grid_workers", "worker_id"), ("alerts", "alert_id")):
        recs = _jsonl(out, res)
        assert len({r[key] for r in recs}) == len(recs), res
        assert [r["updated_at"] for r in recs] == sorted(r["updated_at"] for r in recs), res
    hh = {h["household_id"]: h["village_code"][:6] for h in _jsonl(out, "households")}
    assert set(hh.values()) == set(codes)
    counties = {r["code"] for r in _jsonl(out, "regions") if r["level"] == "county"}
    assert counties == set(codes)
    case_county = {c["case_id"]: hh[c["household_id"]] for c in _jsonl(out, "monitoring_cases")}
    gt = _truth(out)
    for rule in ("EXIT-01", "CONS-01"):   # every county carries its own plants
        assert {case_county[e] for r, e in gt if r == rule} == set(codes), rule
    assert {r for r, _ in gt} == {r for r, n in m["truth_counts"].items() if n}
    assert m["platform_counts"]["households"] == 900
    assert not (out / ".spool").exists()
