"""Every figure of the report marts against Python over the province's own records (platform
JSONL, the landing files as written) and dq.issue as the rules left it; never the mart SQL."""
from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict

import pytest
from reportdata import RUN_DATE, d, live, local_date, median, months_back, quarters_back

from expectations import policy

FAMILIES = ["PAPER", "GRID", "MISS", "EXIT", "CONS", "ID", "FUND", "SALE"]
DEV = {"产业帮扶", "就业帮扶", "金融帮扶", "公益岗位帮扶"}
# the platform's code lists, with the column suffixes rpt_monthly_review counts them under
RISK_TYPES = {"因病": "illness", "因残": "disability", "因学": "education", "因自然灾害": "disaster",
              "因意外事故": "accident", "因产业项目失败": "industry_failure", "因务工就业不稳": "unstable_employment",
              "缺劳动力": "lacking_labour", "因安全住房": "housing", "因安全饮水": "drinking_water", "其他": "other"}
CATEGORIES = {"产业帮扶": "industry", "就业帮扶": "employment", "金融帮扶": "finance", "公益岗位帮扶": "public_welfare_job",
              "健康帮扶": "health", "义务教育保障": "compulsory_education", "其他教育帮扶": "other_education",
              "综合保障": "social_security", "住房安全保障": "housing_security",
              "饮水安全保障": "drinking_water_security", "社会帮扶": "social_assistance", "搬迁": "relocation",
              "生产生活条件改善": "living_conditions", "基础设施建设": "infrastructure"}


def _risks(case: dict) -> set[str]:
    """A case's risk types as the code list spells them (exports may drop 因 of 务工就业不稳)."""
    return {"因务工就业不稳" if r.strip() == "务工就业不稳" else r.strip() for r in (case["risk_types"] or [])}


