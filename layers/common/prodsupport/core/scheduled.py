"""What a scheduled function is asked to do: `{"time": ISO, "job": ...}` from EventBridge Scheduler.

Shared by the SLA checker and the reports function, which run different jobs from the same kind of
schedule. The scheduled time, not the wall clock, is "now", so a retried or delayed run decides exactly
what the on-time run would have.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prodsupport.core.timefmt import parse_iso


class ScheduleEventError(ValueError):
    """The event is not a schedule this function knows; the message says what was expected."""


def scheduled_job(event: Any, jobs: tuple[str, ...], default: str | None = None) -> tuple[str, datetime]:
    """The job (one of `jobs`; `default` when the event names none) and the scheduled time."""
    if not isinstance(event, dict):
        raise ScheduleEventError("expected a JSON object with 'time' (ISO 8601 UTC) and 'job'")
    job = event.get("job", default)
    if job not in jobs:
        raise ScheduleEventError(f"unknown job {job!r}; expected one of {', '.join(jobs)}")
    raw = event.get("time")
    if not isinstance(raw, str):
        raise ScheduleEventError("the event has no 'time'; expected ISO 8601 UTC like 2026-11-27T14:05:00Z")
    try:
        return job, parse_iso(raw)
    except ValueError:
        raise ScheduleEventError(f"'time' {raw!r} is not ISO 8601 with a zone, like 2026-11-27T14:05:00Z") from None
