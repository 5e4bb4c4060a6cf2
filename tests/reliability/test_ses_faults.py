"""SES throttling the sender: the request stays queued, nothing is sent twice, and it goes out once SES recovers.

SES v2 is reached by the real boto3 client. moto has no throttling, so for this test SES v2's endpoint is a
local server that answers every call as throttled SES does (HTTP 429, TooManyRequestsException); pointing
the client at it uses boto3's own per-service endpoint setting. Related cases proven elsewhere
(tests/functional/test_email_flow.py): SES unreachable (connection refused) then recovering sends once; SES
unreachable five times leaves the request in the dead-letter queue; a permanent MessageRejected (unverified
sender, moto's own check) is recorded, told in the thread and not retried.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
from deliveries import SETTINGS, WEDNESDAY_10_ET, answer_text, clock_of, posts_of, slack_command

from prodsupport import runtime
from prodsupport.incident.model import Sla
from prodsupport_local.stack import LocalStack

INC = "INC-2026-0001"


class _ThrottlingSes(BaseHTTPRequestHandler):
    """Every SES v2 call is refused as SES refuses a sender over its sending rate."""

    calls = 0

    def do_POST(self) -> None:
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"message": "Maximum sending rate exceeded."}).encode()
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", "TooManyRequestsException")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def throttling_ses() -> Iterator[str]:
    _ThrottlingSes.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ThrottlingSes)
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def queued_email(stack: LocalStack) -> LocalStack:
    """A critical incident whose PM has asked for the stakeholder email; the request is on the queue."""
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    assert "Declared" in answer_text(slack_command(stack, "critical Kiosks cannot check Veterans in"))
    assert answer_text(slack_command(stack, f"{INC} email", user="U0PM"))
    assert stack.queue_depth("EmailQueue") == 1
    return stack


def request_state() -> str:
    item = runtime.current().table.get(f"EMAIL#{INC}-1", "REQUEST")
    assert item is not None
    return str(item["state"])


def throttle(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore would back off and retry; the queue is the retry here
    runtime.reset()


def test_a_throttled_email_stays_in_the_queue_unsent_and_unclaimed(
    queued_email: LocalStack, throttling_ses: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttle(monkeypatch, throttling_ses)

    queued_email.drain()

    assert _ThrottlingSes.calls == 1
    assert queued_email.queue_depth("EmailQueue") == 1
    assert queued_email.queue_depth("EmailDeadLetterQueue") == 0
    assert request_state() == "queued"
    assert queued_email.sent_emails() == []
    assert posts_of(queued_email.slack, "stakeholder_email_sent") == []


def test_a_throttled_email_is_sent_once_when_ses_recovers(
    queued_email: LocalStack, throttling_ses: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttle(monkeypatch, throttling_ses)
    queued_email.drain()
    queued_email.drain()

    monkeypatch.delenv("AWS_ENDPOINT_URL_SESV2")
    runtime.reset()
    queued_email.drain()
    queued_email.drain()

    assert len(queued_email.sent_emails()) == 1
    assert len(posts_of(queued_email.slack, "stakeholder_email_sent")) == 1
    assert request_state() == "sent"
    incident = runtime.current().store.get_by_id(INC)
    assert incident is not None and not incident.deadlines[Sla.STAKEHOLDER_EMAIL].pending


def test_an_email_throttled_on_every_receive_ends_in_the_dead_letter_queue_unsent(
    queued_email: LocalStack, throttling_ses: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttle(monkeypatch, throttling_ses)

    for _ in range(6):  # the sixth receive finds it past maxReceiveCount (5) and moves it
        queued_email.drain()

    assert _ThrottlingSes.calls == 5
    assert (queued_email.queue_depth("EmailQueue"), queued_email.queue_depth("EmailDeadLetterQueue")) == (0, 1)
    assert request_state() == "queued"
    assert queued_email.sent_emails() == []
