"""Requests as Slack and PagerDuty send them, at a virtual time, and what they left behind: one set for every test.

Each request is signed by the helpers the replay tool, the smoke check and the benchmarks use too
(prodsupport_local.emulator.signing: Slack's v0 HMAC, PagerDuty's `v1=` by the package's own `sign`), at the
stack's clock.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from slack_sdk import WebClient

from prodsupport import runtime
from prodsupport.core.timefmt import to_iso
from prodsupport.incident.model import Incident
from prodsupport_local.emulator import signing
from prodsupport_local.emulator.apigw import HttpResponse
from prodsupport_local.emulator.aws import LocalSecrets
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack, VirtualClock
from prodsupport_local.fakes.recording_slack import RecordingSlackApi, SlackCall

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
INC = "INC-2026-0001"

PD_ID = "Q0PD0001"
PD_URL = f"https://va-checkin.pagerduty.com/incidents/{PD_ID}"
ANA = {"id": "PUSR0ANA", "type": "user_reference", "summary": "Ana Oncall"}
BEN = {"id": "PUSR0BEN", "type": "user_reference", "summary": "Ben Backup"}


def clock_of(stack: LocalStack) -> VirtualClock:
    clock = stack.clock
    assert isinstance(clock, VirtualClock)
    return clock


# -- Slack ---------------------------------------------------------------------------------------------------


def slack_headers(
    body: bytes, at: datetime, *, secret: str = SECRETS.slack_signing_secret, **extra: str
) -> dict[str, str]:
    return signing.slack_headers(secret, at, body, **extra)


def event_body(event: dict[str, Any], event_id: str, at: datetime) -> bytes:
    callback = {"type": "event_callback", "team_id": "T0VA", "event_id": event_id, "event_time": int(at.timestamp())}
    return json.dumps({**callback, "event": event}).encode()


def command_body(text: str, *, user: str = "U0ONCALL", name: str = "/incident") -> bytes:
    form = {"command": name, "text": text, "user_id": user, "channel_id": CHANNEL, "trigger_id": "t.1"}
    return urlencode(form).encode()


def post_slack(stack: LocalStack, path: str, body: bytes, **headers: str) -> HttpResponse:
    """POST a body to a Slack route, signed at the stack's current virtual time."""
    return stack.request("POST", path, slack_headers(body, clock_of(stack)(), **headers), body)


def slack_event(stack: LocalStack, event: dict[str, Any], event_id: str, **headers: str) -> HttpResponse:
    return post_slack(stack, "/slack/events", event_body(event, event_id, clock_of(stack)()), **headers)


def slack_command(stack: LocalStack, text: str, *, user: str = "U0ONCALL", name: str = "/incident") -> HttpResponse:
    return post_slack(stack, "/slack/commands", command_body(text, user=user, name=name))


def command_answer(stack: LocalStack, text: str, *, user: str = "U0ONCALL", name: str = "/incident") -> dict[str, Any]:
    """The answer to a slash command, which must be a 200."""
    response = slack_command(stack, text, user=user, name=name)
    assert response.status == 200, response
    return json.loads(response.body) if response.body else {}


def slack_interaction(stack: LocalStack, payload: dict[str, Any]) -> HttpResponse:
    return post_slack(stack, "/slack/interactions", urlencode({"payload": json.dumps(payload)}).encode())


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


def declare_by_alert(stack: LocalStack) -> str:
    """An alert posted now opens an incident; its thread's ts."""
    root = alert(clock_of(stack)())
    assert slack_event(stack, root, "Ev0ALERT").status == 200
    return str(root["ts"])


def reply(thread_ts: str, at: datetime, user: str = "U0ONCALL", text: str = "Looking into it") -> dict[str, Any]:
    ts = f"{int(at.timestamp())}.000200"
    return {"type": "message", "channel": CHANNEL, "user": user, "text": text, "ts": ts, "thread_ts": thread_ts}


# -- PagerDuty -----------------------------------------------------------------------------------------------


