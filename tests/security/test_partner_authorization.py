"""Only members of an incident's channel tag partners: a tag pings people and may page them in PagerDuty.

A non-member's command, suggestion click or card selection is refused, and nothing is written, posted or paged.
Listing the directory stays open to everyone, like `list` and `help`.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from builders import CHANNEL, INC, PD_ID, SETTINGS, WEDNESDAY_10_ET, clock_of, declare_by_alert, post_slack, posts_of

from prodsupport import runtime
from prodsupport_local.emulator.stack import LocalStack

MEMBER = "U0ONCALL"
OUTSIDER = "U0EVE"
PARTNERS = [{"name": "VEText", "slack_usergroup_id": "S0VETEXT", "pagerduty_escalation_policy_id": "PEP0VTX"}]


@pytest.fixture
def deployment(stack: LocalStack) -> LocalStack:
    """An incident linked to PagerDuty, in a channel whose only members are the on-call and the PM."""
    stack.configure({**SETTINGS, "partners": PARTNERS, "pagerduty_requester_id": "PUSR0BOT"})
    clock_of(stack).set(WEDNESDAY_10_ET)
    declare_by_alert(stack)
    stack.slack.set_members(CHANNEL, ["U0PM", MEMBER, "UBOT"])
    assert "linked" in command(stack, f"{INC} link {PD_ID}", user=MEMBER)["text"]
    stack.slack.clear()
    return stack


def command(stack: LocalStack, text: str, *, user: str) -> dict[str, object]:
    form = {"command": "/incident", "text": text, "user_id": user, "channel_id": CHANNEL, "trigger_id": "t.1"}
    response = post_slack(stack, "/slack/commands", urlencode(form).encode())
    assert response.status == 200, response
    loaded = json.loads(response.body)
    assert isinstance(loaded, dict)
    return loaded


def untagged(stack: LocalStack) -> bool:
    incident = runtime.current().store.get_by_id(INC)
    assert incident is not None
    nothing_paged = stack.pagerduty is None or not stack.pagerduty.calls_to("/incidents/")
    return not incident.partners and not posts_of(stack.slack, "partner_tagged") and nothing_paged


def refused_ephemerally(stack: LocalStack) -> bool:
    (told,) = stack.slack.calls_to("chat.postEphemeral")
    return told.args["user"] == OUTSIDER and "Only members of" in told.args["text"]


def test_a_non_member_tagging_a_partner_is_refused_and_nobody_is_pinged_or_paged(deployment: LocalStack) -> None:
    answer = command(deployment, f"{INC} partner VEText", user=OUTSIDER)

    assert answer["response_type"] == "ephemeral"
    assert f"Only members of <#{CHANNEL}>" in str(answer["text"])
    assert untagged(deployment)


def test_a_non_member_clicking_a_suggested_partner_is_refused_and_nobody_is_pinged(deployment: LocalStack) -> None:
    button = {"type": "button", "action_id": "incident_partner_tag_VEText", "value": INC}
    payload = {"type": "block_actions", "user": {"id": OUTSIDER}, "channel": {"id": CHANNEL}, "actions": [button]}

    response = post_slack(deployment, "/slack/interactions", urlencode({"payload": json.dumps(payload)}).encode())

    assert response.status == 200
    assert untagged(deployment)
    assert refused_ephemerally(deployment)


def test_a_non_member_choosing_partners_on_the_card_is_refused_and_nobody_is_pinged(deployment: LocalStack) -> None:
    incident = runtime.current().store.get_by_id(INC)
    assert incident is not None
    select = {
        "type": "multi_static_select",
        "action_id": "incident_partner_select",
        "selected_options": [{"text": {"type": "plain_text", "text": "VEText"}, "value": "VEText"}],
    }
    payload = {
        "type": "block_actions",
        "user": {"id": OUTSIDER},
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "channel_id": CHANNEL, "message_ts": incident.card_ts},
        "actions": [select],
    }

    response = post_slack(deployment, "/slack/interactions", urlencode({"payload": json.dumps(payload)}).encode())

    assert response.status == 200
    assert untagged(deployment)
    assert refused_ephemerally(deployment)


def test_anyone_may_list_the_partner_directory(deployment: LocalStack) -> None:
    answer = command(deployment, "partners", user=OUTSIDER)

    assert "*VEText*" in str(answer["text"])
