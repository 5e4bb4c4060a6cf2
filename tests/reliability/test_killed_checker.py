"""A checker run killed between claiming a notice and posting it: the notice is neither lost nor repeated.

Issue 13: "a reminder is marked sent only once it is posted". The claim leaves the notice pending on the
incident; a run that dies before clearing it (out of memory, a crash, Lambda's kill) leaves it to a later
run once its lease is over, which looks in the thread first. The killed runs are the real handler in its
own process (prodsupport_local.emulator.processes), ended from outside once its post has reached Slack and
while Slack holds the answer back.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Literal

from builders import (
    CHANNEL,
    WEDNESDAY_10_ET,
    checker_run,
    clock_of,
    declare_by_alert,
    posts_of,
    reply,
    slack_event,
    stored,
)

from prodsupport import runtime
from prodsupport.core.timefmt import to_iso
from prodsupport.incident.model import Incident, PendingNotice, Sla
from prodsupport.incident.policy import NOTICE_LEASE, SlaAction
from prodsupport.infra.slack_api import TIMEOUT_SECONDS
from prodsupport_local.emulator.cfn import load_template
from prodsupport_local.emulator.processes import Invoke, Outcome, run_together, start
from prodsupport_local.emulator.stack import LocalStack
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

REMINDER_AT = WEDNESDAY_10_ET + timedelta(minutes=10)
BREACH_AT = WEDNESDAY_10_ET + timedelta(minutes=15)
# Slack holds the post's answer back longer than the run lives: it is killed as soon as the post reaches Slack.
HELD_SECONDS = 5.0
# Harness time allowed for the run's process to reach its post (not business time).
POST_REACHED_WITHIN_SECONDS = 30.0
LATE = TIMEOUT_SECONDS + 0.5


def killed_while_posting(stack: LocalStack, at: datetime) -> Outcome:
    """The checker in its own process, ended from outside (as an out-of-memory kill or a crash ends a run at
    any moment) once its reminder post has reached Slack, before Slack answers."""
    clock_of(stack).set(at)
    with start(stack, [Invoke("SlaCheckerFunction", {"time": to_iso(at), "job": "sla"}, at)]) as running:
        assert reminder_post_reached(stack.slack), "the run never posted its reminder"
        running.kill()
        [outcome] = running.outcomes()
    return outcome


def reminder_post_reached(slack: RecordingSlackApi) -> bool:
    """Wait until Slack has received the reminder post (it records a call when it arrives, before answering)."""
    give_up = time.monotonic() + POST_REACHED_WITHIN_SECONDS
    seen = 0
    while True:
        calls = list(slack.calls)
        if any(is_reminder_post(call.method, call.args) for call in calls[seen:]):
            return True
        seen = len(calls)
        if not slack.wait_for_calls(seen + 1, timeout=max(0.0, give_up - time.monotonic())):
            return False


def is_reminder_post(method: str, args: dict[str, object]) -> bool:
    metadata = args.get("metadata")
    return method == "chat.postMessage" and isinstance(metadata, dict) and metadata.get("event_type") == "sla_reminder"


def assert_killed_holding_the_claim(run: Outcome, thread_ts: str) -> None:
    assert run.killed, run.log
    incident = stored(thread_ts)
    assert incident.deadlines[Sla.SLACK_ACK].reminded == [5]
    assert [(n.kind, n.claimed_at) for n in incident.pending_notices] == [("reminder", REMINDER_AT)]


def left_by_a_dead_run(thread_ts: str, kind: Literal["reminder", "breach"], claimed_at: datetime) -> Incident:
    """What a run killed after its claim leaves behind: the Slack ack's reminder or breach marked, and pending."""
    rt = runtime.current()
    incident = stored(thread_ts)
    deadline = incident.deadlines[Sla.SLACK_ACK]
    lead = 5 if kind == "reminder" else 0
    rt.policy.apply(incident, SlaAction(kind, Sla.SLACK_ACK, deadline.due, lead), claimed_at)
    incident.pending_notices.append(PendingNotice(Sla.SLACK_ACK, kind, deadline.due, lead, claimed_at))
    return rt.store.save(incident)