def incident_data(
    *,
    pd_id: str = PD_ID,
    title: str = "Check-In API 5xx rate above 5%",
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
        "title": title,
        "service": {"id": "PSVC0CHK", "type": "service_reference", "summary": "Check-In API"},
        "assignees": list(assignees),
        "priority": {"id": "PPRI", "type": "priority_reference", "summary": priority} if priority else None,
        "urgency": urgency,
    }


def pagerduty_event(
    event_type: str,
    at: datetime,
    *,
    event_id: str | None = None,
    agent: dict[str, Any] | None = ANA,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A V3 webhook's body as PagerDuty sends it."""
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


def pagerduty_body(
    event_type: str, at: datetime, *, event_id: str, pd_id: str = PD_ID, title: str = "Check-In API 5xx rate above 5%"
) -> bytes:
    data = incident_data(pd_id=pd_id, title=title)
    return json.dumps(pagerduty_event(event_type, at, event_id=event_id, data=data)).encode()


def pagerduty_headers(body: bytes, webhook_id: str = "wh-1", secret: str | None = None) -> dict[str, str]:
    return signing.pagerduty_headers(
        SECRETS.pagerduty_webhook_secrets[0] if secret is None else secret, body, webhook_id
    )


def deliver_pagerduty(
    stack: LocalStack,
    body: dict[str, Any] | bytes,
    webhook_id: str | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """POST a webhook, signed unless `headers` are given; a dict body is sent at its event's time (the clock
    moves there)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if isinstance(body, dict):
        clock_of(stack).set(datetime.fromisoformat(body["event"]["occurred_at"]))
    if headers is None:
        headers = pagerduty_headers(raw, webhook_id or hashlib.sha256(raw).hexdigest()[:32])
    return stack.request("POST", "/pagerduty/webhook", headers, raw)


# -- GitHub -------------------------------------------------------------------------------------------------


def github_headers(
    body: bytes, event: str, *, delivery: str | None = None, secret: str | None = None
) -> dict[str, str]:
    """A webhook delivery's headers, signed with the first local secret unless ``secret`` is given."""
    key = SECRETS.github_webhook_secrets[0] if secret is None else secret
    return signing.github_headers(key, body, event, delivery or str(uuid.uuid4()))


# -- what a request left behind ------------------------------------------------------------------------------


def checker_run(stack: LocalStack, at: datetime) -> Any:
    """The every-minute schedule fires at `at`."""
    clock_of(stack).set(at)
    return stack.invoke("SlaCheckerFunction", {"time": to_iso(at), "job": "sla"})


def posts_of(slack: RecordingSlackApi, event_type: str) -> list[SlackCall]:
    return [call for call in slack.posts() if (call.args.get("metadata") or {}).get("event_type") == event_type]


def payloads_of(slack: RecordingSlackApi, event_type: str) -> list[dict[str, Any]]:
    """The metadata payloads of the bot's posts of one `event_type`, in order."""
    return [call.args["metadata"]["event_payload"] for call in posts_of(slack, event_type)]


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


def state(stack: LocalStack) -> list[dict[str, Any]]:
    """Every item but delivery claims: what a request could have changed. Sorted, so snapshots compare."""
    kept = [item for item in table_items(stack) if not item["pk"]["S"].startswith("DEDUPE#")]
    return sorted(kept, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def stored(thread_ts: str) -> Incident:
    incident = runtime.current().store.get(CHANNEL, thread_ts)
    assert incident is not None
    return incident


def card_in_slack(stack: LocalStack, card_ts: str) -> dict[str, Any]:
    """The card (text, blocks, metadata) as the recording Slack API holds it now, read back as any client reads a
    thread: with its own WebClient, not the functions' (whose time budget belongs to their last invocation)."""
    client = WebClient(token="xoxb-test-reader", base_url=stack.slack.base_url)
    answer = client.conversations_replies(channel=CHANNEL, ts=card_ts, include_all_metadata=True)
    [card] = [message for message in answer["messages"] if message["ts"] == card_ts]
    return dict(card)