def _mart(db, sql):
    cur = db.execute(sql)
    names = [c.name for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _rejected_rows(db) -> Counter:
    """Rows in raw.rejected_row per file of its current load. Not the generator's
    expected_rejects.csv: a row whose broken field does not identify it is now kept (the value
    nulled, a field warning), so which rows are rejected is the loader's documented decision."""
    return Counter(dict(db.execute(
        "select b.origin, count(r.batch_id) from raw.load_batch b "
        "left join raw.rejected_row r using (batch_id) "
        "where b.status = 'succeeded' and b.source <> 'platform' group by b.origin").fetchall()))


@pytest.fixture(scope="module")
def issues(reports_db):
    import psycopg

    with psycopg.connect(reports_db) as conn:
        return _mart(conn, "select * from dq.issue")


def test_monthly_review_every_figure(db, platform_records, issues):
    hh = {h["household_id"]: h for h in live(platform_records, "households", "household_id")}
    cases = [c for c in live(platform_records, "monitoring_cases", "case_id") if c["household_id"] in hh]
    measures = [m for m in live(platform_records, "assistance_measures", "measure_id") if m["household_id"] in hh]
    county = lambda hid: hh[hid]["village_code"][:6]
    incomes: dict[tuple, dict] = {}
    for r in platform_records["incomes"]:           # latest version per (household, year)
        k = (r["household_id"], r["year"])
        if k not in incomes or r["updated_at"] >= incomes[k]["updated_at"]:
            incomes[k] = r
    incomes_of = defaultdict(list)
    for (hid, _year), r in incomes.items():
        if hid in hh and not r["is_deleted"]:
            incomes_of[hid].append(r)
    thresholds = {int(y): float(v) for y, v in policy.load_policy()["income_threshold_per_year"].items()
                  if str(y) != "default"}
    mart = {(r["review_month"], r["county_code"]): r for r in _mart(db, "select * from marts.rpt_monthly_review")}
    counties = {county(h) for h in hh}
    seen = Counter()
    assert len(mart) == 6 * len(counties)
    for start, end in months_back(RUN_DATE):
        for cty in counties:
            row = mart[(start, cty)]
            assert row["month_end"] == end
            mine = [c for c in cases if county(c["household_id"]) == cty]
            monitored = {c["household_id"] for c in mine if d(c["identified_on"]) <= end
                         and not (c["is_eliminated"] and (c["eliminated_on"] is None or d(c["eliminated_on"]) <= end))}
            entered = {c["household_id"] for c in mine if start <= d(c["identified_on"]) <= end}
            left = {c["household_id"] for c in mine
                    if c["is_eliminated"] and c["eliminated_on"] and start <= d(c["eliminated_on"]) <= end}
            illness = {c["household_id"] for c in mine
                       if start <= d(c["identified_on"]) <= end and "因病" in (c["risk_types"] or [])}
            active = [m for m in measures if m["household_id"] in monitored and d(m["start_date"]) <= end
                      and (m["end_date"] is None or d(m["end_date"]) >= end)]
            with_measure = {m["household_id"] for m in active}
            with_dev = {m["household_id"] for m in active if m["category"] in DEV}
            assert (row["monitored_households"], row["households_entered"], row["households_left"],
                    row["entered_with_illness_risk"], row["monitored_with_measure"],
                    row["monitored_with_developmental_measure"]) == (
                len(monitored), len(entered), len(left), len(illness), len(with_measure), len(with_dev)), start
            for rt, slug in RISK_TYPES.items():
                at_end = {c["household_id"] for c in mine if c["household_id"] in monitored and rt in _risks(c)}
                new = {c["household_id"] for c in mine if start <= d(c["identified_on"]) <= end and rt in _risks(c)}
                assert (row[f"monitored_risk_{slug}"], row[f"entered_risk_{slug}"]) == (len(at_end), len(new)), rt
                seen[rt] += len(at_end)
            for cat, slug in CATEGORIES.items():
                assert row[f"monitored_with_{slug}"] == len({m["household_id"] for m in active
                                                             if m["category"] == cat}), cat
                seen[cat] += row[f"monitored_with_{slug}"]
            below = set()
            for hid in (h for h in hh if county(h) == cty):
                known = [r for r in incomes_of[hid] if r["year"] <= end.year]
                if known:
                    last = max(known, key=lambda r: r["year"])
                    if last["year"] in thresholds and last["per_capita_net_income"] < thresholds[last["year"]]:
                        below.add(hid)
            assert (row["income_below_threshold"], row["income_below_threshold_unmonitored"]) == (
                len(below), len(below - monitored)), start
            seen["below"] += len(below)
            share = round(len(with_measure) / len(monitored), 4) if monitored else None
            assert (float(row["measure_coverage"]) if row["measure_coverage"] is not None else None) == share
            open_at = [i for i in issues if i["county_code"] == cty and i["first_detected_on"] <= end
                       and (i["resolved_on"] is None or i["resolved_on"] > end)]
            assert row["open_findings"] == len(open_at)
            for fam in FAMILIES:
                assert row[f"open_{fam.lower()}"] == sum(i["rule_id"].startswith(fam + "-") for i in open_at), fam
            assert row["new_findings"] == sum(i["county_code"] == cty and start <= i["first_detected_on"] <= end
                                              for i in issues)
            assert row["resolved_findings"] == sum(i["county_code"] == cty and i["resolved_on"] is not None
                                                   and start <= i["resolved_on"] <= end for i in issues)
    # the data is not trivial: the months differ, findings are counted
    assert any(r["households_entered"] for r in mart.values())
    assert any(r["open_findings"] for r in mart.values())
    # more than one risk type and measure category occur; some households fall below the line
    assert sum(seen[rt] > 0 for rt in RISK_TYPES) > 3 and sum(seen[c] > 0 for c in CATEGORIES) > 3, seen
    assert seen["below"] > 0


def _haversine(lat1, lon1, lat2, lon2):
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def test_grid_worker_monthly_every_figure(db, platform_records, issues):
    hh = {h["household_id"]: h for h in live(platform_records, "households", "household_id")}
    visits = [v for v in live(platform_records, "visits", "visit_id") if v["household_id"] in hh and v["worker_id"]]
    months = months_back(RUN_DATE)
    lo = months[0][0]
    paper = Counter(i["entity_id"] for i in issues if i["rule_id"].startswith("PAPER-") and i["entity_type"] == "visit")
    cleared = Counter(i["entity_id"] for i in issues if i["rule_id"].startswith("PAPER-")
                      and i["entity_type"] == "visit" and i["status"] == "resolved")
    groups = defaultdict(list)
    for v in visits:
        day = local_date(v["started_at"])
        if lo <= day <= RUN_DATE:
            groups[(day.replace(day=1), v["worker_id"])].append(v)
    mart = {(r["review_month"], r["worker_id"]): r for r in _mart(db, "select * from marts.rpt_grid_worker_monthly")}
    assert set(mart) == set(groups)
    for key, vs in groups.items():
        row = mart[key]
        in_person = [v for v in vs if v["mode"] == "入户"]
        # fct_visit keeps minutes to two decimals
        dur = [round((dt.datetime.fromisoformat(v["ended_at"]) - dt.datetime.fromisoformat(v["started_at"]))
                     .total_seconds() / 60, 2) for v in vs]
        has_gps = [v["gps_lat"] is not None and v["gps_lon"] is not None for v in in_person]
        dist = [_haversine(v["gps_lat"], v["gps_lon"], hh[v["household_id"]]["home_lat"], hh[v["household_id"]]["home_lon"])
                for v in in_person if v["gps_lat"] is not None and v["gps_lon"] is not None
                and hh[v["household_id"]]["home_lat"] is not None]
        photos = [len(v["photo_sha256"] or []) for v in vs]
        assert (row["visits"], row["in_person_visits"]) == (len(vs), len(in_person)), key
        assert float(row["in_person_share"]) == round(len(in_person) / len(vs), 4)
        # a visit's recorded length (a mart column), not a timing of the test
        visit_minutes = row["median_duration_minutes"]
        assert visit_minutes == pytest.approx(median(dur), abs=1e-6)
        if in_person:
            assert float(row["in_person_gps_share"]) == round(sum(has_gps) / len(has_gps), 4)
        if dist:
            assert row["median_distance_from_home_km"] == pytest.approx(median(dist), rel=1e-6)
        assert (row["photos"], row["visits_with_photo"]) == (sum(photos), sum(p > 0 for p in photos))
        assert row["paper_findings"] == sum(paper[v["visit_id"]] for v in vs)
        assert row["paper_findings_cleared"] == sum(cleared[v["visit_id"]] for v in vs)
    assert sum(r["paper_findings"] for r in mart.values()) > 0


def test_feed_completeness_every_figure(db, history_province):
    """From the landing files as written: every file present on its day with its row count;
    the truncated file refused; everything loaded by the one run on RUN_DATE (late otherwise)."""
    import json

    manifest = json.loads((history_province / "manifest.json").read_text(encoding="utf-8"))
    rejects = _rejected_rows(db)
    daily = {"yibao", "minzheng", "canlian", "gongan", "jiaoyu", "zhujian", "shuili", "renshe"}
    files = {}
    for rel, n in manifest["landing_files"].items():
        tree, folder, name = rel.split("/")
        day = dt.datetime.strptime(name.split("_")[-1][:8], "%Y%m%d").date()
        if tree == "landing" and day <= RUN_DATE:
            files[(folder, day)] = (name, n, rel == manifest["truncated_file"])
    mart = {(r["folder"], r["report_day"]): r for r in _mart(db, "select * from marts.rpt_feed_completeness")}
    first = defaultdict(lambda: RUN_DATE)
    for folder, day in files:
        first[folder] = min(first[folder], day)
    expected_keys = {(f, first[f] + dt.timedelta(days=i)) for f in first
                     for i in range((RUN_DATE - max(first[f], RUN_DATE - dt.timedelta(days=180))).days + 1)}
    assert set(mart) == expected_keys
    for key, row in mart.items():
        folder, day = key
        assert row["expected_files"] == (1 if folder in daily else 0)
        name, n, refused = files.get(key, (None, 0, False))
        received = name is not None and not refused
        assert row["received_files"] == int(received), key
        assert row["load_failed"] == refused, key
        assert row["is_late"] == (received and day < RUN_DATE), key
        assert row["rows_in"] == (n if received else 0), key
        assert row["rows_rejected"] == (rejects.get(name, 0) if received else 0), key
        assert row["rows_loaded"] == row["rows_in"] - row["rows_rejected"]
    assert sum(r["expected_files"] - r["received_files"] for r in mart.values() if r["expected_files"]) >= 3


def test_dept_linkage_quarterly_every_figure(db, history_province, platform_records):
    """rows_received from the landing files as written; the signal figures aggregated in Python
    from the signal, case and visit rows (fct_dept_signal, fct_monitoring_case, fct_visit)."""
    import json

    manifest = json.loads((history_province / "manifest.json").read_text(encoding="utf-8"))
    rejects = _rejected_rows(db)
    daily = ["yibao", "minzheng", "canlian", "gongan", "jiaoyu", "zhujian", "shuili", "renshe"]
    signals = _mart(db, "select signal_id, source, source_dept, household_id, received_on, event_date, id_hash, "
                        "matched_person_count from marts.fct_dept_signal where source <> 'platform'")
    cases = _mart(db, "select household_id, identified_on from marts.fct_monitoring_case")
    checks = _mart(db, "select household_id, worker_id, visit_date from marts.fct_visit where visit_type = '预警核查'")
    # the platform's alerts as it pushed them (JSONL); only the keyed ID hash comes from the warehouse
    hashes = dict(db.execute("select signal_id, id_hash from marts.fct_dept_signal where source = 'platform'").fetchall())
    alerts = [dict(a, id_hash=hashes[a["alert_id"]], pushed_on=local_date(a["pushed_at"]))
              for a in live(platform_records, "alerts", "alert_id") if a["alert_id"] in hashes]
    with_alert = 0
    mart = {(r["quarter_start"], r["folder"]): r for r in _mart(db, "select * from marts.rpt_dept_linkage_quarterly")}
    assert len(mart) == 4 * len(daily)
    for start, end in quarters_back(RUN_DATE):
        for folder in daily:
            row = mart[(start, folder)]
            loaded = 0
            for rel, n in manifest["landing_files"].items():
                tree, f, name = rel.split("/")
                day = dt.datetime.strptime(name.split("_")[-1][:8], "%Y%m%d").date()
                if tree == "landing" and f == folder and start <= day <= end and rel != manifest["truncated_file"]:
                    loaded += n - rejects.get(name, 0)
            assert row["rows_received"] == loaded, (start, folder)
            mine = [s for s in signals if s["source"] == folder and start <= s["received_on"] <= end]
            matched = sum(s["matched_person_count"] > 0 for s in mine)
            brought = {s["household_id"] for s in mine for c in cases
                       if s["household_id"] and c["household_id"] == s["household_id"]
                       and s["received_on"] <= c["identified_on"] <= end}
            waits, verified, by_alert, n_alert = [], 0, 0, 0
            for s in mine:
                visits = [c for c in checks if s["household_id"] and c["household_id"] == s["household_id"]
                          and s["received_on"] <= c["visit_date"] <= end]
                same = sorted((a for a in alerts if s["id_hash"] and a["id_hash"] == s["id_hash"]
                               and a["source_dept"] == s["source_dept"] and s["event_date"] <= a["pushed_on"] <= end),
                              key=lambda a: (a["pushed_on"], a["alert_id"]))
                if same:
                    n_alert += 1
                    alert = same[0]
                    if alert["verify_result"] not in ("已纳入监测", "经核实无风险"):
                        continue
                    verified += 1
                    by_alert += 1
                    visits = [c for c in visits if c["worker_id"] == alert["verified_by_worker_id"]] or visits
                elif visits:
                    verified += 1
                if visits:
                    waits.append(min((c["visit_date"] - s["received_on"]).days for c in visits))
            with_alert += n_alert
            assert (row["signals"], row["matched_signals"], row["households_brought_in"],
                    row["verified_signals"], row["unverified_signals"], row["signals_with_platform_alert"],
                    row["verified_by_platform_alert"]) == (
                len(mine), matched, len(brought), verified, len(mine) - verified, n_alert, by_alert), (start, folder)
            assert (float(row["matched_share"]) if row["matched_share"] is not None else None) == \
                   (round(matched / len(mine), 4) if mine else None)
            assert row["median_days_to_verify"] == median(waits)
    assert sum(r["rows_received"] for r in mart.values()) > 0 and sum(r["signals"] for r in mart.values()) > 0
    print(f"signals with a platform alert: {with_alert}")
