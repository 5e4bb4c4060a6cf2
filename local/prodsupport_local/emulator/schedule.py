"""Does an EventBridge Scheduler expression fire at a given minute? The local stand-in for the scheduler.

A tick asks, for each ScheduleV2 event of template.yaml, whether its expression fires at that UTC minute in
the schedule's `ScheduleExpressionTimezone`. Three expression kinds, as EventBridge Scheduler has:

- `cron(minutes hours day-of-month month day-of-week year)`: AWS's six-field cron (day-of-week 1=SUN..7=SAT,
  names JAN-DEC and SUN-SAT, `?`, lists, ranges, steps, `L`, `W`, `#`). Fields are matched by the
  aws-croniter package against the wall-clock time in the schedule's zone, so DST is the zone's: a local
  time skipped in spring never fires, and in the autumn the repeated hour fires only on its first pass
  (as EventBridge Scheduler documents: "your schedule runs only once and doesn't repeat its invocation").
- `rate(N minute|minutes|hour|hours|day|days)`: every N units. The real scheduler counts from the schedule's
  StartDate (or its creation); here the grid is anchored at the Unix epoch (00:00 UTC), so `rate(5 minutes)`
  fires at :00, :05, ... and `rate(1 day)` at 00:00 UTC. That keeps a replay independent of when anything
  was deployed. A rate ignores the time zone, as a duration does.
- `at(yyyy-mm-ddThh:mm:ss)`: once, at that wall-clock time in the schedule's zone.

Schedules have minute precision, so the seconds of the instant asked about are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_croniter import AwsCroniter  # type: ignore[import-untyped]
from aws_croniter.exceptions import AwsCroniterExpressionError  # type: ignore[import-untyped]

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
_ONE_MINUTE = timedelta(minutes=1)


class ScheduleExpressionError(ValueError):
    """The expression (or its time zone) is not one EventBridge Scheduler would accept."""


@dataclass(frozen=True)
class RateSchedule:
    every_minutes: int

    def fires(self, at: datetime) -> bool:
        epoch_minutes = int(_minute(at).timestamp()) // 60
        return epoch_minutes % self.every_minutes == 0


@dataclass(frozen=True)
class CronSchedule:
    fields: str
    zone: ZoneInfo

    def fires(self, at: datetime) -> bool:
        local = _minute(at).astimezone(self.zone)
        if local.fold == 1:
            return False  # the second pass through an autumn hour: the scheduler runs once
        # aws-croniter works on UTC datetimes; give it the zone's wall clock dressed as UTC.
        wall = datetime(local.year, local.month, local.day, local.hour, local.minute, tzinfo=UTC)
        matches: list[datetime | None] = _croniter(self.fields).get_next(wall - _ONE_MINUTE)
        return matches[0] == wall


@dataclass(frozen=True)
class OneTimeSchedule:
    wall: datetime  # naive: the wall-clock time in `zone`
    zone: ZoneInfo

    def fires(self, at: datetime) -> bool:
        local = _minute(at).astimezone(self.zone)
        return local.fold == 0 and local.replace(tzinfo=None) == self.wall


type Schedule = RateSchedule | CronSchedule | OneTimeSchedule


@lru_cache(maxsize=256)
def parse_schedule(expression: str, timezone: str = "UTC") -> Schedule:
    """Parse once; raises ScheduleExpressionError naming the expression when it is not valid."""
    text = expression.strip()
    zone = _zone(timezone)
    if rate := _RATE.match(text):
        value = int(rate.group(1))
        if value < 1:
            raise ScheduleExpressionError(f"{expression!r}: the rate must be a positive number")
        return RateSchedule(value * _UNIT_MINUTES[rate.group(2).removesuffix("s")])
    if cron := _CRON.match(text):
        fields = " ".join(cron.group(1).split())
        try:
            _croniter(fields)
        except AwsCroniterExpressionError as exc:
            raise ScheduleExpressionError(f"{expression!r}: {exc}") from None
        return CronSchedule(fields, zone)
    if one_time := _AT.match(text):
        return OneTimeSchedule(datetime.fromisoformat(one_time.group(1)), zone)
    raise ScheduleExpressionError(
        f"{expression!r}: expected cron(<6 fields>), rate(<n> <unit>) or at(yyyy-mm-ddThh:mm:ss)"
    )


def fires(expression: str, at: datetime, timezone: str = "UTC") -> bool:
    """Whether the schedule fires in the minute that contains `at` (an aware datetime)."""
    return parse_schedule(expression, timezone).fires(at)


def _minute(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime: a schedule is evaluated at an instant, give it a zone")
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleExpressionError(f"unknown ScheduleExpressionTimezone {name!r}") from None


@lru_cache(maxsize=256)
def _croniter(fields: str) -> AwsCroniter:
    return AwsCroniter(fields)
