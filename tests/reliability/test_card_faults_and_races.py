"""The live card when Slack fails or two changes race: the change is kept, and the card ends on the latest state.

A card update that Slack refuses through every retry goes to the Slack outbox, whose consumer renders the incident
as it is when it runs. Two changes handled at once in two processes (two Lambda containers) may reach Slack in
either order; the later change saw the first one's paint lease running, so it also queued a repaint that the
outbox makes from the latest state once that lease is over (incident/painting.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from builders import (
    CHANNEL,
    INC,
    SETTINGS,
    WEDNESDAY_10_ET,
    card_in_slack,
    clock_of,
    command_body,
    declare_by_alert,
    slack_headers,
)
from builders import slack_command as run_command

from prodsupport import runtime
from prodsupport.incident.model import Incident, Severity
from prodsupport.incident.painting import PAINT_WINDOW
from prodsupport_local.emulator.processes import Call, run_together
from prodsupport_local.emulator.stack import LocalStack

SLOW_UPDATE_SECONDS = 1.5  # under the client's 2 s timeout: the update lands, late


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    stack.slack.admit("U0ONCALL")  # a channel member, in every process: only members change an incident
    return stack


def declared(stack: LocalStack) -> str:
    """An alert's incident, a minute old: its declaration's paint lease is over, so no repaint is owed for it."""
    thread_ts = declare_by_alert(stack)
    clock_of(stack).advance(timedelta(minutes=1))
    return thread_ts


def stored(thread_ts: str) -> Incident:
    incident = runtime.current().store.get(CHANNEL, thread_ts)
    assert incident is not None
    return incident


def painted(stack: LocalStack) -> list[dict[str, Any]]:
    """The `incident_state` of every card update Slack accepted, in the order Slack processed them."""
    return [call.args["metadata"]["event_payload"] for call in stack.slack.calls_to("chat.update") if call.ok]


def command_call(text: str, start_after: float = 0.0) -> Call:
    at = WEDNESDAY_10_ET + timedelta(minutes=2)
    body = command_body(text)
    return Call("POST", "/slack/commands", body, at, slack_headers(body, at), start_after=start_after)


def test_a_card_update_slack_refuses_keeps_the_change_and_the_outbox_paints_the_latest_state(
    configured: LocalStack,
) -> None:
    # GIVEN an incident, and Slack answering every attempt of the next card update with a 500
    thread_ts = declared(configured)
    configured.slack.fail_next("chat.update", status=500, times=3)

    # WHEN a status is posted, and the incident changes again before the outbox runs
    assert run_command(configured, f"{INC} status Rolling back next 30m").status == 200
    after_status = stored(thread_ts)
    runtime.current().store.mutate(CHANNEL, thread_ts, lambda current: setattr(current, "summary", "Kiosks down"))
    handed_over = configured.queue_depth("SlackOutboxQueue")
    configured.drain()

    # THEN the status was saved despite Slack, and the outbox painted the newest version, not the one that failed
    assert after_status.current_status == "Rolling back"
    assert handed_over == 1
    assert [call.status for call in configured.slack.calls_to("chat.update")][-4:] == [500, 500, 500, 200]
    assert painted(configured)[-1]["card_version"] == stored(thread_ts).version == after_status.version + 1
    assert painted(configured)[-1]["status_at"] == "2026-11-25T15:01:00Z"
    assert configured.queue_depth("SlackOutboxQueue") == 0


def test_a_queued_card_update_whose_message_is_gone_is_dropped_not_retried(configured: LocalStack) -> None:
    # GIVEN a card update handed to the outbox, and the card deleted before the consumer runs
    declared(configured)
    configured.slack.fail_next("chat.update", status=500, times=3)
    run_command(configured, f"{INC} severity critical")
    configured.slack.fail_next("chat.update", error="message_not_found")

    # WHEN the outbox is consumed
    configured.drain()

    # THEN the record is done with: nothing waits for a retry that cannot succeed
    assert configured.queue_depth("SlackOutboxQueue") == 0


def test_two_changes_racing_in_two_processes_leave_the_card_on_the_latest_state(configured: LocalStack) -> None:
    # GIVEN an incident, and Slack holding the first card update back so the other change's update lands first
    thread_ts = declare_by_alert(configured)
    before = len(configured.slack.calls_to("chat.update"))
    configured.slack.fail_next("chat.update", hang_seconds=SLOW_UPDATE_SECONDS)

    # WHEN a status update and a severity change are handled at once in two containers
    outcomes = run_together(
        configured,
        [command_call(f"{INC} status Rolling back"), command_call(f"{INC} severity critical", start_after=0.5)],
    )
    latest = stored(thread_ts)
    late_paint_on_top = card_in_slack(configured, latest.card_ts)["metadata"]["event_payload"]["card_version"]
    queued = configured.queue_depth("SlackOutboxQueue")

    # THEN both changes are saved; the later one saw the first one's paint lease running and queued a repaint, which
    # the outbox paints from the latest state once that lease is over, on top of the held-back older update
    assert [outcome.status for outcome in outcomes] == [200, 200], [o.error for o in outcomes]
    assert (latest.current_status, latest.severity) == ("Rolling back", Severity.CRITICAL)
    arrived = [
        call.args["metadata"]["event_payload"]["card_version"] for call in configured.slack.calls_to("chat.update")
    ]
    assert arrived[before:] == [latest.version - 1, latest.version]  # the older one arrived first, processed last
    assert (late_paint_on_top, queued) == (latest.version - 1, 1)
    clock_of(configured).set(WEDNESDAY_10_ET + timedelta(minutes=2) + PAINT_WINDOW)
    configured.drain()
    card = card_in_slack(configured, latest.card_ts)["metadata"]["event_payload"]
    assert (card["card_version"], card["severity"], card["status_at"]) == (
        latest.version,
        "critical",
        "2026-11-25T15:02:00Z",
    )


def test_a_card_update_refused_as_ratelimited_in_the_body_is_left_to_the_outbox(configured: LocalStack) -> None:
    # GIVEN Slack answers the card update 200 with `ratelimited` in its body (as it may under load)
    thread_ts = declared(configured)
    configured.slack.fail_next("chat.update", error="ratelimited")

    # WHEN the severity changes, and the outbox is consumed
    run_command(configured, f"{INC} severity critical")
    handed_over = configured.queue_depth("SlackOutboxQueue")
    configured.drain()

    # THEN the update waited in the outbox, which painted the change
    assert handed_over == 1
    assert painted(configured)[-1]["severity"] == "critical"
    assert painted(configured)[-1]["card_version"] == stored(thread_ts).version


def test_a_card_update_neither_slack_nor_the_outbox_takes_still_answers_and_keeps_the_change(
    configured: LocalStack,
) -> None:
    # GIVEN an incident, Slack refusing the next card update through every retry, and no outbox queue to take it
    thread_ts = declared(configured)
    configured.slack.fail_next("chat.update", status=500, times=3)
    sqs = configured.aws.client("sqs")
    sqs.delete_queue(QueueUrl=configured.aws.queue_url("SlackOutboxQueue"))

    # WHEN a status is posted
    answer = run_command(configured, f"{INC} status Rolling back next 30m")

    # THEN the person gets their answer and the status is saved: only the card is one change behind
    assert answer.status == 200
    assert stored(thread_ts).current_status == "Rolling back"