def test_the_notice_lease_outlasts_the_checkers_timeout() -> None:
    timeout = load_template().body["Resources"]["SlaCheckerFunction"]["Properties"]["Timeout"]
    assert timedelta(seconds=int(timeout)) < NOTICE_LEASE


def test_a_reminder_claimed_by_a_run_killed_before_its_post_is_posted_once_after_the_lease(
    configured: LocalStack,
) -> None:
    # GIVEN a run killed after claiming the reminder, while Slack held back a post it did not make
    thread_ts = declare_by_alert(configured)
    configured.slack.fail_next("chat.postMessage", status=503, hang_seconds=HELD_SECONDS)
    killed = killed_while_posting(configured, REMINDER_AT)
    assert_killed_holding_the_claim(killed, thread_ts)
    assert posts_of(configured.slack, "sla_reminder") == []

    # WHEN the runs after the lease come
    runs = [checker_run(configured, REMINDER_AT + NOTICE_LEASE + timedelta(minutes=n)) for n in range(2)]

    # THEN the reminder is posted once, and no longer pending
    assert [run["reminders"] for run in runs] == [1, 0]
    assert len(posts_of(configured.slack, "sla_reminder")) == 1
    assert stored(thread_ts).pending_notices == []


def test_a_reminder_posted_by_a_run_killed_before_slack_answered_is_found_and_not_posted_again(
    configured: LocalStack,
) -> None:
    # GIVEN a run killed after Slack posted the reminder, before Slack answered
    thread_ts = declare_by_alert(configured)
    configured.slack.fail_next("chat.postMessage", answer_late_seconds=HELD_SECONDS)
    killed = killed_while_posting(configured, REMINDER_AT)
    assert_killed_holding_the_claim(killed, thread_ts)
    assert len(posts_of(configured.slack, "sla_reminder")) == 1

    # WHEN the run after the lease comes
    checker_run(configured, REMINDER_AT + NOTICE_LEASE)

    # THEN it finds the reminder in the thread, posts nothing more, and marks it sent
    assert len(posts_of(configured.slack, "sla_reminder")) == 1
    assert stored(thread_ts).pending_notices == []


def test_a_run_marks_its_reminder_sent_with_one_more_write_and_the_next_run_posts_nothing(
    configured: LocalStack,
) -> None:
    # GIVEN an incident owed its reminder
    thread_ts = declare_by_alert(configured)
    version = stored(thread_ts).version

    # WHEN the checker runs, and again a minute later
    first = checker_run(configured, REMINDER_AT)
    after_first = stored(thread_ts)
    second = checker_run(configured, REMINDER_AT + timedelta(minutes=1))

    # THEN the first run wrote twice (the claim, then "sent"), and the reminder was posted once
    assert after_first.version == version + 2
    assert after_first.pending_notices == []
    assert (first["reminders"], second["reminders"]) == (1, 0)
    assert len(posts_of(configured.slack, "sla_reminder")) == 1


def test_a_pending_reminder_within_its_lease_is_left_to_the_run_that_claimed_it(configured: LocalStack) -> None:
    # GIVEN a reminder claimed a minute ago and still pending (its run may still be posting it)
    thread_ts = declare_by_alert(configured)
    left_by_a_dead_run(thread_ts, "reminder", REMINDER_AT)

    # WHEN the next run comes before the lease is over
    run = checker_run(configured, REMINDER_AT + timedelta(minutes=1))

    # THEN it posts nothing and leaves the notice pending
    assert run["reminders"] == 0
    assert posts_of(configured.slack, "sla_reminder") == []
    assert len(stored(thread_ts).pending_notices) == 1


def test_a_pending_reminder_whose_deadline_was_met_meanwhile_is_cleared_unposted(configured: LocalStack) -> None:
    # GIVEN a reminder left pending by a dead run, and the on-call replied since
    thread_ts = declare_by_alert(configured)
    left_by_a_dead_run(thread_ts, "reminder", REMINDER_AT)
    clock_of(configured).set(REMINDER_AT + timedelta(minutes=2))
    assert slack_event(configured, reply(thread_ts, clock_of(configured)()), "Ev0REPLY").status == 200

    # WHEN the run after the lease comes
    checker_run(configured, REMINDER_AT + NOTICE_LEASE)

    # THEN the stale reminder is not posted, and no longer pending
    assert posts_of(configured.slack, "sla_reminder") == []
    assert stored(thread_ts).pending_notices == []


