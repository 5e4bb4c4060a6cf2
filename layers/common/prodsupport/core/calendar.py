"""The playbook's calendar: when "business hours" apply, and business-day arithmetic.

The playbook's ack window is 15 minutes in business hours and 60 minutes outside them, and post-mortems are
due a number of business days after resolution, so every deadline in the system hangs off this module.
It is pure: the caller always says which instant it is asking about, so any decision can be replayed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CONFIGURED_HOLIDAY = "Configured holiday"
HOLIDAY_CALENDARS = ("US", "none")

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


@dataclass(frozen=True)
class CalendarConfig:
    """The playbook's defaults, overridable because the team may move its hours or add closure days."""

    timezone: str = "America/New_York"
    day_start: time = time(7, 0)
    day_end: time = time(20, 0)
    extra_holidays: frozenset[date] = frozenset()
    # "US" (the layer's precomputed federal table, the only set it ships) or "none" (a team off on its
    # `extra_holidays` only).
    holiday_calendar: str = "US"

    def __post_init__(self) -> None:
        # Validated here so a bad setting fails at cold start, naming itself, instead of mid-incident.
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from exc
        for name, value in (("day_start", self.day_start), ("day_end", self.day_end)):
            if value.tzinfo is not None:
                raise ValueError(f"{name}: must be a wall-clock time without tzinfo, got {value!r}")
        if not self.day_start < self.day_end:
            raise ValueError(f"day_start ({self.day_start}) must be before day_end ({self.day_end})")
        for day in self.extra_holidays:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise ValueError(f"extra_holidays: expected dates, got {day!r}")
        if self.holiday_calendar not in HOLIDAY_CALENDARS:
            raise ValueError(
                f"holiday_calendar: expected one of {', '.join(HOLIDAY_CALENDARS)}, got {self.holiday_calendar!r}"
            )


@cache
def _federal_holiday_table() -> dict[str, dict[str, str]]:
    """The committed table computed by the `holidays` package (layers/common/us_federal_holidays.py).

    Read instead of calling `holidays` because that package imports every country's module (~65 ms on the
    first business-hours decision, ~4 MB of the layer) to answer for one country whose rules change by law,
    a few times a century; a test fails whenever the table and the pinned `holidays` disagree.
    """
    with (Path(__file__).parent / "us_federal_holidays.json").open(encoding="utf-8") as table:
        loaded: dict[str, dict[str, str]] = json.load(table)
    return loaded


@cache
def _federal_holidays(year: int) -> Mapping[date, str]:
    """US federal holidays falling on dates in `year`, with their observed days (a Friday 31 December can be
    the next year's New Year's Day observed)."""
    days = _federal_holiday_table().get(str(year))
    if days is None:
        # A deadline computed without its holidays would be silently wrong; regenerating the table is one command.
        raise ValueError(f"no US federal holidays for {year}: regenerate the table (make holidays-table)")
    return {date.fromisoformat(f"{year}-{month_day}"): name for month_day, name in days.items()}


def _require_aware(at: datetime) -> None:
    # A naive datetime has no instant; guessing a zone would silently move a deadline by hours.
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {at.isoformat()}")


def _require_date(day: date) -> None:
    # A datetime is a date subclass but never equals one, so it would silently miss every holiday;
    # and which calendar day an instant falls on depends on the zone, which only `local` knows.
    if isinstance(day, datetime):
        raise TypeError(f"expected a date, got datetime {day.isoformat()}; use local(at).date()")


class PlaybookCalendar:
    """Business hours and business days as the playbook defines them, in the configured zone."""

    def __init__(self, config: CalendarConfig = CalendarConfig()) -> None:
        self._config = config
        self._zone = ZoneInfo(config.timezone)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def local(self, at: datetime) -> datetime:
        """The same instant on the playbook's wall clock, which is what its hours are defined against."""
        _require_aware(at)
        return at.astimezone(self._zone)

    def holiday_name(self, day: date) -> str | None:
        """Why a weekday is not a business day, for messages that explain a longer ack window."""
        _require_date(day)
        federal = _federal_holidays(day.year).get(day) if self._config.holiday_calendar == "US" else None
        if federal is not None:
            return federal
        if day in self._config.extra_holidays:
            return CONFIGURED_HOLIDAY
        return None

    def is_business_day(self, day: date) -> bool:
        _require_date(day)
        # Cheapest checks first, so weekends and configured dates never read the holiday table.
        if day.weekday() >= _SATURDAY or day in self._config.extra_holidays:
            return False
        return self._config.holiday_calendar != "US" or day not in _federal_holidays(day.year)

    def in_business_hours(self, at: datetime) -> bool:
        """Decides the ack window; the day's end is exclusive so 20:00 ET already gets 60 minutes."""
        wall = self.local(at)
        # Time of day first: most after-hours instants are settled without reading the holiday table.
        if not self._config.day_start <= wall.time() < self._config.day_end:
            return False
        return self.is_business_day(wall.date())

    def window(self, at: datetime) -> Literal["business", "after_hours"]:
        return "business" if self.in_business_hours(at) else "after_hours"

    def add_business_days(self, at: datetime, days: int) -> datetime:
        """Deadlines such as "within 2 business days of the resolution".

        Counts whole business days on the local calendar (a negative count goes back) and keeps the local
        wall-clock time, so a deadline set at 16:30 ET stays 16:30 ET across a DST change. Starting on a
        non-business day, the first business day after it is day one.
        """
        wall = self.local(at)
        step = _ONE_DAY if days >= 0 else -_ONE_DAY
        day = wall.date()
        for _ in range(abs(days)):
            day = self._next_business_day(day + step, step)
        # `wall.time()` keeps `fold`, so an ambiguous wall time resolves the same way it did at the start.
        return datetime.combine(day, wall.time(), tzinfo=self._zone).astimezone(UTC)

    def _next_business_day(self, day: date, step: timedelta) -> date:
        while not self.is_business_day(day):
            day += step
        return day
