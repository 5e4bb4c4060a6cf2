"""The playbook calendar on real 2026-2028 dates; every instant is given, the wall clock is never read."""

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from prodsupport.core.calendar import CalendarConfig, PlaybookCalendar

ET = ZoneInfo("America/New_York")
DAY_AFTER_THANKSGIVING = date(2026, 11, 27)
LAYER = Path(__file__).resolve().parents[3] / "layers" / "common"


def et(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ET)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def calendar() -> PlaybookCalendar:
    return PlaybookCalendar()


# --- business hours on an ordinary weekday -------------------------------------------------------------


@pytest.mark.parametrize(
    ("wall", "inside"),
    [
        (time(6, 59), False),
        (time(7, 0), True),
        (time(19, 59), True),
        (time(20, 0), False),
    ],
    ids=["06:59-before-opening", "07:00-opening-is-inside", "19:59-last-minute", "20:00-closing-is-outside"],
)
def test_given_a_weekday_when_at_the_day_boundaries_then_07_00_is_inside_and_20_00_is_outside(
    calendar: PlaybookCalendar, wall: time, inside: bool
) -> None:
    at = datetime.combine(date(2026, 5, 13), wall, tzinfo=ET)  # a Wednesday

    assert calendar.in_business_hours(at) is inside


def test_given_an_instant_in_another_zone_when_checked_then_it_is_judged_on_the_et_wall_clock(
    calendar: PlaybookCalendar,
) -> None:
    # 06:30 in Los Angeles is 09:30 in New York.
    at = datetime(2026, 5, 13, 6, 30, tzinfo=ZoneInfo("America/Los_Angeles"))

    assert calendar.in_business_hours(at) is True


@pytest.mark.parametrize(
    ("at", "expected"),
    [(et(2026, 5, 13, 12), "business"), (et(2026, 5, 13, 21), "after_hours")],
    ids=["noon", "21:00"],
)
def test_given_an_instant_when_asked_for_its_window_then_it_is_labelled_for_the_ack_rule(
    calendar: PlaybookCalendar, at: datetime, expected: str
) -> None:
    assert calendar.window(at) == expected


def test_given_an_ordinary_weekday_when_asked_for_a_holiday_name_then_there_is_none(
    calendar: PlaybookCalendar,
) -> None:
    assert calendar.holiday_name(date(2026, 5, 13)) is None
    assert calendar.is_business_day(date(2026, 5, 13)) is True


# --- weekends and holidays -----------------------------------------------------------------------------


@pytest.mark.parametrize("day", [date(2026, 5, 16), date(2026, 5, 17)], ids=["saturday", "sunday"])
def test_given_a_weekend_day_when_at_noon_then_it_is_outside_business_hours(
    calendar: PlaybookCalendar, day: date
) -> None:
    assert calendar.is_business_day(day) is False
    assert calendar.in_business_hours(datetime.combine(day, time(12, 0), tzinfo=ET)) is False


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 11, 26), "Thanksgiving Day"),
        (date(2026, 7, 3), "Independence Day (observed)"),
        (date(2026, 6, 19), "Juneteenth National Independence Day"),
        (date(2027, 12, 31), "New Year's Day (observed)"),
    ],
    ids=["thanksgiving", "independence-day-observed-friday", "juneteenth", "new-year-2028-observed-in-2027"],
)
def test_given_a_federal_holiday_on_a_weekday_when_at_noon_then_it_is_outside_business_hours(
    calendar: PlaybookCalendar, day: date, name: str
) -> None:
    assert calendar.holiday_name(day) == name
    assert calendar.is_business_day(day) is False
    assert calendar.in_business_hours(datetime.combine(day, time(12, 0), tzinfo=ET)) is False


def test_given_independence_day_on_a_saturday_when_asked_then_the_saturday_itself_is_named_too(
    calendar: PlaybookCalendar,
) -> None:
    saturday = date(2026, 7, 4)

    assert calendar.holiday_name(saturday) == "Independence Day"
    assert calendar.is_business_day(saturday) is False


def test_given_the_default_config_when_on_the_day_after_thanksgiving_then_it_is_a_business_day(
    calendar: PlaybookCalendar,
) -> None:
    assert calendar.holiday_name(DAY_AFTER_THANKSGIVING) is None
    assert calendar.in_business_hours(et(2026, 11, 27, 12)) is True


def test_given_the_day_after_thanksgiving_configured_when_on_it_then_it_is_a_configured_holiday() -> None:
    calendar = PlaybookCalendar(CalendarConfig(extra_holidays=frozenset({DAY_AFTER_THANKSGIVING})))

    assert calendar.holiday_name(DAY_AFTER_THANKSGIVING) == "Configured holiday"
    assert calendar.in_business_hours(et(2026, 11, 27, 12)) is False


# --- daylight saving time ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        (utc(2026, 3, 6, 11, 59), False),  # Fri before the spring change, 06:59 EST
        (utc(2026, 3, 6, 12, 0), True),  # 07:00 EST
        (utc(2026, 3, 9, 10, 59), False),  # Mon after it, 06:59 EDT
        (utc(2026, 3, 9, 11, 0), True),  # 07:00 EDT
        (utc(2026, 3, 9, 23, 59), True),  # 19:59 EDT
        (utc(2026, 3, 10, 0, 0), False),  # 20:00 EDT
        (utc(2026, 10, 30, 10, 59), False),  # Fri before the autumn change, 06:59 EDT
        (utc(2026, 10, 30, 11, 0), True),  # 07:00 EDT
        (utc(2026, 11, 2, 11, 59), False),  # Mon after it, 06:59 EST
        (utc(2026, 11, 2, 12, 0), True),  # 07:00 EST
        (utc(2026, 11, 3, 0, 59), True),  # 19:59 EST
        (utc(2026, 11, 3, 1, 0), False),  # 20:00 EST
    ],
    ids=lambda value: value.isoformat() if isinstance(value, datetime) else None,
)
def test_given_a_dst_change_when_given_utc_instants_then_the_et_opening_and_closing_follow_it(
    calendar: PlaybookCalendar, at: datetime, inside: bool
) -> None:
    assert calendar.in_business_hours(at) is inside


