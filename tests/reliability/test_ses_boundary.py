"""The SES boundary: at most once per recipient, batches of 50, permanent refusals told at once.

SES v2 is reached by the real boto3 client through boto3's per-service endpoint setting, pointed at a local
HTTP proxy in front of the local stack's moto server. Each SES call is forwarded to moto (which really
records the email) and then answered as scripted: passed back, dropped (the connection closes after SES has
processed the request and before any answer, as a network failure does), held with no answer (while the sender,
a separate process, is killed as Lambda kills one at its timeout), throttled without forwarding, or refused as
IAM refuses a sender without permission. Nothing in boto3 is patched.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any
from urllib.parse import urlsplit

import pytest
from deliveries import SETTINGS, WEDNESDAY_10_ET, answer_text, clock_of, posts_of, slack_command

from prodsupport import runtime
from prodsupport.core.timefmt import to_iso
from prodsupport.email.sender import CLAIM_EXPIRY
from prodsupport_local.stack import LocalStack

INC = "INC-2026-0001"
REQUEST_ID = f"{INC}-1"


class _ScriptedSes(BaseHTTPRequestHandler):
    """Forwards each SES v2 call to moto, then answers as the next scripted action says (default: pass)."""

    upstream = ""
    script: list[str] = []
    calls: list[str] = []
    forwarded = threading.Event()
    release = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        action = type(self).script.pop(0) if type(self).script else "pass"
        type(self).calls.append(action)
        if action == "throttle":
            self._answer(429, "TooManyRequestsException", {"message": "Maximum sending rate exceeded."})
            return
        if action == "deny":
            message = "User is not authorized to perform: ses:SendEmail on resource: identity/example.gov"
            self._answer(403, "AccessDeniedException", {"message": message})
            return
        target = urlsplit(type(self).upstream)
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=10)
        connection.request("POST", self.path, body=body, headers=dict(self.headers.items()))
        upstream = connection.getresponse()
        payload = upstream.read()
        connection.close()
        type(self).forwarded.set()
        if action == "hold":
            type(self).release.wait(timeout=30)  # SES has sent it; the sender is killed before any answer
        if action in {"drop", "hold"}:
            self.close_connection = True  # SES has sent it; the answer never comes back
            return
        self.send_response(upstream.status)
        for name, value in upstream.getheaders():
            if name.lower() not in {"content-length", "transfer-encoding", "connection", "date", "server"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _answer(self, status: int, error_type: str, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def ses(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_ScriptedSes]]:
    """The scripted proxy, with the functions' SES v2 endpoint pointed at it."""
    _ScriptedSes.upstream = stack.aws.endpoint_url
    _ScriptedSes.script = []
    _ScriptedSes.calls = []
    _ScriptedSes.forwarded = threading.Event()
    _ScriptedSes.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ScriptedSes)
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", f"http://127.0.0.1:{server.server_port}")
    runtime.reset()
    try:
        yield _ScriptedSes
    finally:
        _ScriptedSes.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def stakeholders(count: int) -> list[str]:
    return [f"sync-{n:03d}@example.gov" for n in range(count)]


def queue_email(stack: LocalStack, invite_list: list[str]) -> None:
    """A critical incident whose PM asked for the stakeholder email; the request is on the queue."""
    stack.configure({**SETTINGS, "stakeholders": invite_list})
    clock_of(stack).set(WEDNESDAY_10_ET)
    assert "Declared" in answer_text(slack_command(stack, "critical Kiosks cannot check Veterans in"))
    assert answer_text(slack_command(stack, f"{INC} email", user="U0PM"))
    assert stack.queue_depth("EmailQueue") == 1


def request_item() -> dict[str, Any]:
    item = runtime.current().table.get(f"EMAIL#{REQUEST_ID}", "REQUEST")
    assert item is not None
    return item


def received(stack: LocalStack) -> Counter[str]:
    return Counter(address for email in stack.sent_emails() for address in email.to)


def test_an_email_ses_accepted_before_the_connection_dropped_is_not_sent_again(
    stack: LocalStack, ses: type[_ScriptedSes]
) -> None:
    queue_email(stack, stakeholders(2))
    ses.script = ["drop"]

    stack.drain()
    stack.drain()

    assert ses.calls == ["drop"]
    assert received(stack) == Counter(stakeholders(2))
    assert request_item()["state"] == "unknown"
    assert stack.queue_depth("EmailQueue") == 0


def test_an_email_whose_outcome_is_unknown_says_so_once_in_the_thread_with_how_to_resend(
    stack: LocalStack, ses: type[_ScriptedSes]
) -> None:
    queue_email(stack, stakeholders(2))
    ses.script = ["drop"]

    stack.drain()
    stack.drain()

    [notice] = posts_of(stack.slack, "stakeholder_email_unknown")
    assert "may or may not have sent it to 2 of 2" in notice.args["text"]
    assert f"/incident {INC} email" in notice.args["text"]
    assert posts_of(stack.slack, "stakeholder_email_sent") == []


def test_a_batch_a_dead_sender_left_sending_is_not_resent_and_the_rest_are_sent(
    stack: LocalStack, ses: type[_ScriptedSes]
) -> None:
    queue_email(stack, stakeholders(120))
    died_at = clock_of(stack).now()
    runtime.current().table.update(
        f"EMAIL#{REQUEST_ID}",
        "REQUEST",
        "SET #s = :sending, claimed_at = :at, batches.#one = :sending_batch",
        names={"#s": "state", "#one": "1"},
        vals={":sending": "sending", ":at": to_iso(died_at), ":sending_batch": {"state": "sending"}},
    )
    clock_of(stack).advance(CLAIM_EXPIRY + timedelta(seconds=1))

    stack.drain()

    assert received(stack) == Counter(stakeholders(120)[50:])
    assert [batch["state"] for _, batch in sorted(request_item()["batches"].items())] == ["unknown", "sent", "sent"]
    [notice] = posts_of(stack.slack, "stakeholder_email_unknown")
    assert "50 of 120" in notice.args["text"]


