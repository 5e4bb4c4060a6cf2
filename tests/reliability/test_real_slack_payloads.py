"""Issue 13, finding 10: requests Slack really sends, answered the way Slack asks.

Slack counts every non-2xx against the app (and disables event delivery when too many fail), so what this
app does not handle is a 2xx that changes nothing.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from builders import post_slack, slack_event, state

from prodsupport_local.emulator.stack import LocalStack

# Payload shapes from Slack's Events API reference: channel_created and im_created carry a channel object.
UNHANDLED_EVENTS = {
    "channel_created": {
        "type": "channel_created",
        "channel": {"id": "C024BE91L", "name": "fun", "created": 1360782804, "creator": "U024BE7LH"},
    },
    "im_created": {"type": "im_created", "user": "U024BE7LH", "channel": {"id": "D024BE91L"}},
    "app_mention": {
        "type": "app_mention",
        "user": "U061F7AUR",
        "text": "<@U0LAN0Z89> is it everything a river should be?",
        "ts": "1515449522.000016",
        "channel": "C123ABC456",
        "event_ts": "1515449522000016",
    },
    "member_joined_channel": {"type": "member_joined_channel", "user": "W06GH7XHN", "channel": "C0698JE0H"},
}


def test_slacks_ssl_check_on_the_command_url_is_200_and_does_nothing(configured: LocalStack) -> None:
    # GIVEN the form Slack posts to verify a slash command's certificate (unsigned, token only)
    before = state(configured)
    body = urlencode({"ssl_check": "1", "token": "gIkuvaNzQIHg97ATvDxqgjtO"}).encode()

    response = configured.request(
        "POST", "/slack/commands", {"Content-Type": "application/x-www-form-urlencoded"}, body
    )

    assert response.status == 200
    assert state(configured) == before
    assert configured.slack.posts() == []


@pytest.mark.parametrize("kind", UNHANDLED_EVENTS)
def test_an_event_type_this_app_does_not_handle_is_200_and_ignored(configured: LocalStack, kind: str) -> None:
    before = state(configured)

    response = slack_event(configured, UNHANDLED_EVENTS[kind], f"Ev0{kind.upper()[:8]}")

    assert response.status == 200
    assert state(configured) == before
    assert configured.slack.posts() == []


def test_a_view_submission_this_app_did_not_open_is_an_empty_200(configured: LocalStack) -> None:
    # GIVEN a modal of another app or workflow (a callback id this app never uses)
    before = state(configured)
    view = {"callback_id": "someone_elses_modal", "private_metadata": "", "state": {"values": {}}}
    payload = {"type": "view_submission", "user": {"id": "U0ONCALL"}, "view": view}

    response = post_slack(configured, "/slack/interactions", urlencode({"payload": json.dumps(payload)}).encode())

    # THEN Slack closes the view: an empty body, not `response_action: errors`
    assert (response.status, response.body) == (200, b"")
    assert state(configured) == before
