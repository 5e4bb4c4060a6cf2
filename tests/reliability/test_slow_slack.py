"""A slow Slack, with the Lambda timeout enforced: each effect posted once, nothing lost at the kill.

Issue 13, findings 2 and 3. Slack answering after the client's timeout (but posting) used to repeat the
ack on every Slack retry and the reminder on every checker run; a Retry-After longer than the time left
was slept until Lambda killed the function, losing the post. The timed tests run the real handler in its
own process (prodsupport_local.emulator.processes) and kill it at the template's Timeout, as Lambda does.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from builders import (
    WEDNESDAY_10_ET,
    alert,
    checker_run,
    clock_of,
    declare_by_alert,
    event_body,
    posts_of,
    reply,
    slack_event,
    slack_headers,
    stored,
)

from prodsupport import runtime
from prodsupport.core.timefmt import to_iso
from prodsupport.incident.model import Sla
from prodsupport.infra.budget import RESERVE_SECONDS
from prodsupport.infra.slack_api import TIMEOUT_SECONDS
from prodsupport.sla import checker
from prodsupport_local.emulator.processes import Call, Invoke, Outcome, run
from prodsupport_local.emulator.stack import LocalStack

LATE = TIMEOUT_SECONDS + 0.5
SLACK_RETRIES = 3


def timed_reply(stack: LocalStack, thread_ts: str, at: datetime, **headers: str) -> Outcome:
    """The reply's delivery, handled by SlackEventsFunction in its own process under its Timeout."""
    now = clock_of(stack)()
    body = event_body(reply(thread_ts, at), "Ev0REPLY", now)
    return run(stack, Call("POST", "/slack/events", body, now, slack_headers(body, now, **headers)))


def timed_checker_run(stack: LocalStack, at: datetime) -> Outcome:
    clock_of(stack).set(at)
    return run(stack, Invoke("SlaCheckerFunction", {"time": to_iso(at), "job": "sla"}, at))


def outbox_depth(stack: LocalStack) -> int:
    return stack.queue_depth("SlackOutboxQueue")


def test_an_ack_answered_late_on_every_attempt_is_one_message_across_slacks_retries(configured: LocalStack) -> None:
    # GIVEN Slack posts every message at once but answers after the client's timeout
    thread_ts = declare_by_alert(configured)
    clock_of(configured).advance(timedelta(minutes=3))
    acked_at = clock_of(configured)()
    configured.slack.fail_next("chat.postMessage", answer_late_seconds=LATE, times=1 + SLACK_RETRIES)

    # WHEN the reply is delivered, and Slack retries it three times (each after the delivery lease)
    statuses = [slack_event(configured, reply(thread_ts, acked_at), "Ev0REPLY").status]
    for retry in range(1, SLACK_RETRIES + 1):
        clock_of(configured).advance(timedelta(minutes=1))
        retried = slack_event(configured, reply(thread_ts, acked_at), "Ev0REPLY", **{"X-Slack-Retry-Num": str(retry)})
        statuses.append(retried.status)

    # THEN one ack message, not four
    assert statuses == [200] * (1 + SLACK_RETRIES)
    assert len(posts_of(configured.slack, "incident_acknowledged")) == 1


def test_a_reminder_while_slack_stays_slow_is_posted_once(configured: LocalStack) -> None:
    # GIVEN Slack answers every post after the client's timeout, for the next four minutes of runs
    thread_ts = declare_by_alert(configured)
    configured.slack.fail_next("chat.postMessage", answer_late_seconds=LATE, times=4)

    # WHEN the checker runs once a minute while the reminder is owed
    runs = [checker_run(configured, WEDNESDAY_10_ET + timedelta(minutes=10 + n)) for n in range(4)]

    # THEN the reminder is posted once, found in the thread the first time, and marked once
    assert [run["reminders"] for run in runs] == [1, 0, 0, 0]
    assert len(posts_of(configured.slack, "sla_reminder")) == 1
    assert stored(thread_ts).deadlines[Sla.SLACK_ACK].reminded == [5]


def test_a_post_whose_outcome_cannot_be_checked_waits_in_the_outbox_and_is_not_posted_twice(
    configured: LocalStack,
) -> None:
    # GIVEN Slack posts the reminder but answers late, and the thread cannot be read meanwhile
    declare_by_alert(configured)
    configured.slack.fail_next("chat.postMessage", answer_late_seconds=LATE)
    configured.slack.fail_next("conversations.replies", status=503, times=3)

    # WHEN the checker runs, then the outbox is consumed once Slack answers again
    run = checker_run(configured, WEDNESDAY_10_ET + timedelta(minutes=10))
    handed_over = outbox_depth(configured)
    delivered = configured.drain()

    # THEN the unknown post went to the outbox, whose consumer found it in the thread: one reminder
    assert (run["reminders"], run["failures"], handed_over, delivered) == (0, 0, 1, 1)
    assert len(posts_of(configured.slack, "sla_reminder")) == 1
    assert outbox_depth(configured) == 0


