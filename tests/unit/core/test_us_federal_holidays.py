"""The committed US federal holiday table is what the pinned `holidays` package computes, asked the way the
calendar used to ask it (each year with the next, keeping the days that fall in the year)."""

from __future__ import annotations

from datetime import date

import holidays
import pytest
from holidays.constants import GOVERNMENT, PUBLIC
from us_federal_holidays import FIRST_YEAR, LAST_YEAR, TABLE, render

from prodsupport.core.calendar import PlaybookCalendar


def test_the_committed_table_is_what_the_pinned_holidays_package_computes() -> None:
    assert TABLE.read_text(encoding="utf-8") == render(), "run `make holidays-table`"


@pytest.mark.parametrize("year", range(FIRST_YEAR, LAST_YEAR + 1, 7))
def test_each_year_of_the_table_names_the_days_the_holidays_package_names_for_it(year: int) -> None:
    loaded = holidays.country_holidays("US", years=(year, year + 1), categories=(PUBLIC, GOVERNMENT))
    expected = {day: name for day, name in loaded.items() if day.year == year}
    calendar = PlaybookCalendar()

    named = {day: calendar.holiday_name(day) for day in expected}

    assert named == expected


def test_new_years_day_observed_on_the_last_day_of_the_previous_year_is_in_that_year() -> None:
    assert PlaybookCalendar().holiday_name(date(2027, 12, 31)) == "New Year's Day (observed)"
