"""Working days (工作日) in China: Monday to Friday, less the public holidays, plus the make-up
working days (调休) on weekends that the State Council names each year (国务院办公厅关于
部分节假日安排的通知). Both lists are settings (`HOLIDAYS`, `WORKDAYS`): the defaults are 2026's
(国办发明电〔2025〕 of 2025-11-04); an operator adds the next year's each November, when it is
published. A deadline in working days (a 差评's rectification) is counted on Beijing's calendar.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app

from portal.core.db import SHANGHAI

# 2026 (published 2025-11-04): 元旦 1.1–1.3; 春节 2.15–2.23; 清明 4.4–4.6; 劳动节 5.1–5.5;
# 端午 6.19–6.21; 中秋 9.25–9.27; 国庆 10.1–10.7.
HOLIDAYS_2026 = (
    "2026-01-01", "2026-01-02", "2026-01-03",
    "2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
    "2026-02-21", "2026-02-22", "2026-02-23",
    "2026-04-04", "2026-04-05", "2026-04-06",
    "2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05",
    "2026-06-19", "2026-06-20", "2026-06-21",
    "2026-09-25", "2026-09-26", "2026-09-27",
    "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06",
    "2026-10-07",
)
# ... and the weekend days worked instead (调休上班).
WORKDAYS_2026 = ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20",
                 "2026-10-10")


def parse_dates(text: str | None, default: tuple[str, ...]) -> frozenset[date]:
    """A setting's dates: ISO dates separated by commas or spaces (a ValueError names a bad
    one, at start-up)."""
    items = default if text is None else [t for t in text.replace(",", " ").split() if t]
    return frozenset(date.fromisoformat(t) for t in items)


def is_working_day(day: date, holidays=None, workdays=None) -> bool:
    holidays = current_app.config["HOLIDAYS"] if holidays is None else holidays
    workdays = current_app.config["WORKDAYS"] if workdays is None else workdays
    if day in workdays:
        return True
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: datetime, days: int, holidays=None, workdays=None) -> datetime:
    """The end (24:00, Beijing) of the `days`-th working day after the day of `start`: a case
    opened on a Friday afternoon with 5 working days is due at the end of the next Friday,
    unless holidays intervene. Returned in UTC, as the portal keeps times."""
    day = start.astimezone(SHANGHAI).date()
    left = days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays, workdays):
            left -= 1
    return datetime.combine(day + timedelta(days=1), time(0), SHANGHAI).astimezone(
        start.tzinfo or SHANGHAI)