def test_an_outbox_message_not_yet_in_the_thread_is_posted_by_its_consumer(configured: LocalStack) -> None:
    # GIVEN a reminder handed to the outbox after Slack failed every attempt (503, never posted)
    declare_by_alert(configured)
    configured.slack.fail_next("chat.postMessage", status=503, times=3)
    checker_run(configured, WEDNESDAY_10_ET + timedelta(minutes=10))
    assert posts_of(configured.slack, "sla_reminder") == []

    # WHEN the outbox is consumed twice (SQS may redeliver)
    configured.drain()
    configured.drain()

    # THEN it is posted exactly once, with its effect id
    [posted] = posts_of(configured.slack, "sla_reminder")
    assert posted.args["metadata"]["event_payload"]["effect_id"].startswith("INC-2026-0001/reminder/slack_ack/")


def test_a_slow_ack_under_the_lambda_timeout_finishes_in_time_and_is_posted_once(configured: LocalStack) -> None:
    # GIVEN Slack answers posts and thread reads after the client's timeout, for a while
    thread_ts = declare_by_alert(configured)
    clock_of(configured).advance(timedelta(minutes=3))
    acked_at = clock_of(configured)()
    configured.slack.fail_next("chat.postMessage", answer_late_seconds=LATE, times=1)
    configured.slack.fail_next("conversations.replies", hang_seconds=LATE, times=2)

    # WHEN the reply is handled by SlackEventsFunction in its own process, killed at its Timeout
    handled = timed_reply(configured, thread_ts, acked_at)

    # THEN it answered within its Timeout with the ack recorded and the message handed to the outbox
    assert not handled.killed, handled.error
    assert handled.result["statusCode"] == 200
    assert stored(thread_ts).deadlines[Sla.SLACK_ACK].met_at == acked_at
    assert outbox_depth(configured) == 1
    # AND the outbox finds the message Slack did post: one ack, not a second
    configured.drain()
    assert len(posts_of(configured.slack, "incident_acknowledged")) == 1


def test_a_retry_after_longer_than_the_time_left_does_not_block_until_the_kill(configured: LocalStack) -> None:
    # GIVEN Slack rate-limits the ack message with a Retry-After beyond the function's 10 s Timeout
    thread_ts = declare_by_alert(configured)
    clock_of(configured).advance(timedelta(minutes=3))
    configured.slack.fail_next("chat.postMessage", retry_after=12)

    # WHEN the reply is handled in its own process, killed at its Timeout
    handled = timed_reply(configured, thread_ts, clock_of(configured)())

    # THEN it does not sleep the Retry-After: it answers in time, and the ack message is posted from the outbox
    assert not handled.killed, handled.error
    assert handled.elapsed_seconds < handled.timeout_seconds / 2
    assert json.loads(handled.result["body"] or "{}") == {}
    assert posts_of(configured.slack, "incident_acknowledged") == []
    configured.drain()
    assert len(posts_of(configured.slack, "incident_acknowledged")) == 1


def test_a_checker_run_rate_limited_twice_finishes_in_time_and_loses_no_reminder(configured: LocalStack) -> None:
    # GIVEN two incidents owed a reminder, and Slack answering both posts with a 12 s Retry-After
    declare_by_alert(configured)
    second = alert(clock_of(configured)(), "Triggered: pre-check-in SMS failures")
    second["ts"] = f"{int(clock_of(configured)().timestamp())}.000300"
    assert slack_event(configured, second, "Ev0ALERT2").status == 200
    configured.slack.fail_next("chat.postMessage", retry_after=12, times=2)

    # WHEN the checker runs in its own process, killed at its Timeout
    run = timed_checker_run(configured, WEDNESDAY_10_ET + timedelta(minutes=10))

    # THEN it neither slept 24 s nor was killed; both reminders are posted once, from the outbox
    assert not run.killed, run.error
    assert run.elapsed_seconds < 5
    assert outbox_depth(configured) == 2
    configured.drain()
    assert len(posts_of(configured.slack, "sla_reminder")) == 2


def test_a_checker_run_near_its_deadline_claims_nothing_and_leaves_the_reminder_to_the_next_run(
    configured: LocalStack,
) -> None:
    # GIVEN an incident owed a reminder, and a run with less time left than a claim and one post need
    thread_ts = declare_by_alert(configured)
    rt = runtime.current().begin(int((checker.CLAIM_SECONDS + RESERVE_SECONDS) * 1000) - 500)

    # WHEN the run checks the due incidents
    report = checker.run(rt, WEDNESDAY_10_ET + timedelta(minutes=10))

    # THEN it claimed and posted nothing, so the next run still owes the reminder
    assert (report.checked, report.reminders) == (0, 0)
    assert stored(thread_ts).deadlines[Sla.SLACK_ACK].reminded == []
    assert posts_of(configured.slack, "sla_reminder") == []
