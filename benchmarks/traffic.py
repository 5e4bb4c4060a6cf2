"""The inbound events the benchmarks send, one recipe per kind, each prepared on a running LocalStack.

A recipe first makes what its event needs through the stack itself, the way production would have made
it (an alert declared before a reply to it, an email requested before the queue delivers it), and then
gives the event exactly as its function receives it: an API Gateway 2.0 event signed as Slack or
PagerDuty sign it, an EventBridge Scheduler input, or an SQS record. The same event can be invoked in
this process (counting, latency) or handed to a fresh interpreter (cold start, memory).

Every event has its own ids, so the dedupe never swallows one, and its own moment (`Invocation.at`) on a
virtual timeline starting on a Wednesday in business hours, so the incidents are on the clocks a weekday
gives and every run decides the same. Whoever handles the event reads that moment as "now": the stack's
virtual clock in this process, the probe's runtime clock in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import md5
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from prodsupport.core.timefmt import parse_iso, to_iso
from prodsupport.incident.model import Incident, Severity, Source
from prodsupport_local.emulator.apigw import http_api_event
from prodsupport_local.emulator.signing import pagerduty_headers, slack_headers
from prodsupport_local.emulator.stack import LocalStack, VirtualClock

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

REPO_ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = REPO_ROOT / "events"
START = datetime(2026, 5, 13, 14, 30, tzinfo=UTC)  # Wednesday 10:30 AM EDT
CHANNEL = "C0PRODSUP"
ALERT_BOT = "B0ALERTS"
ONCALL = "U0ONCALL"
PM = "U0PM"
ADMIN = "U0ADMIN"
SETTINGS: dict[str, Any] = {
    "alert_bot_ids": [ALERT_BOT],
    "oncall_user_id": ONCALL,
    "pm_user_id": PM,
    "admin_user_ids": [ADMIN],
    "stakeholders": ["weekly-sync@example.gov"],
}
SLACK_EVENTS = "SlackEventsFunction"
PAGERDUTY = "PagerDutyWebhookFunction"
CHECKER = "SlaCheckerFunction"
EMAIL_SENDER = "EmailSenderFunction"
FUNCTIONS = (SLACK_EVENTS, PAGERDUTY, CHECKER, EMAIL_SENDER)
EMAILS_PER_INCIDENT = 10  # each request is recorded on its incident; spread them so no item grows large


@dataclass(frozen=True)
class Invocation:
    """One event for one function, and what it is."""

    function: str
    kind: str
    event: dict[str, Any]
    at: datetime


class Traffic:
    """Makes events on `stack`, whose clock follows the timeline."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.admit_people()
        self._ids = count(1)
        self._moment = START
        self._email_incident_id: str | None = None
        self._emails_on_incident = 0

    def admit_people(self) -> None:
        """The events are invoked directly, not through the local API Gateway that admits whoever acts, so the
        people who change incidents are made members of the channel, as they are in a real team."""
        self.stack.slack.set_members(CHANNEL, [ONCALL, PM, ADMIN])

    # -- time and ids ----------------------------------------------------------------------------------------

    def next_id(self) -> int:
        return next(self._ids)

    def moment(self, step: timedelta = timedelta(minutes=1)) -> datetime:
        """A new moment on the virtual timeline, `step` after the last one; the stack's clock follows it."""
        self._moment += step
        clock = self.stack.clock
        if isinstance(clock, VirtualClock):
            clock.set(self._moment)
        return self._moment

    @property
    def now(self) -> datetime:
        return self._moment

    # -- Slack -----------------------------------------------------------------------------------------------

    def slack_event(self, event: dict[str, Any], at: datetime) -> dict[str, Any]:
        payload = {
            "type": "event_callback",
            "team_id": "T0VA",
            "api_app_id": "A0PS",
            "event_id": f"Ev0BENCH{self.next_id():08d}",
            "event_time": int(at.timestamp()),
            "event": event,
        }
        return self._slack_request("/slack/events", json.dumps(payload).encode())

    def slash_command(self, command: str, text: str, user: str) -> dict[str, Any]:
        form = {
            "command": command,
            "text": text,
            "user_id": user,
            "channel_id": CHANNEL,
            "trigger_id": f"T{self.next_id()}",
            "team_id": "T0VA",
        }
        body = urlencode(form).encode()
        return self._slack_request("/slack/commands", body)

    def _slack_request(self, path: str, body: bytes) -> dict[str, Any]:
        signed_at = self.stack.clock()
        headers = slack_headers(self.stack.aws.secrets.slack_signing_secret, signed_at, body)
        return self._http(path, headers, body, signed_at)

    def _http(self, path: str, headers: dict[str, str], body: bytes, at: datetime) -> dict[str, Any]:
        return http_api_event(
            "POST",
            path,
            headers,
            body,
            at,
            route_key=f"POST {path}",
            request_id=f"bench-{self.next_id()}",
        )

    def message(self, at: datetime, **fields: Any) -> dict[str, Any]:
        ts = f"{int(at.timestamp())}.{self.next_id():06d}"
        return {"type": "message", "channel": CHANNEL, "ts": ts, "event_ts": ts, **fields}

    def alert_message(self, at: datetime) -> dict[str, Any]:
        return self.message(
            at,
            bot_id=ALERT_BOT,
            subtype="bot_message",
            username="Datadog",
            text="Triggered: check-in API 5xx rate above 5%",
        )

    # -- PagerDuty -------------------------------------------------------------------------------------------

    def pagerduty(self, event_type: str, incident_id: str, at: datetime) -> dict[str, Any]:
        sample = json.loads(_sample("pagerduty_incident_triggered.json")["body"])
        data = sample["event"]["data"]
        data.update(
            id=incident_id,
            status=event_type.removeprefix("incident."),
            self=f"https://api.pagerduty.com/incidents/{incident_id}",
            html_url=f"https://va-checkin.pagerduty.com/incidents/{incident_id}",
            incident_key=f"bench-{incident_id}",
            created_at=to_iso(at),
        )
        sample["event"].update(id=f"01BENCH{self.next_id():018d}", event_type=event_type, occurred_at=to_iso(at))
        body = json.dumps(sample, separators=(",", ":")).encode()
        secret = self.stack.aws.secrets.pagerduty_webhook_secrets[0]
        headers = pagerduty_headers(secret, body, f"bench-webhook-{self.next_id()}")
        return self._http("/pagerduty/webhook", headers, body, at)

    # -- SQS -------------------------------------------------------------------------------------------------

    def email_record(self) -> dict[str, Any]:
        """Take the queued email request off the queue as the event source mapping would deliver it."""
        sqs = self.stack.aws.client("sqs")
        queue_url = self.stack.aws.queue_url("EmailQueue")
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=0)["Messages"]
        message = messages[0]
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        sent_ms = str(int(self.now.timestamp() * 1000))
        return {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": sent_ms,
                        "SenderId": "AROALOCALPRODSUPPORT:bench",
                        "ApproximateFirstReceiveTimestamp": sent_ms,
                    },
                    "messageAttributes": {},
                    "md5OfBody": md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.stack.aws.queue_arn("EmailQueue"),
                    "awsRegion": "us-east-1",
                }
            ]
        }

    # -- preparing state in this process ---------------------------------------------------------------------

    def run(self, invocation: Invocation) -> Any:
        """Invoke in this process, with the stack's clock at the event's moment; a 4xx or 5xx is an error."""
        clock = self.stack.clock
        if isinstance(clock, VirtualClock):
            clock.set(invocation.at)
        result = self.stack.invoke(invocation.function, invocation.event, trigger=f"bench {invocation.kind}")
        status = result.get("statusCode", 200) if isinstance(result, dict) else 200
        if status >= 400:
            raise RuntimeError(f"{invocation.kind}: {invocation.function} answered {status}: {result.get('body')}")
        return result

    def declared_alert(self) -> dict[str, Any]:
        """An alert the bot has declared an incident on; returns the alert message (its ts is the thread)."""
        at = self.moment()
        alert = self.alert_message(at)
        self.run(Invocation(SLACK_EVENTS, "prepare: alert", self.slack_event(alert, at), at))
        return alert

    def acknowledged_alert(self) -> dict[str, Any]:
        alert = self.declared_alert()
        at = self.moment()
        reply = self.message(at, user=ONCALL, text="On it", thread_ts=alert["ts"])
        self.run(Invocation(SLACK_EVENTS, "prepare: acking reply", self.slack_event(reply, at), at))
        return alert

    def incident_id(self, alert: dict[str, Any]) -> str:
        from prodsupport import runtime

        incident = runtime.current().store.get(CHANNEL, alert["ts"])
        if incident is None:
            raise RuntimeError(f"no incident was declared on the alert {alert['ts']}")
        return incident.id

    def triggered_pagerduty(self) -> str:
        pd_id = f"Q0BENCH{self.next_id():06d}"
        at = self.moment()
        self.run(Invocation(PAGERDUTY, "prepare: trigger", self.pagerduty("incident.triggered", pd_id, at), at))
        return pd_id

    def requested_email(self) -> None:
        """`/incident <id> email` by the PM: stored, recorded on an incident, queued."""
        if self._email_incident_id is None or self._emails_on_incident == EMAILS_PER_INCIDENT:
            self._email_incident_id = self.incident_id(self.acknowledged_alert())
            self._emails_on_incident = 0
        self._emails_on_incident += 1
        self.moment()
        command = self.slash_command("/incident", f"{self._email_incident_id} email", PM)
        self.run(Invocation(SLACK_EVENTS, "prepare: email request", command, self.now))


