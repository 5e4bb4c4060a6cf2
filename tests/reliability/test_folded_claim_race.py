"""A delivery and Slack's immediate retry of it handled at once, in two processes as two Lambda containers would:
the claim rides on each delivery's first write (infra/dedupe.py), and one effect still comes of the pair.

The first delivery is held at Slack (its post answered slowly) so the retry arrives while it is at work; the retry
is answered 503 (Slack retries again later) or, when it comes after the first is done, found a duplicate.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import (
    SETTINGS,
    WEDNESDAY_10_ET,
    alert,
    clock_of,
    command_body,
    declare_by_alert,
    event_body,
    posts_of,
    reply,
    slack_headers,
    stored,
)

from prodsupport_local.emulator.processes import Call, run_together
from prodsupport_local.emulator.stack import LocalStack

SLOW_SLACK_SECONDS = 1.5


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    stack.slack.admit("U0ONCALL")
    return stack


def twice(path: str, body: bytes) -> list[Call]:
    """The delivery, and its retry 0.5 s later with Slack's retry header."""
    when = WEDNESDAY_10_ET + timedelta(minutes=3)
    first = Call("POST", path, body, when, slack_headers(body, when))
    retry = Call("POST", path, body, when, {**slack_headers(body, when), "X-Slack-Retry-Num": "1"}, start_after=0.5)
    return [first, retry]


def test_an_alert_and_its_retry_at_once_declare_one_incident_with_one_card(configured: LocalStack) -> None:
    configured.slack.fail_next("chat.postMessage", hang_seconds=SLOW_SLACK_SECONDS)
    root = alert(WEDNESDAY_10_ET)

    outcomes = run_together(configured, twice("/slack/events", event_body(root, "Ev1", WEDNESDAY_10_ET)))

    assert {outcome.status for outcome in outcomes} == {200, 503}, [o.error for o in outcomes]
    assert len(posts_of(configured.slack, "incident_declared")) == 1
    assert stored(str(root["ts"])).id == "INC-2026-0001"


def test_an_acknowledging_reply_and_its_retry_at_once_announce_the_ack_once(configured: LocalStack) -> None:
    thread_ts = declare_by_alert(configured)
    configured.slack.fail_next("chat.postMessage", hang_seconds=SLOW_SLACK_SECONDS)
    at = WEDNESDAY_10_ET + timedelta(minutes=3)

    outcomes = run_together(configured, twice("/slack/events", event_body(reply(thread_ts, at), "Ev2", at)))

    assert {outcome.status for outcome in outcomes} == {200, 503}, [o.error for o in outcomes]
    assert len(posts_of(configured.slack, "incident_acknowledged")) == 1


def test_a_status_command_replayed_at_once_is_posted_once(configured: LocalStack) -> None:
    declare_by_alert(configured)
    configured.slack.fail_next("chat.postMessage", hang_seconds=SLOW_SLACK_SECONDS)

    outcomes = run_together(configured, twice("/slack/commands", command_body("INC-2026-0001 status Rolling back")))

    assert {outcome.status for outcome in outcomes} == {200, 503}, [o.error for o in outcomes]
    assert len(posts_of(configured.slack, "incident_updated")) == 1
