"""Deliveries as Slack, PagerDuty and the scheduler make them, at a virtual time, and what they left behind.

Shared by the reliability tests; each request is signed with the real algorithm at the clock's time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from prodsupport import runtime
from prodsupport.core.timefmt import to_iso
from prodsupport.incident.model import Incident
from prodsupport_local.apigw import HttpResponse
from prodsupport_local.aws import LocalSecrets
from prodsupport_local.recording_slack import RecordingSlackApi, SlackCall
from prodsupport_local.replay import slack_signature
from prodsupport_local.stack import DEFAULT_SETTINGS, LocalStack, VirtualClock

CHANNEL = str(DEFAULT_SETTINGS["channel_id"])
ALERT_BOT = "B0DATADOG"
SETTINGS = {
    "alert_bot_ids": [ALERT_BOT],
    "oncall_user_id": "U0ONCALL",
    "pm_user_id": "U0PM",
    "backup_pm_user_id": "U0BACKUP",
    "admin_user_ids": ["U0ADMIN"],
    "stakeholders": ["weekly-sync@example.gov"],
}
# Wednesday 11/25/2026 10:00 AM EST: business hours, a 15-minute ack window.
WEDNESDAY_10_ET = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
SECRETS = LocalSecrets()


def clock_of(stack: LocalStack) -> VirtualClock:
    clock = stack.clock
    assert isinstance(clock, VirtualClock)
    return clock


def slack_headers(body: bytes, at: datetime, **extra: str) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    content_type = "application/json" if body.lstrip().startswith(b"{") else "application/x-www-form-urlencoded"
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": slack_signature(SECRETS.slack_signing_secret, timestamp, body),
        **extra,
    }


def event_body(event: dict[str, Any], event_id: str, at: datetime) -> bytes:
    callback = {"type": "event_callback", "team_id": "T0VA", "event_id": event_id, "event_time": int(at.timestamp())}
    return json.dumps({**callback, "event": event}).encode()


def post_slack(stack: LocalStack, path: str, body: bytes, **headers: str) -> HttpResponse:
    """POST a body to a Slack route, signed at the stack's current virtual time."""
    return stack.request("POST", path, slack_headers(body, clock_of(stack)(), **headers), body)


def slack_event(stack: LocalStack, event: dict[str, Any], event_id: str, **headers: str) -> HttpResponse:
    return post_slack(stack, "/slack/events", event_body(event, event_id, clock_of(stack)()), **headers)


def slack_command(stack: LocalStack, text: str, *, user: str = "U0ONCALL", name: str = "/incident") -> HttpResponse:
    form = {"command": name, "text": text, "user_id": user, "channel_id": CHANNEL, "trigger_id": "t.1"}
    return post_slack(stack, "/slack/commands", urlencode(form).encode())


def answer_text(response: HttpResponse) -> str:
    assert response.status == 200, response
    return str(json.loads(response.body)["text"]) if response.body else ""


def alert(at: datetime, text: str = "Triggered: check-in API 5xx rate above 5%") -> dict[str, Any]:
    """An alert integration's message in the channel; its ts is the incident's thread."""
    ts = f"{int(at.timestamp())}.000100"
    return {
        "type": "message",
        "channel": CHANNEL,
        "bot_id": ALERT_BOT,
        "subtype": "bot_message",
        "text": text,
        "ts": ts,
    }


def reply(thread_ts: str, at: datetime, user: str = "U0ONCALL", text: str = "Looking into it") -> dict[str, Any]:
    ts = f"{int(at.timestamp())}.000200"
    return {"type": "message", "channel": CHANNEL, "user": user, "text": text, "ts": ts, "thread_ts": thread_ts}


def pagerduty_body(event_type: str, at: datetime, *, event_id: str, pd_id: str = "Q0PD0001") -> bytes:
    return json.dumps(
        {
            "event": {
                "id": event_id,
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": to_iso(at),
                "agent": {"id": "PUSR0ANA", "type": "user_reference", "summary": "Ana Oncall"},
                "data": {
                    "id": pd_id,
                    "type": "incident",
                    "html_url": f"https://va-checkin.pagerduty.com/incidents/{pd_id}",
                    "title": "Check-In API 5xx rate above 5%",
                    "status": "triggered",
                    "urgency": "high",
                    "priority": {"id": "PPRI", "type": "priority_reference", "summary": "P1"},
                    "assignees": [{"id": "PUSR0ANA", "type": "user_reference", "summary": "Ana Oncall"}],
                },
            }
        }
    ).encode()


def pagerduty_headers(body: bytes, webhook_id: str, secret: str | None = None) -> dict[str, str]:
    key = secret if secret is not None else SECRETS.pagerduty_webhook_secrets[0]
    digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-PagerDuty-Signature": f"v1={digest}", "X-Webhook-Id": webhook_id}


def pagerduty(stack: LocalStack, body: bytes, webhook_id: str) -> HttpResponse:
    return stack.request("POST", "/pagerduty/webhook", pagerduty_headers(body, webhook_id), body)


def checker_run(stack: LocalStack, at: datetime) -> Any:
    """The every-minute schedule fires at `at`."""
    clock_of(stack).set(at)
    return stack.invoke("SlaCheckerFunction", {"time": to_iso(at), "job": "sla"})


def posts_of(slack: RecordingSlackApi, event_type: str) -> list[SlackCall]:
    return [call for call in slack.posts() if (call.args.get("metadata") or {}).get("event_type") == event_type]


def table_items(stack: LocalStack) -> list[dict[str, Any]]:
    client = stack.aws.client("dynamodb")
    return list(client.scan(TableName=stack.aws.table_name("IncidentsTable"))["Items"])


def state(stack: LocalStack) -> list[dict[str, Any]]:
    """Every item but delivery claims: what a request could have changed. Sorted, so snapshots compare."""
    kept = [item for item in table_items(stack) if not item["pk"]["S"].startswith("DEDUPE#")]
    return sorted(kept, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def stored(thread_ts: str) -> Incident:
    incident = runtime.current().store.get(CHANNEL, thread_ts)
    assert incident is not None
    return incident
