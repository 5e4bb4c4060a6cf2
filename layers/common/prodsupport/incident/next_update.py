"""A promised next status update (`next 2h`, `next 30m`, `next 14:00`): its grammar and when it falls due.

The status command takes it as a trailing `next …`; the status and email forms take it alone in their
"Next update" field. Both read the same grammar here, and the status use case gives it its own clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from prodsupport.core.errors import UserError

PROMISE = r"(?:(\d+)\s*(m|min|mins|h|hr|hrs|hours?)|(\d{1,2}):(\d{2}))"
NEXT_RE = re.compile(rf"\s+next\s+{PROMISE}\s*$", re.IGNORECASE)
LOOSE_NEXT_RE = re.compile(r"\s+next\s+\d\S*\s*$", re.IGNORECASE)  # a promise that did not parse
FIELD_RE = re.compile(rf"^{PROMISE}$", re.IGNORECASE)
LOOSE_FIELD_RE = re.compile(r"^\d\S*$")
MAX_PROMISE = timedelta(days=7)
FIELD_USAGE = "Next update: use 2h, 30m or HH:MM (ET)."


@dataclass(frozen=True)
class NextUpdate:
    """A promised next status update: either after a duration or at a wall-clock time in the zone."""

    after: timedelta | None = None
    at_local: time | None = None

    def resolve(self, now: datetime, zone_local: datetime) -> datetime:
        """When the promise falls due, given now and now in the zone; a past local time means tomorrow."""
        if self.after is not None:
            return now + self.after
        assert self.at_local is not None
        candidate = zone_local.replace(hour=self.at_local.hour, minute=self.at_local.minute, second=0, microsecond=0)
        if candidate <= zone_local:
            candidate += timedelta(days=1)
        return candidate


def parse_next_update(text: str) -> tuple[str, NextUpdate | None]:
    """Split a trailing `next 2h` / `next 30m` / `next 14:00` promise off a status text."""
    match = NEXT_RE.search(text)
    if not match:
        if LOOSE_NEXT_RE.search(text):
            raise UserError("`next` takes a duration or an ET time: `next 2h`, `next 30m` or `next 14:00`")
        return text, None
    return text[: match.start()].strip(), _promise(match)


def parse_next_update_field(text: str) -> NextUpdate | None:
    """A form's "Next update" field alone (`2h`, `14:00`); empty is no promise."""
    text = text.strip()
    if not text:
        return None
    match = FIELD_RE.match(text)
    if not match:
        if LOOSE_FIELD_RE.match(text):
            raise UserError("`next` takes a duration or an ET time: `next 2h`, `next 30m` or `next 14:00`")
        raise UserError(FIELD_USAGE)
    return _promise(match)


def _promise(match: re.Match[str]) -> NextUpdate:
    if match.group(1):
        amount = int(match.group(1))
        unit = match.group(2).lower()
        if amount > MAX_PROMISE.days * 24 * 60:
            raise UserError("`next` can promise at most 7 days ahead, e.g. `next 2h` or `next 30m`")
        delta = timedelta(hours=amount) if unit.startswith("h") else timedelta(minutes=amount)
        if not timedelta(0) < delta <= MAX_PROMISE:
            raise UserError("`next` needs a positive duration of at most 7 days, e.g. `next 2h` or `next 30m`")
        return NextUpdate(after=delta)
    hour, minute = int(match.group(3)), int(match.group(4))
    if hour > 23 or minute > 59:
        raise UserError(f"`next {hour}:{minute:02d}` is not a time; use HH:MM in ET, e.g. `next 14:00`")
    return NextUpdate(at_local=time(hour, minute))
