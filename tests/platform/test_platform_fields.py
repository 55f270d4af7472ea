"""Field types: an item whose field the staging views could not cast is rejected with a reason,
the good items beside it load, and what loads does cast (real simulator, real PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import psycopg
import pytest

from ingest.platform.fields import FieldType
from ingest.platform.load import _payload_json, load_resource
from ingest.platform.resources import RESOURCES

D1 = dt.date(2026, 11, 28)

GOOD: dict[str, dict] = {
    "households": {"household_id": "H1", "village_code": "341225103001", "natural_village": "自然村1",
                   "household_type": "脱贫户", "head_person_id": "P1", "household_size": 2,
                   "phone": None, "home_lat": 33.10001, "home_lon": 115.2,
                   "in_relocation_site": False, "no_labor_household": False, "grid_id": "G001"},
    "incomes": {"household_id": "H000001", "year": 2025, "wage_income": 40477.52,
                "business_income": 4614.03, "property_income": 0, "transfer_income": 18917.8,
                "business_expense": 1140.4, "net_income": 63654.38,
                "per_capita_net_income": 31827.19, "compliant_oop_expense": None},
    "persons": {"person_id": "P1", "household_id": "H1", "name": "韩丽丽", "gender": "女",
                "id_type": "居民身份证", "id_number": "341225196506050027",
                "birth_date": "1965-06-05", "relation_to_head": "户主", "ethnicity": "汉族",
                "education": "初中", "student_status": None, "health_status": "健康",
                "labor_skill": "普通劳动力", "work_place": "县内", "work_months": 6,
                "med_insured": True, "dibao_status": "未享受", "tekun_status": "不享受",
                "status": "正常"},
    "monitoring_cases": {"case_id": "C1", "household_id": "H1", "monitor_category": "突发严重困难户",
                         "identified_on": "2026-06-25", "risk_types": ["因病", "因学"],
                         "risk_note": "", "discovery_channel": "部门预警", "is_eliminated": False,
                         "eliminated_on": None, "eliminate_method": None,
                         "contact_worker_id": "W000001"},
    "assistance_measures": {"measure_id": "M1", "household_id": "H1", "person_id": None,
                            "category": "基础设施建设", "item": "通组道路硬化",
                            "start_date": "2024-07-05", "end_date": None, "amount": 3688.77,
                            "fund_project_id": None},
    "grid_workers": {"worker_id": "W1", "name": "周英", "phone": "15072529253", "role": "监测员",
                     "grid_ids": ["G1", "G2"], "appointed_on": "2024-09-04", "trained_on": None,
                     "acknowledged_on": "2024-09-04",
                     "last_login_at": "2026-11-22T19:39:00+08:00", "status": "在岗"},
    "visits": {"visit_id": "V1", "household_id": "H1", "worker_id": "W1", "visit_type": "常规走访",
               "mode": "入户", "started_at": "2026-07-31T08:19:17+08:00",
               "ended_at": "2026-07-31T08:58:29+08:00",
               "submitted_at": "2026-07-31T09:33:16+08:00", "gps_lat": 32.534529,
               "gps_lon": 115.58965, "gps_accuracy_m": 16, "photo_sha256": [],
               "signature_sha256": None, "risk_found": False, "notes": "宣讲政策"},
    "alerts": {"alert_id": "A1", "source_dept": "医保", "person_id": None,
               "id_number": "341225195711220027", "warning_type": "高额医疗支出",
               "event_date": "2026-01-26", "amount": 44388.4,
               "pushed_at": "2026-02-09T16:16:00+08:00", "verify_due_on": "2026-02-24",
               "verify_result": None, "verified_by_worker_id": None},
}

# (resource, field, bad value, the reason the reject must carry); None = the field is left out
BAD = [
    # date
    ("persons", "birth_date", "2026/13/40", '字段 birth_date 不是合法日期（收到 "2026/13/40"）'),
    ("persons", "birth_date", "2026-02-30", '字段 birth_date 不是合法日期（收到 "2026-02-30"）'),
    ("persons", "birth_date", "２０２６-０１-０１", "字段 birth_date 不是合法日期"),
    ("persons", "birth_date", 20260101, "字段 birth_date 不是合法日期（收到 20260101）"),
    ("assistance_measures", "end_date", "", '字段 end_date 不是合法日期（收到 ""）'),
    # datetime
    ("visits", "ended_at", "2026-07-31 08:58:29", "字段 ended_at 不是带时区的合法时间"),
    ("visits", "submitted_at", "2026-07-31T25:00:00+08:00", "字段 submitted_at 不是带时区的合法时间"),
    ("visits", "submitted_at", "2026-07-31T09:00:00+16:00", "字段 submitted_at 不是带时区的合法时间"),
    ("grid_workers", "last_login_at", "昨天", '字段 last_login_at 不是带时区的合法时间（收到 "昨天"）'),
    # integer
    ("households", "household_size", "abc", '字段 household_size 不是整数（收到 "abc"）'),
    ("households", "household_size", 3.0, "字段 household_size 不是整数（收到 3.0）"),
    ("households", "household_size", "3", '字段 household_size 不是整数（收到 "3"）'),
    ("persons", "work_months", True, "字段 work_months 不是整数（收到 true）"),
    ("persons", "work_months", 2**31, "字段 work_months 超出整数范围（收到 2147483648）"),
    # number (double precision)
    ("households", "home_lat", "33.1", '字段 home_lat 不是有限的数值（收到 "33.1"）'),
    ("households", "home_lon", float("inf"), "字段 home_lon 不是有限的数值"),
    ("visits", "gps_accuracy_m", [16], "字段 gps_accuracy_m 不是有限的数值（收到 [16]）"),
    # money (numeric(14,2))
    ("incomes", "net_income", "1,234.50", '字段 net_income 不是合法金额（收到 "1,234.50"）'),
    ("incomes", "wage_income", "1234.5元", '字段 wage_income 不是合法金额（收到 "1234.5元"）'),
    ("incomes", "transfer_income", 1e13, "字段 transfer_income 金额超出范围"),
    ("incomes", "business_income", "", '字段 business_income 不是合法金额（收到 ""）'),
    ("alerts", "amount", False, "字段 amount 不是合法金额（收到 false）"),
    # boolean
    ("monitoring_cases", "is_eliminated", "yes", '字段 is_eliminated 不是布尔值 true/false（收到 "yes"）'),
    ("persons", "med_insured", 1, "字段 med_insured 不是布尔值 true/false（收到 1）"),
    # array of text
    ("visits", "photo_sha256", "x", '字段 photo_sha256 应为文本数组，空时为 []（收到 "x"）'),
    ("grid_workers", "grid_ids", ["G1", 2], "字段 grid_ids 的第 2 个元素不是文本（收到 2）"),
    ("monitoring_cases", "risk_types", {"因病": True}, "字段 risk_types 应为文本数组"),
    # text
    ("persons", "id_number", 341225196506050027, "字段 id_number 应为文本字符串（收到 341225196506050027）"),
    ("households", "natural_village", ["光圩"], '字段 natural_village 应为文本字符串（收到 ["光圩"]）'),
    # required fields: null, missing or blank
    ("households", "village_code", None, "缺少必填字段 village_code（为空）"),
    ("persons", "household_id", "  ", "缺少必填字段 household_id（为空字符串）"),
    ("monitoring_cases", "identified_on", None, "缺少必填字段 identified_on（为空）"),
    ("monitoring_cases", "risk_types", None, "缺少必填字段 risk_types（为空）"),
    ("assistance_measures", "start_date", None, "缺少必填字段 start_date（为空）"),
    ("grid_workers", "grid_ids", None, "缺少必填字段 grid_ids（为空）"),
    ("visits", "started_at", None, "缺少必填字段 started_at（为空）"),
    ("alerts", "verify_due_on", None, "缺少必填字段 verify_due_on（为空）"),
    # what jsonb itself refuses, even in a field nobody knows
    ("households", "extra_note", float("nan"), "条目含有 NaN 或 Infinity"),
    ("persons", "name", "韩\x00丽丽", "条目含有空字符"),
]

# values at the edge of each type that must be accepted AND cast in PostgreSQL
EDGE_GOOD = [
    ("visits", "started_at", "2026-07-31T08:19:17Z"),
    ("visits", "ended_at", "2026-07-31 08:58+0800"),
    ("visits", "submitted_at", "2026-07-31T09:33:16.1234567+08"),
    ("grid_workers", "last_login_at", "2026-11-22T19:39:00-15:59"),
    ("persons", "birth_date", "2024-02-29"),
    ("persons", "work_months", -2**31),
    ("incomes", "net_income", "1234.50"),
    ("incomes", "wage_income", -999999999999.99),
    ("incomes", "property_income", 1e-7),
    ("incomes", "transfer_income", 999999999999),
    ("alerts", "amount", "0"),
    ("households", "home_lat", 33),
    ("households", "home_lon", 1e308),
    ("visits", "gps_accuracy_m", None),             # not nullable per contract, but tolerated
    ("persons", "birth_date", None),                # the identity rules report it
    ("households", "phone", None),
    ("regions", "lat", None),
]

CAST = {FieldType.DATE: "date", FieldType.DATETIME: "timestamptz", FieldType.INTEGER: "integer",
        FieldType.NUMBER: "double precision", FieldType.MONEY: "numeric(14,2)",
        FieldType.BOOLEAN: "boolean"}


@pytest.fixture()
def conn(fresh_db_url):
    with psycopg.connect(fresh_db_url, autocommit=True) as c:
        yield c


def keyed(resource: str, n: int, tag: str) -> dict:
    item = dict(GOOD.get(resource) or {"code": "", "name": "李李村", "level": "village",
                                        "parent_code": "341225102", "lat": 32.5, "lon": 115.7})
    res = RESOURCES[resource]
    for k in res.key:
        item[k] = 2000 + n if res.fields[k].type is FieldType.INTEGER else f"{tag}{n:04d}"
    return item


def load_cases(conn, sim, client, cases, tag):
    """Upsert one item per case plus two good items per resource; load each resource."""
    expected = defaultdict(dict)   # resource -> record_id -> value
    for n, (resource, fld, value, *_) in enumerate(cases):
        item = keyed(resource, n, tag)
        if value is None and n % 2 == 0:
            item.pop(fld, None)  # half the null cases leave the field out: missing counts as null
        else:
            item[fld] = value
        sim.upsert(resource, item)
        expected[resource][RESOURCES[resource].record_id(item)] = cases[n]
    summaries = {}
    for resource in expected:
        for g in range(2):
            sim.upsert(resource, keyed(resource, 9000 + g, "OK"))
        summaries[resource] = load_resource(conn, client, resource, D1)
    return expected, summaries


def rejects_whole(resource: str, fld: str, value) -> bool:
    """A bad required field (it places the record) or JSON the database refuses rejects the
    item; any other bad field is left out of the payload with a field warning."""
    spec = RESOURCES[resource].fields.get(fld)
    return spec is None or spec.required or (isinstance(value, str) and "\x00" in value)


def warnings_of(conn, batch_id):
    return conn.execute("select line_no, column_name, original, reason from raw.field_warning "
                        "where batch_id=%s order by line_no, column_name", (batch_id,)).fetchall()


def test_bad_values_of_each_type_are_rejected_or_nulled_with_reasons(conn, sim_factory, client_for):
    sim = sim_factory(data_dir=None)
    expected, summaries = load_cases(conn, sim, client_for(sim, page_size=5), BAD, "BAD")
    assert any(rejects_whole(*c[:3]) for c in BAD) and not all(rejects_whole(*c[:3]) for c in BAD)
    for resource, s in summaries.items():
        bad = {rid: c for rid, c in expected[resource].items() if rejects_whole(*c[:3])}
        nulled = {rid: c for rid, c in expected[resource].items() if rid not in bad}
        n = len(expected[resource])
        assert (s["rows_in"], s["rows_loaded"], s["rows_rejected"]) == (n + 2, n + 2 - len(bad), len(bad)), resource
        assert s["fields_warned"] == len(nulled), resource
        loaded = {r[0]: r[1] for r in conn.execute(f"select record_id, payload from raw.platform_{resource}")}
        assert set(loaded) == set(nulled) | {RESOURCES[resource].record_id(keyed(resource, 9000 + g, "OK"))
                                             for g in range(2)}
        rows = conn.execute("select payload, reason from raw.rejected_row where batch_id=%s",
                            (s["batch_id"],)).fetchall()
        got = {}
        for payload, reason in rows:
            item = json.loads(payload)  # the item as received (NaN reads back as NaN)
            got[RESOURCES[resource].record_id(item)] = (item, reason)
        assert set(got) == set(bad)
        for rid, (_, fld, value, reason) in bad.items():
            item, got_reason = got[rid]
            assert reason in got_reason, (rid, fld, got_reason)
            assert got_reason.count("；") == 0, got_reason  # one bad field, one reason
            if isinstance(value, str) and "\x00" not in value:
                assert item[fld] == value
        warned = {w[1:] for w in warnings_of(conn, s["batch_id"])}
        for rid, (_, fld, value, reason) in nulled.items():
            assert fld not in loaded[rid], (rid, fld)          # staging reads it as NULL
            original = json.dumps(value, ensure_ascii=False)
            [got_reason] = [r for c, o, r in warned if c == fld and o == original]
            assert reason in got_reason and got_reason.endswith("已置空"), (rid, got_reason)
    batch = conn.execute("select count(*) from raw.load_batch where status <> 'succeeded'").fetchone()
    assert batch == (0,)


def test_every_bad_field_gets_its_own_warning(conn, sim_factory, client_for):
    sim = sim_factory(data_dir=None)
    item = dict(keyed("persons", 1, "P"), birth_date="1965-6-5", work_months="六",
                med_insured="是", name=None)
    sim.upsert("persons", item)
    s = load_resource(conn, client_for(sim), "persons", D1)
    assert (s["rows_in"], s["rows_loaded"], s["rows_rejected"], s["fields_warned"]) == (1, 1, 0, 3)
    assert [(w[0], w[1], w[2], w[3]) for w in warnings_of(conn, s["batch_id"])] == [
        (1, "birth_date", '"1965-6-5"',
         '字段 birth_date 不是合法日期（收到 "1965-6-5"），应为 YYYY-MM-DD 格式的真实日期，已置空'),
        (1, "med_insured", '"是"', '字段 med_insured 不是布尔值 true/false（收到 "是"），已置空'),
        (1, "work_months", '"六"', '字段 work_months 不是整数（收到 "六"），已置空')]
    (payload,) = conn.execute("select payload from raw.platform_persons").fetchone()
    assert payload["person_id"] == "P0001" and payload["gender"] == "女"
    assert not {"birth_date", "work_months", "med_insured"} & set(payload)


def test_accepted_values_load_and_cast_like_staging(conn, sim_factory, client_for):
    """Every value the validator lets through survives the staging casts."""
    sim = sim_factory(data_dir=None)
    client = client_for(sim)
    cases = [(r, f, v, "keep") for r, f, v in EDGE_GOOD]
    expected, summaries = load_cases(conn, sim, client, cases, "EDGE")
    for resource, s in summaries.items():
        assert s["rows_rejected"] == 0 and s["rows_loaded"] == len(expected[resource]) + 2
        for name, spec in RESOURCES[resource].fields.items():
            if spec.type is FieldType.TEXT_ARRAY:
                expr = (f"(select count(*) from jsonb_array_elements_text("
                        f"coalesce(payload->'{name}', '[]'::jsonb)))")
            elif spec.type in CAST:
                expr = f"(payload->>'{name}')::{CAST[spec.type]}"
            else:
                continue
            conn.execute(f"select {expr} from raw.platform_{resource}").fetchall()
    got = conn.execute("select (payload->>'net_income')::numeric(14,2) from raw.platform_incomes "
                       "where payload->>'net_income' = '1234.50'").fetchall()
    assert [float(r[0]) for r in got] == [1234.5]


def test_unknown_extra_fields_are_kept(conn, sim_factory, client_for):
    sim = sim_factory(data_dir=None)
    item = dict(keyed("visits", 1, "V"), app_version="3.2.1", device={"os": "Android", "model": None},
                extra_ids=[1, 2], photo_sha256=["ab" * 32])
    sim.upsert("visits", item)
    sim.upsert("visits", {k: v for k, v in keyed("visits", 2, "V").items()
                          if k not in ("notes", "gps_lat", "gps_lon")})  # missing optional fields
    s = load_resource(conn, client_for(sim), "visits", D1)
    assert (s["rows_in"], s["rows_loaded"], s["rows_rejected"]) == (2, 2, 0)
    payload = conn.execute("select payload from raw.platform_visits where record_id='V0001'").fetchone()[0]
    assert payload["device"] == {"os": "Android", "model": None} and payload["app_version"] == "3.2.1"
    assert payload["extra_ids"] == [1, 2]


def test_generated_items_all_pass(platform_data):
    """The test fixtures' own items follow the table."""
    for line in (platform_data / "platform" / "households.jsonl").read_text().splitlines()[:500]:
        assert RESOURCES["households"].field_errors(json.loads(line)) == []
    for line in (platform_data / "platform" / "incomes.jsonl").read_text().splitlines():
        assert RESOURCES["incomes"].field_errors(json.loads(line)) == []


def test_payload_the_database_refuses_is_caught():
    assert _payload_json({"a": "韩丽丽", "b": "\\u0000 is fine as text"})
    for item, reason in [({"a": "\ud800"}, "孤立的 UTF-16 代理项"), ({"a": float("-inf")}, "NaN 或 Infinity"),
                         ({"a\x00": 1}, "空字符")]:
        with pytest.raises(ValueError, match=reason):
            _payload_json(item)
