"""The playbook compliance report: how the team kept the playbook's clocks over a period.

Built from the deadlines the incidents carry, not from the reminders and breaches that were posted: an ack
that came after its deadline but before the checker ran was never announced, yet it was late. The report
covers the incidents opened in [start, end); a clock still running at `as_of` is "open", never a success.
Pure over a list of incidents; the weekly job that posts it is prodsupport.reports.weekly.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from prodsupport.core.calendar import PlaybookCalendar
from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.timefmt import format_local, to_iso
from prodsupport.incident.clocks import ClockOutcome, clock_outcome
from prodsupport.incident.messages import SLA_LABEL, sentence_case
from prodsupport.incident.model import Deadline, Incident, Severity, Sla
from prodsupport.infra.slack_message import SlackMessage
from prodsupport.sla.messages import duration_text

Format = Literal["md", "csv", "json"]
FORMATS: tuple[Format, ...] = ("md", "csv", "json")
TIMED_FROM_OPENING = (Sla.SLACK_ACK, Sla.PAGERDUTY_ACK, Sla.STAKEHOLDER_EMAIL)
"""Clocks that start when the incident opens, so "time to meet" from the opening means something."""
SLACK_BREACH_LINES = 40
US_ZONE_NAMES = {
    "America/New_York": "ET",
    "America/Chicago": "CT",
    "America/Denver": "MT",
    "America/Phoenix": "MT",
    "America/Los_Angeles": "PT",
}
"""Slack's markdown block holds 12,000 characters; beyond this many breaches the post points to the CLI."""
CSV_COLUMNS = (
    "incident_id",
    "title",
    "severity",
    "opened_at",
    "window",
    "sla",
    "due",
    "met_at",
    "outcome",
    "seconds_to_meet",
    "seconds_late",
)


class Outcome(StrEnum):
    IN_TIME = "in_time"
    LATE = "late"
    MISSED = "missed"
    OPEN = "open"


REPORTED = {
    ClockOutcome.MET: Outcome.IN_TIME,
    ClockOutcome.LATE: Outcome.LATE,
    ClockOutcome.BREACHED: Outcome.MISSED,
    ClockOutcome.PENDING: Outcome.OPEN,
}


def outcome(deadline: Deadline, as_of: datetime) -> Outcome:
    """The card's judgement of the clock (incident.clocks), in the report's words."""
    return REPORTED[clock_outcome(deadline, as_of)]


@dataclass(frozen=True)
class Clock:
    """One deadline of one incident, as the report judges it."""

    incident: Incident
    sla: Sla
    deadline: Deadline
    outcome: Outcome

    @property
    def time_to_meet(self) -> timedelta | None:
        if self.sla not in TIMED_FROM_OPENING or self.deadline.met_at is None:
            return None
        return self.deadline.met_at - self.incident.opened_at

    def lateness(self, as_of: datetime) -> timedelta | None:
        if self.outcome is Outcome.LATE and self.deadline.met_at is not None:
            return self.deadline.met_at - self.deadline.due
        if self.outcome is Outcome.MISSED:
            return as_of - self.deadline.due
        return None


@dataclass(frozen=True)
class ClockStats:
    sla: Sla
    in_time: int
    late: int
    missed: int
    open: int
    median: timedelta | None
    worst: timedelta | None

    @property
    def decided(self) -> int:
        return self.in_time + self.late + self.missed

    @property
    def percent_in_time(self) -> float | None:
        return round(100 * self.in_time / self.decided, 1) if self.decided else None


@dataclass(frozen=True)
class ComplianceReport:
    start: datetime
    end: datetime
    as_of: datetime
    incidents: tuple[Incident, ...]
    clocks: tuple[Clock, ...]
    zone: ZoneInfo

    @property
    def by_severity(self) -> dict[Severity, int]:
        return {s: sum(1 for i in self.incidents if i.severity is s) for s in Severity}

    def stats(self, sla: Sla) -> ClockStats:
        mine = [c for c in self.clocks if c.sla is sla]
        times = [t for c in mine if (t := c.time_to_meet) is not None]
        counts = {o: sum(1 for c in mine if c.outcome is o) for o in Outcome}
        return ClockStats(
            sla=sla,
            in_time=counts[Outcome.IN_TIME],
            late=counts[Outcome.LATE],
            missed=counts[Outcome.MISSED],
            open=counts[Outcome.OPEN],
            median=timedelta(seconds=statistics.median(t.total_seconds() for t in times)) if times else None,
            worst=max(times) if times else None,
        )

    @property
    def breaches(self) -> list[Clock]:
        return [c for c in self.clocks if c.outcome in (Outcome.LATE, Outcome.MISSED)]


