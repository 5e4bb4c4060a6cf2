"""The scheduled jobs: the every-minute SLA check, the release digest and the release day.

The weekly compliance report and the monthly outlook draw charts, so they run in functions/reports instead,
which keeps matplotlib out of this function's cold start.

Thin: take "now" from the event's `time` (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`, or a
classic EventBridge Scheduled Event's), run one job in the layer, record its metrics. The scheduled time,
not the wall clock, is "now", so a retried or delayed run decides exactly what the on-time run would have.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from prodsupport import runtime
from prodsupport.core.timefmt import to_iso
from prodsupport.infra import scheduled_run

logger = Logger()
metrics = Metrics()

JOBS = ("sla", "release_digest", "release_day")


def _check_slas(now: datetime) -> dict[str, Any]:
    from prodsupport.sla import checker

    rt = runtime.current()
    report = checker.run(rt, now)
    if any(not isinstance(view, Exception) and view.settings.github_repo for _, view in rt.all_teams()):
        from prodsupport.postmortem import github_pr as postmortem_pr

        postmortem_pr.remind_action_items(rt, now)
    metrics.add_metric(name="SlaIncidentsChecked", unit=MetricUnit.Count, value=report.checked)
    metrics.add_metric(name="SlaRemindersPosted", unit=MetricUnit.Count, value=report.reminders)
    metrics.add_metric(name="SlaBreachesPosted", unit=MetricUnit.Count, value=report.breaches)
    metrics.add_metric(name="SlaIncidentFailures", unit=MetricUnit.Count, value=report.failures)
    metrics.add_metric(name="SlaDirectMessageFailures", unit=MetricUnit.Count, value=report.direct_message_failures)
    metrics.add_metric(name="TeamConfigErrors", unit=MetricUnit.Count, value=report.team_errors)
    for lag in report.lag_seconds:
        metrics.add_metric(name="SlaNoticeLag", unit=MetricUnit.Seconds, value=lag)
    return {
        "checked": report.checked,
        "reminders": report.reminders,
        "breaches": report.breaches,
        "refreshed": report.refreshed,
        "failures": report.failures,
    }


def _run(job: str, now: datetime) -> dict[str, Any]:
    if job == "sla":
        return _check_slas(now)
    from prodsupport.release import flows as release_flow

    run = release_flow.weekly_digest if job == "release_digest" else release_flow.release_day
    runtime.current().each_team(job, lambda team: run(team, now))
    return {}


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with runtime.current().invocation(context.get_remaining_time_in_millis()):
        job, now = scheduled_run.start(event, JOBS, logger, metrics, default="sla")
        return {"job": job, "time": to_iso(now), **_run(job, now)}
