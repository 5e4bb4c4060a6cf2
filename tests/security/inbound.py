"""Signed and unsigned requests as Slack and PagerDuty send them, for the security tests."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from prodsupport.core.timefmt import to_iso
from prodsupport_local.emulator.apigw import HttpResponse
from prodsupport_local.emulator.aws import LocalSecrets
from prodsupport_local.emulator.replay import slack_signature
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack, VirtualClock
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

CHANNEL = str(DEFAULT_SETTINGS["channel_id"])
SECRETS = LocalSecrets()
SETTINGS = {
    "alert_bot_ids": ["B0DATADOG"],
    "oncall_user_id": "U0ONCALL",
    "pm_user_id": "U0PM",
    "backup_pm_user_id": "U0BACKUP",
    "admin_user_ids": ["U0ADMIN"],
    "stakeholders": ["weekly-sync@example.gov"],
}
# Wednesday 11/25/2026 10:00 AM EST: business hours.
WEDNESDAY_10_ET = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
INC = "INC-2026-0001"


def clock_of(stack: LocalStack) -> VirtualClock:
    clock = stack.clock
    assert isinstance(clock, VirtualClock)
    return clock


def slack_headers(body: bytes, at: datetime, secret: str = SECRETS.slack_signing_secret) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    content_type = "application/json" if body.lstrip().startswith(b"{") else "application/x-www-form-urlencoded"
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": slack_signature(secret, timestamp, body),
    }


def pagerduty_headers(body: bytes, webhook_id: str = "wh-1", secret: str | None = None) -> dict[str, str]:
    key = SECRETS.pagerduty_webhook_secrets[0] if secret is None else secret
    digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-PagerDuty-Signature": f"v1={digest}", "X-Webhook-Id": webhook_id}


def command_body(text: str, *, user: str = "U0ONCALL", name: str = "/incident") -> bytes:
    form = {"command": name, "text": text, "user_id": user, "channel_id": CHANNEL, "trigger_id": "t.1"}
    return urlencode(form).encode()


def command(stack: LocalStack, text: str, *, user: str = "U0ONCALL", name: str = "/incident") -> dict[str, Any]:
    body = command_body(text, user=user, name=name)
    response = stack.request("POST", "/slack/commands", slack_headers(body, clock_of(stack)()), body)
    assert response.status == 200, response
    return json.loads(response.body) if response.body else {}


def event(stack: LocalStack, event: dict[str, Any], event_id: str) -> HttpResponse:
    at = clock_of(stack)()
    body = json.dumps(
        {"type": "event_callback", "event_id": event_id, "event_time": int(at.timestamp()), "event": event}
    )
    raw = body.encode()
    return stack.request("POST", "/slack/events", slack_headers(raw, at), raw)


def interaction(stack: LocalStack, payload: dict[str, Any]) -> HttpResponse:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return stack.request("POST", "/slack/interactions", slack_headers(body, clock_of(stack)()), body)


def pagerduty_body(event_type: str, at: datetime, *, event_id: str, title: str = "Check-In API 5xx") -> bytes:
    return json.dumps(
        {
            "event": {
                "id": event_id,
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": to_iso(at),
                "agent": {"id": "PUSR0ANA", "type": "user_reference", "summary": "Ana Oncall"},
                "data": {
                    "id": "Q0PD0001",
                    "type": "incident",
                    "html_url": "https://va-checkin.pagerduty.com/incidents/Q0PD0001",
                    "title": title,
                    "urgency": "high",
                    "priority": {"id": "PPRI", "type": "priority_reference", "summary": "P1"},
                },
            }
        }
    ).encode()


def alert(at: datetime) -> dict[str, Any]:
    ts = f"{int(at.timestamp())}.000100"
    return {
        "type": "message",
        "channel": CHANNEL,
        "bot_id": "B0DATADOG",
        "subtype": "bot_message",
        "text": "5xx",
        "ts": ts,
    }


def channel_posts(slack: RecordingSlackApi) -> list[dict[str, Any]]:
    """What the bot put in channels and threads, as people see it (text and blocks, not the metadata)."""
    return [
        {"text": call.args.get("text", ""), "blocks": call.args.get("blocks", [])}
        for call in slack.calls_to("chat.postMessage")
        if call.ok
    ]


def table_items(stack: LocalStack) -> list[dict[str, Any]]:
    client = stack.aws.client("dynamodb")
    return list(client.scan(TableName=stack.aws.table_name("IncidentsTable"))["Items"])
