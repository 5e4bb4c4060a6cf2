"""POST /pagerduty/webhook through the local stack: moto, the recording Slack and PagerDuty APIs, real signing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from builders import (
    BEN,
    PD_ID,
    PD_URL,
    deliver_pagerduty,
    incident_data,
    pagerduty_event,
    pagerduty_headers,
    payloads_of,
)

from prodsupport import runtime
from prodsupport.core.timefmt import to_iso
from prodsupport.incident.model import Incident, Severity, Sla, Status
from prodsupport_local.emulator.stack import LocalStack, VirtualClock

OPENED = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # Tuesday 10:00 AM EDT: business hours, 15-minute window
ACK_DUE = OPENED + timedelta(minutes=15)


def trigger(stack: LocalStack, **data: Any) -> None:
    response = deliver_pagerduty(stack, pagerduty_event("incident.triggered", OPENED, data=incident_data(**data)))
    assert response.status == 202


def stored(incident_id: str = "INC-2026-0001") -> Incident:
    incident = runtime.current().store.get_by_id(incident_id)
    assert incident is not None
    return incident


def table_items() -> list[dict[str, Any]]:
    rt = runtime.current()
    return list(rt.client("dynamodb").scan(TableName=rt.settings.table_name)["Items"])


# --- verification and bad input -----------------------------------------------------------------------


def test_a_bad_signature_is_refused_with_401_and_nothing_is_written(stack: LocalStack) -> None:
    body = json.dumps(pagerduty_event("incident.triggered", OPENED)).encode()
    response = deliver_pagerduty(
        stack, body, headers=pagerduty_headers(body, webhook_id="wh-1", secret="not-the-secret")
    )
    assert response.status == 401
    assert table_items() == []
    assert stack.slack.posts() == []


def test_a_missing_signature_is_refused_with_401(stack: LocalStack) -> None:
    body = json.dumps(pagerduty_event("incident.triggered", OPENED)).encode()
    response = deliver_pagerduty(stack, body, headers={"Content-Type": "application/json"})
    assert response.status == 401
    assert b"X-PagerDuty-Signature" in response.body


def test_malformed_json_is_a_400_saying_what_is_wrong(stack: LocalStack) -> None:
    body = b'{"event": {"id": '
    response = deliver_pagerduty(stack, body, headers=pagerduty_headers(body, webhook_id="wh-1"))
    assert response.status == 400
    assert b"not valid JSON" in response.body
    assert table_items() == []


def test_an_event_without_occurred_at_is_a_400_naming_the_field(stack: LocalStack) -> None:
    body = json.dumps({"event": {"id": "E1", "event_type": "incident.triggered", "data": {}}}).encode()
    response = deliver_pagerduty(stack, body, headers=pagerduty_headers(body, webhook_id="wh-1"))
    assert response.status == 400
    assert b"event.occurred_at" in response.body


def test_an_unknown_event_type_is_accepted_and_ignored(stack: LocalStack) -> None:
    response = deliver_pagerduty(
        stack, pagerduty_event("service.updated", OPENED, data={"id": "PSVC", "type": "service"})
    )
    assert response.status == 202
    assert json.loads(response.body)["status"] == "ignored"
    assert stack.slack.posts() == []


def test_an_ack_of_an_unlinked_pagerduty_incident_posts_nothing_and_is_kept(stack: LocalStack) -> None:
    response = deliver_pagerduty(stack, pagerduty_event("incident.acknowledged", OPENED))
    assert response.status == 202
    assert json.loads(response.body)["status"] == "kept until linked"
    assert stack.slack.posts() == []


def test_an_ack_that_arrives_before_its_trigger_meets_the_pagerduty_clock(stack: LocalStack) -> None:
    deliver_pagerduty(stack, pagerduty_event("incident.acknowledged", OPENED + timedelta(minutes=1)))
    deliver_pagerduty(stack, pagerduty_event("incident.triggered", OPENED + timedelta(minutes=2), data=incident_data()))
    (ack,) = payloads_of(stack.slack, "incident_acknowledged")
    assert (ack["sla"], ack["at"], ack["met"]) == ("pagerduty_ack", to_iso(OPENED + timedelta(minutes=1)), True)
    assert stored().deadlines[Sla.PAGERDUTY_ACK].met_at == OPENED + timedelta(minutes=1)


# --- incident.triggered -------------------------------------------------------------------------------


def test_triggered_posts_the_thread_root_in_the_channel_with_the_pagerduty_link(stack: LocalStack) -> None:
    trigger(stack)
    (root,) = stack.slack.posts()
    assert root.args["channel"] == "C0PRODSUP"
    assert "thread_ts" not in root.args
    assert PD_URL in json.dumps(root.args["blocks"])


def test_triggered_declares_the_incident_with_both_ack_clocks(stack: LocalStack) -> None:
    trigger(stack)
    assert payloads_of(stack.slack, "incident_declared") == [
        {
            "incident_id": "INC-2026-0001",
            "severity": "critical",
            "opened_at": "2026-03-10T14:00:00Z",
            "window": "business",
            "ack_due": "2026-03-10T14:15:00Z",
            "source": "pagerduty",
            "pagerduty_incident_id": PD_ID,
            "pagerduty_ack_due": "2026-03-10T14:15:00Z",
        }
    ]


def test_triggered_starts_the_slack_and_pagerduty_ack_deadlines_pending(stack: LocalStack) -> None:
    trigger(stack)
    incident = stored()
    assert {
        sla: (d.due, d.pending) for sla, d in incident.deadlines.items() if sla in (Sla.SLACK_ACK, Sla.PAGERDUTY_ACK)
    } == {
        Sla.SLACK_ACK: (ACK_DUE, True),
        Sla.PAGERDUTY_ACK: (ACK_DUE, True),
    }


def test_a_low_urgency_p3_opens_a_major_incident_without_an_email_clock(stack: LocalStack) -> None:
    trigger(stack, priority="P3", urgency="low")
    incident = stored()
    assert incident.severity is Severity.MAJOR
    assert Sla.STAKEHOLDER_EMAIL not in incident.deadlines


def test_the_thread_root_names_who_pagerduty_has_on_call(stack: LocalStack) -> None:
    stack.configure({"pagerduty_escalation_policy_id": "PEP0CHK1", "oncall_user_id": "U0FALLBACK"})
    assert stack.pagerduty is not None
    stack.pagerduty.set_oncall("PEP0CHK1", "PUSR0ANA", "ana@va.gov", "Ana Oncall")
    stack.slack.set_user("U0ANA", email="ana@va.gov")
    trigger(stack)
    assert "<@U0ANA>" in json.dumps(stack.slack.posts()[0].args["blocks"])


def test_a_human_reply_in_the_bots_thread_meets_only_the_slack_ack(
    stack: LocalStack, signed_slack_request: Callable[..., Any]
) -> None:
    trigger(stack)
    root_ts = stack.slack.posts()[0].response["ts"]
    at = OPENED + timedelta(minutes=3)
    reply = {
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": int(at.timestamp()),
        "event": {
            "type": "message",
            "channel": "C0PRODSUP",
            "user": "U0ENG",
            "text": "on it",
            "ts": f"{int(at.timestamp())}.000100",
            "thread_ts": root_ts,
        },
    }
    clock = stack.clock
    assert isinstance(clock, VirtualClock)
    clock.set(at)
    request = signed_slack_request(reply, at)
    assert stack.request("POST", "/slack/events", request.headers, request.body).status == 200
    incident = stored()
    assert incident.deadlines[Sla.SLACK_ACK].met_at == at
    assert incident.deadlines[Sla.PAGERDUTY_ACK].pending


# --- incident.acknowledged ----------------------------------------------------------------------------


def test_an_ack_in_the_window_meets_the_pagerduty_ack(stack: LocalStack) -> None:
    trigger(stack)
    deliver_pagerduty(stack, pagerduty_event("incident.acknowledged", OPENED + timedelta(minutes=7)))
    assert payloads_of(stack.slack, "incident_acknowledged") == [
        {
            "incident_id": "INC-2026-0001",
            "sla": "pagerduty_ack",
            "at": "2026-03-10T14:07:00Z",
            "due": "2026-03-10T14:15:00Z",
            "met": True,
        }
    ]


def test_an_ack_of_an_incident_this_container_opened_reads_no_link_item(stack: LocalStack) -> None:
    trigger(stack)
    client = runtime.current().client("dynamodb")
    read: list[str] = []

    def before_build(params: dict[str, Any], **_: Any) -> None:
        read.append(params["Key"]["pk"]["S"])

    client.meta.events.register("before-parameter-build.dynamodb.GetItem", before_build, unique_id="test-reads")
    try:
        deliver_pagerduty(stack, pagerduty_event("incident.acknowledged", OPENED + timedelta(minutes=7)))
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.GetItem", unique_id="test-reads")

    assert payloads_of(stack.slack, "incident_acknowledged")[0]["met"] is True
    assert read and not [key for key in read if key.startswith("PD#")]


def test_a_container_that_never_saw_the_link_looks_it_up(stack: LocalStack) -> None:
    from prodsupport.incident.store import IncidentStore

    trigger(stack)
    rt = runtime.current()

    assert IncidentStore(rt.table, rt.policy).get_seen_linked(PD_ID) is None
    assert rt.store.get_seen_linked(PD_ID) == stored()


def test_an_ack_after_the_window_is_recorded_as_not_met(stack: LocalStack) -> None:
    trigger(stack)
    deliver_pagerduty(stack, pagerduty_event("incident.acknowledged", OPENED + timedelta(minutes=20)))
    (ack,) = payloads_of(stack.slack, "incident_acknowledged")
    assert (ack["at"], ack["met"]) == ("2026-03-10T14:20:00Z", False)


def test_the_pagerduty_ack_does_not_meet_the_slack_ack(stack: LocalStack) -> None:
    trigger(stack)
    deliver_pagerduty(stack, pagerduty_event("incident.acknowledged", OPENED + timedelta(minutes=7)))
    incident = stored()
    assert incident.deadlines[Sla.PAGERDUTY_ACK].met_at == OPENED + timedelta(minutes=7)
    assert incident.deadlines[Sla.SLACK_ACK].pending


def test_an_ack_after_an_unacknowledge_is_noted_and_the_first_ack_still_counts(stack: LocalStack) -> None:
    trigger(stack)
    deliver_pagerduty(stack, pagerduty_event("incident.acknowledged", OPENED + timedelta(minutes=7)))
    deliver_pagerduty(stack, pagerduty_event("incident.unacknowledged", OPENED + timedelta(minutes=37), agent=None))
    deliver_pagerduty(stack, pagerduty_event("incident.acknowledged", OPENED + timedelta(minutes=40)))
    assert len(payloads_of(stack.slack, "incident_acknowledged")) == 1
    assert stored().deadlines[Sla.PAGERDUTY_ACK].met_at == OPENED + timedelta(minutes=7)
    assert [p["field"] for p in payloads_of(stack.slack, "incident_updated")] == [
        "pagerduty_status",
        "pagerduty_status",
    ]


# --- at-least-once delivery ---------------------------------------------------------------------------


def test_a_retried_delivery_has_one_effect(stack: LocalStack) -> None:
    body = pagerduty_event("incident.triggered", OPENED)
    first = deliver_pagerduty(stack, body, webhook_id="wh-retry")
    assert isinstance(stack.clock, VirtualClock)
    stack.clock.advance(timedelta(minutes=1))  # PagerDuty's retry, after the first delivery's lease
    raw = json.dumps(body).encode()
    again = deliver_pagerduty(stack, raw, headers=pagerduty_headers(raw, webhook_id="wh-retry"))
    assert (first.status, again.status) == (202, 202)
    assert json.loads(again.body)["status"] == "duplicate"
    assert len(stack.slack.posts()) == 1


def test_the_same_event_from_two_subscriptions_has_one_effect(stack: LocalStack) -> None:
    trigger(stack)
    ack = pagerduty_event("incident.acknowledged", OPENED + timedelta(minutes=7))
    deliver_pagerduty(stack, ack, webhook_id="wh-subscription-a")
    deliver_pagerduty(stack, ack, webhook_id="wh-subscription-b")
    assert len(payloads_of(stack.slack, "incident_acknowledged")) == 1


def test_a_delivery_that_failed_on_slack_is_processed_by_its_retry(stack: LocalStack) -> None:
    body = pagerduty_event("incident.triggered", OPENED)
    stack.slack.fail_next("chat.postMessage", status=500, times=3)
    assert deliver_pagerduty(stack, body, webhook_id="wh-1").status == 500
    assert deliver_pagerduty(stack, body, webhook_id="wh-1").status == 202
    assert len(stack.slack.posts()) == 1
    assert len(runtime.current().store.open_incidents()) == 1


# --- timeline and thread ------------------------------------------------------------------------------


def test_a_high_urgency_p3_opens_a_major_incident_without_an_email_clock(stack: LocalStack) -> None:
    # GIVEN a page at the default high urgency that a responder prioritised P3
    trigger(stack, priority="P3", urgency="high")

    incident = stored()
    assert incident.severity is Severity.MAJOR
    assert Sla.STAKEHOLDER_EMAIL not in incident.deadlines


def test_a_trigger_from_a_service_not_configured_opens_nothing(stack: LocalStack) -> None:
    # GIVEN only the production service configured, and a page from staging
    stack.configure({"pagerduty_service_ids": ["PSVC0CHK"]})
    data = {**incident_data(), "service": {"id": "PSTAGING", "type": "service_reference", "summary": "Staging"}}

    response = deliver_pagerduty(stack, pagerduty_event("incident.triggered", OPENED, data=data))

    assert response.status == 202
    assert json.loads(response.body)["status"] == "ignored: service not configured"
    assert stack.slack.posts() == []
    assert runtime.current().store.get_by_id("INC-2026-0001") is None


def test_a_trigger_from_a_configured_service_opens_an_incident(stack: LocalStack) -> None:
    stack.configure({"pagerduty_service_ids": ["PSVC0CHK"]})

    trigger(stack)

    assert stored().pagerduty is not None


def test_priority_raised_to_p1_makes_the_incident_critical(stack: LocalStack) -> None:
    trigger(stack, priority="P3", urgency="low")
    deliver_pagerduty(
        stack,
        pagerduty_event(
            "incident.priority_updated", OPENED + timedelta(hours=2), data=incident_data(priority="P1", urgency="low")
        ),
    )
    assert stored().severity is Severity.CRITICAL
    assert payloads_of(stack.slack, "incident_updated")[-1]["field"] == "severity"


def test_becoming_critical_starts_the_email_clock_from_the_original_opening(stack: LocalStack) -> None:
    trigger(stack, priority="P3", urgency="low")
    deliver_pagerduty(
        stack,
        pagerduty_event(
            "incident.priority_updated", OPENED + timedelta(hours=2), data=incident_data(priority="P1", urgency="low")
        ),
    )
    assert stored().deadlines[Sla.STAKEHOLDER_EMAIL].due == OPENED + timedelta(hours=24)


def test_a_priority_change_that_keeps_the_severity_is_noted_as_priority(stack: LocalStack) -> None:
    trigger(stack, priority="P3", urgency="low")
    deliver_pagerduty(
        stack,
        pagerduty_event(
            "incident.priority_updated", OPENED + timedelta(hours=1), data=incident_data(priority="P2", urgency="low")
        ),
    )
    assert payloads_of(stack.slack, "incident_updated")[-1]["field"] == "priority"
    assert stored().severity is Severity.MAJOR


def test_reassigned_goes_on_the_timeline_and_into_the_thread(stack: LocalStack) -> None:
    trigger(stack)
    deliver_pagerduty(
        stack,
        pagerduty_event("incident.reassigned", OPENED + timedelta(minutes=5), data=incident_data(assignees=(BEN,))),
    )
    assert stored().timeline[-1].kind == "pagerduty_reassigned"
    (update,) = payloads_of(stack.slack, "incident_updated")
    assert update["field"] == "assignees"
    assert "Ben Backup" in stack.slack.posts()[-1].args["text"]


def test_escalated_goes_on_the_timeline_and_into_the_thread(stack: LocalStack) -> None:
    trigger(stack)
    deliver_pagerduty(
        stack,
        pagerduty_event(
            "incident.escalated", OPENED + timedelta(minutes=16), agent=None, data=incident_data(assignees=(BEN,))
        ),
    )
    assert stored().timeline[-1].kind == "pagerduty_escalated"
    assert stack.slack.posts()[-1].args["thread_ts"] == stack.slack.posts()[0].response["ts"]


def test_a_status_update_becomes_the_current_status(stack: LocalStack) -> None:
    trigger(stack)
    data = {
        "id": "PSTU1",
        "type": "incident_status_update",
        "message": "Rolled back the deploy",
        "incident": {"id": PD_ID, "type": "incident_reference", "summary": "Check-In API 5xx"},
    }
    deliver_pagerduty(
        stack, pagerduty_event("incident.status_update_published", OPENED + timedelta(minutes=30), data=data)
    )
    incident = stored()
    assert (incident.current_status, incident.status_at) == ("Rolled back the deploy", OPENED + timedelta(minutes=30))
    assert payloads_of(stack.slack, "incident_updated")[-1]["field"] == "current_status"


def test_resolved_in_pagerduty_resolves_the_incident(stack: LocalStack) -> None:
    trigger(stack)
    deliver_pagerduty(stack, pagerduty_event("incident.resolved", OPENED + timedelta(hours=1)))
    assert stored().status is Status.RESOLVED
    assert [(p["incident_id"], p["ended_at"]) for p in payloads_of(stack.slack, "incident_resolved")] == [
        ("INC-2026-0001", "2026-03-10T15:00:00Z")
    ]


def test_a_resolve_whose_slack_post_fails_posts_resolved_once_and_drafts_the_postmortem(stack: LocalStack) -> None:
    trigger(stack)
    body = pagerduty_event("incident.resolved", OPENED + timedelta(hours=1))
    stack.slack.fail_next("chat.postMessage", status=500, times=3)
    deliver_pagerduty(stack, body, "wh-resolved")
    deliver_pagerduty(stack, body, "wh-resolved")  # PagerDuty's retry, had the first failed
    stack.drain()
    assert len(payloads_of(stack.slack, "incident_resolved")) == 1
    assert [p["state"] for p in payloads_of(stack.slack, "postmortem_update")] == ["drafted"]


def test_a_pagerduty_retry_after_a_failed_draft_upload_drafts_the_postmortem_once(stack: LocalStack) -> None:
    trigger(stack)
    body = pagerduty_event("incident.resolved", OPENED + timedelta(hours=1))
    stack.slack.fail_next("files.completeUploadExternal", status=500, times=3)  # every attempt slack_sdk makes
    assert deliver_pagerduty(stack, body, "wh-resolved").status == 500
    assert isinstance(stack.clock, VirtualClock)
    stack.clock.advance(timedelta(minutes=1))  # PagerDuty's retry
    raw = json.dumps(body).encode()
    again = deliver_pagerduty(stack, raw, headers=pagerduty_headers(raw, webhook_id="wh-resolved"))
    assert json.loads(again.body)["status"] == "resolved"
    assert len([call for call in stack.slack.calls_to("files.completeUploadExternal") if call.ok]) == 1
    assert len(payloads_of(stack.slack, "incident_resolved")) == 1
    assert [p["state"] for p in payloads_of(stack.slack, "postmortem_update")] == ["drafted"]
    assert not [
        p for p in payloads_of(stack.slack, "incident_updated") if p.get("pagerduty_event") == "incident.resolved"
    ]


def test_resolved_in_pagerduty_after_slack_is_noted_as_well_and_not_resolved_again(
    stack: LocalStack, signed_slack_request: Callable[..., Any]
) -> None:
    trigger(stack)
    slash(stack, signed_slack_request, "INC-2026-0001 resolve rolled back", OPENED + timedelta(minutes=30))
    deliver_pagerduty(stack, pagerduty_event("incident.resolved", OPENED + timedelta(hours=1)))
    assert len(payloads_of(stack.slack, "incident_resolved")) == 1
    noted = [p for p in payloads_of(stack.slack, "incident_updated") if p.get("pagerduty_event") == "incident.resolved"]
    assert len(noted) == 1


def test_reopened_in_pagerduty_opens_the_incident_again(stack: LocalStack) -> None:
    trigger(stack)
    deliver_pagerduty(stack, pagerduty_event("incident.resolved", OPENED + timedelta(hours=1)))
    deliver_pagerduty(stack, pagerduty_event("incident.reopened", OPENED + timedelta(hours=2)))
    incident = stored()
    assert (incident.status, incident.ended_at) == (Status.OPEN, None)
    assert payloads_of(stack.slack, "incident_updated")[-1]["field"] == "status"


def test_pagerduty_text_is_escaped_in_the_thread(stack: LocalStack) -> None:
    trigger(stack)
    agent = {"id": "PUSR0X", "type": "user_reference", "summary": "<!channel> Mallory"}
    deliver_pagerduty(stack, pagerduty_event("incident.unacknowledged", OPENED + timedelta(minutes=5), agent=agent))
    text = stack.slack.posts()[-1].args["text"]
    assert "&lt;!channel&gt; Mallory" in text
    assert "<!channel>" not in text


# --- /incident <id> link ------------------------------------------------------------------------------


def slash(stack: LocalStack, signed: Callable[..., Any], text: str, at: datetime) -> dict[str, Any]:
    clock = stack.clock
    assert isinstance(clock, VirtualClock)
    clock.set(at)
    form = urlencode({"command": "/incident", "text": text, "user_id": "U0ENG", "channel_id": "C0PRODSUP"})
    request = signed(form, at)
    response = stack.request("POST", "/slack/commands", request.headers, request.body)
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


@pytest.fixture
def declared(stack: LocalStack, signed_slack_request: Callable[..., Any]) -> Incident:
    """A major incident declared in Slack at OPENED, not linked to PagerDuty."""
    slash(stack, signed_slack_request, "major Kiosk check-in failing", OPENED)
    return stored()


def test_linking_tracks_the_pagerduty_ack_with_the_slack_ack_due_time(
    stack: LocalStack, signed_slack_request: Callable[..., Any], declared: Incident
) -> None:
    answer = slash(stack, signed_slack_request, f"{declared.id} link {PD_URL}", OPENED + timedelta(minutes=4))
    assert "tracked from now on" in answer["text"]
    incident = stored()
    assert incident.deadlines[Sla.PAGERDUTY_ACK].due == incident.deadlines[Sla.SLACK_ACK].due == ACK_DUE
    assert incident.pagerduty is not None
    assert (incident.pagerduty.incident_id, incident.pagerduty.url) == (PD_ID, PD_URL)


def test_a_linked_incident_records_the_pagerduty_ack(
    stack: LocalStack, signed_slack_request: Callable[..., Any], declared: Incident
) -> None:
    slash(stack, signed_slack_request, f"{declared.id} link {PD_ID}", OPENED + timedelta(minutes=4))
    deliver_pagerduty(stack, pagerduty_event("incident.acknowledged", OPENED + timedelta(minutes=9)))
    (ack,) = payloads_of(stack.slack, "incident_acknowledged")[-1:]
    assert (ack["sla"], ack["met"]) == ("pagerduty_ack", True)


def test_linking_after_pagerduty_was_acknowledged_meets_the_pagerduty_clock(
    stack: LocalStack, signed_slack_request: Callable[..., Any], declared: Incident
) -> None:
    deliver_pagerduty(
        stack, pagerduty_event("incident.acknowledged", OPENED + timedelta(minutes=3), data=incident_data())
    )
    slash(stack, signed_slack_request, f"{declared.id} link {PD_ID}", OPENED + timedelta(minutes=20))
    (ack,) = payloads_of(stack.slack, "incident_acknowledged")[-1:]
    assert (ack["sla"], ack["at"], ack["met"]) == ("pagerduty_ack", to_iso(OPENED + timedelta(minutes=3)), True)


def test_a_pagerduty_incident_already_linked_elsewhere_is_refused(
    stack: LocalStack, signed_slack_request: Callable[..., Any], declared: Incident
) -> None:
    trigger(stack)  # opens INC-2026-0002, linked to PD_ID
    answer = slash(stack, signed_slack_request, f"{declared.id} link {PD_ID}", OPENED + timedelta(minutes=4))
    assert "already linked to INC-2026-0002" in answer["text"]
    assert Sla.PAGERDUTY_ACK not in stored(declared.id).deadlines
