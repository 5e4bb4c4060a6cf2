"""Malformed, truncated, oversized and wrong-typed requests to every route: never a 500, never a partial
write, and a refusal always says what was wrong.

Property-based (hypothesis). Signed requests get past verification, so the parsing and the use cases behind
it meet the input; unsigned ones must stop at the signature. Each example moves the clock past the dedupe
lease, so a generated id that repeats is a plain duplicate rather than "in flight".
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote_from_bytes, urlencode

import pytest
from builders import (
    CHANNEL,
    SECRETS,
    SETTINGS,
    WEDNESDAY_10_ET,
    alert,
    clock_of,
    event_body,
    pagerduty_body,
    pagerduty_headers,
    post_slack,
    slack_event,
    state,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodsupport_local.emulator.apigw import HttpResponse
from prodsupport_local.emulator.signing import slack_signature
from prodsupport_local.emulator.stack import LocalStack

SLACK_ROUTES = ("/slack/events", "/slack/commands", "/slack/interactions")
ALL_ROUTES = (*SLACK_ROUTES, "/pagerduty/webhook")
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is reproducible, a failure replays
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ANSWERED = {200, 202}
REFUSED = {400, 401, 413}

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
slack_ids = st.sampled_from(["U0ONCALL", "U0ADMIN", "B0DATADOG", CHANNEL, "1795788300.000100", "", "x"])
maybe = json_values | slack_ids


def field_values(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the keys a handler reads, each holding anything (a right id, or the wrong type)."""
    return st.fixed_dictionaries({}, optional={name: maybe for name in names})


