"""The loader's fast path (raw item bytes passed by the compiled validator, landed as they
came) against the full checks: it passes only what they pass with no problem and no warning,
and a load lands exactly what the full checks alone would have landed (real simulator, real
PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_platform_fields import GOOD

from ingest.platform import client as client_module
from ingest.platform.client import parse_time
from ingest.platform.load import _check_item, load_resource
from ingest.platform.resources import RESOURCES, MissingKey

SETTINGS = dict(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
RESOURCE_NAMES = sorted(GOOD)

EDGES = st.sampled_from([
    None, True, False, 0, 3, 3.0, -0.0, 2**31 - 1, 2**31, -2**31, -2**31 - 1, 10**300, 10**400,
    1e308, 999999999998.99, 999999999999.0, -999999999999.5, 0.1, "", " ", "\u3000", "x", " x ",
    "3", "1234.50", "是", "2026-11-28", "2024-02-29", "2026-02-29", "2026-2-28", "20261128",
    "0000-01-01", "0001-01-01", "9999-12-31", "2026-11-28T08:00:00+08:00", "2026-11-28T08:00:00",
    "2026-11-28 08:00:00+0800", "2026-11-28T08:00:00Z", "2026-11-28T08:00:00.5+08", "2026-11-28t08:00:00z",
    "2026-11-28T08:00:00+17:00", "0001-01-01T00:00:00+08:00", "2026-11-28T24:00:00+08:00",
    "2026-W48-5T08:00:00+08:00", [], ["a"], ["a", 1], [None], {"a": 1}, ["2026-11-28"],
])
VALUES = EDGES | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=8)


@st.composite
def item_json(draw):
    """A good item of some resource with a few fields changed, as the JSON the simulator sends."""
    resource = draw(st.sampled_from(RESOURCE_NAMES))
    item = dict(GOOD[resource], updated_at="2026-11-27T10:00:00+08:00", is_deleted=False)
    names = sorted(RESOURCES[resource].fields) + ["updated_at", "is_deleted", "extra_field"]
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(names))
        if draw(st.integers(0, 5)) == 0:
            item.pop(name, None)
        else:
            item[name] = draw(VALUES)
    return resource, item


@settings(max_examples=1500, **SETTINGS)
@given(case=item_json())
def test_the_fast_check_passes_only_what_the_full_checks_pass_cleanly(case):
    resource, item = case
    res = RESOURCES[resource]
    raw = json.dumps(item, ensure_ascii=False).encode()
    fast = res.fast_check(raw)
    if fast is None:
        return
    record_id, updated_at, stamp, deleted = fast
    try:
        full = _check_item(res, json.loads(raw))
    except (MissingKey, ValueError) as exc:
        pytest.fail(f"fast path passed an item the checks reject: {exc}")
    assert full[4] == [], full[4]                    # no field warning either
    assert (record_id, updated_at, deleted) == (full[0], full[1], full[2])
    assert parse_time(stamp) == updated_at
    assert json.loads(full[3]) == json.loads(raw)    # the bytes landed are the item checked


@pytest.fixture()
def conn(fresh_db_url):
    with psycopg.connect(fresh_db_url, autocommit=True) as c:
        yield c


def _landed(conn, resource: str, batch_id: int):
    rows = conn.execute(
        f"select record_id, updated_at, is_deleted, payload from raw.platform_{resource} "
        "where load_batch_id = %s order by 1, 2, 4::text", (batch_id,)).fetchall()
    rejects = conn.execute("select line_no, payload, reason from raw.rejected_row "
                           "where batch_id = %s order by 1", (batch_id,)).fetchall()
    warnings = conn.execute("select line_no, column_name, original, reason from raw.field_warning "
                            "where batch_id = %s order by 1, 2", (batch_id,)).fetchall()
    return rows, rejects, warnings


@settings(max_examples=6, **SETTINGS)
@given(items=st.lists(item_json(), min_size=1, max_size=15),
       escaped=st.booleans())
def test_raw_pages_land_what_parsed_pages_land(conn, sim_factory, client_for, monkeypatch,
                                               items, escaped):
    def servable(item) -> bool:
        try:
            json.dumps(item, ensure_ascii=False).encode("utf-8")
            return True
        except UnicodeEncodeError:
            return False

    assume(all(servable(item) for _, item in items))
    sim = sim_factory(data_dir=None)
    for n, (resource, item) in enumerate(items):
        for k in RESOURCES[resource].key:     # distinct records
            if isinstance(item.get(k), str):  # escaped: COPY escapes and JSON escapes on the page
                item[k] = f"{item[k]}{n}" + ("\\x\t" if escaped else "")
        sim.upsert(resource, item, touch=False)
    counts = ("rows_in", "rows_loaded", "rows_rejected", "fields_warned", "duplicates", "pages")
    for resource in sorted({r for r, _ in items}):
        fast = load_resource(conn, client_for(sim, page_size=4), resource, dt.date(2026, 11, 28))
        landed = _landed(conn, resource, fast["batch_id"])
        with monkeypatch.context() as m:      # responses read by resp.json(), items checked in full
            m.setattr(client_module, "_UTF8", set())
            full = load_resource(conn, client_for(sim, page_size=4), resource, dt.date(2026, 11, 28))
        assert [fast[k] for k in counts] == [full[k] for k in counts]
        assert landed == _landed(conn, resource, full["batch_id"])
