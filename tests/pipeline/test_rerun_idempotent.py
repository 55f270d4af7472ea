"""A second run for the same date replaces instead of duplicating: marts, dq.issue and the
landed raw rows come out exactly the same."""
import psycopg


def _fingerprint(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('marts', 'dq') and table_type = 'BASE TABLE' "
            "and table_name not in ('validation_run', 'alert_delivery', 'alert_digest_state') "
            "union all select 'raw.' || table_name from information_schema.tables "
            "where table_schema = 'raw' and (table_name like 'platform\\_%' or table_name like 'feed\\_%')")]
        out = {}
        for t in sorted(tables):
            cols = "" if t.startswith("raw.") else "t::text"
            if t.startswith("raw."):
                # raw rows carry their batch id, which a rerun renews: compare the content
                out[t] = conn.execute(
                    f"select count(*)::text || ':' || coalesce(md5(string_agg(x, '|' order by x)), '') from "
                    f"(select (to_jsonb(t) - 'load_batch_id')::text as x from {t} as t) s").fetchone()[0]
            else:
                out[t] = conn.execute(
                    f"select count(*)::text || ':' || coalesce(md5(string_agg({cols}, '|' order by {cols})), '') "
                    f"from {t} as t").fetchone()[0]
        return out


def test_second_run_same_date_changes_nothing(pipeline_db, province, pipeline_runner, run_date,
                                              tmp_path_factory):
    before = _fingerprint(pipeline_db)
    pipeline_runner(province, pipeline_db, tmp_path_factory.mktemp("gx_rerun"), run_date)
    after = _fingerprint(pipeline_db)
    assert any(k.startswith("marts.") for k in before)
    assert after == before
    with psycopg.connect(pipeline_db) as conn:
        bad = conn.execute("select count(*) from raw.load_batch where status <> 'failed' "
                           "and rows_in <> rows_loaded + rows_rejected").fetchone()[0]
        superseded = conn.execute("select count(*) from raw.load_batch where source = 'platform' "
                                  "and status = 'superseded'").fetchone()[0]
    assert bad == 0
    assert superseded == 11        # each platform resource's first batch replaced once