def truncated(body: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(min_value=0, max_value=len(body) - 1).map(lambda cut: body[:cut])


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    assert slack_event(stack, alert(WEDNESDAY_10_ET), "Ev0ALERT").status == 200  # an incident to aim at
    return stack


def next_example(stack: LocalStack) -> list[dict[str, Any]]:
    clock_of(stack).advance(timedelta(minutes=1))
    return state(stack)


def assert_handled(stack: LocalStack, response: HttpResponse, before: list[dict[str, Any]]) -> None:
    """Answered, or refused with a reason and nothing written."""
    assert response.status in ANSWERED | REFUSED, (response.status, response.body[:300])
    assert stack.failures == []
    if response.status in REFUSED:
        assert response.body.strip(), "a refusal must say what was wrong"
        assert state(stack) == before


def signed(stack: LocalStack, route: str, body: bytes) -> HttpResponse:
    if route == "/pagerduty/webhook":
        return stack.request("POST", route, pagerduty_headers(body, "wh-fuzz"), body)
    return post_slack(stack, route, body)


# --- any bytes, signed and unsigned ---------------------------------------------------------------------------


@PROPERTY
@given(route=st.sampled_from(ALL_ROUTES), body=st.binary(max_size=2048) | st.text(max_size=512).map(str.encode))
def test_arbitrary_signed_bytes_are_answered_or_refused_with_a_reason(
    configured: LocalStack, route: str, body: bytes
) -> None:
    before = next_example(configured)
    assert_handled(configured, signed(configured, route, body), before)


@PROPERTY
@given(route=st.sampled_from(ALL_ROUTES), body=st.binary(max_size=2048))
def test_unsigned_bytes_are_refused_401_and_write_nothing(configured: LocalStack, route: str, body: bytes) -> None:
    before = next_example(configured)

    response = configured.request("POST", route, {"Content-Type": "application/json"}, body)

    assert response.status == 401
    assert b"signature" in response.body.lower()
    assert state(configured) == before


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_an_oversized_signed_body_is_413(configured: LocalStack, route: str) -> None:
    before = next_example(configured)
    body = json.dumps({"type": "event_callback", "padding": "x" * (300 * 1024)}).encode()

    response = signed(configured, route, body)

    assert (response.status, response.body) == (413, b"body too large")
    assert state(configured) == before


# --- truncated real requests ----------------------------------------------------------------------------------

REAL_EVENT = event_body(
    alert(WEDNESDAY_10_ET + timedelta(minutes=3), "Triggered: kiosk API down"), "Ev0TRUNC", WEDNESDAY_10_ET
)
REAL_COMMAND = urlencode(
    {"command": "/incident", "text": "critical Kiosks down", "user_id": "U0ONCALL", "channel_id": CHANNEL}
).encode()
REAL_INTERACTION = urlencode(
    {"payload": json.dumps({"type": "view_submission", "user": {"id": "U0ONCALL"}, "view": {"callback_id": "x"}})}
).encode()
REAL_WEBHOOK = pagerduty_body("incident.triggered", WEDNESDAY_10_ET, event_id="01PDTRUNC")


REAL_REQUESTS = [
    ("/slack/events", REAL_EVENT),
    ("/slack/commands", REAL_COMMAND),
    ("/slack/interactions", REAL_INTERACTION),
    ("/pagerduty/webhook", REAL_WEBHOOK),
]


@PROPERTY
@given(real=st.sampled_from(REAL_REQUESTS), data=st.data())
def test_a_truncated_real_request_is_answered_or_refused_with_a_reason(
    configured: LocalStack, real: tuple[str, bytes], data: st.DataObject
) -> None:
    before = next_example(configured)
    route, body = real
    assert_handled(configured, signed(configured, route, data.draw(truncated(body))), before)


# --- the right shape with the wrong types -----------------------------------------------------------------------

EVENT_FIELDS = ["type", "channel", "user", "bot_id", "subtype", "text", "ts", "thread_ts", "item", "files", "file_id"]
EVENT_TYPES = st.sampled_from(["message", "reaction_added", "file_shared"]) | maybe


@PROPERTY
@given(event=field_values(EVENT_FIELDS), kind=EVENT_TYPES, event_id=st.text(min_size=1, max_size=12))
def test_an_event_callback_with_wrong_typed_fields_is_never_a_500(
    configured: LocalStack, event: dict[str, Any], kind: Any, event_id: str
) -> None:
    before = next_example(configured)
    body = json.dumps({"type": "event_callback", "event_id": event_id, "event": {**event, "type": kind}}).encode()
    assert_handled(configured, post_slack(configured, "/slack/events", body), before)


@PROPERTY
@given(envelope=field_values(["type", "event_id", "event", "event_time", "challenge"]))
def test_an_events_envelope_with_wrong_typed_fields_is_never_a_500(
    configured: LocalStack, envelope: dict[str, Any]
) -> None:
    before = next_example(configured)
    assert_handled(configured, post_slack(configured, "/slack/events", json.dumps(envelope).encode()), before)


FORM_FIELDS = ["command", "text", "user_id", "channel_id", "trigger_id", "response_url"]
COMMANDS = st.sampled_from(["/incident", "/prodsupport", "/release"]) | st.text(max_size=12)


@PROPERTY
@given(form=st.dictionaries(st.sampled_from(FORM_FIELDS), st.text(max_size=80), max_size=6), command=COMMANDS)
def test_a_command_form_with_missing_or_odd_fields_is_never_a_500(
    configured: LocalStack, form: dict[str, str], command: str
) -> None:
    before = next_example(configured)
    body = urlencode({**form, "command": command}).encode()
    assert_handled(configured, post_slack(configured, "/slack/commands", body), before)


INTERACTION_FIELDS = ["user", "actions", "view", "trigger_id", "callback_id", "message", "channel", "container"]
INTERACTION_TYPES = st.sampled_from(["block_actions", "view_submission", "message_action", "shortcut"])
VIEW_FIELDS = ["callback_id", "private_metadata", "state", "blocks"]
CALLBACKS = st.sampled_from(
    [
        "declare_incident",
        "incident_status",
        "incident_details",
        "incident_resolve",
        "incident_email",
        "release_create",
        "postmortem_schedule",
        "postmortem_share",
    ]
)


@PROPERTY
@given(
    payload=field_values(INTERACTION_FIELDS),
    kind=INTERACTION_TYPES | maybe,
    view=field_values(VIEW_FIELDS),
    callback=CALLBACKS | maybe,
)
def test_an_interaction_payload_with_wrong_typed_fields_is_never_a_500(
    configured: LocalStack, payload: dict[str, Any], kind: Any, view: dict[str, Any], callback: Any
) -> None:
    before = next_example(configured)
    full = {**payload, "type": kind, "view": {**view, "callback_id": callback}}
    body = urlencode({"payload": json.dumps(full)}).encode()
    assert_handled(configured, post_slack(configured, "/slack/interactions", body), before)


@PROPERTY
@given(
    values=st.dictionaries(st.text(max_size=12), st.dictionaries(st.text(max_size=8), maybe, max_size=2), max_size=4),
    callback=CALLBACKS,
    metadata=maybe,
)
def test_a_view_submission_with_wrong_typed_form_values_is_never_a_500(
    configured: LocalStack, values: dict[str, Any], callback: str, metadata: Any
) -> None:
    before = next_example(configured)
    view = {"callback_id": callback, "private_metadata": metadata, "state": {"values": values}, "blocks": [{}]}
    payload = {"type": "view_submission", "user": {"id": "U0ADMIN"}, "view": view}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert_handled(configured, post_slack(configured, "/slack/interactions", body), before)


PD_EVENT_TYPES = st.sampled_from(
    [
        "incident.triggered",
        "incident.acknowledged",
        "incident.priority_updated",
        "incident.status_update_published",
        "incident.resolved",
    ]
)


@PROPERTY
@given(
    event=field_values(["id", "occurred_at", "agent", "client", "data", "resource_type"]),
    kind=PD_EVENT_TYPES | maybe,
    data=field_values(["id", "title", "html_url", "priority", "assignees", "urgency", "incident", "message"]),
)
def test_a_pagerduty_event_with_wrong_typed_fields_is_never_a_500(
    configured: LocalStack, event: dict[str, Any], kind: Any, data: dict[str, Any]
) -> None:
    before = next_example(configured)
    body = json.dumps({"event": {**event, "event_type": kind, "data": data}}).encode()
    assert_handled(configured, signed(configured, "/pagerduty/webhook", body), before)


# --- issue 13's hostile values, anywhere in a real signed request of every route ---------------------------------

DEEP = "[" * 10_000 + "]" * 10_000
# Raw JSON fragments, spliced in as text: json.dumps could not write most of them.
HOSTILE_FRAGMENTS = [
    DEEP.encode(),
    b'"\\ud800"',  # an escaped lone surrogate
    b'"\xed\xa0\x80"',  # the same surrogate as raw UTF-8-like bytes
    b"NaN",
    b"1e400",
    b"-1e400",
    b"1" * 5000,  # beyond Python's 4300-digit int limit
    b'"abc"',
    b'"nan"',
    b'"1e400"',
    b'"0001-01-01T00:00:00+14:00"',
    b'"9999-12-31T23:59Z"',
    b'"<|PGR0VU2>"',
    b'{"id": "C024BE91L", "name": "fun"}',  # channel_created's channel object
    b"null",
    b"[]",
]
SENTINEL = "\x00hostile\x00"

SHORTCUT = {
    "type": "message_action",
    "callback_id": "declare_incident",
    "trigger_id": "1.2.fuzz",
    "user": {"id": "U0ONCALL"},
    "channel": {"id": CHANNEL},
    "message": {"type": "message", "text": "Kiosks down", "ts": "1795788300.000100"},
}
SHORTCUT_FORM = {
    "type": "view_submission",
    "user": {"id": "U0ONCALL"},
    "view": {
        "callback_id": "declare_incident",
        "private_metadata": json.dumps({"source": "message_shortcut", "message_ts": "1795788300.000100"}),
        "state": {
            "values": {
                "title": {"value": {"type": "plain_text_input", "value": "Kiosk down"}},
                "severity": {"value": {"type": "static_select", "selected_option": {"value": "major"}}},
            }
        },
    },
}
JSON_TEMPLATES: list[tuple[str, dict[str, Any]]] = [
    ("/slack/events", json.loads(REAL_EVENT)),
    ("/slack/events", {"type": "event_callback", "event_id": "Ev0CHAN", "event": {"type": "channel_created"}}),
    ("/slack/interactions", SHORTCUT),
    ("/slack/interactions", {**SHORTCUT, "channel": {"id": "D0DIRECT"}}),
    ("/slack/interactions", SHORTCUT_FORM),
    ("/pagerduty/webhook", json.loads(REAL_WEBHOOK)),
]


def leaf_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, dict):
        return [path, *(p for key, item in value.items() for p in leaf_paths(item, (*path, key)))]
    if isinstance(value, list):
        return [path, *(p for index, item in enumerate(value) for p in leaf_paths(item, (*path, index)))]
    return [path]


