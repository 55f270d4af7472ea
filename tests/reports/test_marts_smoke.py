def test_report_marts_built(db):
    for t in ("rpt_monthly_review", "rpt_grid_worker_monthly", "rpt_dept_linkage_quarterly", "rpt_feed_completeness"):
        assert db.execute(f"select count(*) from marts.{t}").fetchone()[0] > 0, t
