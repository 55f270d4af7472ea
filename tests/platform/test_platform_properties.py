"""Property-based tests of the platform item checks and loader over mutated items: whatever
an item holds, no unhandled exception, every reason Chinese, what lands passes the field
table (so the staging casts cannot fail), and rows_in = rows_loaded + rows_rejected."""
from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_platform_fields import GOOD

from ingest.platform.load import _check_item, load_resource
from ingest.platform.resources import RESOURCES, MissingKey

SETTINGS = dict(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
RESOURCE_NAMES = sorted(GOOD)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=20)
    | st.sampled_from(["", " ", "2026-02-30", "2026-11-28", "2026-11-28T08:00:00+08:00", "1E+200000",
                       "12345678901234567890", "1,234.50", "\x00", "\ud800", "是"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)


def cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@st.composite
def mutated_item(draw):
    resource = draw(st.sampled_from(RESOURCE_NAMES))
    item = dict(GOOD[resource], updated_at="2026-11-27T10:00:00+08:00",
                is_deleted=draw(st.sampled_from([False, True, "否", None])))
    names = sorted(RESOURCES[resource].fields) + ["updated_at", "extra_field"]
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(names))
        if draw(st.integers(0, 4)) == 0:
            item.pop(name, None)
        else:
            item[name] = draw(JSON)
    return resource, item


@settings(max_examples=300, **SETTINGS)
@given(case=mutated_item())
def test_item_check_never_crashes_and_what_passes_is_castable(case):
    resource, item = case
    res = RESOURCES[resource]
    try:
        record_id, updated_at, deleted, payload, warnings = _check_item(res, item)
    except (MissingKey, ValueError) as exc:
        assert cjk(str(exc)), str(exc)
        return
    landed = json.loads(payload)
    problems = res.field_problems(landed)
    if deleted:    # a tombstone needs its key only; whatever is left must still cast
        problems = [p for p in problems if not p[2].startswith("缺少必填字段")]
    assert problems == [], problems
    assert record_id == res.record_id(landed)
    for name, _original, reason in warnings:
        assert name and cjk(reason), (name, reason)


@pytest.fixture()
def conn(fresh_db_url):
    with psycopg.connect(fresh_db_url, autocommit=True) as c:
        yield c


@settings(max_examples=8, **SETTINGS)
@given(items=st.lists(mutated_item(), min_size=1, max_size=12))
def test_loader_balances_every_batch(conn, sim_factory, client_for, items):
    def servable(item) -> bool:   # the simulator writes UTF-8: a lone surrogate cannot go out
        try:
            json.dumps(item, ensure_ascii=False).encode("utf-8")
            return True
        except UnicodeEncodeError:
            return False

    assume(all(servable(item) for _, item in items))
    sim = sim_factory(data_dir=None)
    for n, (resource, item) in enumerate(items):
        for k in RESOURCES[resource].key:     # distinct records
            if isinstance(item.get(k), str):
                item[k] = f"{item[k]}{n}"
        sim.upsert(resource, item, touch=False)
    for resource in {r for r, _ in items}:
        s = load_resource(conn, client_for(sim, page_size=3), resource, dt.date(2026, 11, 28))
        assert s["rows_in"] == s["rows_loaded"] + s["rows_rejected"]
        reasons = [r for (r,) in conn.execute(
            "select reason from raw.rejected_row where batch_id = %s union all "
            "select reason from raw.field_warning where batch_id = %s",
            (s["batch_id"], s["batch_id"]))]
        assert all(map(cjk, reasons)), reasons
        # the staging casts of every typed field succeed on what landed
        for name, spec in RESOURCES[resource].fields.items():
            cast = {"date": "date", "datetime": "timestamptz", "integer": "integer",
                    "number": "double precision", "money": "numeric(14,2)",
                    "boolean": "boolean"}.get(spec.type.value)
            if cast:
                conn.execute(f"select (payload->>'{name}')::{cast} from raw.platform_{resource}").fetchall()