def with_sentinel(value: Any, path: tuple[str | int, ...]) -> Any:
    if not path:
        return SENTINEL
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: with_sentinel(value[head], rest)}
    return [with_sentinel(item, rest) if index == head else item for index, item in enumerate(value)]


def spliced(template: dict[str, Any], path: tuple[str | int, ...], fragment: bytes) -> bytes:
    """The template as JSON with one value (or the whole body) replaced by the raw fragment."""
    return json.dumps(with_sentinel(template, path)).encode().replace(json.dumps(SENTINEL).encode(), fragment)


def as_request(route: str, payload: bytes) -> bytes:
    if route == "/slack/interactions":
        return b"payload=" + quote_from_bytes(payload).encode()
    return payload


@PROPERTY
@given(template=st.sampled_from(JSON_TEMPLATES), fragment=st.sampled_from(HOSTILE_FRAGMENTS), data=st.data())
def test_a_hostile_value_anywhere_in_a_signed_request_is_never_a_500(
    configured: LocalStack, template: tuple[str, dict[str, Any]], fragment: bytes, data: st.DataObject
) -> None:
    before = next_example(configured)
    route, body = template
    path = data.draw(st.sampled_from(leaf_paths(body)))
    if data.draw(st.booleans()):  # where the bot cannot post, Slack answers the ephemeral channel_not_found
        configured.slack.fail_next("chat.postEphemeral", error="channel_not_found")

    response = signed(configured, route, as_request(route, spliced(body, path, fragment)))

    assert_handled(configured, response, before)


