"""Every handler takes every sample event of its own in events/, as `sam local invoke -e` would give it."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from prodsupport.core.timefmt import from_epoch, parse_iso
from prodsupport_local.emulator.stack import LocalStack, VirtualClock

EVENTS = sorted((Path(__file__).resolve().parents[3] / "events").glob("*.json"))
FUNCTIONS = {
    "slack_": "SlackEventsFunction",
    "pagerduty_": "PagerDutyWebhookFunction",
    "github_": "GitHubWebhookFunction",
    "sla_checker_": "SlaCheckerFunction",
    "email_sender_": "EmailSenderFunction",
    "reports_": "ReportsFunction",
}


def function_for(path: Path) -> str:
    return next(logical_id for prefix, logical_id in FUNCTIONS.items() if path.name.startswith(prefix))


def moment_of(event: dict[str, Any]) -> datetime:
    """The instant the sample was made at, so signatures are fresh and "now" is the event's own."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if "x-slack-request-timestamp" in headers:
        return from_epoch(int(headers["x-slack-request-timestamp"]))
    if "requestContext" in event:
        return from_epoch(event["requestContext"]["timeEpoch"] / 1000)
    if "Records" in event:
        return from_epoch(int(event["Records"][0]["attributes"]["SentTimestamp"]) / 1000)
    return parse_iso(event["time"])


def test_every_sample_event_belongs_to_a_function() -> None:
    assert EVENTS, "events/ is empty"
    assert all(any(p.name.startswith(prefix) for prefix in FUNCTIONS) for p in EVENTS)


@pytest.mark.parametrize("path", EVENTS, ids=[p.stem for p in EVENTS])
def test_the_handler_takes_the_sample_event(path: Path, stack: LocalStack, clock: VirtualClock) -> None:
    stack.configure({"alert_bot_ids": ["B0DATADOG"], "stakeholders": ["sync@example.gov"]})
    event = json.loads(path.read_text(encoding="utf-8"))
    clock.set(moment_of(event))
    result = stack.invoke(function_for(path), event)
    if "requestContext" in event:
        assert result["statusCode"] < 500, result
        assert result["statusCode"] != 401, "the sample's signature does not verify with the local secret"
    assert stack.failures == []
