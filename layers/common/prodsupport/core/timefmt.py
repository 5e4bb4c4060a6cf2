"""Time in one representation: aware UTC datetimes inside, ISO 8601 `Z` strings at rest, ET for people.

Every time the playbook talks about is an instant; keeping them aware-UTC everywhere means the only
zone arithmetic happens in the calendar, which is where DST belongs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

ET = ZoneInfo("America/New_York")


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 instant; a naive value is refused because its zone would be a guess, and one whose
    offset carries it past year 1 or 9999 (`0001-01-01T00:00:00+14:00`) is a ValueError like any bad time."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no zone; expected ISO 8601 with Z or an offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"time {value!r} is outside the years 1-9999 in UTC") from None


def to_iso(at: datetime) -> str:
    """The stored and wire form: UTC, seconds precision, `Z` suffix."""
    if at.tzinfo is None:
        raise ValueError("naive datetime; every time in prodsupport is timezone-aware")
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def from_slack_ts(ts: str) -> datetime:
    """A Slack message ts ("1764230400.000100") is epoch seconds: the moment the message was posted."""
    return datetime.fromtimestamp(float(ts), UTC)


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def format_et(at: datetime, zone: ZoneInfo = ET) -> str:
    """How people read a time: ET wall clock with its zone name, e.g. 'Fri 11/27/2026 9:05 AM EST'."""
    local = at.astimezone(zone)
    hour = local.hour % 12 or 12
    return f"{local:%a %m/%d/%Y} {hour}:{local:%M %p} {local.tzname()}"
