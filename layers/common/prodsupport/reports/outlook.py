"""The monthly outlook the playbook names: "OCTO will share out the high-level upcoming work at each monthly
VTP OIT Leadership Meeting".

On its schedule (a template parameter, in ET) it posts in the channel, with `release_outlook` metadata, the
releases of the coming month (from the run's day to the same day a month later) and the previous calendar month's
incidents and compliance, and emails the same to the
leadership list (`leadership_emails`). The post is claimed once per month like the weekly report; the email
goes through the one request + queue path every email takes, under a request id fixed per month, so a second
tick of the same run, a scheduler retry or a rerun by hand posts once and emails once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from prodsupport.core.calendar import PlaybookCalendar
from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.rendering import RenderedEmail, environment, one_line
from prodsupport.core.timefmt import to_iso
from prodsupport.email import requests as email_requests
from prodsupport.incident.messages import SLA_LABEL, sentence_case
from prodsupport.incident.model import Incident, Severity, Sla
from prodsupport.infra.slack_api import post
from prodsupport.infra.slack_message import SlackMessage
from prodsupport.release.model import Release, ReleaseStatus, format_day
from prodsupport.release.store import ReleaseStore
from prodsupport.sla import compliance
from prodsupport.sla.compliance import ComplianceReport

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)


@dataclass(frozen=True)
class Outlook:
    """What the leadership meeting hears: the month ahead's releases and how last month went."""

    month: dt.date  # the first day of the run's month: names the outlook, its claim and its email
    releases: tuple[Release, ...]
    last_month: ComplianceReport
    first: dt.date  # the coming month's releases are dated in [first, stop)
    stop: dt.date

    @property
    def month_name(self) -> str:
        return f"{self.month:%B %Y}"

    @property
    def last_month_name(self) -> str:
        return f"{previous_month(self.month):%B %Y}"

    @property
    def releases_period(self) -> str:
        """`in December 2026` for a run on the 1st (the default schedule), else the dates a mid-month run covers."""
        if self.first.day == 1 and self.stop == next_month(self.first):
            return f"in {self.month_name}"
        return f"from {format_day(self.first)} to {format_day(self.stop - dt.timedelta(days=1))}"


def previous_month(first: dt.date) -> dt.date:
    return (first - dt.timedelta(days=1)).replace(day=1)


def next_month(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1)


def a_month_after(day: dt.date) -> dt.date:
    """The same day next month, or that month's last day when it is shorter (January 31 → February 28)."""
    following = next_month(day.replace(day=1))
    last_day = (next_month(following) - dt.timedelta(days=1)).day
    return following.replace(day=min(day.day, last_day))


def build(
    today: dt.date,
    releases: list[Release],
    last_month_incidents: list[Incident],
    calendar: PlaybookCalendar,
    as_of: dt.datetime,
) -> Outlook:
    """The outlook of a run on `today`: the releases scheduled in the coming month ([today, a month later), so a
    mid-month schedule still looks a month ahead), and the compliance report over the previous calendar month's
    local days, judged as of the run."""
    month = today.replace(day=1)
    stop = a_month_after(today)
    start, end = compliance.local_days(calendar, previous_month(month), month)
    report = compliance.build(last_month_incidents, start, end, as_of, calendar.zone)
    scheduled = tuple(
        sorted(
            (r for r in releases if r.status is ReleaseStatus.SCHEDULED and today <= r.date < stop),
            key=lambda r: (r.date, r.id),
        )
    )
    return Outlook(month, scheduled, report, today, stop)


def _on_time(report: ComplianceReport) -> list[tuple[Sla, compliance.ClockStats]]:
    """The clocks that fell due last month: a clock nobody owed says nothing to leadership."""
    return [(sla, stats) for sla in Sla if (stats := report.stats(sla)).decided]


def _severities(report: ComplianceReport) -> str:
    counts = report.by_severity
    return " · ".join(f"{s.value} {counts[s]}" for s in Severity)


