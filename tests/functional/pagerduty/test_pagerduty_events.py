"""Every events/pagerduty_*.json sample, invoked on the handler as `sam local invoke -e` would."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from prodsupport.pagerduty import webhook as pagerduty
from prodsupport_local.emulator.aws import LocalSecrets
from prodsupport_local.emulator.stack import LocalStack

EVENTS = Path(__file__).resolve().parents[3] / "events"
SAMPLES = sorted(path.name for path in EVENTS.glob("pagerduty_*.json"))
TRIGGERED = "pagerduty_incident_triggered.json"
FUNCTION = "PagerDutyWebhookFunction"


def invoke(stack: LocalStack, event: dict[str, Any]) -> dict[str, Any]:
    result = stack.invoke(FUNCTION, event)
    assert isinstance(result, dict)
    return result


# What each sample does after the triggered one opened its incident.
OUTCOMES = {
    TRIGGERED: "opened",
    "pagerduty_incident_acknowledged.json": "acknowledged",
    "pagerduty_incident_priority_updated.json": "severity changed",
    "pagerduty_incident_status_update_published.json": "noted",
    "pagerduty_incident_resolved.json": "resolved",
    "pagerduty_service_updated.json": "ignored",
}


def test_every_sample_has_an_expected_outcome() -> None:
    assert set(SAMPLES) == set(OUTCOMES)


@pytest.mark.parametrize("name", SAMPLES)
def test_each_sample_is_signed_with_the_local_secret(name: str, load_event: Callable[[str], dict[str, Any]]) -> None:
    event = load_event(name)
    signature = pagerduty.header(event["headers"], pagerduty.SIGNATURE_HEADER)
    assert pagerduty.verify_signature(LocalSecrets().pagerduty_webhook_secrets, signature, event["body"].encode())


@pytest.mark.parametrize("name", SAMPLES)
def test_each_sample_is_accepted_by_the_handler(
    name: str, stack: LocalStack, load_event: Callable[[str], dict[str, Any]]
) -> None:
    if name != TRIGGERED:
        invoke(stack, load_event(TRIGGERED))  # the samples are one PagerDuty incident's story
    result = invoke(stack, load_event(name))
    assert result["statusCode"] == 202, result.get("body")
    assert json.loads(result["body"])["status"] == OUTCOMES[name]