@contextmanager
def functions_quiet() -> Iterator[None]:
    """The functions log to standard output, as Lambda wants; while they run here that goes to /dev/null,
    so what a benchmark prints afterwards is its figures alone. Errors still reach standard error."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _sample(name: str) -> dict[str, Any]:
    loaded = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def alert_incident(rt: Runtime, sequence: int, opened_at: datetime, title: str) -> Incident:
    """An alert's incident as the policy opens it, for the benchmarks that store many at once (checker scaling,
    the mass outage) without sending each alert through Slack."""
    return rt.policy.new_incident(
        team=rt.team_id,
        id_prefix=rt.id_prefix,
        sequence=sequence,
        title=title,
        severity=Severity.MAJOR,
        source=Source.ALERT_MESSAGE,
        channel_id=rt.settings.channel_id,
        thread_ts=f"{int(opened_at.timestamp())}.{sequence:06d}",
        opened_at=opened_at,
        declared_by="",
        applications=["Check-In Experience"],
        owner="UPM",
    )


# -- the recipes: each prepares its state and returns the event to measure ----------------------------------


@dataclass(frozen=True)
class Recipe:
    """A kind of inbound event: `make` prepares what the event needs and returns the event."""

    kind: str
    function: str
    make: Callable[[Traffic], dict[str, Any]]

    def __call__(self, traffic: Traffic) -> Invocation:
        event = self.make(traffic)
        # A scheduled run's clock reads its scheduled time, as the wall clock does when the scheduler fires.
        at = parse_iso(event["time"]) if self.function == CHECKER else traffic.stack.clock()
        return Invocation(self.function, self.kind, event, at)


def _thread_reply_that_acks(t: Traffic) -> dict[str, Any]:
    alert = t.declared_alert()
    at = t.moment(timedelta(minutes=3))
    return t.slack_event(t.message(at, user=ONCALL, text="Looking at the gateway logs", thread_ts=alert["ts"]), at)


def _later_thread_reply(t: Traffic) -> dict[str, Any]:
    alert = t.acknowledged_alert()
    at = t.moment()
    return t.slack_event(t.message(at, user=PM, text="Thanks, drafting the email", thread_ts=alert["ts"]), at)


def _message_in_another_channel(t: Traffic) -> dict[str, Any]:
    at = t.moment()
    return t.slack_event({**t.message(at, user=ONCALL, text="lunch?"), "channel": "C0RANDOM"}, at)


def _other_bot_message(t: Traffic) -> dict[str, Any]:
    at = t.moment()
    return t.slack_event(t.message(at, bot_id="B0DEPLOYS", subtype="bot_message", text="Deployed vets-api"), at)


def _message_edit(t: Traffic) -> dict[str, Any]:
    at = t.moment()
    edited = {"type": "message", "user": ONCALL, "text": "edited", "ts": f"{int(at.timestamp()) - 30}.000001"}
    return t.slack_event(t.message(at, subtype="message_changed", message=edited), at)


def _alert_declaration(t: Traffic) -> dict[str, Any]:
    at = t.moment()
    return t.slack_event(t.alert_message(at), at)


def _slash_command_declare(t: Traffic) -> dict[str, Any]:
    t.moment()
    return t.slash_command("/incident", "major Pre-check-in fails at every clinic", ONCALL)


def _slash_command_status(t: Traffic) -> dict[str, Any]:
    incident_id = t.incident_id(t.acknowledged_alert())
    t.moment()
    return t.slash_command("/incident", f"{incident_id} status Rolled back; watching next 30m", ONCALL)


def _slash_command_email(t: Traffic) -> dict[str, Any]:
    incident_id = t.incident_id(t.acknowledged_alert())
    t.moment()
    return t.slash_command("/incident", f"{incident_id} email", PM)


def _pagerduty_trigger(t: Traffic) -> dict[str, Any]:
    return t.pagerduty("incident.triggered", f"Q0BENCH{t.next_id():06d}", t.moment())


def _pagerduty_ack(t: Traffic) -> dict[str, Any]:
    pd_id = t.triggered_pagerduty()
    return t.pagerduty("incident.acknowledged", pd_id, t.moment(timedelta(minutes=4)))


def _checker_tick_nothing_due(t: Traffic) -> dict[str, Any]:
    """A day before the timeline starts, so no incident the other recipes opened is owed anything yet."""
    at = START - timedelta(days=1, minutes=t.next_id())
    return {"time": to_iso(at), "job": "sla"}


def _checker_tick_reminder_due(t: Traffic) -> dict[str, Any]:
    """Ten minutes after an unanswered alert: the 5-minute Slack ack reminder is owed, and nothing else."""
    t.declared_alert()
    return {"time": to_iso(t.now + timedelta(minutes=10)), "job": "sla"}


def _email_send(t: Traffic) -> dict[str, Any]:
    t.requested_email()
    return t.email_record()


THREAD_REPLY_THAT_ACKS = Recipe("thread reply that acks", SLACK_EVENTS, _thread_reply_that_acks)
LATER_THREAD_REPLY = Recipe("thread reply, incident already acked", SLACK_EVENTS, _later_thread_reply)
OTHER_CHANNEL = Recipe("ignored: message in another channel", SLACK_EVENTS, _message_in_another_channel)
OTHER_BOT = Recipe("ignored: bot message (not an alert bot)", SLACK_EVENTS, _other_bot_message)
EDIT = Recipe("ignored: message edit (message_changed)", SLACK_EVENTS, _message_edit)
ALERT_DECLARATION = Recipe("alert declaration (alert bot's message)", SLACK_EVENTS, _alert_declaration)
COMMAND_DECLARE = Recipe("slash command: /incident major <title>", SLACK_EVENTS, _slash_command_declare)
COMMAND_STATUS = Recipe("slash command: /incident <id> status <text>", SLACK_EVENTS, _slash_command_status)
COMMAND_EMAIL = Recipe("slash command: /incident <id> email (queues it)", SLACK_EVENTS, _slash_command_email)
PAGERDUTY_TRIGGER = Recipe("PagerDuty incident.triggered", PAGERDUTY, _pagerduty_trigger)
PAGERDUTY_ACK = Recipe("PagerDuty incident.acknowledged", PAGERDUTY, _pagerduty_ack)
TICK_NOTHING_DUE = Recipe("checker tick, nothing due", CHECKER, _checker_tick_nothing_due)
TICK_REMINDER_DUE = Recipe("checker tick, one ack reminder due", CHECKER, _checker_tick_reminder_due)
EMAIL_SEND = Recipe("email send (one SQS record)", EMAIL_SENDER, _email_send)

IGNORED = (OTHER_CHANNEL, OTHER_BOT, EDIT)
# What requests_per_event counts, in this order.
RECIPES = (
    THREAD_REPLY_THAT_ACKS,
    LATER_THREAD_REPLY,
    *IGNORED,
    ALERT_DECLARATION,
    COMMAND_DECLARE,
    COMMAND_STATUS,
    COMMAND_EMAIL,
    PAGERDUTY_TRIGGER,
    PAGERDUTY_ACK,
    TICK_NOTHING_DUE,
    TICK_REMINDER_DUE,
    EMAIL_SEND,
)
# Each function's representative event: warm latency, and the first event after a cold start.
REPRESENTATIVE = {
    SLACK_EVENTS: THREAD_REPLY_THAT_ACKS,
    PAGERDUTY: PAGERDUTY_TRIGGER,
    CHECKER: TICK_NOTHING_DUE,
    EMAIL_SENDER: EMAIL_SEND,
}
# A warm run of each function, every kind it handles here: peak memory.
WARM_RUN = {
    SLACK_EVENTS: (
        ALERT_DECLARATION,
        THREAD_REPLY_THAT_ACKS,
        LATER_THREAD_REPLY,
        OTHER_CHANNEL,
        COMMAND_DECLARE,
        COMMAND_STATUS,
        COMMAND_EMAIL,
    ),
    PAGERDUTY: (PAGERDUTY_TRIGGER, PAGERDUTY_ACK),
    CHECKER: (TICK_NOTHING_DUE, TICK_REMINDER_DUE),
    EMAIL_SENDER: (EMAIL_SEND,),
}