# One delivery of the request, in a process of its own, as the sender's Lambda runs it.
SENDER = """
import sys
from prodsupport import runtime
from prodsupport.email.sender import deliver
from prodsupport.core.timefmt import parse_iso
at = parse_iso(sys.argv[2])
runtime.use_clock(lambda: at)
deliver(runtime.current(), sys.argv[1], at)
"""


def test_a_sender_killed_after_ses_accepted_is_not_resent_and_the_thread_says_so(
    stack: LocalStack, ses: type[_ScriptedSes]
) -> None:
    queue_email(stack, stakeholders(2))
    ses.script = ["hold"]
    started = to_iso(clock_of(stack).now())
    env = {**os.environ, **stack.env, "AWS_ENDPOINT_URL_SESV2": os.environ["AWS_ENDPOINT_URL_SESV2"]}
    sender = subprocess.Popen([sys.executable, "-c", SENDER, REQUEST_ID, started], env=env)  # noqa: S603
    try:
        assert ses.forwarded.wait(timeout=60), "the sender never reached SES"
    finally:
        sender.kill()  # as Lambda ends a function at its timeout: no cleanup runs
        sender.wait(timeout=30)
    clock_of(stack).advance(CLAIM_EXPIRY + timedelta(seconds=1))

    stack.drain()
    stack.drain()

    assert received(stack) == Counter(stakeholders(2))
    assert request_item()["state"] == "unknown"
    assert len(posts_of(stack.slack, "stakeholder_email_unknown")) == 1


def test_a_claim_younger_than_a_sender_timeout_is_left_to_its_sender(
    stack: LocalStack, ses: type[_ScriptedSes]
) -> None:
    queue_email(stack, stakeholders(2))
    runtime.current().table.update(
        f"EMAIL#{REQUEST_ID}",
        "REQUEST",
        "SET #s = :sending, claimed_at = :at",
        names={"#s": "state"},
        vals={":sending": "sending", ":at": to_iso(clock_of(stack).now())},
    )

    stack.drain()

    assert ses.calls == []
    assert stack.queue_depth("EmailQueue") == 1
    assert request_item()["state"] == "sending"


def test_120_stakeholders_each_receive_the_email_once_in_batches_of_at_most_50(
    stack: LocalStack, ses: type[_ScriptedSes]
) -> None:
    queue_email(stack, stakeholders(120))

    stack.drain()
    stack.drain()

    assert received(stack) == Counter(stakeholders(120))
    assert [len(email.to) for email in stack.sent_emails()] == [50, 50, 20]
    [sent] = posts_of(stack.slack, "stakeholder_email_sent")
    assert "sent to 120 recipient(s)" in sent.args["text"]
    assert sent.args["metadata"]["event_payload"]["recipients"] == 120


def test_a_throttled_batch_is_retried_on_its_own_and_no_address_gets_two(
    stack: LocalStack, ses: type[_ScriptedSes]
) -> None:
    queue_email(stack, stakeholders(120))
    ses.script = ["pass", "throttle"]

    stack.drain()
    stack.drain()

    assert ses.calls == ["pass", "throttle", "pass", "pass"]
    assert received(stack) == Counter(stakeholders(120))
    assert len(posts_of(stack.slack, "stakeholder_email_sent")) == 1


def test_a_sandbox_access_denied_is_told_in_the_thread_at_once_without_retries(
    stack: LocalStack, ses: type[_ScriptedSes]
) -> None:
    queue_email(stack, stakeholders(2))
    ses.script = ["deny"]

    for _ in range(3):
        stack.drain()

    assert ses.calls == ["deny"]
    assert (stack.queue_depth("EmailQueue"), stack.queue_depth("EmailDeadLetterQueue")) == (0, 0)
    [notice] = posts_of(stack.slack, "stakeholder_email_failed")
    assert "AccessDeniedException" in notice.args["text"]
    assert "sandbox" in notice.args["text"]


def forget_batches() -> None:
    """The request as the version before batches stored it: no `batches` attribute."""
    runtime.current().table.update(f"EMAIL#{REQUEST_ID}", "REQUEST", "REMOVE batches")


def test_a_request_queued_before_batches_existed_is_sent_once(stack: LocalStack, ses: type[_ScriptedSes]) -> None:
    queue_email(stack, stakeholders(2))
    forget_batches()

    stack.drain()
    stack.drain()

    assert received(stack) == Counter(stakeholders(2))
    assert request_item()["state"] == "sent"


def test_a_request_from_before_batches_that_a_dead_sender_left_sending_is_not_resent(
    stack: LocalStack, ses: type[_ScriptedSes]
) -> None:
    queue_email(stack, stakeholders(2))
    forget_batches()
    runtime.current().table.update(
        f"EMAIL#{REQUEST_ID}",
        "REQUEST",
        "SET #s = :sending, claimed_at = :at",
        names={"#s": "state"},
        vals={":sending": "sending", ":at": to_iso(clock_of(stack).now())},
    )
    clock_of(stack).advance(CLAIM_EXPIRY + timedelta(seconds=1))

    stack.drain()

    assert ses.calls == []
    assert request_item()["state"] == "unknown"
    assert len(posts_of(stack.slack, "stakeholder_email_unknown")) == 1
