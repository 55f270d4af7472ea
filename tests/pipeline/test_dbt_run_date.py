"""dbt is run for one explicit date: the DAG passes it, a hand run without it fails."""
def test_a_hand_run_without_a_run_date_fails_loudly(fresh_db_url):
    """No default run date: dbt must not quietly compute some other day."""
    from pipeline.dbt import invoke

    out = invoke(["compile", "--quiet", "--select", "rpt_county_daily"], fresh_db_url)
    assert not out.success
    assert "未提供运行日期" in str(out.error) + " ".join(out.messages.values())
