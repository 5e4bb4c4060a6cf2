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
from urllib.parse import urlencode

import pytest
from deliveries import (
    CHANNEL,
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

from prodsupport_local.apigw import HttpResponse
from prodsupport_local.stack import LocalStack

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
