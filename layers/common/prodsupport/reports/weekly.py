"""The weekly compliance report: last week's numbers as text, then the chart as an image in the channel.

Two effects, each claimed on its own so a scheduler retry or a second delivery of the run repeats neither:
the text (claimed as before the chart existed, under `compliance_report` and the week's start, so a deploy
that moves the job between functions cannot post a week twice) and the image (`compliance_chart`). A run
that posts the text and then fails to upload gives back only the image's claim; the retry uploads it alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from prodsupport.core.timefmt import to_iso
from prodsupport.infra.slack_api import post
from prodsupport.reports import charts, history
from prodsupport.sla import compliance

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime


def chart_filename(report: compliance.ComplianceReport) -> str:
    return f"playbook-compliance-{report.start.astimezone(report.zone):%Y-%m-%d}.png"


def chart_title(report: compliance.ComplianceReport) -> str:
    return f"Playbook compliance {compliance.period(report)}"


def chart_png(rt: Runtime, now: datetime) -> tuple[compliance.ComplianceReport, bytes]:
    """Last week's report and its chart, the trend read from the incidents of the last HISTORY_WEEKS weeks."""
    calendar = rt.policy.calendar
    start, end = compliance.last_week(now, calendar)
    week_start = start.astimezone(calendar.zone).date()
    first, _ = compliance.local_days(calendar, history.history_start(week_start), week_start)
    incidents = [incident for incident in rt.store.opened_between(first, end) if incident.team == rt.team_id]
    report = compliance.build(incidents, start, end, now, rt.zone)
    trend = history.weekly_history(incidents, week_start, calendar, now)
    return report, charts.compliance_png(chart_title(report), history.ack_bars(report), trend)


def post_weekly(rt: Runtime, now: datetime) -> None:
    """Post last week's report of the team's incidents, then its chart, in its channel, each once even when the
    scheduler delivers the run twice (the default team's claims keep their keys from before teams)."""
    start, end = compliance.last_week(now, rt.policy.calendar)
    week = to_iso(start) if rt.team is None else f"{to_iso(start)}#{rt.team_id}"
    with rt.dedupe.once("compliance_report", week, now) as first:
        if first:
            incidents = [incident for incident in rt.store.opened_between(start, end) if incident.team == rt.team_id]
            report = compliance.build(incidents, start, end, now, rt.zone)
            message = compliance.weekly_message(report, rt.settings.channel_id)
            if rt.settings.github_repo:
                # Lazy: github_tracking reads DynamoDB for the open action items; only a configured repo needs it
                from prodsupport.postmortem import github_messages as messages  # noqa: PLC0415
                from prodsupport.postmortem import github_tracking as tracking  # noqa: PLC0415

                message = messages.with_open_items(message, tracking.team_entries(rt.table, rt.id_prefix)[1], now)
            post(rt.slack, message)
    with rt.dedupe.once("compliance_chart", week, now) as first:
        if first:
            report, png = chart_png(rt, now)
            rt.slack.files_upload_v2(
                channel=rt.settings.channel_id,
                filename=chart_filename(report),
                title=chart_title(report),
                content=png,
            )
