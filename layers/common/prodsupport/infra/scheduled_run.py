"""The start every scheduled function makes: read the job and its time, or count and log a bad schedule.

The SLA checker and the reports function run different jobs from the same kind of schedule, so they reject,
count and label a run the same way: the dashboard's `ScheduleEventsRejected` and `ScheduledRuns` mean one
thing whichever function emitted them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from prodsupport.core.scheduled import ScheduleEventError, scheduled_job
from prodsupport.core.timefmt import to_iso


def start(
    event: Any, jobs: tuple[str, ...], logger: Logger, metrics: Metrics, default: str | None = None
) -> tuple[str, datetime]:
    """The job and its scheduled time, with the logs and metrics labelled by the job.

    A misconfigured schedule Input is counted and logged, then raised: the run fails where the schedule's
    retries and alarms see it, instead of passing as a run that did nothing.
    """
    try:
        job, now = scheduled_job(event, jobs, default)
    except ScheduleEventError:
        metrics.add_metric(name="ScheduleEventsRejected", unit=MetricUnit.Count, value=1)
        logger.exception("rejected a scheduled event; the schedule's Input is misconfigured")
        raise
    logger.append_keys(job=job, scheduled_time=to_iso(now))
    metrics.add_dimension(name="job", value=job)
    metrics.add_metric(name="ScheduledRuns", unit=MetricUnit.Count, value=1)
    return job, now
