"""The live card over the local stack: each change, from whichever surface, is painted on the card in place,
once, from the saved state, and Slack then holds the new card for anyone reading the thread."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from builders import (
    CHANNEL,
    INC,
    PD_ID,
    WEDNESDAY_10_ET,
    card_in_slack,
    checker_run,
    clock_of,
    declare_by_alert,
    deliver_pagerduty,
    pagerduty_event,
    reply,
    slack_command,
    slack_event,
    stored,
)

from prodsupport import runtime
from prodsupport_local.emulator.stack import LocalStack


@pytest.fixture
def configured(configured: LocalStack) -> LocalStack:
    """The shared deployment with the on-call engineer in the channel: only members change an incident."""
    configured.slack.admit("U0ONCALL")
    return configured


def updates(stack: LocalStack) -> list[dict[str, Any]]:
    return [call.args for call in stack.slack.calls_to("chat.update") if call.ok]


def test_an_alerts_card_becomes_the_live_card_right_after_it_is_posted(configured: LocalStack) -> None:
    # WHEN an alert opens an incident
    thread_ts = declare_by_alert(configured)

    # THEN its card (the bot's first reply) is updated in place into the live card
    incident = stored(thread_ts)
    [update] = updates(configured)
    assert (update["channel"], update["ts"]) == (CHANNEL, incident.card_ts)
    assert update["metadata"]["event_type"] == "incident_state"
    assert update["metadata"]["event_payload"]["card_version"] == incident.version


def test_a_reply_that_acknowledges_repaints_the_card_which_slack_then_returns(configured: LocalStack) -> None:
    thread_ts = declare_by_alert(configured)
    clock_of(configured).advance(timedelta(minutes=4))

    # WHEN the on-call engineer replies in the thread
    slack_event(configured, reply(thread_ts, clock_of(configured)()), "Ev0REPLY")

    # THEN the card read back from Slack shows the ack met and nothing left due
    card = card_in_slack(configured, stored(thread_ts).card_ts)
    assert card["text"] == f"{INC} (major) open — Triggered: check-in API 5xx rate above 5% — nothing due"
    assert card["metadata"]["event_payload"]["clocks"] == [
        {"sla": "slack_ack", "due": "2026-11-25T15:15:00Z", "outcome": "met"}
    ]


def test_a_pagerduty_acknowledgement_repaints_the_card(configured: LocalStack) -> None:
    # GIVEN an incident PagerDuty opened
    deliver_pagerduty(configured, pagerduty_event("incident.triggered", WEDNESDAY_10_ET))
    [incident] = runtime.current().store.open_incidents()

    # WHEN PagerDuty reports the acknowledgement
    deliver_pagerduty(configured, pagerduty_event("incident.acknowledged", WEDNESDAY_10_ET + timedelta(minutes=3)))

    # THEN the last card shows the PagerDuty clock met and names the PagerDuty incident
    payload = card_in_slack(configured, incident.card_ts)["metadata"]["event_payload"]
    assert {"sla": "pagerduty_ack", "due": "2026-11-25T15:15:00Z", "outcome": "met"} in payload["clocks"]
    assert payload["pagerduty_incident_id"] == PD_ID


def test_a_resolve_that_takes_several_writes_is_one_card_update(configured: LocalStack) -> None:
    thread_ts = declare_by_alert(configured)
    slack_command(configured, f"{INC} severity critical")
    before = len(updates(configured))
    versions_before = stored(thread_ts).version

    # WHEN a critical incident is resolved (the resolve, the post-mortem and its draft are three writes)
    slack_command(configured, f"{INC} resolve Rolled back")

    # THEN the card was painted once, with the final state
    latest = stored(thread_ts)
    assert latest.version - versions_before > 1
    [update] = updates(configured)[before:]
    assert update["metadata"]["event_payload"]["card_version"] == latest.version
    assert update["metadata"]["event_payload"]["state"] == "resolved"


def test_a_request_that_changes_nothing_makes_no_card_update(configured: LocalStack) -> None:
    declare_by_alert(configured)
    before = len(updates(configured))

    # WHEN someone lists incidents, and the checker runs with nothing due
    slack_command(configured, "list")
    checker_run(configured, WEDNESDAY_10_ET + timedelta(minutes=1))

    # THEN the card is left alone
    assert len(updates(configured)) == before


def test_an_sla_breach_paints_the_clock_breached(configured: LocalStack) -> None:
    thread_ts = declare_by_alert(configured)

    # WHEN the checker finds the ack window passed
    checker_run(configured, WEDNESDAY_10_ET + timedelta(minutes=15))

    # THEN the card shows the ack breached
    payload = card_in_slack(configured, stored(thread_ts).card_ts)["metadata"]["event_payload"]
    assert payload["clocks"] == [{"sla": "slack_ack", "due": "2026-11-25T15:15:00Z", "outcome": "breached"}]


def test_a_change_made_after_every_other_lease_ran_out_paints_once_and_reads_nothing_after(
    configured: LocalStack,
) -> None:
    thread_ts = declare_by_alert(configured)
    clock_of(configured).advance(timedelta(minutes=1))
    declared = len(updates(configured))
    calls: list[str] = []
    dynamodb = runtime.current().client("dynamodb")
    dynamodb.meta.events.register("before-call.dynamodb.*", lambda event_name, **_: calls.append(event_name))

    # WHEN the status is posted, with the declaration's paint long over
    slack_command(configured, f"{INC} status Rolling back")

    # THEN its card update is the one request after its save: no read to check it, nothing queued
    assert [call.rsplit(".", 1)[-1] for call in calls] == ["GetItem", "TransactWriteItems"]
    assert [update["metadata"]["event_payload"]["card_version"] for update in updates(configured)[declared:]] == [
        stored(thread_ts).version
    ]
    assert configured.queue_depth("SlackOutboxQueue") == 0


def test_a_change_within_another_invocations_lease_queues_a_repaint_for_when_that_lease_is_over(
    configured: LocalStack,
) -> None:
    # GIVEN an alert declared 5 s ago, whose card update may still be on its way to Slack
    thread_ts = declare_by_alert(configured)
    clock_of(configured).advance(timedelta(seconds=5))
    declared = len(updates(configured))

    # WHEN the severity changes, and the outbox runs at once
    slack_command(configured, f"{INC} severity critical")
    painted_at_once = len(updates(configured)) - declared
    configured.drain()
    before_the_lease_ended = len(updates(configured)) - declared

    # THEN the card is painted at once, and painted again from the latest state only once that lease is over
    clock_of(configured).set(WEDNESDAY_10_ET + timedelta(seconds=16))
    configured.drain()
    assert (painted_at_once, before_the_lease_ended, len(updates(configured)) - declared) == (1, 1, 2)
    assert updates(configured)[-1]["metadata"]["event_payload"]["card_version"] == stored(thread_ts).version
    assert configured.queue_depth("SlackOutboxQueue") == 0
