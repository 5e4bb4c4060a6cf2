"""The scheduled reports: the weekly compliance report with its chart, and the monthly outlook.

A function of its own, with the charts layer (matplotlib) that no other function carries: drawing costs
its cold start here, never the Slack, PagerDuty or SLA checker's. Thin like functions/sla_checker: take "now"
from the event's `time` (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`), run one job, count it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from prodsupport import runtime
from prodsupport.core.timefmt import to_iso
from prodsupport.infra import scheduled_run

logger = Logger()
metrics = Metrics()

JOBS = ("compliance_report", "monthly_outlook")


def _run(job: str, now: datetime) -> None:
    if job == "compliance_report":
        from prodsupport.reports import weekly

        runtime.current().each_team(job, lambda team: weekly.post_weekly(team, now))
    else:
        from prodsupport.reports import outlook

        runtime.current().each_team(job, lambda team: outlook.post_monthly(team, now))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.current().begin(context.get_remaining_time_in_millis())
    job, now = scheduled_run.start(event, JOBS, logger, metrics)
    _run(job, now)
    return {"job": job, "time": to_iso(now)}
