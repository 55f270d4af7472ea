"""Fund and consumption checks beyond the ground-truth match (test_rules_catalog.py): the
industry-share minimum is a per-year policy parameter, and the fund / consumption marts
reconcile with the delivered files to the fen."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import psycopg
from conftest import RUN_DATE
from landing_files import payment_rows, payments_per_project, sales


def test_min_industry_share_is_per_year(pipeline_db, truth):
    """A year's own value wins over the default row; years without one use the default."""
    from expectations import catalog, policy

    rule = next(r for r in catalog.load_rules(["FUND"]) if r.rule_id == "FUND-01")
    flagged = sorted(truth["FUND-01"])
    lenient_year = int(flagged[0].split(":")[1])
    pol = policy.load_policy()
    pol["min_industry_share_per_year"] = {lenient_year: 0.01, RUN_DATE.year - 10: 0.99, "default": 0.5}
    sql = rule.render_sql(policy.sql_parameters(pol, RUN_DATE)).replace("{batch}", rule.table)
    with psycopg.connect(pipeline_db) as conn:
        found = {r[0] for r in conn.execute(sql)}
    assert found == {e for e in truth["FUND-01"] if not e.endswith(f":{lenient_year}")}


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_payments_per_project_reconcile_with_files(pipeline_db, province):
    paid_in_files = payments_per_project(province, RUN_DATE)
    mart = dict(_query(pipeline_db, "select project_id, paid_amount from marts.fct_fund_project"))
    assert mart and all(isinstance(v, Decimal) for v in mart.values())
    for pid, amount in mart.items():
        assert amount == paid_in_files.get(pid, Decimal("0")), pid
    # every payment in the files is either on a project of the library or reported nowhere
    orphans = {pid for pid in paid_in_files if pid not in mart}
    assert sum(paid_in_files.values()) == sum(mart.values()) + sum(paid_in_files[p] for p in orphans)
    # FUND-03 per payment date, straight from the files
    approved_on = dict(_query(pipeline_db, "select project_id, approved_on from marts.fct_fund_project"))
    early = {pid for pid, day, _ in payment_rows(province, RUN_DATE) if pid in approved_on and day < approved_on[pid]}
    assert early == {r[0] for r in _query(pipeline_db,
                                          "select project_id from marts.fct_fund_project where payments_before_approval > 0")}


def test_monthly_sales_reconcile_with_files(pipeline_db, province):
    expected: dict[tuple[dt.date, str], list] = defaultdict(lambda: [0, Decimal("0")])
    for s in sales(province, RUN_DATE):
        key = (s["sold_on"].replace(day=1), s["channel"] or "未填")
        expected[key][0] += 1
        expected[key][1] += s["amount"]
    got = {(m, ch): [n, amt] for m, ch, n, amt in _query(pipeline_db, """
        select sale_month, channel, sum(sale_count)::int, sum(sales_amount)
        from marts.rpt_consumption_monthly group by sale_month, channel""")}
    assert got == dict(expected)


def test_fund_usage_reconciles_with_raw(pipeline_db):
    """Approved (万元 × 10000, latest version per project) and allocated amounts, from raw."""
    approved = dict(_query(pipeline_db, """
        select distinct on (project_id) project_id, approved_amount_wan * 10000
        from raw.feed_fund_project f join raw.load_batch b on b.batch_id = f.load_batch_id and b.status = 'succeeded'
        order by project_id, f.file_date desc, f.load_batch_id desc, f.line_no desc"""))
    mart = dict(_query(pipeline_db, "select project_id, approved_amount from marts.fct_fund_project"))
    assert mart == approved
    allocated = _query(pipeline_db, """
        select sum(amount_wan * 10000) from raw.feed_fund_allocation f
        join raw.load_batch b on b.batch_id = f.load_batch_id and b.status = 'succeeded'""")[0][0]
    totals = _query(pipeline_db, """select sum(allocated_amount), sum(approved_amount), sum(paid_amount)
                                   from marts.rpt_fund_usage""")[0]
    assert totals == (allocated, sum(approved.values()),
                      _query(pipeline_db, "select sum(paid_amount) from marts.fct_fund_project")[0][0])


def test_industry_projects_split_beneficiaries(pipeline_db):
    rows = _query(pipeline_db, """
        select count(*), count(*) filter (where actual_households < actual_poverty_households
                                              or actual_households < actual_monitored_households
                                              or actual_households < ineligible_households),
               sum(actual_households)
        from marts.fct_industry_project""")[0]
    assert rows[0] > 0 and rows[1] == 0 and rows[2] > 0
    assert _query(pipeline_db, """select count(*) from marts.fct_industry_project i
                                  join marts.fct_fund_project p using (project_id)
                                  where p.project_category <> '产业发展'""")[0][0] == 0