def test_a_pending_notice_keeps_the_incident_on_the_due_index_until_it_is_cleared(configured: LocalStack) -> None:
    # GIVEN an incident whose only deadline is met, but with a notice left pending by a dead run
    thread_ts = declare_by_alert(configured)
    left_by_a_dead_run(thread_ts, "reminder", REMINDER_AT)
    store = runtime.current().store
    store.mutate(CHANNEL, thread_ts, lambda i: i.meet(Sla.SLACK_ACK, REMINDER_AT))
    lease_over = REMINDER_AT + NOTICE_LEASE

    # WHEN the due index is read at the end of the lease, and again after the run that clears it
    due_before = [i.thread_ts for i in store.due(lease_over)]
    checker_run(configured, lease_over)
    due_after = [i.thread_ts for i in store.due(lease_over + timedelta(days=30))]

    # THEN it was due until the notice was cleared, and then left the index
    assert due_before == [thread_ts]
    assert due_after == []


def test_a_breach_left_pending_by_a_dead_run_is_posted_once_after_the_lease(configured: LocalStack) -> None:
    # GIVEN a breach claimed by a run that died before posting it: nothing else is owed on the incident
    thread_ts = declare_by_alert(configured)
    left_by_a_dead_run(thread_ts, "breach", BREACH_AT)

    # WHEN the runs after the lease come
    runs = [checker_run(configured, BREACH_AT + NOTICE_LEASE + timedelta(minutes=n)) for n in range(2)]

    # THEN the breach is posted once, and on the timeline once
    assert [run["breaches"] for run in runs] == [1, 0]
    assert len(posts_of(configured.slack, "sla_breached")) == 1
    incident = stored(thread_ts)
    assert incident.pending_notices == []
    assert [e.kind for e in incident.timeline].count("sla_breached") == 1


def test_two_runs_in_separate_processes_taking_over_a_pending_notice_post_it_once(configured: LocalStack) -> None:
    # GIVEN a breach left pending by a dead run
    thread_ts = declare_by_alert(configured)
    left_by_a_dead_run(thread_ts, "breach", BREACH_AT)
    after_lease = BREACH_AT + NOTICE_LEASE
    clock_of(configured).set(after_lease)
    run = Invoke("SlaCheckerFunction", {"time": to_iso(after_lease), "job": "sla"}, after_lease)

    # WHEN two checker invocations after the lease race, in two containers at once
    outcomes = run_together(configured, [run, run])

    # THEN one of them took it over: the breach is posted once
    assert [outcome.error for outcome in outcomes] == ["", ""]
    assert sorted(outcome.result["breaches"] for outcome in outcomes) == [0, 1]
    assert len(posts_of(configured.slack, "sla_breached")) == 1
    assert stored(thread_ts).pending_notices == []


def test_a_reminder_slack_may_have_posted_that_the_outbox_cannot_take_stays_pending_and_is_not_repeated(
    configured: LocalStack,
) -> None:
    # GIVEN Slack posts the reminder but answers late, its thread cannot be read, and the outbox queue is gone
    thread_ts = declare_by_alert(configured)
    configured.slack.fail_next("chat.postMessage", answer_late_seconds=LATE)
    configured.slack.fail_next("conversations.replies", status=503, times=3)
    sqs = configured.aws.client("sqs")
    sqs.delete_queue(QueueUrl=runtime.current().settings.outbox_queue_url)

    # WHEN the checker runs, again a minute later, and again after the lease
    runs = [checker_run(configured, at) for at in (REMINDER_AT, REMINDER_AT + timedelta(minutes=1))]
    still_pending = stored(thread_ts).pending_notices
    checker_run(configured, REMINDER_AT + NOTICE_LEASE)

    # THEN the claim was kept (not given back to be posted blind), and the run after the lease found the post
    assert [run["failures"] for run in runs] == [1, 0]
    assert [n.kind for n in still_pending] == ["reminder"]
    assert len(posts_of(configured.slack, "sla_reminder")) == 1
    assert stored(thread_ts).pending_notices == []
