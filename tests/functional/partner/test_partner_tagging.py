"""Partners over the local stack: tagged from Slack, recorded on the incident, paged through the recording
PagerDuty API, suggested once, and their PagerDuty answers in the thread."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from builders import (
    INC,
    PAGERDUTY_REQUESTER,
    PD_ID,
    WEDNESDAY_10_ET,
    clock_of,
    command_answer,
    declare_by_alert,
    deliver_pagerduty,
    deploy,
    pagerduty_event,
    payloads_of,
    posts_of,
    slack_interaction,
    stored,
)

from prodsupport.partner.paging import NO_TIME, SLACK_ANSWER_SECONDS
from prodsupport_local.emulator.stack import LocalStack

PARTNERS: list[dict[str, Any]] = [
    {
        "name": "VEText",
        "aliases": ["vetext-team"],
        "slack_usergroup_id": "S0VETEXT",
        "pagerduty_escalation_policy_id": "PEP0VTX",
        "applications": ["Pre-Check-In"],
    },
    {
        "name": "CHIP",
        "slack_user_ids": ["U0CHIP1"],
        "pagerduty_service_id": "PSVC0CHIP",
        "applications": ["Pre-Check-In"],
    },
    {"name": "Lighthouse APIs", "aliases": ["lighthouse"], "slack_usergroup_id": "S0LIGHT"},
]


@pytest.fixture
def deployment(stack: LocalStack) -> str:
    """An alert-declared incident with a partner directory; its thread's ts."""
    thread_ts = declare_by_alert(deploy(stack, **PAGERDUTY_REQUESTER, partners=PARTNERS))
    stack.slack.clear()
    return thread_ts


def link_pagerduty(stack: LocalStack) -> None:
    assert "is linked to PagerDuty" in command_answer(stack, f"{INC} link {PD_ID}")["text"]


def test_a_tag_pings_the_partner_in_the_thread_and_records_who_and_when(deployment: str, stack: LocalStack) -> None:
    answer = command_answer(stack, f"{INC} partner vetext-team", user="U0ENG")

    (post,) = posts_of(stack.slack, "partner_tagged")
    assert post.args["thread_ts"] == deployment
    assert post.args["text"].startswith(":wave: <!subteam^S0VETEXT> — <@U0ENG> tagged VEText")
    assert answer["text"] == f"Tagged VEText on {INC} in its thread."
    (tag,) = stored(deployment).partners
    assert (tag.name, tag.at, tag.by, tag.paged) == ("VEText", WEDNESDAY_10_ET, "U0ENG", False)
    assert ("partner_tagged", "U0ENG", "VEText") in [(e.kind, e.actor, e.text) for e in stored(deployment).timeline]


def test_a_partner_tagged_twice_is_not_pinged_again_and_the_person_is_told(deployment: str, stack: LocalStack) -> None:
    command_answer(stack, f"{INC} partner Lighthouse APIs", user="U0ENG")
    clock_of(stack).advance(timedelta(minutes=1))

    answer = command_answer(stack, f"{INC} partner lighthouse", user="U0PM")

    assert len(posts_of(stack.slack, "partner_tagged")) == 1
    assert "Lighthouse APIs was already tagged" in answer["text"] and "Not pinged again" in answer["text"]


def test_an_unknown_partner_is_answered_with_the_directorys_names_and_nothing_is_tagged(
    deployment: str, stack: LocalStack
) -> None:
    answer = command_answer(stack, f"{INC} partner VistA")

    assert answer["text"] == (
        "I know no partner called VistA. The directory has: VEText, CHIP, Lighthouse APIs. Nothing was tagged."
    )
    assert stored(deployment).partners == [] and not posts_of(stack.slack, "partner_tagged")


def test_a_partner_with_an_escalation_policy_is_paged_on_the_linked_pagerduty_incident(
    deployment: str, stack: LocalStack
) -> None:
    link_pagerduty(stack)
    assert stack.pagerduty is not None

    command_answer(stack, f"{INC} partner VEText")

    (request,) = stack.pagerduty.calls_to(f"/incidents/{PD_ID}/responder_requests")
    assert (request.method, request.status, request.sender) == ("POST", 200, "bot@example.gov")
    assert request.body["requester_id"] == "PUSR0BOT"
    assert request.body["responder_request_targets"] == [
        {"responder_request_target": {"id": "PEP0VTX", "type": "escalation_policy_reference"}}
    ]
    assert payloads_of(stack.slack, "partner_tagged")[0]["paged"] is True
    assert stored(deployment).partners[0].paged


