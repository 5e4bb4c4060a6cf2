"""Where each of an incident's clocks stands at an instant: the one judgement the card, the App Home, the
incident list and the compliance report all show, so no two of them can disagree about a deadline.

Pure: the incident and `now` in, values out. A clock is judged from what the incident records (met, breached)
and, for one still open, from `now`: a deadline that has passed unmet is breached even before the checker's
next run has said so in the thread.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from prodsupport.incident.model import Deadline, Incident, Sla

# The order people read the clocks in: the playbook's, from the first minutes to the post-mortem's days.
CLOCK_ORDER = (
    Sla.SLACK_ACK,
    Sla.PAGERDUTY_ACK,
    Sla.STATUS_UPDATE,
    Sla.STAKEHOLDER_EMAIL,
    Sla.POSTMORTEM_SCHEDULED,
    Sla.POSTMORTEM_SHARED,
)


class ClockOutcome(StrEnum):
    MET = "met"
    LATE = "late"
    BREACHED = "breached"
    PENDING = "pending"


def clock_outcome(deadline: Deadline, now: datetime) -> ClockOutcome:
    """Met in time, met after its due time, passed unmet, or still running."""
    if deadline.met_at is not None:
        return ClockOutcome.MET if deadline.met_at <= deadline.due else ClockOutcome.LATE
    if deadline.breached_at is not None or now >= deadline.due:
        return ClockOutcome.BREACHED
    return ClockOutcome.PENDING


class ClockView(NamedTuple):
    sla: Sla
    due: datetime
    outcome: ClockOutcome
    met_at: datetime | None


def clocks(incident: Incident, now: datetime) -> list[ClockView]:
    """Every clock the incident has, in the playbook's order."""
    return [
        ClockView(sla, deadline.due, clock_outcome(deadline, now), deadline.met_at)
        for sla in CLOCK_ORDER
        if (deadline := incident.deadlines.get(sla)) is not None
    ]


def next_due(incident: Incident, now: datetime) -> ClockView | None:
    """The pending clock that falls first: what the people on the incident must do next, or None."""
    pending = [clock for clock in clocks(incident, now) if clock.outcome is ClockOutcome.PENDING]
    return min(pending, key=lambda clock: clock.due, default=None)