@pytest.mark.parametrize(
    ("at", "zone_name"),
    [(utc(2026, 3, 9, 11, 0), "EDT"), (utc(2026, 11, 2, 12, 0), "EST")],
    ids=["after-spring-change", "after-autumn-change"],
)
def test_given_a_utc_instant_when_localised_then_it_is_the_same_instant_at_07_00_et(
    calendar: PlaybookCalendar, at: datetime, zone_name: str
) -> None:
    local = calendar.local(at)

    assert local == at
    assert (local.time(), local.tzname()) == (time(7, 0), zone_name)


# --- business-day arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (et(2026, 5, 14, 15, 30), 2, utc(2026, 5, 18, 19, 30)),  # Thu -> Mon, over the weekend
        (et(2026, 11, 25, 10), 2, utc(2026, 11, 30, 15, 0)),  # Wed -> Mon, over Thanksgiving + weekend
        (et(2026, 7, 2, 9), 1, utc(2026, 7, 6, 13, 0)),  # Thu -> Mon, over the observed Jul 3
        (et(2026, 10, 30, 16), 1, utc(2026, 11, 2, 21, 0)),  # Fri EDT -> Mon EST, still 16:00 ET
        (et(2026, 5, 16, 10), 1, utc(2026, 5, 18, 14, 0)),  # from a Saturday, Monday is day one
        (et(2026, 5, 13, 12), 0, utc(2026, 5, 13, 16, 0)),
    ],
    ids=["over-weekend", "over-thanksgiving", "over-jul-3-observed", "over-dst", "from-saturday", "zero"],
)
def test_given_a_start_when_adding_business_days_then_the_same_et_time_lands_on_a_business_day_in_utc(
    calendar: PlaybookCalendar, start: datetime, days: int, expected: datetime
) -> None:
    result = calendar.add_business_days(start, days)

    assert result == expected
    assert result.tzinfo is UTC


def test_given_the_day_after_thanksgiving_configured_when_adding_business_days_then_it_is_skipped() -> None:
    calendar = PlaybookCalendar(CalendarConfig(extra_holidays=frozenset({DAY_AFTER_THANKSGIVING})))

    assert calendar.add_business_days(et(2026, 11, 25, 10), 2) == utc(2026, 12, 1, 15, 0)


# --- bad input -----------------------------------------------------------------------------------------

NAIVE = datetime(2026, 5, 13, 12, 0)

CALLS: dict[str, Callable[[PlaybookCalendar], Any]] = {
    "local": lambda c: c.local(NAIVE),
    "in_business_hours": lambda c: c.in_business_hours(NAIVE),
    "window": lambda c: c.window(NAIVE),
    "add_business_days": lambda c: c.add_business_days(NAIVE, 2),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_given_a_naive_datetime_when_passed_to_the_calendar_then_it_is_rejected(
    calendar: PlaybookCalendar, call: Callable[[PlaybookCalendar], Any]
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(calendar)


def test_given_a_datetime_where_a_date_is_expected_when_asked_for_a_holiday_then_it_is_rejected(
    calendar: PlaybookCalendar,
) -> None:
    with pytest.raises(TypeError, match="expected a date"):
        calendar.holiday_name(et(2026, 11, 26, 12))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timezone": "America/Nowhere"}, "timezone"),
        ({"day_start": time(20, 0), "day_end": time(7, 0)}, "day_start"),
    ],
    ids=["unknown-zone", "start-after-end"],
)
def test_given_a_bad_setting_when_building_the_config_then_the_error_names_it(
    kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        CalendarConfig(**kwargs)


# --- cold start ----------------------------------------------------------------------------------------

_PROBE = """
import sys
from datetime import datetime
from prodsupport.core.calendar import PlaybookCalendar
calendar = PlaybookCalendar()
calendar.in_business_hours(datetime.fromisoformat(sys.argv[1]))
print("holidays" in sys.modules)
"""


@pytest.mark.parametrize(
    "at",
    ["2026-05-16T12:00:00-04:00", "2026-05-13T22:00:00-04:00", "2026-05-13T12:00:00-04:00"],
    ids=["weekend", "weekday-after-hours", "weekday-in-hours"],
)
def test_given_a_fresh_process_when_deciding_business_hours_then_the_holidays_package_is_never_imported(
    at: str,
) -> None:
    result = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", _PROBE, at],
        capture_output=True,
        check=True,
        text=True,
        env={"PYTHONPATH": str(LAYER)},
    )

    assert result.stdout.strip() == "False"


def test_given_a_year_beyond_the_holiday_table_when_asked_then_it_fails_naming_the_fix() -> None:
    with pytest.raises(ValueError, match="make holidays-table"):
        PlaybookCalendar().is_business_day(date(2100, 3, 3))


def test_a_team_without_the_federal_holidays_works_on_independence_day() -> None:
    calendar = PlaybookCalendar(CalendarConfig(holiday_calendar="none"))

    assert calendar.is_business_day(date(2026, 7, 3))  # the observed Independence Day
    assert calendar.holiday_name(date(2026, 7, 3)) is None


def test_the_default_holiday_calendar_keeps_independence_day_off() -> None:
    assert not PlaybookCalendar(CalendarConfig()).is_business_day(date(2026, 7, 3))
