"""People read times in the configured zone (`timezone`), on every surface: Slack, the checker, PagerDuty."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from pagerduty_support import PD_ID, PD_URL, deliver, event_body

from prodsupport_local.recording_slack import RecordingSlackApi
from prodsupport_local.stack import LocalStack, VirtualClock

CHANNEL = "C0PRODSUP"
PACIFIC = {"timezone": "America/Los_Angeles", "alert_bot_ids": ["B0DATADOG"], "oncall_user_id": "U0ONCALL"}
# Wed 11/25/2026 10:00 AM PST: business hours on the west coast.
WEDNESDAY_10_PT = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)

Signer = Callable[..., Any]


@pytest.fixture
def pacific(stack: LocalStack) -> LocalStack:
    stack.configure(PACIFIC)
    return stack


def posted_texts(slack: RecordingSlackApi) -> list[str]:
    return [str(c.args.get("text") or "") for c in slack.calls_to("chat.postMessage") if c.ok]


def declare(stack: LocalStack, clock: VirtualClock, sign: Signer, at: datetime) -> None:
    clock.set(at)
    form = urlencode(
        {"command": "/incident", "text": "major Kiosk check-in down", "user_id": "U0ENG", "channel_id": CHANNEL}
    )
    request = sign(form, at)
    assert stack.request("POST", "/slack/commands", request.headers, request.body).status == 200


def alert(stack: LocalStack, clock: VirtualClock, sign: Signer, at: datetime) -> None:
    clock.set(at)
    ts = f"{int(at.timestamp())}.000100"
    event = {"type": "message", "channel": CHANNEL, "bot_id": "B0DATADOG", "subtype": "bot_message", "ts": ts}
    body = {
        "type": "event_callback",
        "event_id": "Ev0ZONE",
        "event_time": int(at.timestamp()),
        "event": {**event, "text": "Triggered: check-in API 5xx"},
    }
    request = sign(body, at)
    assert stack.request("POST", "/slack/events", request.headers, request.body).status == 200


def test_a_declared_incident_card_shows_its_times_in_the_configured_zone(
    pacific: LocalStack, clock: VirtualClock, signed_slack_request: Signer
) -> None:
    declare(pacific, clock, signed_slack_request, WEDNESDAY_10_PT)

    card = posted_texts(pacific.slack)[0]
    assert "acknowledge by Wed 11/25/2026 10:15 AM PST" in card


def test_the_checker_says_when_a_clock_is_due_in_the_configured_zone(
    pacific: LocalStack, clock: VirtualClock, signed_slack_request: Signer
) -> None:
    alert(pacific, clock, signed_slack_request, WEDNESDAY_10_PT)
    reminder_at = WEDNESDAY_10_PT + timedelta(minutes=10)
    clock.set(reminder_at)
    pacific.invoke("SlaCheckerFunction", {"time": reminder_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "job": "sla"})

    reminder = next(t for t in posted_texts(pacific.slack) if t.startswith(":alarm_clock:"))
    assert "due by Wed 11/25/2026 10:15 AM PST" in reminder


def test_a_pagerduty_status_update_is_stamped_in_the_configured_zone(pacific: LocalStack) -> None:
    deliver(pacific, event_body("incident.triggered", WEDNESDAY_10_PT))
    update_at = WEDNESDAY_10_PT + timedelta(minutes=20)
    status_update = {
        "id": "PSTU0001",
        "type": "incident_status_update",
        "message": "Rolled back the deploy",
        "incident": {"id": PD_ID, "type": "incident_reference", "html_url": PD_URL},
    }
    deliver(pacific, event_body("incident.status_update_published", update_at, data=status_update))

    status = next(t for t in posted_texts(pacific.slack) if t.startswith(":memo:"))
    assert "at Wed 11/25/2026 10:20 AM PST" in status
