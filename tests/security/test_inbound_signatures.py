"""Every inbound route checks its sender's signature over the raw body before anything is read or written;
a Slack request signed outside the five-minute window (a replay, or a clock far ahead) is refused too.

PagerDuty's V3 signature carries no timestamp, so its replays are recognised by delivery and event id for
the dedupe TTL instead (tests/reliability/test_duplicate_deliveries.py).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from builders import (
    WEDNESDAY_10_ET,
    alert,
    clock_of,
    command_body,
    pagerduty_body,
    pagerduty_headers,
    slack_headers,
    table_items,
)

from prodsupport_local.emulator.stack import LocalStack

SLACK_BODIES = {
    "/slack/events": json.dumps(
        {"type": "event_callback", "event_id": "Ev1", "event": alert(WEDNESDAY_10_ET)}
    ).encode(),
    "/slack/commands": command_body("critical Kiosks down"),
    "/slack/interactions": b"payload=%7B%22type%22%3A%22block_actions%22%7D",
}


def assert_refused_untouched(stack: LocalStack, status: int, body: bytes) -> None:
    assert status == 401
    assert b"signature" in body.lower()
    assert table_items(stack) == []
    assert stack.slack.calls == []


@pytest.mark.parametrize("route", SLACK_BODIES)
def test_a_slack_request_without_a_signature_is_refused(configured: LocalStack, route: str) -> None:
    headers = slack_headers(SLACK_BODIES[route], WEDNESDAY_10_ET)
    del headers["X-Slack-Signature"]
    response = configured.request("POST", route, headers, SLACK_BODIES[route])
    assert_refused_untouched(configured, response.status, response.body)


@pytest.mark.parametrize("route", SLACK_BODIES)
def test_a_slack_request_signed_with_another_secret_is_refused(configured: LocalStack, route: str) -> None:
    headers = slack_headers(SLACK_BODIES[route], WEDNESDAY_10_ET, secret="not-the-signing-secret")
    response = configured.request("POST", route, headers, SLACK_BODIES[route])
    assert_refused_untouched(configured, response.status, response.body)


@pytest.mark.parametrize("route", SLACK_BODIES)
def test_a_slack_request_whose_body_was_changed_after_signing_is_refused(configured: LocalStack, route: str) -> None:
    headers = slack_headers(SLACK_BODIES[route], WEDNESDAY_10_ET)
    tampered = SLACK_BODIES[route].replace(b"critical", b"minor").replace(b"Ev1", b"Ev2") + b" "
    response = configured.request("POST", route, headers, tampered)
    assert_refused_untouched(configured, response.status, response.body)


@pytest.mark.parametrize("route", SLACK_BODIES)
def test_a_slack_request_replayed_after_the_five_minute_window_is_refused(configured: LocalStack, route: str) -> None:
    headers = slack_headers(SLACK_BODIES[route], WEDNESDAY_10_ET)
    clock_of(configured).advance(timedelta(minutes=5, seconds=1))
    response = configured.request("POST", route, headers, SLACK_BODIES[route])
    assert_refused_untouched(configured, response.status, response.body)


@pytest.mark.parametrize("route", SLACK_BODIES)
def test_a_slack_request_signed_more_than_five_minutes_ahead_is_refused(configured: LocalStack, route: str) -> None:
    headers = slack_headers(SLACK_BODIES[route], WEDNESDAY_10_ET + timedelta(minutes=5, seconds=1))
    response = configured.request("POST", route, headers, SLACK_BODIES[route])
    assert_refused_untouched(configured, response.status, response.body)


def test_a_slack_request_inside_the_window_is_accepted(configured: LocalStack) -> None:
    headers = slack_headers(SLACK_BODIES["/slack/commands"], WEDNESDAY_10_ET)
    clock_of(configured).advance(timedelta(minutes=4, seconds=59))
    response = configured.request("POST", "/slack/commands", headers, SLACK_BODIES["/slack/commands"])
    assert response.status == 200


WEBHOOK = pagerduty_body("incident.triggered", WEDNESDAY_10_ET, event_id="01PDTRIGGERED")


def test_a_pagerduty_webhook_without_a_signature_is_refused(configured: LocalStack) -> None:
    headers = pagerduty_headers(WEBHOOK)
    del headers["X-PagerDuty-Signature"]
    response = configured.request("POST", "/pagerduty/webhook", headers, WEBHOOK)
    assert_refused_untouched(configured, response.status, response.body)


def test_a_pagerduty_webhook_signed_with_another_secret_is_refused(configured: LocalStack) -> None:
    headers = pagerduty_headers(WEBHOOK, secret="not-the-webhook-secret")
    response = configured.request("POST", "/pagerduty/webhook", headers, WEBHOOK)
    assert_refused_untouched(configured, response.status, response.body)


def test_a_pagerduty_webhook_whose_body_was_changed_after_signing_is_refused(configured: LocalStack) -> None:
    headers = pagerduty_headers(WEBHOOK)
    tampered = WEBHOOK.replace(b"Check-In API 5xx", b"Check-In API 4xx")
    response = configured.request("POST", "/pagerduty/webhook", headers, tampered)
    assert_refused_untouched(configured, response.status, response.body)


def test_a_pagerduty_signature_list_with_one_good_value_is_accepted(configured: LocalStack) -> None:
    headers = pagerduty_headers(WEBHOOK)
    headers["X-PagerDuty-Signature"] = "v1=" + "0" * 64 + "," + headers["X-PagerDuty-Signature"]
    response = configured.request("POST", "/pagerduty/webhook", headers, WEBHOOK)
    assert response.status == 202
