"""Slack answering 429, 500 or slowly: the playbook's messages are retried, posted once, and never lost.

The recording Slack API injects the fault; the real slack_sdk WebClient, with the retry handlers the
runtime configures, meets it. Related cases proven elsewhere: a 500 on the declaration is retried and
posted once (tests/functional/incident/test_slack_events.py), Slack down through every retry loses nothing
(same file), an SLA reminder whose post failed is posted by the next run (tests/functional/sla/test_sla_checker.py).
"""

from __future__ import annotations

from datetime import timedelta

from builders import (
    WEDNESDAY_10_ET,
    checker_run,
    clock_of,
    declare_by_alert,
    posts_of,
    reply,
    slack_event,
    stored,
)

from prodsupport.incident.model import Sla
from prodsupport.infra.slack_api import TIMEOUT_SECONDS
from prodsupport_local.emulator.stack import LocalStack


def test_a_rate_limited_declaration_is_retried_after_retry_after_and_posted_once(configured: LocalStack) -> None:
    # GIVEN Slack answers the first chat.postMessage with 429 and Retry-After: 0
    configured.slack.fail_next("chat.postMessage", status=429, retry_after=0)

    # WHEN an alert opens an incident
    declare_by_alert(configured)

    # THEN the card went out on the retry, once
    assert [call.status for call in configured.slack.calls_to("chat.postMessage")] == [429, 200]
    assert len(posts_of(configured.slack, "incident_declared")) == 1


def test_a_rate_limited_acknowledgement_is_retried_and_the_ack_recorded_once(configured: LocalStack) -> None:
    thread_ts = declare_by_alert(configured)
    clock_of(configured).advance(timedelta(minutes=3))
    configured.slack.fail_next("chat.postMessage", status=429, retry_after=0)

    response = slack_event(configured, reply(thread_ts, clock_of(configured)()), "Ev0REPLY")

    assert response.status == 200
    assert len(posts_of(configured.slack, "incident_acknowledged")) == 1
    assert [e.kind for e in stored(thread_ts).timeline].count("acknowledged") == 1


def test_a_rate_limited_sla_reminder_is_retried_in_the_same_run_and_posted_once(configured: LocalStack) -> None:
    thread_ts = declare_by_alert(configured)
    configured.slack.fail_next("chat.postMessage", status=429, retry_after=0)

    result = checker_run(configured, WEDNESDAY_10_ET + timedelta(minutes=10))

    assert (result["reminders"], result["failures"]) == (1, 0)
    assert len(posts_of(configured.slack, "sla_reminder")) == 1
    assert stored(thread_ts).deadlines[Sla.SLACK_ACK].reminded == [5]


def test_a_server_error_on_the_acknowledgement_is_retried_and_posted_once(configured: LocalStack) -> None:
    thread_ts = declare_by_alert(configured)
    clock_of(configured).advance(timedelta(minutes=3))
    configured.slack.fail_next("chat.postMessage", status=500, times=2)

    response = slack_event(configured, reply(thread_ts, clock_of(configured)()), "Ev0REPLY")

    assert response.status == 200
    assert [c.status for c in configured.slack.calls_to("chat.postMessage")][-3:] == [500, 500, 200]
    assert len(posts_of(configured.slack, "incident_acknowledged")) == 1


def test_a_slow_answer_within_the_client_timeout_is_posted_once_and_not_retried(configured: LocalStack) -> None:
    configured.slack.fail_next("chat.postMessage", hang_seconds=TIMEOUT_SECONDS / 4)

    declare_by_alert(configured)

    assert len(configured.slack.calls_to("chat.postMessage")) == 1
    assert len(posts_of(configured.slack, "incident_declared")) == 1


def test_an_ack_answered_after_the_client_timeout_is_found_in_the_thread_and_not_posted_again(
    configured: LocalStack,
) -> None:
    # GIVEN Slack posts the acknowledgement at once but answers after the client's timeout
    thread_ts = declare_by_alert(configured)
    clock_of(configured).advance(timedelta(minutes=3))
    acked_at = clock_of(configured)()
    configured.slack.fail_next("chat.postMessage", answer_late_seconds=TIMEOUT_SECONDS + 0.5)

    # WHEN the reply is delivered
    response = slack_event(configured, reply(thread_ts, acked_at), "Ev0REPLY")

    # THEN the unknown outcome is settled by the thread: the ack is recorded and posted once
    assert response.status == 200
    assert len(configured.slack.calls_to("conversations.replies")) == 1
    assert len(posts_of(configured.slack, "incident_acknowledged")) == 1
    assert stored(thread_ts).deadlines[Sla.SLACK_ACK].met_at == acked_at
