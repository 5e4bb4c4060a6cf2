"""Only members of an incident's channel, acting from that channel, change the incident (issue 13, finding 4).

Everyone else gets an ephemeral refusal, and nothing is written, posted or counted as the Slack ack.
Reading (`list`, `help`) stays open to everyone.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from builders import (
    CHANNEL,
    INC,
    SETTINGS,
    WEDNESDAY_10_ET,
    alert,
    clock_of,
    slack_event,
    slack_headers,
    slack_interaction,
    table_items,
)

from prodsupport.incident.model import Incident, Sla
from prodsupport_local.emulator.stack import LocalStack

MEMBER = "U0ONCALL"
OUTSIDER = "U0EVE"
DM = "D0EVE"


@pytest.fixture
def deployment(stack: LocalStack) -> LocalStack:
    """An alert-declared incident, not yet acknowledged, in a channel whose members are the on-call and PM."""
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    assert slack_event(stack, alert(WEDNESDAY_10_ET), "Ev0ALERT").status == 200
    stack.slack.set_members(CHANNEL, ["U0PM", MEMBER, "UBOT"])
    stack.slack.clear()
    return stack


def command_from(stack: LocalStack, text: str, *, user: str, channel: str) -> dict[str, object]:
    form = {"command": "/incident", "text": text, "user_id": user, "channel_id": channel, "trigger_id": "t.1"}
    body = urlencode(form).encode()
    response = stack.request("POST", "/slack/commands", slack_headers(body, clock_of(stack)()), body)
    assert response.status == 200, response
    loaded = json.loads(response.body)
    assert isinstance(loaded, dict)
    return loaded


def incident_items(stack: LocalStack) -> list[dict[str, object]]:
    return sorted(
        (item for item in table_items(stack) if not item["pk"]["S"].startswith("DEDUPE#")),
        key=lambda item: (item["pk"]["S"], item["sk"]["S"]),
    )


def stored(stack: LocalStack) -> Incident:
    from prodsupport import runtime

    incident = runtime.current().store.get_by_id(INC)
    assert incident is not None
    return incident


def test_a_non_member_resolving_from_a_direct_message_is_refused_and_nothing_is_written(
    deployment: LocalStack,
) -> None:
    before = incident_items(deployment)

    answer = command_from(deployment, f"{INC} resolve x", user=OUTSIDER, channel=DM)

    assert answer["response_type"] == "ephemeral"
    assert "resolved" not in str(answer["text"])
    assert f"<#{CHANNEL}>" in str(answer["text"])
    assert incident_items(deployment) == before
    assert deployment.slack.posts() == []


def test_a_member_typing_a_change_outside_the_incident_channel_is_refused(deployment: LocalStack) -> None:
    before = incident_items(deployment)

    answer = command_from(deployment, f"{INC} resolve x", user=MEMBER, channel=DM)

    assert "are made in" in str(answer["text"])
    assert incident_items(deployment) == before


def test_a_non_member_in_the_incident_channel_is_refused_and_it_is_not_the_slack_ack(deployment: LocalStack) -> None:
    before = incident_items(deployment)

    answer = command_from(deployment, f"{INC} status looking into it", user=OUTSIDER, channel=CHANNEL)

    assert str(answer["text"]).startswith(f"Only members of <#{CHANNEL}>")
    assert incident_items(deployment) == before
    assert deployment.slack.posts() == []
    assert stored(deployment).deadlines[Sla.SLACK_ACK].pending


def test_a_member_in_the_incident_channel_changes_the_incident(deployment: LocalStack) -> None:
    answer = command_from(deployment, f"{INC} resolve rolled back", user=MEMBER, channel=CHANNEL)

    assert answer["text"] == f"{INC} resolved."
    assert stored(deployment).status.value == "resolved"


def test_a_change_from_a_configured_team_channel_is_accepted(deployment: LocalStack) -> None:
    deployment.configure({**SETTINGS, "command_channel_ids": ["C0TEAM"]})

    answer = command_from(deployment, f"{INC} summary kiosks show an error", user=MEMBER, channel="C0TEAM")

    assert answer["text"] == f"Summary of {INC} updated."


def resolve_click(stack: LocalStack, *, response_url: bool) -> dict[str, object]:
    payload: dict[str, object] = {
        "type": "block_actions",
        "user": {"id": OUTSIDER},
        "trigger_id": "t.button",
        "channel": {"id": CHANNEL},
        "actions": [{"action_id": "incident_resolve", "block_id": "incident_actions", "value": INC}],
    }
    if response_url:
        payload["response_url"] = stack.slack.response_url()
    return payload


def test_a_non_member_clicking_a_card_button_is_refused_ephemerally_and_no_form_opens(
    deployment: LocalStack,
) -> None:
    before = incident_items(deployment)

    assert slack_interaction(deployment, resolve_click(deployment, response_url=True)).status == 200

    [refusal] = deployment.slack.calls_to("response_url")
    assert (refusal.args["response_type"], refusal.args["replace_original"]) == ("ephemeral", False)
    assert refusal.args["text"].startswith(f"Only members of <#{CHANNEL}>")
    assert deployment.slack.calls_to("views.open") == []
    assert incident_items(deployment) == before


def test_a_refused_click_without_a_response_url_is_still_answered_and_changes_nothing(
    deployment: LocalStack,
) -> None:
    """chat.postEphemeral cannot reach someone outside the channel (Slack: user_not_in_channel)."""
    before = incident_items(deployment)

    assert slack_interaction(deployment, resolve_click(deployment, response_url=False)).status == 200

    assert [call.response.get("error") for call in deployment.slack.calls_to("chat.postEphemeral")] == [
        "user_not_in_channel"
    ]
    assert incident_items(deployment) == before


def test_a_non_member_submitting_an_incident_form_gets_the_refusal_in_the_form(deployment: LocalStack) -> None:
    before = incident_items(deployment)
    view = {
        "callback_id": "incident_resolve",
        "private_metadata": INC,
        "blocks": [{"block_id": "resolution"}],
        "state": {"values": {"resolution": {"input": {"type": "plain_text_input", "value": "x"}}}},
    }

    response = slack_interaction(deployment, {"type": "view_submission", "user": {"id": OUTSIDER}, "view": view})

    answer = json.loads(response.body)
    assert answer["response_action"] == "errors"
    assert answer["errors"]["resolution"].startswith("Only members of")
    assert incident_items(deployment) == before


def shortcut_declaration(stack: LocalStack, *, user: str) -> dict[str, object]:
    """The message shortcut's form, submitted on the alert's message that already has an incident."""
    view = {
        "callback_id": "declare_incident",
        "private_metadata": json.dumps({"source": "message_shortcut", "message_ts": alert(WEDNESDAY_10_ET)["ts"]}),
        "blocks": [{"block_id": "title"}],
        "state": {
            "values": {
                "title": {"input": {"type": "plain_text_input", "value": "checkout 5xx"}},
                "severity": {"input": {"type": "static_select", "selected_option": {"value": "minor"}}},
            }
        },
    }
    response = slack_interaction(stack, {"type": "view_submission", "user": {"id": user}, "view": view})
    assert response.status == 200, response
    return json.loads(response.body) if response.body else {}


def test_a_non_member_declaring_an_existing_incident_by_shortcut_is_refused_and_it_is_not_the_slack_ack(
    deployment: LocalStack,
) -> None:
    before = incident_items(deployment)

    answer = shortcut_declaration(deployment, user=OUTSIDER)

    assert answer["response_action"] == "errors"
    assert str(answer["errors"]["title"]).startswith(f"Only members of <#{CHANNEL}>")  # type: ignore[index]
    assert incident_items(deployment) == before
    assert deployment.slack.posts() == []
    assert stored(deployment).deadlines[Sla.SLACK_ACK].pending


def test_a_member_declaring_an_existing_incident_by_shortcut_acknowledges_it(deployment: LocalStack) -> None:
    shortcut_declaration(deployment, user=MEMBER)

    assert stored(deployment).deadlines[Sla.SLACK_ACK].met_at is not None


@pytest.mark.parametrize("text", ["list", "help"])
def test_reading_is_open_to_a_non_member_anywhere(deployment: LocalStack, text: str) -> None:
    answer = command_from(deployment, text, user=OUTSIDER, channel=DM)

    assert answer["response_type"] == "ephemeral"
    assert "Only members" not in str(answer["text"])


def test_members_are_read_once_per_container_across_every_page_until_the_cache_expires(
    deployment: LocalStack,
) -> None:
    deployment.slack.set_members(CHANNEL, [f"U{n:04d}" for n in range(2500)] + [MEMBER])

    command_from(deployment, f"{INC} summary first", user=MEMBER, channel=CHANNEL)
    command_from(deployment, f"{INC} summary second", user=MEMBER, channel=CHANNEL)
    reads_within_ttl = len(deployment.slack.calls_to("conversations.members"))
    clock_of(deployment).advance(timedelta(minutes=6))
    command_from(deployment, f"{INC} summary third", user=MEMBER, channel=CHANNEL)

    assert reads_within_ttl == 3  # one read of three pages of 1,000
    assert len(deployment.slack.calls_to("conversations.members")) == 6


def test_someone_who_just_joined_is_looked_up_again_rather_than_refused_from_the_cache(
    deployment: LocalStack,
) -> None:
    command_from(deployment, f"{INC} summary first", user=MEMBER, channel=CHANNEL)
    deployment.slack.set_members(CHANNEL, ["U0PM", MEMBER, OUTSIDER])

    answer = command_from(deployment, f"{INC} summary joined", user=OUTSIDER, channel=CHANNEL)

    assert answer["text"] == f"Summary of {INC} updated."


def test_a_response_url_outside_slack_is_never_called(deployment: LocalStack) -> None:
    payload = resolve_click(deployment, response_url=False)
    payload["response_url"] = "http://169.254.169.254/latest/meta-data/"

    assert slack_interaction(deployment, payload).status == 200

    assert deployment.slack.calls_to("response_url") == []
    assert [call.args["user"] for call in deployment.slack.calls_to("chat.postEphemeral")] == [OUTSIDER]


def github_issues_filed(stack: LocalStack) -> list[object]:
    return [call for call in stack.github.calls_to("POST", "/repos/") if call.path.endswith("/issues")]


def test_a_non_member_filing_an_action_item_by_command_is_refused_and_no_issue_is_filed(
    deployment: LocalStack,
) -> None:
    deployment.configure({**SETTINGS, "github_repo": "department-of-veterans-affairs/checkin-postmortems"})
    before = incident_items(deployment)

    answer = command_from(deployment, f"{INC} action add a probe type detect", user=OUTSIDER, channel=CHANNEL)

    assert str(answer["text"]).startswith(f"Only members of <#{CHANNEL}>")
    assert github_issues_filed(deployment) == []
    assert incident_items(deployment) == before


def test_a_non_member_clicking_add_action_item_is_refused_and_no_form_opens(deployment: LocalStack) -> None:
    deployment.configure({**SETTINGS, "github_repo": "department-of-veterans-affairs/checkin-postmortems"})
    click = resolve_click(deployment, response_url=True)
    click["actions"] = [{"action_id": "incident_postmortem_action", "block_id": "postmortem_actions", "value": INC}]

    assert slack_interaction(deployment, click).status == 200

    [refusal] = deployment.slack.calls_to("response_url")
    assert refusal.args["text"].startswith(f"Only members of <#{CHANNEL}>")
    assert deployment.slack.calls_to("views.open") == []


def test_a_non_member_submitting_the_action_item_form_gets_the_refusal_and_no_issue_is_filed(
    deployment: LocalStack,
) -> None:
    deployment.configure({**SETTINGS, "github_repo": "department-of-veterans-affairs/checkin-postmortems"})
    before = incident_items(deployment)
    view = {
        "callback_id": "postmortem_action",
        "private_metadata": INC,
        "blocks": [{"block_id": "description"}],
        "state": {"values": {"description": {"value": {"type": "plain_text_input", "value": "add a probe"}}}},
    }

    response = slack_interaction(deployment, {"type": "view_submission", "user": {"id": OUTSIDER}, "view": view})

    answer = json.loads(response.body)
    assert answer["errors"]["description"].startswith("Only members of")
    assert github_issues_filed(deployment) == []
    assert incident_items(deployment) == before
