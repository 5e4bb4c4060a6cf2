"""Two people tagging the same partner at once: one ping, one tag, one page.

Each command is handled in its own process (two Lambda containers), released together against the same
emulated table, whose conditional writes are as atomic as DynamoDB's (test_moto_atomicity). Only the save that
adds the partner pings and pages it; the other re-reads, finds the tag and answers that it was already made.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from builders import (
    CHANNEL,
    INC,
    PD_ID,
    SETTINGS,
    WEDNESDAY_10_ET,
    clock_of,
    command_answer,
    declare_by_alert,
    posts_of,
    slack_headers,
    stored,
)

from prodsupport_local.emulator.processes import Call, run_together
from prodsupport_local.emulator.stack import LocalStack

PARTNERS = [{"name": "VEText", "slack_usergroup_id": "S0VETEXT", "pagerduty_escalation_policy_id": "PEP0VTX"}]


@pytest.fixture
def linked(stack: LocalStack) -> str:
    stack.configure(
        {
            **SETTINGS,
            "partners": PARTNERS,
            "pagerduty_requester_id": "PUSR0BOT",
            "pagerduty_from_email": "b@example.gov",
        }
    )
    clock_of(stack).set(WEDNESDAY_10_ET)
    thread_ts = declare_by_alert(stack)
    assert "linked" in command_answer(stack, f"{INC} link {PD_ID}")["text"]
    stack.slack.set_members(CHANNEL, ["U0ONCALL", "U0PM"])
    stack.slack.clear()
    return thread_ts


def tag_by(user: str) -> Call:
    form = {"command": "/incident", "text": f"{INC} partner VEText", "user_id": user, "channel_id": CHANNEL}
    body = urlencode({**form, "trigger_id": f"t.{user}"}).encode()
    return Call("POST", "/slack/commands", body, WEDNESDAY_10_ET, slack_headers(body, WEDNESDAY_10_ET))


def test_two_people_tagging_the_same_partner_at_once_ping_and_page_it_once(linked: str, stack: LocalStack) -> None:
    outcomes = run_together(stack, [tag_by("U0ONCALL"), tag_by("U0PM")])

    answers = sorted(json.loads(outcome.response.body)["text"] for outcome in outcomes if outcome.response)
    assert [outcome.status for outcome in outcomes] == [200, 200]
    assert answers[0].startswith("Tagged VEText") and "already tagged" in answers[1]
    assert len(posts_of(stack.slack, "partner_tagged")) == 1
    assert stack.pagerduty is not None and len(stack.pagerduty.calls_to(f"/incidents/{PD_ID}/responder_requests")) == 1
    assert len(stored(linked).partners) == 1


def test_tagging_three_partners_while_pagerduty_hangs_answers_before_the_lambda_timeout(
    linked: str, stack: LocalStack
) -> None:
    many = [
        {**PARTNERS[0], "name": name, "pagerduty_escalation_policy_id": f"PEP{name}"} for name in ("A1", "B2", "C3")
    ]
    stack.configure(
        {**SETTINGS, "partners": many, "pagerduty_requester_id": "PUSR0BOT", "pagerduty_from_email": "b@example.gov"}
    )
    assert stack.pagerduty is not None
    stack.pagerduty.fail_next(f"/incidents/{PD_ID}/responder_requests", hang_seconds=8, times=3)
    form = {"command": "/incident", "text": f"{INC} partner A1 B2 C3", "user_id": "U0ONCALL", "channel_id": CHANNEL}
    body = urlencode({**form, "trigger_id": "t.many"}).encode()

    (outcome,) = run_together(
        stack, [Call("POST", "/slack/commands", body, WEDNESDAY_10_ET, slack_headers(body, WEDNESDAY_10_ET))]
    )

    assert not outcome.killed and outcome.status == 200
    posts = posts_of(stack.slack, "partner_tagged")
    assert [p.args["metadata"]["event_payload"]["partner"] for p in posts] == ["A1", "B2", "C3"]
    assert all("failed" in p.args["text"] for p in posts)
    assert len(stored(linked).partners) == 3