def message(outlook: Outlook, channel: str) -> SlackMessage:
    """The channel post, with `release_outlook` metadata (docs/design.md#message-metadata)."""
    report = outlook.last_month
    lines = [f":calendar: *Monthly outlook: {outlook.month_name}* (for the VTP OIT Leadership Meeting)", ""]
    lines.append(f"*Releases {outlook.releases_period}*")
    lines += [
        f"• *{format_day(r.date)}* · *{esc(r.application)}* · {r.id} — {esc(r.summary)}" for r in outlook.releases
    ] or ["No releases are scheduled."]
    lines += [
        "",
        f"*{outlook.last_month_name}*: {len(report.incidents)} incidents ({_severities(report)}), "
        f"{len(report.breaches)} clocks late or missed.",
    ]
    lines += [
        f"• {sentence_case(SLA_LABEL[sla])}: {stats.in_time} of {stats.decided} in time ({stats.percent_in_time:g}%)"
        for sla, stats in _on_time(report)
    ]
    return SlackMessage(
        channel=channel,
        text="\n".join(lines),
        event_type="release_outlook",
        payload={
            "month": f"{outlook.month:%Y-%m}",
            "releases": [
                {"release_id": r.id, "application": r.application, "date": r.date.isoformat()} for r in outlook.releases
            ],
            "last_month": {
                "from": to_iso(report.start),
                "to": to_iso(report.end),
                "incidents": len(report.incidents),
                "breaches": len(report.breaches),
                "percent_in_time": {sla.value: stats.percent_in_time for sla, stats in _on_time(report)},
            },
        },
    )


def email(outlook: Outlook, team_name: str) -> RenderedEmail:
    """The same outlook for the leadership list; user text is escaped in the HTML by the environment."""
    report = outlook.last_month
    context = {
        "team_name": team_name,
        "month_name": outlook.month_name,
        "last_month_name": outlook.last_month_name,
        "releases_period": outlook.releases_period,
        "releases": [
            {"day": format_day(r.date), "application": r.application, "id": r.id, "summary": r.summary}
            for r in outlook.releases
        ],
        "incidents": len(report.incidents),
        "severities": _severities(report),
        "breaches": len(report.breaches),
        "clocks": [
            {
                "label": sentence_case(SLA_LABEL[sla]),
                "in_time": stats.in_time,
                "decided": stats.decided,
                "percent": f"{stats.percent_in_time:g}",
            }
            for sla, stats in _on_time(report)
        ],
    }
    templates = environment()
    return RenderedEmail(
        subject=one_line(f"{team_name} Monthly Outlook {outlook.month_name}"),
        text=templates.get_template("outlook_email.txt.j2").render(context),
        html=templates.get_template("outlook_email.html.j2").render(context),
    )


def request_id(outlook: Outlook) -> str:
    """Fixed per month, so every run for the month is the same email request."""
    return f"outlook-{outlook.month:%Y-%m}"


def post_monthly(rt: Runtime, now: dt.datetime) -> None:
    """Post the team's outlook (its releases and incidents) once per month in its channel, then email it once
    to its leadership list (none configured: none)."""
    calendar = rt.policy.calendar
    today = calendar.local(now).date()
    month = today.replace(day=1)
    start, end = compliance.local_days(calendar, previous_month(month), month)
    outlook = build(
        today,
        ReleaseStore(rt.table, rt.team_id).dated(today, a_month_after(today) - dt.timedelta(days=1)),
        [incident for incident in rt.store.opened_between(start, end) if incident.team == rt.team_id],
        calendar,
        now,
    )
    period = f"{month:%Y-%m}" if rt.team is None else f"{month:%Y-%m}#{rt.team_id}"
    with rt.dedupe.once("release_outlook", period, now) as first:
        if first:
            post(rt.slack, message(outlook, rt.settings.channel_id))
    leadership = rt.settings.leadership_emails
    if not leadership:
        logger.info("no leadership list configured; the monthly outlook is not emailed", month=f"{month:%Y-%m}")
        return
    email_requests.enqueue_channel_email(
        rt,
        email(outlook, rt.settings.team_name),
        request_id=request_id(outlook) if rt.team is None else f"{request_id(outlook)}-{rt.team_id}",
        kind="outlook",
        ref=f"{month:%Y-%m}",
        to=leadership,
        requested_at=now,
        requested_by="prodsupport",
    )
