"""Slack retries, PagerDuty re-sends and repeated commands: one effect each, and a repeat is never the reason
an event is lost.

A delivery claims its id with a short lease. A repeat during the lease is answered 503 (both senders retry
it), because the first delivery may still fail; after the lease a repeat is a duplicate and does nothing.
Related cases proven elsewhere: an SQS redelivery sends no second email and a duplicate in one batch sends
one (tests/functional/email/test_email_flow.py); the same PagerDuty event from two subscriptions has one effect
(tests/functional/pagerduty/test_pagerduty_webhook.py); a thread reply that arrives before its alert still
acknowledges it (tests/functional/incident/test_slack_events.py).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from builders import (
    CHANNEL,
    WEDNESDAY_10_ET,
    alert,
    answer_text,
    clock_of,
    declare_by_alert,
    deliver_pagerduty,
    event_body,
    pagerduty_body,
    post_slack,
    posts_of,
    reply,
    slack_command,
    slack_event,
    slack_headers,
    state,
    stored,
    table_items,
)

from prodsupport import runtime
from prodsupport.incident.flows import CLAIM_HOLD
from prodsupport.incident.model import Sla
from prodsupport.incident.store import Reply
from prodsupport.infra.dedupe import DeliveryClaim, DuplicateDelivery
from prodsupport_local.emulator.stack import LocalStack

SLACK_FIRST_RETRY = timedelta(seconds=2)  # Slack retries at once, then after one minute, then five
SLACK_SECOND_RETRY = timedelta(minutes=1)
SLACK_THIRD_RETRY = timedelta(minutes=6)


def test_a_slack_retry_while_the_first_delivery_is_in_flight_is_503_and_has_no_effect(configured: LocalStack) -> None:
    # GIVEN another container has claimed event Ev1 and is still handling it
    runtime.current().dedupe.claim("slack", "Ev1", WEDNESDAY_10_ET)
    before = state(configured)

    # WHEN Slack's immediate retry arrives
    clock_of(configured).advance(SLACK_FIRST_RETRY)
    response = slack_event(configured, alert(WEDNESDAY_10_ET), "Ev1", **{"X-Slack-Retry-Num": "1"})

    # THEN it is told to retry later, and nothing happened
    assert response.status == 503
    assert "retry later" in json.loads(response.body)["error"]
    assert state(configured) == before
    assert configured.slack.calls == []


def test_a_slack_retry_after_the_in_flight_delivery_failed_is_processed_once(configured: LocalStack) -> None:
    # GIVEN the first delivery was in flight when the first retry came, and then failed (releasing its claim)
    dedupe = runtime.current().dedupe
    dedupe.claim("slack", "Ev1", WEDNESDAY_10_ET)
    clock_of(configured).advance(SLACK_FIRST_RETRY)
    assert slack_event(configured, alert(WEDNESDAY_10_ET), "Ev1", **{"X-Slack-Retry-Num": "1"}).status == 503
    dedupe.give_back("slack", "Ev1")

    # WHEN Slack's second retry arrives
    clock_of(configured).set(WEDNESDAY_10_ET + SLACK_SECOND_RETRY)
    response = slack_event(configured, alert(WEDNESDAY_10_ET), "Ev1", **{"X-Slack-Retry-Num": "2"})

    # THEN the event is processed, once
    assert response.status == 200
    assert len(posts_of(configured.slack, "incident_declared")) == 1
    assert len(runtime.current().store.open_incidents()) == 1


def test_a_slack_retry_after_the_lease_of_a_finished_delivery_is_200_and_has_no_effect(
    configured: LocalStack,
) -> None:
    assert slack_event(configured, alert(WEDNESDAY_10_ET), "Ev1").status == 200
    after_first = state(configured)

    clock_of(configured).advance(SLACK_FIRST_RETRY)
    immediate = slack_event(configured, alert(WEDNESDAY_10_ET), "Ev1", **{"X-Slack-Retry-Num": "1"})
    clock_of(configured).set(WEDNESDAY_10_ET + SLACK_SECOND_RETRY)
    later = slack_event(configured, alert(WEDNESDAY_10_ET), "Ev1", **{"X-Slack-Retry-Num": "2"})

    assert (immediate.status, later.status) == (503, 200)
    assert state(configured) == after_first
    assert len(posts_of(configured.slack, "incident_declared")) == 1


def test_an_ignored_event_costs_one_claim_and_its_retry_nothing_more(configured: LocalStack) -> None:
    elsewhere = {**alert(WEDNESDAY_10_ET), "channel": "C0RANDOM"}

    assert slack_event(configured, elsewhere, "Ev1").status == 200
    clock_of(configured).advance(SLACK_SECOND_RETRY)
    assert slack_event(configured, elsewhere, "Ev1", **{"X-Slack-Retry-Num": "1"}).status == 200

    assert state(configured) == []
    assert [item["pk"]["S"] for item in table_items(configured)] == ["DEDUPE#slack#Ev1"]
    assert configured.slack.calls == []


def test_a_replayed_slash_command_declares_one_incident(configured: LocalStack) -> None:
    # GIVEN a declaration, and the very same signed request arriving again after the lease
    form = b"command=%2Fincident&text=critical+Kiosks+down&user_id=U0ONCALL&channel_id=C0PRODSUP&trigger_id=t.1"
    headers = slack_headers(form, WEDNESDAY_10_ET)
    first = configured.request("POST", "/slack/commands", headers, form)
    clock_of(configured).advance(SLACK_SECOND_RETRY)
    again = configured.request("POST", "/slack/commands", headers, form)

    # THEN one incident, one card; the repeat is answered without an effect
    assert "Declared *INC-2026-0001*" in answer_text(first)
    assert (again.status, again.body) == (200, b"")
    assert len(runtime.current().store.open_incidents()) == 1
    assert len(posts_of(configured.slack, "incident_declared")) == 1


def test_two_different_commands_in_the_same_second_both_take_effect(configured: LocalStack) -> None:
    answer_text(slack_command(configured, "critical Kiosks down"))
    answer_text(slack_command(configured, "major Travel pay slow"))

    assert len(runtime.current().store.open_incidents()) == 2


def test_a_pagerduty_resend_while_the_first_is_in_flight_is_503_then_a_duplicate_after_the_lease(
    configured: LocalStack,
) -> None:
    body = pagerduty_body("incident.triggered", WEDNESDAY_10_ET, event_id="01PDTRIGGERED")
    runtime.current().dedupe.claim("pagerduty-event", "01PDTRIGGERED", WEDNESDAY_10_ET)  # the first delivery

    clock_of(configured).advance(timedelta(seconds=5))  # PagerDuty's retry after its five-second timeout
    during = deliver_pagerduty(configured, body, "wh-1")
    assert (during.status, json.loads(during.body)["status"]) == (503, "in flight")
    assert configured.slack.calls == []

    runtime.current().dedupe.give_back("pagerduty-event", "01PDTRIGGERED")  # the first delivery failed
    clock_of(configured).advance(timedelta(seconds=30))
    retried = deliver_pagerduty(configured, body, "wh-1")
    clock_of(configured).advance(timedelta(minutes=1))
    repeated = deliver_pagerduty(configured, body, "wh-1")

    assert (retried.status, json.loads(retried.body)["status"]) == (202, "opened")
    assert (repeated.status, json.loads(repeated.body)["status"]) == (202, "duplicate")
    assert len(runtime.current().store.open_incidents()) == 1
    assert len(configured.slack.posts()) == 1


def test_a_slack_event_body_signed_twice_with_different_timestamps_is_still_one_event(configured: LocalStack) -> None:
    body = event_body(alert(WEDNESDAY_10_ET), "Ev1", WEDNESDAY_10_ET)

    assert post_slack(configured, "/slack/events", body).status == 200
    clock_of(configured).advance(SLACK_SECOND_RETRY)
    assert post_slack(configured, "/slack/events", body, **{"X-Slack-Retry-Num": "1"}).status == 200

    assert len(posts_of(configured.slack, "incident_declared")) == 1


def test_a_retry_of_the_acknowledging_reply_while_the_first_is_in_flight_is_503_and_posts_nothing(
    configured: LocalStack,
) -> None:
    # GIVEN an incident, and another container that has written this reply's ack (its claim rides on that write)
    # and not yet posted it
    thread_ts = declare_by_alert(configured)
    at = WEDNESDAY_10_ET + timedelta(minutes=3)
    rt = runtime.current()
    rt.table.pending = DeliveryClaim(rt.dedupe, "slack", "Ev2", at)
    rt.store.record_reply(Reply(CHANNEL, thread_ts, at, "U0ONCALL", "Looking into it"))
    rt.table.pending = None

    # WHEN Slack's immediate retry of that reply arrives
    clock_of(configured).set(at + SLACK_FIRST_RETRY)
    response = slack_event(configured, reply(thread_ts, at), "Ev2", **{"X-Slack-Retry-Num": "1"})

    # THEN it is told to retry later, and the ack is not announced twice
    assert response.status == 503
    assert posts_of(configured.slack, "incident_acknowledged") == []


def test_a_retry_of_the_acknowledging_reply_whose_post_failed_announces_the_ack_once(configured: LocalStack) -> None:
    # GIVEN a reply whose ack was written but whose announcement Slack refused
    thread_ts = declare_by_alert(configured)
    at = WEDNESDAY_10_ET + timedelta(minutes=3)
    clock_of(configured).set(at)
    configured.slack.fail_next("chat.postMessage", error="channel_not_found")
    first = slack_event(configured, reply(thread_ts, at), "Ev2")

    # WHEN Slack retries it a minute later, and once more after five
    clock_of(configured).set(at + SLACK_SECOND_RETRY)
    retry = slack_event(configured, reply(thread_ts, at), "Ev2", **{"X-Slack-Retry-Num": "1"})
    clock_of(configured).set(at + SLACK_THIRD_RETRY)
    again = slack_event(configured, reply(thread_ts, at), "Ev2", **{"X-Slack-Retry-Num": "2"})

    # THEN the ack stands as first written, and it is announced exactly once
    assert (first.status, retry.status, again.status) == (500, 200, 200)
    assert len(posts_of(configured.slack, "incident_acknowledged")) == 1
    assert stored(thread_ts).deadlines[Sla.SLACK_ACK].met_at == at


def test_a_retry_of_a_reply_after_the_lease_of_a_finished_delivery_announces_nothing_more(
    configured: LocalStack,
) -> None:
    thread_ts = declare_by_alert(configured)
    at = WEDNESDAY_10_ET + timedelta(minutes=3)
    clock_of(configured).set(at)
    assert slack_event(configured, reply(thread_ts, at), "Ev2").status == 200

    clock_of(configured).set(at + SLACK_SECOND_RETRY)
    retry = slack_event(configured, reply(thread_ts, at), "Ev2", **{"X-Slack-Retry-Num": "1"})

    assert retry.status == 200
    assert len(posts_of(configured.slack, "incident_acknowledged")) == 1


def test_a_repeat_whose_first_effect_is_a_post_is_stopped_before_it_posts(configured: LocalStack) -> None:
    # GIVEN a delivery handled a minute ago
    rt = runtime.current()
    rt.dedupe.claim("slack", "Ev9", WEDNESDAY_10_ET - SLACK_SECOND_RETRY)

    # WHEN its repeat posts before it writes anything
    with pytest.raises(DuplicateDelivery), rt.dedupe.once("slack", "Ev9", WEDNESDAY_10_ET, fold=True):
        rt.slack.chat_postMessage(channel=CHANNEL, text="Declared")

    # THEN its claim, made just before the post, stopped it: nothing reached Slack
    assert configured.slack.calls == []


def test_a_repeat_whose_first_effect_is_a_queued_message_is_stopped_before_it_is_queued(
    configured: LocalStack,
) -> None:
    rt = runtime.current()
    rt.dedupe.claim("slack", "Ev9", WEDNESDAY_10_ET - SLACK_SECOND_RETRY)

    with pytest.raises(DuplicateDelivery), rt.dedupe.once("slack", "Ev9", WEDNESDAY_10_ET, fold=True):
        rt.client("sqs").send_message(QueueUrl=rt.settings.outbox_queue_url, MessageBody="{}")

    assert configured.queue_depth("SlackOutboxQueue") == 0


def test_a_claim_made_with_the_deliverys_first_write_is_given_back_when_the_delivery_fails(
    configured: LocalStack,
) -> None:
    rt = runtime.current()

    with pytest.raises(RuntimeError), rt.dedupe.once("slack", "Ev9", WEDNESDAY_10_ET, fold=True):
        rt.table.put({"pk": "NOTE#1", "sk": "NOTE"})
        raise RuntimeError("Slack is down")

    assert [item["pk"]["S"] for item in table_items(configured)] == ["NOTE#1"]  # the claim is free for the retry


def test_a_look_that_finds_nothing_makes_the_pending_claim_in_the_same_request(configured: LocalStack) -> None:
    rt = runtime.current()

    with rt.dedupe.once("pagerduty-event", "01PD", WEDNESDAY_10_ET, fold=True):
        found = rt.table.look("PD#Q1", "LINK")
        pending = rt.table.pending

    assert (found, pending) == (None, None)
    assert [item["pk"]["S"] for item in table_items(configured)] == ["DEDUPE#pagerduty-event#01PD"]


def test_a_look_that_finds_the_item_returns_it_and_leaves_the_claim_for_the_next_write(configured: LocalStack) -> None:
    rt = runtime.current()
    rt.table.put({"pk": "PD#Q1", "sk": "LINK", "incident_id": "INC-2026-0001"})

    with rt.dedupe.once("pagerduty-event", "01PD", WEDNESDAY_10_ET, fold=True):
        found = rt.table.look("PD#Q1", "LINK")
        still_pending = rt.table.pending is not None

    assert found is not None and found["incident_id"] == "INC-2026-0001"
    assert still_pending  # and made at the end, since nothing else was written
    assert sorted(item["pk"]["S"] for item in table_items(configured)) == ["DEDUPE#pagerduty-event#01PD", "PD#Q1"]


def test_an_alerts_retry_after_its_card_was_posted_but_not_stored_declares_that_card_once(
    configured: LocalStack,
) -> None:
    # GIVEN an earlier attempt at the alert's declaration claimed the message, took INC-2026-0001 and posted its
    # card under the alert, then failed before storing the incident
    root = alert(WEDNESDAY_10_ET)
    rt = runtime.current()
    rt.store.claim_message(CHANNEL, root["ts"], "alert_message:", WEDNESDAY_10_ET, CLAIM_HOLD)
    rt.store.next_sequence("INC", 2026)
    card = rt.slack.chat_postMessage(
        channel=CHANNEL,
        thread_ts=root["ts"],
        text="INC-2026-0001 (major): Triggered",
        metadata={"event_type": "incident_declared", "event_payload": {"incident_id": "INC-2026-0001"}},
    )

    # WHEN Slack retries the alert
    clock_of(configured).set(WEDNESDAY_10_ET + SLACK_SECOND_RETRY)
    assert slack_event(configured, root, "Ev1", **{"X-Slack-Retry-Num": "1"}).status == 200

    # THEN the incident is that card's: no second card, and no id taken for nothing
    incident = stored(root["ts"])
    assert (incident.id, incident.card_ts) == ("INC-2026-0001", card["ts"])
    assert len(posts_of(configured.slack, "incident_declared")) == 1
    assert rt.store.next_sequence("INC", 2026) == 2


def test_a_give_back_never_deletes_a_claim_another_delivery_made(configured: LocalStack) -> None:
    # GIVEN a delivery that was handled, and a repeat whose own claim attempt failed without a word
    rt = runtime.current()
    rt.dedupe.claim("slack", "Ev1", WEDNESDAY_10_ET, attempt="first")

    # WHEN the repeat gives back what it may have claimed
    rt.dedupe.give_back("slack", "Ev1", attempt="repeat")

    # THEN the first delivery's claim stands, so a later repeat is still a duplicate
    assert [item["pk"]["S"] for item in table_items(configured)] == ["DEDUPE#slack#Ev1"]
