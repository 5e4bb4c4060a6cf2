"""Every function publishes what operators alarm and chart on, as CloudWatch EMF lines on stdout.

The namespace and dimensions read here are the ones template.yaml's alarms and dashboard name, so a metric
renamed in code without its alarm fails here.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from builders import (
    SETTINGS,
    WEDNESDAY_10_ET,
    alert,
    answer_text,
    clock_of,
    pagerduty_body,
    pagerduty_headers,
    reply,
    slack_command,
    slack_event,
    slack_headers,
)

from prodsupport_local.emulator.stack import LocalStack

NAMESPACE = "Prodsupport/prodsupport-local"  # the template's Prodsupport/${AWS::StackName}, as the local stack names it


def emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = capsys.readouterr().out.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{") and '"_aws"' in line]


def values(blobs: list[dict[str, Any]], metric: str) -> list[tuple[float, dict[str, str]]]:
    """Each value of `metric`, with the dimensions it was published under."""
    found = []
    for blob in blobs:
        [directive] = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        if any(m["Name"] == metric for m in directive["Metrics"]):
            dimensions = {name: blob[name] for name in directive["Dimensions"][0]}
            raw = blob[metric]
            found.extend((float(v), dimensions) for v in (raw if isinstance(raw, list) else [raw]))
    return found


@pytest.fixture
def configured(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> LocalStack:
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    capsys.readouterr()
    return stack


def test_a_bad_slack_signature_is_counted_as_the_alarm_reads_it(
    configured: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    body = b"command=%2Fincident&text=list"
    headers = slack_headers(body, clock_of(configured)())
    headers["X-Slack-Signature"] = "v0=" + "0" * 64

    assert configured.request("POST", "/slack/commands", headers, body).status == 401

    assert values(emitted(capsys), "SignatureRejections") == [(1.0, {"service": "prodsupport"})]


def test_a_bad_pagerduty_signature_is_counted_as_the_alarm_reads_it(
    configured: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    body = pagerduty_body("incident.triggered", WEDNESDAY_10_ET, event_id="E1")

    answer = configured.request("POST", "/pagerduty/webhook", pagerduty_headers(body, "W1", secret="wrong"), body)

    assert answer.status == 401
    assert values(emitted(capsys), "SignatureRejections") == [(1.0, {"service": "prodsupport"})]


def test_a_bad_github_signature_is_counted_as_the_alarm_reads_it(
    configured: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    configured.configure({**SETTINGS, "github_repo": "o/r"})
    capsys.readouterr()
    body = b'{"action": "closed"}'
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "D1",
        "X-Hub-Signature-256": "sha256=" + "0" * 64,
        "Content-Type": "application/json",
    }

    assert configured.request("POST", "/github/webhook", headers, body).status == 401

    assert values(emitted(capsys), "SignatureRejections") == [(1.0, {"service": "prodsupport"})]


def test_slack_requests_are_counted_by_kind(configured: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    assert "Declared" in answer_text(slack_command(configured, "critical Kiosks cannot check Veterans in"))

    blobs = emitted(capsys)

    assert [v for v, _ in values(blobs, "SlackCommands")] == [1.0]
    assert [v for v, _ in values(blobs, "IncidentsDeclared")] == [1.0]


def test_a_slack_ack_is_counted(configured: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    card = alert(WEDNESDAY_10_ET)
    assert slack_event(configured, card, "Ev1").status == 200
    capsys.readouterr()

    assert slack_event(configured, reply(card["ts"], WEDNESDAY_10_ET), "Ev2").status == 200

    assert [v for v, _ in values(emitted(capsys), "AcksRecorded")] == [1.0]


def test_pagerduty_events_are_counted_by_type(configured: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    body = pagerduty_body("incident.triggered", WEDNESDAY_10_ET, event_id="E1")

    assert configured.request("POST", "/pagerduty/webhook", pagerduty_headers(body, "W1"), body).status == 202

    [(value, dimensions)] = values(emitted(capsys), "PagerDutyEvents")
    assert value == 1.0
    assert dimensions["event_type"] == "incident.triggered"


def test_a_sent_stakeholder_email_is_counted(configured: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    assert "Declared" in answer_text(slack_command(configured, "critical Kiosks cannot check Veterans in"))
    assert answer_text(slack_command(configured, "INC-2026-0001 email", user="U0PM"))
    capsys.readouterr()

    configured.drain()

    blobs = emitted(capsys)
    assert [v for v, _ in values(blobs, "EmailRequestsHandled")] == [1.0]
    assert [v for v, _ in values(blobs, "EmailsSent")] == [1.0]


def test_a_post_handed_to_the_outbox_is_counted_when_its_consumer_posts_it(
    configured: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an alert's incident, and Slack failing every attempt at the ack message
    root = alert(WEDNESDAY_10_ET)
    assert slack_event(configured, root, "Ev0ALERT").status == 200
    clock_of(configured).advance(timedelta(minutes=2))  # past the declaration's paint lease: no repaint is owed
    configured.slack.fail_next("chat.postMessage", status=500, times=3)
    assert slack_event(configured, reply(root["ts"], clock_of(configured)()), "Ev0REPLY").status == 200
    capsys.readouterr()

    # WHEN the outbox's consumer handles the message Slack refused
    assert configured.drain() == 1

    # THEN its handling and the ack it posted are both counted
    blobs = emitted(capsys)
    assert [v for v, _ in values(blobs, "OutboxMessagesHandled")] == [1.0]
    assert [v for v, _ in values(blobs, "AcksRecorded")] == [1.0]
