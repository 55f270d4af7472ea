"""dq_store.sync_issues beyond the week: a finding that comes back after resolution, the
same date merged twice, and a warehouse whose dq.issue predates the follow-up columns."""
import datetime as dt

from followupdata import V11, events, finding, followup_cfg, issue

D = dt.date(2026, 12, 1)
X = ("PAPER-02", "V100")


def _sync(conn, day: int, present: bool):
    from expectations.dq_store import sync_issues

    found = [finding(*X, V11, "入户走访未上传照片")] if present else []
    return sync_issues(conn, D + dt.timedelta(days=day), ["PAPER-02"], found, due=followup_cfg().due)


def test_resolved_then_back_restarts_the_clock(warehouse, followup_config):
    from followup.deadlines import escalate

    _sync(warehouse, 0, True)
    escalate(warehouse, D + dt.timedelta(days=3), followup_cfg())            # due D+2: town
    assert issue(warehouse, *X)["escalation_level"] == "town"
    assert _sync(warehouse, 4, False)["resolved"] == 1
    again = _sync(warehouse, 6, True)
    assert again["new"] == 0 and again["events"] == 1
    back = issue(warehouse, *X)
    assert back["status"] == "open" and back["first_detected_on"] == D
    assert back["due_on"] == D + dt.timedelta(days=8) and back["escalation_level"] == "village"
    assert [e for _, e in events(warehouse, *X)] == ["opened", "escalated", "resolved", "redetected"]
    # the same date once more: nothing changes, nothing is recorded twice
    assert _sync(warehouse, 6, True)["events"] == 0
    assert len(events(warehouse, *X)) == 4


def test_old_dq_issue_gains_the_columns_and_a_due_date(fresh_db_url, followup_config):
    from core.schema import ensure_schema
    from core.warehouse import connect
    from followup.deadlines import escalate

    with connect(fresh_db_url) as conn:
        conn.execute("create schema dq")
        conn.execute("""create table dq.issue (rule_id text not null, severity text not null,
            entity_type text not null, entity_id text not null, county_code text, town_code text,
            village_code text, detail text, first_detected_on date not null, last_detected_on date not null,
            status text not null check (status in ('open', 'resolved')), resolved_on date,
            primary key (rule_id, entity_id))""")
        conn.execute("insert into dq.issue values ('GRID-02', 'medium', 'grid_worker', 'W9', '341225', "
                     "'341225101', %s, '网格员长期未走访', %s, %s, 'open', null)", (V11, D, D))
        ensure_schema(conn, "dq")
        assert issue(conn, "GRID-02", "W9")["escalation_level"] == "village"
        escalate(conn, D + dt.timedelta(days=4), followup_cfg())             # medium: 3 days, so 1 day overdue
        old = issue(conn, "GRID-02", "W9")
        assert old["due_on"] == D + dt.timedelta(days=3) and old["escalation_level"] == "town"
        assert [e for _, e in events(conn, "GRID-02", "W9")] == ["escalated"]
