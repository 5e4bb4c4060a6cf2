"""Building and delivering PagerDuty V3 webhooks in tests, signed as PagerDuty signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from prodsupport.core.timefmt import to_iso
from prodsupport_local.emulator.apigw import HttpResponse
from prodsupport_local.emulator.aws import LocalSecrets
from prodsupport_local.emulator.stack import LocalStack, VirtualClock

WEBHOOK_SECRET = LocalSecrets().pagerduty_webhook_secrets[0]
PD_ID = "Q0PD0001"
PD_URL = f"https://va-checkin.pagerduty.com/incidents/{PD_ID}"
ANA = {"id": "PUSR0ANA", "type": "user_reference", "summary": "Ana Oncall"}
BEN = {"id": "PUSR0BEN", "type": "user_reference", "summary": "Ben Backup"}


def incident_data(
    *,
    pd_id: str = PD_ID,
    priority: str | None = "P1",
    urgency: str = "high",
    assignees: tuple[dict[str, Any], ...] = (ANA,),
) -> dict[str, Any]:
    return {
        "id": pd_id,
        "type": "incident",
        "html_url": f"https://va-checkin.pagerduty.com/incidents/{pd_id}",
        "number": 1042,
        "status": "triggered",
        "title": "Check-In API 5xx rate above 5%",
        "service": {"id": "PSVC0CHK", "type": "service_reference", "summary": "Check-In API"},
        "assignees": list(assignees),
        "priority": {"id": "PPRI", "type": "priority_reference", "summary": priority} if priority else None,
        "urgency": urgency,
    }


def event_body(
    event_type: str,
    at: datetime,
    *,
    event_id: str | None = None,
    agent: dict[str, Any] | None = ANA,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "event": {
            "id": event_id or f"EV-{event_type}-{to_iso(at)}",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": to_iso(at),
            "agent": agent,
            "client": {"name": "PagerDuty"},
            "data": incident_data() if data is None else data,
        }
    }


def signed_headers(body: bytes, *, webhook_id: str, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-PagerDuty-Signature": f"v1={digest}",
        "X-Webhook-Id": webhook_id,
    }


def deliver(
    stack: LocalStack,
    body: dict[str, Any] | bytes,
    *,
    webhook_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """POST a webhook at the event's time (the clock moves there), signed unless `headers` are given."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if isinstance(body, dict):
        clock = stack.clock
        assert isinstance(clock, VirtualClock)
        clock.set(datetime.fromisoformat(body["event"]["occurred_at"]))
    if headers is None:
        headers = signed_headers(raw, webhook_id=webhook_id or hashlib.sha256(raw).hexdigest()[:32])
    return stack.request("POST", "/pagerduty/webhook", headers, raw)


def posts_of(stack: LocalStack, event_type: str) -> list[dict[str, Any]]:
    """The metadata payloads of the bot's posts of one `event_type`, in order."""
    return [
        call.args["metadata"]["event_payload"]
        for call in stack.slack.posts()
        if (call.args.get("metadata") or {}).get("event_type") == event_type
    ]