@PROPERTY
@given(
    field=st.sampled_from(FORM_FIELDS),
    value=st.sampled_from([fragment.decode("utf-8", "replace") for fragment in HOSTILE_FRAGMENTS]),
)
def test_a_hostile_value_in_a_signed_command_form_is_never_a_500(
    configured: LocalStack, field: str, value: str
) -> None:
    before = next_example(configured)
    form = {"command": "/incident", "text": "list", "user_id": "U0ONCALL", "channel_id": CHANNEL, field: value}
    assert_handled(configured, post_slack(configured, "/slack/commands", urlencode(form).encode()), before)


@PROPERTY
@given(
    route=st.sampled_from(SLACK_ROUTES),
    stamp=st.integers(min_value=-(10**400), max_value=10**400).map(str) | st.text(max_size=40),
)
def test_any_signed_slack_timestamp_is_answered_or_refused_never_a_500(
    configured: LocalStack, route: str, stamp: str
) -> None:
    # GIVEN a body signed over whatever timestamp the header claims (a 309-digit one overflowed a float)
    before = next_example(configured)
    body = REAL_COMMAND if route == "/slack/commands" else REAL_EVENT
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(SECRETS.slack_signing_secret, stamp, body),
    }

    response = configured.request("POST", route, headers, body)

    assert_handled(configured, response, before)