def test_a_partner_known_by_its_service_is_paged_through_the_services_escalation_policy(
    deployment: str, stack: LocalStack
) -> None:
    link_pagerduty(stack)
    assert stack.pagerduty is not None
    stack.pagerduty.set_service("PSVC0CHIP", "PEP0CHIP")

    command_answer(stack, f"{INC} partner CHIP")

    (request,) = stack.pagerduty.calls_to(f"/incidents/{PD_ID}/responder_requests")
    target = request.body["responder_request_targets"][0]["responder_request_target"]
    assert target == {"id": "PEP0CHIP", "type": "escalation_policy_reference"}


def test_without_a_linked_pagerduty_incident_nobody_is_paged(deployment: str, stack: LocalStack) -> None:
    assert stack.pagerduty is not None

    command_answer(stack, f"{INC} partner VEText")

    assert stack.pagerduty.calls_to("/incidents/") == []
    assert payloads_of(stack.slack, "partner_tagged")[0]["paged"] is False


def test_a_failed_page_leaves_the_tag_standing_and_the_thread_says_so(deployment: str, stack: LocalStack) -> None:
    link_pagerduty(stack)
    assert stack.pagerduty is not None
    stack.pagerduty.fail_next(f"/incidents/{PD_ID}/responder_requests", status=500)

    answer = command_answer(stack, f"{INC} partner VEText")

    (post,) = posts_of(stack.slack, "partner_tagged")
    assert "Paging VEText in PagerDuty failed: PagerDuty answered HTTP 500. The tag stands." in post.args["text"]
    assert answer["text"] == f"Tagged VEText on {INC} in its thread."
    (tag,) = stored(deployment).partners
    assert (tag.paged, tag.page_error) == (False, "PagerDuty answered HTTP 500")


def test_a_pagerduty_that_hangs_is_given_up_on_within_the_timeout_and_the_tag_stands(
    deployment: str, stack: LocalStack
) -> None:
    link_pagerduty(stack)
    assert stack.pagerduty is not None
    stack.pagerduty.fail_next(f"/incidents/{PD_ID}/responder_requests", hang_seconds=6)

    command_answer(stack, f"{INC} partner VEText")

    (post,) = posts_of(stack.slack, "partner_tagged")
    assert "PagerDuty is not reachable" in post.args["text"]


def test_pages_that_cannot_fit_in_slacks_answer_window_are_reported_as_not_sent(
    deployment: str, stack: LocalStack
) -> None:
    # GIVEN a linked incident and a PagerDuty that hangs on every responder request
    link_pagerduty(stack)
    assert stack.pagerduty is not None
    stack.pagerduty.set_service("PSVC0CHIP", "PEP0CHIP")
    stack.pagerduty.fail_next(f"/incidents/{PD_ID}/responder_requests", hang_seconds=6, times=2)

    # WHEN two pageable partners are tagged at once
    started = time.monotonic()
    answer = command_answer(stack, f"{INC} partner VEText CHIP")
    answered_after = time.monotonic() - started

    # THEN the person is answered within Slack's 3 s, and each post says its page was not sent
    assert answered_after < SLACK_ANSWER_SECONDS
    assert answer["text"] == f"Tagged VEText, CHIP on {INC} in its thread."
    vetext, chip = (post.args["text"] for post in posts_of(stack.slack, "partner_tagged"))
    assert "Paging VEText in PagerDuty failed: PagerDuty is not reachable" in vetext
    assert f"Paging CHIP in PagerDuty failed: {NO_TIME}. The tag stands." in chip


def test_the_cards_multi_select_tags_the_partners_chosen(deployment: str, stack: LocalStack) -> None:
    card_ts = stored(deployment).card_ts
    options = [{"text": {"type": "plain_text", "text": n}, "value": n} for n in ("CHIP", "Lighthouse APIs")]
    action = {"type": "multi_static_select", "action_id": "incident_partner_select", "selected_options": options}
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ENG"},
        "channel": {"id": "C0PRODSUP"},
        "container": {"type": "message", "channel_id": "C0PRODSUP", "message_ts": card_ts},
        "actions": [action],
    }

    assert slack_interaction(stack, payload).status == 200

    assert [p["partner"] for p in payloads_of(stack.slack, "partner_tagged")] == ["CHIP", "Lighthouse APIs"]


def card_select(stack: LocalStack, thread_ts: str, names: list[str]) -> dict[str, Any]:
    """The card's multi-select closed by U0ENG with `names` chosen, as Slack sends it."""
    options = [{"text": {"type": "plain_text", "text": n}, "value": n} for n in names]
    action = {"type": "multi_static_select", "action_id": "incident_partner_select", "selected_options": options}
    card_ts = stored(thread_ts).card_ts
    return {
        "type": "block_actions",
        "user": {"id": "U0ENG"},
        "channel": {"id": "C0PRODSUP"},
        "container": {"type": "message", "channel_id": "C0PRODSUP", "message_ts": card_ts},
        "actions": [action],
    }


