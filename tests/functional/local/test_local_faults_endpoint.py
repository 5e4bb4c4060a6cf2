"""`POST /_local/faults` puts a Slack, PagerDuty, SES or GitHub fault into a running `prodsupport run` (issue 13,
finding 11): the fault is queued on the same stand-in mechanism the tests use and hits the next calls.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from slack_sdk import WebClient

from prodsupport_local.emulator.aws import LocalSecrets
from prodsupport_local.emulator.server import LocalServer
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack
from prodsupport_local.fakes.base import Fault
from prodsupport_local.fakes.ses_gate import SEND_EMAIL_PATH

SENDER = str(DEFAULT_SETTINGS["email_sender"])


@pytest.fixture
def running(stack: LocalStack) -> Iterator[LocalServer]:
    server = LocalServer(stack, "127.0.0.1", 0, schedule=False).start()
    try:
        yield server
    finally:
        server.stop()


def post(server: LocalServer, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        f"{server.url}{path}", data=body, headers=headers or {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - our own loopback server
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def inject(server: LocalServer, spec: dict[str, Any]) -> tuple[int, Any]:
    return post(server, "/_local/faults", json.dumps(spec).encode())


def test_a_slack_fault_posted_to_the_running_stack_fails_the_next_call_the_bot_makes(
    running: LocalServer, stack: LocalStack, signed_slack_request: Any
) -> None:
    status, answer = inject(running, {"dependency": "slack", "target": "chat.postMessage", "status": 503})
    request = signed_slack_request(
        urlencode({"command": "/incident", "text": "critical Kiosks down", "user_id": "U0ONCALL"}),
        stack.clock(),
    )

    declared = post(running, "/slack/commands", request.body, request.headers)

    assert (status, answer["queued"]["status"], answer["queued"]["count"]) == (201, 503, 1)
    assert declared[0] == 200
    assert [call.status for call in stack.slack.calls_to("chat.postMessage")][:2] == [503, 200]


def test_a_pagerduty_fault_answers_the_next_matching_request_with_its_status(
    running: LocalServer, stack: LocalStack
) -> None:
    assert inject(running, {"dependency": "pagerduty", "target": "/oncalls", "status": 500, "count": 2})[0] == 201
    assert stack.pagerduty is not None
    oncalls = urllib.request.Request(f"{stack.pagerduty.base_url}/oncalls")  # noqa: S310 - loopback stand-in

    answers = []
    for _ in range(3):
        try:
            with urllib.request.urlopen(oncalls, timeout=10) as answer:  # noqa: S310 - loopback stand-in
                answers.append(answer.status)
        except urllib.error.HTTPError as failed:
            answers.append(failed.code)

    assert answers[:2] == [500, 500]
    assert answers[2] != 500


def test_an_ses_drop_sends_the_email_and_leaves_the_caller_without_an_answer(
    running: LocalServer, stack: LocalStack
) -> None:
    assert inject(running, {"dependency": "ses", "drop": True})[0] == 201
    ses = boto3.client("sesv2", endpoint_url=stack.ses_gate.root_url, config=Config(retries={"total_max_attempts": 1}))

    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        ses.send_email(
            FromEmailAddress=SENDER,
            Destination={"ToAddresses": ["alex@example.gov"]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
        )

    assert [email.subject for email in stack.sent_emails()] == ["s"]


def test_an_ses_error_code_is_answered_as_ses_answers_it(running: LocalServer, stack: LocalStack) -> None:
    assert inject(running, {"dependency": "ses", "status": 400, "error": "MessageRejected"})[0] == 201
    ses = boto3.client("sesv2", endpoint_url=stack.ses_gate.root_url)

    with pytest.raises(ses.exceptions.MessageRejected):
        ses.send_email(
            FromEmailAddress=SENDER,
            Destination={"ToAddresses": ["alex@example.gov"]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
        )

    assert stack.sent_emails() == []


def test_a_slack_drop_posts_the_message_but_never_answers(stack: LocalStack) -> None:
    stack.slack.fail_next("chat.postMessage", drop=True)
    client = WebClient(
        token=LocalSecrets().slack_bot_token, base_url=stack.slack.base_url, timeout=5, retry_handlers=[]
    )

    with pytest.raises(ConnectionError):  # http.client.RemoteDisconnected: closed without a response
        client.chat_postMessage(channel="C0PRODSUP", text="hello")

    assert [call.args["text"] for call in stack.slack.posts()] == ["hello"]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"dependency": "smtp"}, "`dependency` must be slack, pagerduty, ses or github"),
        ({"dependency": "slack"}, "`target` must be a Slack Web API method"),
        ({"dependency": "ses", "status": 99}, "`status` must be a whole number from 100 to 599"),
        ({"dependency": "ses", "count": 0}, "`count` must be a whole number from 1 to 1000"),
        ({"dependency": "ses", "delay_seconds": -1}, "`delay_seconds` must be a number from 0 to 900"),
        ({"dependency": "ses", "times": 2}, "unknown field(s) times"),
    ],
)
def test_a_fault_that_does_not_parse_is_refused_with_the_reason_and_nothing_is_queued(
    running: LocalServer, stack: LocalStack, spec: dict[str, Any], reason: str
) -> None:
    status, answer = inject(running, spec)

    assert status == 400
    assert answer["error"].startswith(reason)
    assert stack.ses_gate.faults.pending() == []


def test_the_ses_gate_records_each_call_with_what_ses_did(stack: LocalStack) -> None:
    stack.ses_gate.add_fault(SEND_EMAIL_PATH, Fault(status=429, error="TooManyRequestsException", after_calls=1))
    ses = boto3.client("sesv2", endpoint_url=stack.ses_gate.root_url, config=Config(retries={"total_max_attempts": 1}))

    send(ses, "first")
    with pytest.raises(ses.exceptions.TooManyRequestsException):
        send(ses, "second")

    assert [call.status for call in stack.ses_gate.calls_to(SEND_EMAIL_PATH)] == [200, 429]
    assert [email.subject for email in stack.sent_emails()] == ["first"]


def test_an_ses_answer_held_late_sends_the_email_before_the_caller_gives_up(stack: LocalStack) -> None:
    stack.ses_gate.add_fault(SEND_EMAIL_PATH, Fault(answer_late_seconds=30))
    impatient = Config(retries={"total_max_attempts": 1}, read_timeout=0.5)
    ses = boto3.client("sesv2", endpoint_url=stack.ses_gate.root_url, config=impatient)

    with pytest.raises(ReadTimeoutError):
        send(ses, "held")

    assert stack.ses_gate.wait_for_calls(1, timeout=5)
    assert [email.subject for email in stack.sent_emails()] == ["held"]


def send(ses: Any, subject: str) -> None:
    ses.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["alex@example.gov"]},
        Content={"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": "b"}}}},
    )


def test_a_github_fault_answers_the_next_request_of_its_path_and_the_one_after_goes_through(
    running: LocalServer, stack: LocalStack
) -> None:
    status, answer = inject(running, {"dependency": "github", "target": "/repos/o/r/pulls", "status": 502})
    token = stack.aws.secrets.github_token
    pulls = urllib.request.Request(  # noqa: S310 - loopback stand-in
        f"{stack.github.base_url}/repos/o/r/pulls", headers={"Authorization": f"Bearer {token}"}
    )

    answers = []
    for _ in range(2):
        try:
            with urllib.request.urlopen(pulls, timeout=10) as reply:  # noqa: S310 - loopback stand-in
                answers.append(reply.status)
        except urllib.error.HTTPError as failed:
            answers.append(failed.code)

    assert (status, answer["queued"]["dependency"]) == (201, "github")
    assert answers == [502, 200]
