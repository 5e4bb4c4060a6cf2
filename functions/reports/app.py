"""The scheduled reports: the weekly compliance report with its chart, and the monthly outlook.

A function of its own, with the charts layer (matplotlib) that no other function carries: drawing costs
its cold start here, never the Slack, PagerDuty or SLA checker's. Thin like functions/sla_checker: take "now"
from the event's `time` (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`), run one job, count it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from prodsupport import runtime
from prodsupport.core.scheduled import ScheduleEventError, scheduled_job
from prodsupport.core.timefmt import to_iso

logger = Logger()
metrics = Metrics()

JOBS = ("compliance_report", "monthly_outlook")


def _run(job: str, now: datetime) -> None:
    rt = runtime.current()
    if job == "compliance_report":
        from prodsupport.reports import weekly

        weekly.post_weekly(rt, now)
    else:
        from prodsupport.reports import outlook

        outlook.post_monthly(rt, now)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.current().begin(context.get_remaining_time_in_millis())
    try:
        job, now = scheduled_job(event, JOBS)
    except ScheduleEventError:
        metrics.add_metric(name="ScheduleEventsRejected", unit=MetricUnit.Count, value=1)
        logger.exception("rejected a scheduled event; the schedule's Input is misconfigured")
        raise
    logger.append_keys(job=job, scheduled_time=to_iso(now))
    metrics.add_dimension(name="job", value=job)
    metrics.add_metric(name="ScheduledRuns", unit=MetricUnit.Count, value=1)
    _run(job, now)
    return {"job": job, "time": to_iso(now)}
