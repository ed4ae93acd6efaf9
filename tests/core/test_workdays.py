"""Working days on China's 2026 calendar (国务院办公厅关于2026年部分节假日安排的通知): weekends,
public holidays and the weekend days worked instead (调休), and deadlines counted in them."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from portal.core.db import SHANGHAI
from portal.core.workdays import add_working_days, is_working_day, parse_dates


@pytest.mark.parametrize("day, working", [
    ("2026-01-01", False), ("2026-01-02", False),   # 元旦 (Thursday, Friday)
    ("2026-01-04", True),                           # a Sunday worked (调休)
    ("2026-02-14", True), ("2026-02-28", True),     # Saturdays worked around 春节
    ("2026-02-16", False), ("2026-02-23", False),   # 春节 on weekdays
    ("2026-02-24", True),
    ("2026-04-06", False), ("2026-05-05", False), ("2026-05-09", True),
    ("2026-06-19", False), ("2026-09-25", False),
    ("2026-09-20", True), ("2026-10-10", True),     # Sunday and Saturday worked around 国庆
    ("2026-10-07", False), ("2026-10-08", True),
    ("2026-12-05", False), ("2026-12-06", False), ("2026-12-07", True),  # a plain week
])
def test_the_2026_calendar(app, day, working):
    with app.app_context():
        assert is_working_day(date.fromisoformat(day)) is working


@pytest.mark.parametrize("opened, due", [
    # A plain week: Monday morning -> the end of the next Monday.
    ("2026-12-07 10:00", "2026-12-15 00:00"),
    # Friday evening before the 国庆 make-up Sunday: Sun 20 counts, due the end of Thu 24.
    ("2026-09-18 18:30", "2026-09-25 00:00"),
    # Across 国庆: Wed 30, then Thu 8, Fri 9, Sat 10 (worked), Mon 12.
    ("2026-09-29 09:00", "2026-10-13 00:00"),
    # Across 春节: Fri 13, Sat 14 (worked), then Tue 24, Wed 25, Thu 26.
    ("2026-02-12 16:00", "2026-02-27 00:00"),
    # Friday night counts from Friday: Mon 7 to Fri 11.
    ("2026-12-04 23:30", "2026-12-12 00:00"),
])
def test_five_working_days(app, opened, due):
    start = datetime.strptime(opened, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    with app.app_context():
        assert add_working_days(start, 5).astimezone(SHANGHAI) == \
            datetime.strptime(due, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


def test_the_day_is_beijings_not_utcs(app):
    from datetime import UTC

    opened = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)  # Sunday in UTC, Monday 01:00 in Beijing
    with app.app_context():
        due = add_working_days(opened, 5)
    assert due.tzinfo is UTC
    assert due.astimezone(SHANGHAI) == datetime(2026, 12, 15, 0, 0, tzinfo=SHANGHAI)


def test_the_lists_are_settings(app, monkeypatch):
    monkeypatch.setitem(app.config, "HOLIDAYS", parse_dates("2027-01-01, 2027-01-02", ()))
    monkeypatch.setitem(app.config, "WORKDAYS", parse_dates("2027-01-03", ()))
    with app.app_context():
        assert not is_working_day(date(2027, 1, 1))
        assert is_working_day(date(2027, 1, 3))  # a Sunday, as the setting says
        opened = datetime(2026, 12, 31, 9, tzinfo=SHANGHAI)
        assert add_working_days(opened, 1).astimezone(SHANGHAI).date() == date(2027, 1, 4)
    with pytest.raises(ValueError):
        parse_dates("2026-13-01", ())
