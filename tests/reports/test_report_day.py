"""Which day a scheduled run reports on (Asia/Shanghai; monthly and quarterly: the day before)."""
import datetime as dt

import pendulum
import pytest

from reports.produce import report_day


def test_scheduled_runs_report_on_the_period_just_ended():
    monday = pendulum.datetime(2026, 11, 30, 8, tz="Asia/Shanghai").in_timezone("UTC")
    first = pendulum.datetime(2026, 12, 1, 9, tz="Asia/Shanghai").in_timezone("UTC")
    quarter = pendulum.datetime(2027, 1, 1, 10, tz="Asia/Shanghai").in_timezone("UTC")
    assert report_day("weekly", None, monday) == dt.date(2026, 11, 30)
    assert report_day("monthly", None, first) == dt.date(2026, 11, 30)
    assert report_day("quarterly", None, quarter) == dt.date(2026, 12, 31)
    assert report_day("monthly", "2026-10-31", first) == dt.date(2026, 10, 31)
    with pytest.raises(ValueError):
        report_day("weekly", "30/11/2026", monday)
