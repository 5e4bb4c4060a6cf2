"""Issue 13, findings 5 and 6: inputs that each caused a 500 are now a clear 4xx (or an answer), write
nothing, and every route shares the one bounded JSON parser.

Signed requests get past verification so the parser and the use cases meet the input; the 309-digit
timestamp is refused by verification itself.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from builders import (
    CHANNEL,
    SECRETS,
    SETTINGS,
    WEDNESDAY_10_ET,
    alert,
    clock_of,
    deliver_pagerduty,
    pagerduty_body,
    post_slack,
    slack_event,
    state,
)

from prodsupport_local.emulator.signing import slack_signature
from prodsupport_local.emulator.stack import LocalStack

SLACK_ROUTES = ("/slack/events", "/slack/commands", "/slack/interactions")
DEEP = b"[" * 10_000 + b"]" * 10_000


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    assert slack_event(stack, alert(WEDNESDAY_10_ET), "Ev0ALERT").status == 200
    return stack


def interaction(payload: dict[str, object] | str) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return urlencode({"payload": text}).encode()


def shortcut_submission(message_ts: str) -> bytes:
    metadata = json.dumps({"source": "message_shortcut", "message_ts": message_ts})
    values = {
        "title": {"value": {"type": "plain_text_input", "value": "Kiosk down"}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "major"}}},
    }
    view = {"callback_id": "declare_incident", "private_metadata": metadata, "state": {"values": values}}
    return interaction({"type": "view_submission", "user": {"id": "U0ONCALL"}, "view": view})


@pytest.mark.parametrize("route", SLACK_ROUTES)
def test_a_timestamp_of_309_digits_is_401_and_writes_nothing(configured: LocalStack, route: str) -> None:
    # GIVEN a request whose timestamp is too large for a float, signed over that very timestamp
    before = state(configured)
    body = b'{"type": "event_callback"}'
    stamp = "9" * 309
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(SECRETS.slack_signing_secret, stamp, body),
    }

    response = configured.request("POST", route, headers, body)

    assert response.status == 401
    assert state(configured) == before


@pytest.mark.parametrize(
    ("route", "body"),
    [("/slack/events", DEEP), ("/slack/interactions", interaction(DEEP.decode())), ("/pagerduty/webhook", DEEP)],
)
def test_json_nested_10000_deep_is_400_on_every_json_route(configured: LocalStack, route: str, body: bytes) -> None:
    before = state(configured)

    response = (
        deliver_pagerduty(configured, body, "wh-deep")
        if route == "/pagerduty/webhook"
        else post_slack(configured, route, body)
    )

    assert response.status == 400
    assert b"nested deeper" in response.body
    assert state(configured) == before


@pytest.mark.parametrize(
    "occurred_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59Z", "1999-12-31T23:59:59Z", "2100-01-01T00:00Z"]
)
def test_a_pagerduty_time_outside_2000_to_2099_is_400_not_retried(configured: LocalStack, occurred_at: str) -> None:
    # GIVEN a well signed trigger whose occurred_at overflows (or nears overflow once deadlines are added)
    before = state(configured)
    body = json.loads(pagerduty_body("incident.triggered", WEDNESDAY_10_ET, event_id="01PDTIME"))
    body["event"]["occurred_at"] = occurred_at

    response = deliver_pagerduty(configured, json.dumps(body).encode(), "wh-time")

    # THEN a 4xx, which PagerDuty does not retry, naming the field
    assert response.status == 400
    assert b"event.occurred_at" in response.body
    assert state(configured) == before


MESSAGE_EVENT = b'{"type": "event_callback", "event_id": "Ev0SUR", "event": {"type": "message", "text": "%s"}}'
LONE_SURROGATES = {"escaped": MESSAGE_EVENT % b"\\ud800", "raw bytes": MESSAGE_EVENT % b"\xed\xa0\x80"}


@pytest.mark.parametrize("surrogate", [b"\\ud800", b"\xed\xa0\x80"], ids=["escaped", "raw bytes"])
def test_a_lone_surrogate_in_a_pagerduty_title_is_400(configured: LocalStack, surrogate: bytes) -> None:
    before = state(configured)
    body = pagerduty_body("incident.triggered", WEDNESDAY_10_ET, event_id="01PDSUR")
    body = body.replace(b"Check-In API", b"Check-In " + surrogate)

    response = deliver_pagerduty(configured, body, "wh-sur")

    assert response.status == 400
    assert state(configured) == before


def test_an_escaped_lone_surrogate_in_a_slack_body_is_400(configured: LocalStack) -> None:
    before = state(configured)

    response = post_slack(configured, "/slack/events", LONE_SURROGATES["escaped"])

    assert response.status == 400
    assert state(configured) == before


def test_a_slack_body_that_is_not_utf8_is_401_as_slack_sdk_cannot_verify_it(configured: LocalStack) -> None:
    # slack_sdk's SignatureVerifier decodes the body as UTF-8 before signing it; it cannot be Slack's
    before = state(configured)

    response = post_slack(configured, "/slack/events", LONE_SURROGATES["raw bytes"])

    assert response.status == 401
    assert state(configured) == before


def test_a_lone_surrogate_in_an_alert_text_is_400(configured: LocalStack) -> None:
    before = state(configured)
    event = {**alert(WEDNESDAY_10_ET), "text": "Triggered: \ud800", "ts": "1795790000.000100"}
    body = json.dumps({"type": "event_callback", "event_id": "Ev0SUR2", "event": event}).encode()

    assert post_slack(configured, "/slack/events", body).status == 400
    assert state(configured) == before


@pytest.mark.parametrize("message_ts", ["abc", "nan", "1e400"])
def test_a_shortcut_form_on_a_message_ts_that_is_no_timestamp_answers_a_form_error(
    configured: LocalStack, message_ts: str
) -> None:
    before = state(configured)

    response = post_slack(configured, "/slack/interactions", shortcut_submission(message_ts))

    assert response.status == 200
    assert json.loads(response.body)["response_action"] == "errors"
    assert state(configured) == before


@pytest.mark.parametrize("message_ts", ["abc", "nan", "1e400"])
def test_a_message_shortcut_on_a_message_ts_that_is_no_timestamp_is_400(
    configured: LocalStack, message_ts: str
) -> None:
    before = state(configured)
    payload = {
        "type": "message_action",
        "callback_id": "declare_incident",
        "trigger_id": "1.2.abc",
        "user": {"id": "U0ONCALL"},
        "channel": {"id": CHANNEL},
        "message": {"type": "message", "text": "Kiosks down", "ts": message_ts},
    }

    response = post_slack(configured, "/slack/interactions", interaction(payload))

    assert response.status == 400
    assert b"payload.message.ts" in response.body
    assert state(configured) == before


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"attachments": ["Kiosks down"]}, b"payload.message.attachments[]"),
        ({"attachments": {"title": "Kiosks down"}}, b"payload.message.attachments"),
        ({"text": ["Kiosks down"]}, b"payload.message.text"),
    ],
    ids=["attachment-not-an-object", "attachments-not-a-list", "text-not-a-string"],
)
def test_a_message_shortcut_on_a_message_of_the_wrong_shape_is_400_naming_the_field(
    configured: LocalStack, message: dict[str, object], field: bytes
) -> None:
    before = state(configured)
    payload = {
        "type": "message_action",
        "callback_id": "declare_incident",
        "trigger_id": "1.2.abc",
        "user": {"id": "U0ONCALL"},
        "channel": {"id": CHANNEL},
        "message": {"type": "message", "ts": "1795788300.000100", **message},
    }

    response = post_slack(configured, "/slack/interactions", interaction(payload))

    assert response.status == 400
    assert field in response.body
    assert configured.slack.calls_to("views.open") == []
    assert state(configured) == before


def test_the_shortcut_where_the_bot_cannot_post_answers_in_a_modal(configured: LocalStack) -> None:
    # GIVEN the shortcut used in a DM, where chat.postEphemeral answers channel_not_found
    slack = configured.slack
    slack.fail_next("chat.postEphemeral", error="channel_not_found")
    before = state(configured)
    payload = {
        "type": "message_action",
        "callback_id": "declare_incident",
        "trigger_id": "1.2.dm",
        "user": {"id": "U0ONCALL"},
        "channel": {"id": "D0DIRECT"},
        "message": {"type": "message", "text": "Kiosks down", "ts": "1795788300.000100"},
    }

    response = post_slack(configured, "/slack/interactions", interaction(payload))

    # THEN Slack gets its 200 and the person reads why in a modal on the shortcut's trigger
    assert response.status == 200
    opened = slack.calls_to("views.open")
    assert [call.args["trigger_id"] for call in opened] == ["1.2.dm"]
    assert f"<#{CHANNEL}>" in json.dumps(opened[0].args["view"])
    assert state(configured) == before
