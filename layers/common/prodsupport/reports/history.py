"""The numbers behind the charts: each incident's time to acknowledge against its window, and the on-time
percentage of every clock week by week. Pure over incidents and the compliance report, so the chart, the HTML
page and the tests read the same figures the weekly text gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from prodsupport.core.calendar import PlaybookCalendar
from prodsupport.incident.model import Incident, Sla
from prodsupport.sla import compliance
from prodsupport.sla.compliance import ComplianceReport, Outcome

HISTORY_WEEKS = 12


@dataclass(frozen=True)
class AckBar:
    """One incident's Slack acknowledgement: how long it took (None while not done) and how long it had."""

    incident_id: str
    minutes_to_ack: float | None
    window_minutes: float
    outcome: Outcome


@dataclass(frozen=True)
class WeekPoint:
    """One Monday-to-Monday week (local days) and each clock's on-time percentage; None when none was due."""

    start: date
    percent: dict[Sla, float | None]


def ack_bars(report: ComplianceReport) -> list[AckBar]:
    """The Slack acknowledgement of every incident in the report, in the report's order."""
    bars = []
    for clock in report.clocks:
        if clock.sla is not Sla.SLACK_ACK:
            continue
        opened = clock.incident.opened_at
        met = clock.deadline.met_at
        bars.append(
            AckBar(
                incident_id=clock.incident.id,
                minutes_to_ack=(met - opened).total_seconds() / 60 if met is not None else None,
                window_minutes=(clock.deadline.due - opened).total_seconds() / 60,
                outcome=clock.outcome,
            )
        )
    return bars


def history_start(week_start: date, weeks: int = HISTORY_WEEKS) -> date:
    """The first local day of the `weeks` weeks that end with the week starting `week_start`."""
    return week_start - timedelta(weeks=weeks - 1)


def weekly_history(
    incidents: Iterable[Incident],
    last_week_start: date,
    calendar: PlaybookCalendar,
    as_of: datetime,
    weeks: int = HISTORY_WEEKS,
) -> tuple[WeekPoint, ...]:
    """Each clock's on-time % for the `weeks` weeks ending with the one that starts `last_week_start`,
    judged as the weekly report judges it (a clock still running at `as_of` is open, not counted)."""
    chosen = list(incidents)
    points = []
    for index in range(weeks):
        first = history_start(last_week_start, weeks) + timedelta(weeks=index)
        start, end = compliance.local_days(calendar, first, first + timedelta(weeks=1))
        report = compliance.build(chosen, start, end, as_of, calendar.zone)
        points.append(WeekPoint(first, {sla: report.stats(sla).percent_in_time for sla in Sla}))
    return tuple(points)