def build(
    incidents: Iterable[Incident], start: datetime, end: datetime, as_of: datetime, zone: ZoneInfo
) -> ComplianceReport:
    """The report on incidents opened in [start, end), its times to be read in `zone`."""
    chosen = sorted((i for i in incidents if start <= i.opened_at < end), key=lambda i: (i.opened_at, i.id))
    clocks = [
        Clock(incident, sla, incident.deadlines[sla], outcome(incident.deadlines[sla], as_of))
        for incident in chosen
        for sla in Sla
        if sla in incident.deadlines
    ]
    return ComplianceReport(start, end, as_of, tuple(chosen), tuple(clocks), zone)


def last_week(now: datetime, calendar: PlaybookCalendar) -> tuple[datetime, datetime]:
    """The seven local days before the day of `now`: Monday 00:00 to Monday 00:00 for a Monday run."""
    return local_days(calendar, calendar.local(now).date() - timedelta(days=7), calendar.local(now).date())


def reported_week(now: datetime, calendar: PlaybookCalendar) -> tuple[datetime, datetime]:
    """The Monday-to-Monday week the Monday report counted, seen from any day of the week after it: what the
    report's own `last_week` gives on that Monday, so the App Home and the report agree."""
    today = calendar.local(now).date()
    monday = today - timedelta(days=today.weekday())
    return last_week(datetime.combine(monday, time(12), tzinfo=calendar.zone), calendar)


def local_days(calendar: PlaybookCalendar, first: date, stop: date) -> tuple[datetime, datetime]:
    """[first 00:00, stop 00:00) in the playbook's zone, as UTC instants.

    Midnights are taken in the zone so a week across a DST change is still Monday to Monday; they are
    returned in UTC because the store partitions incidents by their UTC month.
    """
    return (
        datetime.combine(first, time(0), tzinfo=calendar.zone).astimezone(UTC),
        datetime.combine(stop, time(0), tzinfo=calendar.zone).astimezone(UTC),
    )


# --- rendering ----------------------------------------------------------------------------------------


def zone_name(zone: ZoneInfo) -> str:
    """How the report names its zone: the short US name people say, else the IANA key."""
    return US_ZONE_NAMES.get(zone.key, zone.key)


def period(report: ComplianceReport) -> str:
    """The report's local days, first to last, as its title and the chart's say them."""
    last_day = (report.end - timedelta(minutes=1)).astimezone(report.zone)
    return f"{report.start.astimezone(report.zone):%a %m/%d/%Y} to {last_day:%a %m/%d/%Y}"


def optional_duration(span: timedelta | None) -> str:
    return duration_text(span) if span is not None else "—"


def in_time_cell(stats: ClockStats) -> str:
    if not stats.decided:
        return "none due"
    return f"{stats.in_time} of {stats.decided} ({stats.percent_in_time:g}%)"


def _breach_line(clock: Clock, as_of: datetime, zone: ZoneInfo) -> str:
    incident, deadline = clock.incident, clock.deadline
    done = (
        f"done {format_local(deadline.met_at, zone)}, {optional_duration(clock.lateness(as_of))} late"
        if deadline.met_at
        else "not done"
    )
    return (
        f"- **{incident.id}** ({incident.severity.value}) {esc(incident.title)}: {SLA_LABEL[clock.sla]} "
        f"due {format_local(deadline.due, zone)}, {done}"
    )


