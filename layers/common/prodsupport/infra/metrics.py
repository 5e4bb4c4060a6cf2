"""Business metrics, counted where the effect happens, published by each handler's `log_metrics`.

Powertools' Metrics instances share one metric set, so a count added here is flushed (as CloudWatch EMF)
by whichever function handler is running; the namespace is the stack's (template.yaml), so the dashboard
and the alarms of two stacks in one account never mix.
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

POSTED = {
    "incident_declared": "IncidentsDeclared",
    "incident_acknowledged": "AcksRecorded",
    "stakeholder_email_sent": "EmailsSent",
    "postmortem_invitation_sent": "EmailsSent",
    "stakeholder_email_failed": "EmailsRejected",
    "stakeholder_email_unknown": "EmailsOutcomeUnknown",
}
"""A bot message of these kinds is the record of the effect, so posting one is what counts it."""


def count(name: str, value: float = 1) -> None:
    Metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def posted(event_type: str | None) -> None:
    name = POSTED.get(event_type or "")
    if name:
        count(name)
