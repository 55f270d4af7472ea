"""Department signal labels and health withholding come from the feed mappings (`source_dept:`,
`health_data: true`, via the generated macros/feed_signals.sql)."""
from __future__ import annotations

import psycopg

from ingest.feeds import FOLDERS, load_mapping


def test_signal_feeds_and_labels_are_the_mappings(pipeline_db):
    expected = {(f, load_mapping(f).source_dept) for f in FOLDERS if load_mapping(f).source_dept}
    with psycopg.connect(pipeline_db) as conn:
        got = set(conn.execute("select distinct source, source_dept from intermediate.int_dept_signals "
                               "where source <> 'platform'").fetchall())
    assert got == expected


def test_health_signals_are_withheld_in_the_mart(pipeline_db):
    health = [f for f in FOLDERS if load_mapping(f).health_data]
    labels = [load_mapping(f).source_dept for f in health]
    assert sorted(labels) == sorted(["医保", "残联"])
    with psycopg.connect(pipeline_db) as conn:
        rows = conn.execute(
            "select source, source_dept, signal_type, signal_value, amount from marts.fct_dept_signal "
            "where source = any(%s) or source_dept = any(%s)", (health, labels)).fetchall()
        open_amounts = conn.execute(
            "select count(*) from marts.fct_dept_signal where source = 'minzheng' and amount is not null"
        ).fetchone()[0]
    by_feed = {r[0] for r in rows}
    assert set(health) <= by_feed and "platform" in by_feed   # feed rows and platform alerts
    for source, dept, signal_type, value, amount in rows:
        assert (signal_type, value, amount) == (f"{dept}信息", None, None), source
    assert open_amounts > 0   # other departments keep their detail
