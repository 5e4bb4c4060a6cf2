"""EventBridge Scheduler expressions, evaluated minute by minute on given instants (never the wall clock)."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prodsupport_local.emulator.schedule import ScheduleExpressionError, fires

ET = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def firing_minutes(expression: str, start: datetime, hours: int, timezone: str = "UTC") -> list[datetime]:
    minutes = (start + timedelta(minutes=i) for i in range(hours * 60))
    return [at for at in minutes if fires(expression, at, timezone)]


# -- rate ---------------------------------------------------------------------------------------------------


def test_rate_of_one_minute_fires_every_minute() -> None:
    assert len(firing_minutes("rate(1 minute)", utc(2026, 11, 27, 14), hours=2)) == 120


def test_rate_in_minutes_fires_on_a_grid_anchored_at_the_epoch() -> None:
    assert firing_minutes("rate(5 minutes)", utc(2026, 11, 27, 14), hours=1)[:3] == [
        utc(2026, 11, 27, 14, 0),
        utc(2026, 11, 27, 14, 5),
        utc(2026, 11, 27, 14, 10),
    ]


def test_rate_in_hours_fires_on_the_hour_every_n_hours() -> None:
    assert firing_minutes("rate(2 hours)", utc(2026, 11, 27, 0), hours=6) == [
        utc(2026, 11, 27, 0),
        utc(2026, 11, 27, 2),
        utc(2026, 11, 27, 4),
    ]


def test_rate_in_days_fires_at_midnight_utc() -> None:
    assert firing_minutes("rate(1 day)", utc(2026, 11, 27, 12), hours=24) == [utc(2026, 11, 28)]


def test_rate_ignores_the_schedule_time_zone() -> None:
    assert fires("rate(1 day)", utc(2026, 11, 28), ET)


def test_seconds_within_the_minute_do_not_matter() -> None:
    assert fires("rate(5 minutes)", utc(2026, 11, 27, 14, 5, 59))


# -- cron ---------------------------------------------------------------------------------------------------


def test_weekly_report_fires_monday_nine_eastern_in_winter() -> None:
    monday = utc(2026, 11, 30, 0)
    assert firing_minutes("cron(0 9 ? * MON *)", monday, hours=24, timezone=ET) == [utc(2026, 11, 30, 14)]


def test_weekly_report_fires_monday_nine_eastern_in_summer() -> None:
    monday = utc(2026, 7, 6, 0)
    assert firing_minutes("cron(0 9 ? * MON *)", monday, hours=24, timezone=ET) == [utc(2026, 7, 6, 13)]


def test_day_of_week_one_is_sunday() -> None:
    sunday_nine_utc = utc(2026, 11, 29, 9)
    assert fires("cron(0 9 ? * 1 *)", sunday_nine_utc)
    assert not fires("cron(0 9 ? * 2 *)", sunday_nine_utc)


def test_day_of_week_names_form_ranges() -> None:
    friday, saturday = utc(2026, 11, 27, 12), utc(2026, 11, 28, 12)
    assert fires("cron(0 12 ? * MON-FRI *)", friday)
    assert not fires("cron(0 12 ? * MON-FRI *)", saturday)


def test_minute_lists_and_steps() -> None:
    start = utc(2026, 11, 27, 14)
    assert [at.minute for at in firing_minutes("cron(0/15 14 * * ? *)", start, hours=1)] == [0, 15, 30, 45]
    assert [at.minute for at in firing_minutes("cron(5,35 14 * * ? *)", start, hours=1)] == [5, 35]


def test_month_names_restrict_the_month() -> None:
    assert fires("cron(0 0 1 DEC ? *)", utc(2026, 12, 1))
    assert not fires("cron(0 0 1 DEC ? *)", utc(2026, 11, 1))


def test_year_field_restricts_the_year() -> None:
    assert fires("cron(0 0 1 1 ? 2027)", utc(2027, 1, 1))
    assert not fires("cron(0 0 1 1 ? 2027)", utc(2028, 1, 1))


def test_last_day_of_month() -> None:
    assert fires("cron(0 0 L * ? *)", utc(2026, 11, 30))
    assert not fires("cron(0 0 L * ? *)", utc(2026, 11, 29))


def test_daily_release_check_follows_eastern_time_across_dst() -> None:
    assert fires("cron(0 7 * * ? *)", utc(2026, 11, 27, 12), ET)  # EST: UTC-5
    assert fires("cron(0 7 * * ? *)", utc(2026, 7, 1, 11), ET)  # EDT: UTC-4


def test_a_local_time_skipped_in_spring_never_fires() -> None:
    spring_forward_day = utc(2027, 3, 14, 0)
    assert firing_minutes("cron(30 2 * * ? *)", spring_forward_day, hours=24, timezone=ET) == []


def test_a_local_time_repeated_in_autumn_fires_once() -> None:
    fall_back_day = utc(2026, 11, 1, 0)
    assert firing_minutes("cron(30 1 * * ? *)", fall_back_day, hours=24, timezone=ET) == [utc(2026, 11, 1, 5, 30)]


def test_cron_without_a_time_zone_is_utc() -> None:
    assert fires("cron(0 9 * * ? *)", utc(2026, 11, 27, 9))


def test_extra_whitespace_between_cron_fields_is_accepted() -> None:
    assert fires("cron(0  9 * *  ? *)", utc(2026, 11, 27, 9))


@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    at=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
)
def test_daily_cron_fires_exactly_when_the_eastern_wall_clock_shows_its_time(
    minute: int, hour: int, at: datetime
) -> None:
    local = at.replace(second=0, microsecond=0).astimezone(ZoneInfo(ET))
    expected = (local.hour, local.minute) == (hour, minute) and local.fold == 0
    assert fires(f"cron({minute} {hour} * * ? *)", at, ET) == expected


# -- one-time -------------------------------------------------------------------------------------------------


def test_one_time_schedule_fires_at_its_local_time_only() -> None:
    assert fires("at(2026-11-27T09:05:00)", utc(2026, 11, 27, 14, 5), ET)
    assert not fires("at(2026-11-27T09:05:00)", utc(2026, 11, 27, 14, 6), ET)


# -- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 9 * * * *)",  # day-of-month and day-of-week cannot both be given
        "cron(0 9 * *)",  # five fields
        "cron(61 9 * * ? *)",
        "rate(0 minutes)",
        "rate(5 weeks)",
        "every minute",
    ],
)
def test_invalid_expressions_are_rejected_with_the_expression_named(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError, match=re.escape(expression)):
        fires(expression, utc(2026, 11, 27))


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ScheduleExpressionError, match="Mars/Olympus"):
        fires("cron(0 9 * * ? *)", utc(2026, 11, 27), "Mars/Olympus")


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        fires("rate(1 minute)", datetime(2026, 11, 27, 9))
