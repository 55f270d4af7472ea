"""dbt is run for one explicit date: the DAG passes it, a hand run without it fails."""
import datetime as dt


def test_a_hand_run_without_a_run_date_fails_loudly(fresh_db_url):
    """No default run date: dbt must not quietly compute some other day."""
    from pipeline.dbt import invoke

    out = invoke(["compile", "--quiet", "--select", "rpt_county_daily"], fresh_db_url)
    assert not out.success
    assert "未提供运行日期" in str(out.error) + " ".join(out.messages.values())


def test_a_new_day_re_parses_nothing_and_compiles_its_own_date(fresh_db_url):
    """The date reaches dbt in the environment, not as a var, and is read only when SQL is
    compiled: the next day re-parses no file at all (a changed var would re-parse the whole
    project, an env var read at parse time every file that reads it), and each day's SQL
    carries that day's date, never the previous one from the saved manifest."""
    from pipeline.dbt import DBT_PROJECT_DIR, invoke

    events: list = []
    for day in (dt.date(2026, 11, 28), dt.date(2026, 11, 29)):
        events.clear()
        out = invoke(["compile", "--quiet", "--select", "rpt_county_daily"], fresh_db_url, day,
                     callbacks=[events.append])
        assert out.success, out.error
        compiled = next((DBT_PROJECT_DIR / "target" / "compiled").rglob("rpt_county_daily.sql"))
        assert f"date '{day.isoformat()}'" in compiled.read_text(encoding="utf-8")
    names = [e.info.name for e in events]
    assert "UnableToPartialParse" not in names        # the second day: partial parsing kept
    changed = [e.data.changed for e in events if e.info.name == "PartialParsingEnabled"]
    assert changed == [0], changed                    # ... and not one file parsed again