def render_md(report: ComplianceReport, *, breach_limit: int | None = None) -> str:
    counts = report.by_severity
    severities = " · ".join(f"{s.value} {counts[s]}" for s in Severity)
    lines = [
        f"# Playbook compliance: {period(report)}",
        "",
        f"**{len(report.incidents)} incidents opened** ({severities}). Times are {zone_name(report.zone)}; "
        f"clocks still running at {format_local(report.as_of, report.zone)} are counted as open.",
        "",
        "| Playbook clock | In time | Late | Missed | Open | Median time to meet | Worst time to meet |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for sla in Sla:
        s = report.stats(sla)
        lines.append(
            f"| {sentence_case(SLA_LABEL[sla])} | {in_time_cell(s)} | {s.late} | {s.missed} | {s.open} "
            f"| {optional_duration(s.median)} | {optional_duration(s.worst)} |"
        )
    breaches = report.breaches
    lines += ["", f"## Breaches ({len(breaches)})", ""]
    shown = breaches if breach_limit is None else breaches[:breach_limit]
    lines += [_breach_line(c, report.as_of, report.zone) for c in shown] or ["No breaches."]
    if len(shown) < len(breaches):
        lines.append(
            f"- … and {len(breaches) - len(shown)} more: `prodsupport report --from "
            f"{report.start.astimezone(report.zone):%Y-%m-%d} "
            f"--to {report.end.astimezone(report.zone):%Y-%m-%d} --format md`"
        )
    return "\n".join(lines) + "\n"


def _seconds(span: timedelta | None) -> int | None:
    return None if span is None else int(span.total_seconds())


def _iso(at: datetime | None) -> str | None:
    return None if at is None else to_iso(at)


def render_csv(report: ComplianceReport) -> str:
    """One row per clock per incident: the data behind the summary, for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for clock in report.clocks:
        incident, deadline = clock.incident, clock.deadline
        writer.writerow(
            [
                incident.id,
                incident.title,
                incident.severity.value,
                to_iso(incident.opened_at),
                incident.window,
                clock.sla.value,
                to_iso(deadline.due),
                _iso(deadline.met_at) or "",
                clock.outcome.value,
                _seconds(clock.time_to_meet) if clock.time_to_meet is not None else "",
                _seconds(clock.lateness(report.as_of)) if clock.lateness(report.as_of) is not None else "",
            ]
        )
    return out.getvalue()


def as_dict(report: ComplianceReport) -> dict[str, Any]:
    clocks: dict[str, Any] = {}
    for sla in Sla:
        s = report.stats(sla)
        clocks[sla.value] = {
            "in_time": s.in_time,
            "late": s.late,
            "missed": s.missed,
            "open": s.open,
            "percent_in_time": s.percent_in_time,
            "median_seconds_to_meet": _seconds(s.median),
            "worst_seconds_to_meet": _seconds(s.worst),
        }
    return {
        "from": to_iso(report.start),
        "to": to_iso(report.end),
        "as_of": to_iso(report.as_of),
        "incidents": len(report.incidents),
        "by_severity": {s.value: n for s, n in report.by_severity.items()},
        "clocks": clocks,
        "breaches": [
            {
                "incident_id": c.incident.id,
                "title": c.incident.title,
                "severity": c.incident.severity.value,
                "sla": c.sla.value,
                "due": to_iso(c.deadline.due),
                "met_at": _iso(c.deadline.met_at),
                "seconds_late": _seconds(c.lateness(report.as_of)),
            }
            for c in report.breaches
        ],
    }


def render(report: ComplianceReport, fmt: Format) -> str:
    if fmt == "csv":
        return render_csv(report)
    if fmt == "json":
        return json.dumps(as_dict(report), indent=2) + "\n"
    return render_md(report)


# --- the weekly post -----------------------------------------------------------------------------------


def weekly_message(report: ComplianceReport, channel: str) -> SlackMessage:
    """A markdown block, because Slack's mrkdwn has no tables; `text` is the notification's fallback."""
    breaches = len(report.breaches)
    return SlackMessage(
        channel=channel,
        text=(
            f":bar_chart: Playbook compliance {period(report)}: {len(report.incidents)} incidents, "
            f"{breaches} breach{'es' if breaches != 1 else ''}."
        ),
        blocks=[{"type": "markdown", "text": render_md(report, breach_limit=SLACK_BREACH_LINES)}],
        event_type="compliance_report",
        payload={
            "from": to_iso(report.start),
            "to": to_iso(report.end),
            "incidents": len(report.incidents),
            "breaches": breaches,
        },
    )