def test_choosing_an_already_tagged_partner_on_the_card_tells_the_person(deployment: str, stack: LocalStack) -> None:
    command_answer(stack, f"{INC} partner CHIP", user="U0ENG")
    stack.slack.clear()

    assert slack_interaction(stack, card_select(stack, deployment, ["CHIP"])).status == 200

    (told,) = stack.slack.calls_to("chat.postEphemeral")
    assert told.args["user"] == "U0ENG" and "CHIP was already tagged" in told.args["text"]
    assert not posts_of(stack.slack, "partner_tagged")


def test_an_emptied_card_select_is_ignored_silently(deployment: str, stack: LocalStack) -> None:
    assert slack_interaction(stack, card_select(stack, deployment, [])).status == 200

    assert stack.slack.calls_to("chat.postEphemeral") == []
    assert stored(deployment).partners == [] and not posts_of(stack.slack, "partner_tagged")


def test_the_card_offers_the_directory_and_shows_the_partners_once_tagged(deployment: str, stack: LocalStack) -> None:
    command_answer(stack, f"{INC} partner CHIP")

    (update,) = stack.slack.calls_to("chat.update")
    blocks = update.args["blocks"]
    select = blocks[-1]["elements"][0]
    assert [o["value"] for o in select["options"]] == ["VEText", "CHIP", "Lighthouse APIs"]
    assert "*Partners:* CHIP (Wed 11/25/2026 10:00 AM EST)" in blocks[1]["text"]["text"]


def test_setting_applications_suggests_their_partners_once(deployment: str, stack: LocalStack) -> None:
    command_answer(stack, f"{INC} apps Pre-Check-In")
    command_answer(stack, f"{INC} apps Pre-Check-In, Appointments")

    (suggested,) = payloads_of(stack.slack, "partners_suggested")
    assert (suggested["incident_id"], suggested["partners"]) == (INC, ["VEText", "CHIP"])


def test_the_suggestions_button_tags_its_partner(deployment: str, stack: LocalStack) -> None:
    button = {"type": "button", "action_id": "incident_partner_tag_VEText", "value": INC}
    payload = {"type": "block_actions", "user": {"id": "U0ENG"}, "channel": {"id": "C0PRODSUP"}, "actions": [button]}

    assert slack_interaction(stack, payload).status == 200

    assert [p["partner"] for p in payloads_of(stack.slack, "partner_tagged")] == ["VEText"]


def test_the_responders_answer_is_shown_in_the_thread_once_per_delivery(deployment: str, stack: LocalStack) -> None:
    link_pagerduty(stack)
    at = WEDNESDAY_10_ET + timedelta(minutes=5)
    data = {
        "incident": {"id": PD_ID, "type": "incident_reference", "summary": "5xx"},
        "user": {"id": "PUSR0VIC", "type": "user_reference", "summary": "Vic VEText"},
        "message": "Please help",
        "state": "joined",
        "type": "incident_responder",
    }
    event = pagerduty_event("incident.responder.replied", at, event_id="EV-REPLIED", data=data)

    assert deliver_pagerduty(stack, event, "wh-1").status == 202
    clock_of(stack).advance(timedelta(minutes=1))
    assert deliver_pagerduty(stack, json.dumps(event).encode(), "wh-1").status == 202

    (post,) = [p for p in payloads_of(stack.slack, "incident_updated") if p.get("field") == "responders"]
    assert post["pagerduty_event"] == "incident.responder.replied"
    kinds = [e.kind for e in stored(deployment).timeline]
    assert kinds.count("pagerduty_responder_replied") == 1


def test_partners_lists_the_directory_for_anyone(deployment: str, stack: LocalStack) -> None:
    answer = command_answer(stack, "partners", user="U0NOBODY")

    assert "• *VEText* — also vetext-team; supports Pre-Check-In; paged in PagerDuty" in answer["text"]


def test_a_directory_over_slacks_100_options_logs_the_partners_the_card_leaves_out(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    many = [{"name": f"Partner {n:03}", "slack_usergroup_id": f"S0P{n:03}"} for n in range(102)]

    declare_by_alert(deploy(stack, partners=many))

    [record] = [r for r in caplog.records if "partner select holds 100 options" in r.getMessage()]
    assert record.left_out == ("Partner 100", "Partner 101")  # type: ignore[attr-defined]
