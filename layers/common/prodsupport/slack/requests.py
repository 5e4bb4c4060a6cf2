"""Inbound Slack requests: verify the signature on the raw body, then parse what Slack sent.

Verification uses slack_sdk's SignatureVerifier with the runtime's clock, so the five-minute freshness
window is checked against virtual time in a replay and against the wall clock in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from prodsupport.core import inbound_json
from prodsupport.core.timefmt import from_epoch

if TYPE_CHECKING:
    from prodsupport.core.clock import Clock

MAX_BODY_BYTES = 256 * 1024


class BadRequest(ValueError):
    """The request is malformed; the message says what was expected and goes back to the sender."""


def verify(*, secret: str, headers: dict[str, str], body: bytes, clock: Clock) -> bool:
    """True only for a request Slack signed within the freshness window."""

    class RuntimeClock(SlackClock):
        def now(self) -> float:
            return clock().timestamp()

    verifier = SignatureVerifier(secret, clock=RuntimeClock())
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        return verifier.is_valid_request(body, lowered)
    except (ValueError, TypeError, OverflowError):  # OverflowError: a timestamp too large for a float
        return False


_EVENT_TEXTS = ("type", "channel", "user", "bot_id", "subtype", "text", "file_id", "channel_id", "user_id")
_EVENT_TIMESTAMPS = ("ts", "thread_ts", "event_ts")
_EVENT_OBJECTS = ("item", "file")
TS_RE = re.compile(r"^\d{1,11}(?:\.\d{1,6})?$")


def check_event(event: dict[str, Any]) -> None:
    """The fields of an Events API event that the handlers read have Slack's types: a malformed event is a
    400 before anything is claimed or written, not a crash half-way through a use case."""
    for name in _EVENT_TEXTS:
        _expect(event.get(name), str, f"event.{name}", "a string")
    for name in _EVENT_TIMESTAMPS:
        value = event.get(name)
        if value is not None and (not isinstance(value, str) or (value and not TS_RE.match(value))):
            raise BadRequest(f"'event.{name}' must be a Slack timestamp like \"1764230400.000100\"")
    for name in _EVENT_OBJECTS:
        _expect(event.get(name), dict, f"event.{name}", "a JSON object")
    item = event.get("item") or {}
    for name in ("type", "channel", "ts"):
        _expect(item.get(name), str, f"event.item.{name}", "a string")
    _expect((event.get("file") or {}).get("id"), str, "event.file.id", "a string")
    attachments = event.get("attachments")
    _expect(attachments, list, "event.attachments", "a list")
    for attachment in attachments or []:
        _expect(attachment, dict, "event.attachments[]", "a JSON object", nullable=False)


def is_ssl_check(body: bytes) -> bool:
    """Slack checks a slash command's certificate with a form post `ssl_check=1` and expects a 200; it asks
    for nothing, so (as Bolt's SslCheck middleware does) it is answered before the signature is looked at."""
    if b"ssl_check=" not in body:
        return False
    try:
        return form_body(body).get("ssl_check") == "1"
    except BadRequest:
        return False


def request_time(headers: dict[str, str]) -> datetime:
    """A command or interaction happened when Slack signed it: the one time it carries."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return from_epoch(int(lowered["x-slack-request-timestamp"]))


def json_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = inbound_json.loads(body)
    except inbound_json.BadJson as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise BadRequest("body must be a JSON object")
    return parsed


def form_body(body: bytes) -> dict[str, str]:
    """Slash commands and interactions are form-encoded; each field appears once."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8 form data") from None
    fields = parse_qs(text, keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


def interaction_payload(body: bytes) -> dict[str, Any]:
    fields = form_body(body)
    if "payload" not in fields:
        raise BadRequest("expected a form field 'payload' holding the interaction JSON")
    try:
        payload = inbound_json.loads(fields["payload"])
    except inbound_json.BadJson as exc:
        raise BadRequest(f"'payload' is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise BadRequest("'payload' must be a JSON object with a 'type'")
    _check_interaction_shape(payload)
    return payload


_INTERACTION_OBJECTS = ("user", "view", "channel", "message", "container", "team")
_INTERACTION_TEXTS = ("trigger_id", "callback_id", "response_url")


def _expect(value: Any, kind: type, where: str, what: str, *, nullable: bool = True) -> None:
    """Slack may send null for an absent field; anything else must have the type the handlers read."""
    if not isinstance(value, kind) and not (nullable and value is None):
        raise BadRequest(f"'{where}' must be {what}")


def _check_interaction_shape(payload: dict[str, Any]) -> None:
    """The parts of an interaction the handlers read have Slack's types, so a malformed one is a 400 here
    instead of a crash in the middle of a use case."""
    for name in _INTERACTION_OBJECTS:
        _expect(payload.get(name), dict, f"payload.{name}", "a JSON object")
    for name in _INTERACTION_TEXTS:
        _expect(payload.get(name), str, f"payload.{name}", "a string")
    actions = payload.get("actions")
    _expect(actions, list, "payload.actions", "a list")
    for action in actions or []:
        _expect(action, dict, "payload.actions[]", "a JSON object", nullable=False)
    message = payload.get("message") or {}
    for name in ("ts", "thread_ts"):
        value = message.get(name)
        if value is not None and (not isinstance(value, str) or not TS_RE.match(value)):
            raise BadRequest(f"'payload.message.{name}' must be a Slack timestamp like \"1764230400.000100\"")
    _expect(message.get("text"), str, "payload.message.text", "a string")
    attachments = message.get("attachments")  # a shortcut's title is read from them, as an alert's is
    _expect(attachments, list, "payload.message.attachments", "a list")
    for attachment in attachments or []:
        _expect(attachment, dict, "payload.message.attachments[]", "a JSON object", nullable=False)
    view = payload.get("view") or {}
    for name in ("callback_id", "private_metadata", "id", "hash"):
        _expect(view.get(name), str, f"payload.view.{name}", "a string")
    blocks = view.get("blocks")
    _expect(blocks, list, "payload.view.blocks", "a list")
    for block in blocks or []:
        _expect(block, dict, "payload.view.blocks[]", "a JSON object", nullable=False)
    state = view.get("state")
    _expect(state, dict, "payload.view.state", "a JSON object")
    values = (state or {}).get("values")
    _expect(values, dict, "payload.view.state.values", "a JSON object of blocks")
    for block_id, elements in (values or {}).items():
        where = f"payload.view.state.values.{block_id}"
        _expect(elements, dict, where, "a JSON object of elements", nullable=False)
        for element in elements.values():
            _expect(element, dict, f"{where}.*", "a JSON object", nullable=False)
            _check_element(element, where)


def _check_element(element: dict[str, Any], where: str) -> None:
    for name in ("value", "selected_date", "selected_time", "selected_user"):
        _expect(element.get(name), str, f"{where}.*.{name}", "a string")
    option = element.get("selected_option")
    options = element.get("selected_options")
    _expect(option, dict, f"{where}.*.selected_option", "an option object")
    _expect(options, list, f"{where}.*.selected_options", "a list of option objects")
    for chosen in [*([option] if option else []), *(options or [])]:
        if not isinstance(chosen, dict) or not isinstance(chosen.get("value"), str):
            raise BadRequest(f"'{where}' has an option without a string 'value'")


@dataclass(frozen=True)
class SlashCommand:
    command: str
    text: str
    user_id: str
    channel_id: str
    trigger_id: str
    at: datetime


def slash_command(body: bytes, at: datetime) -> SlashCommand:
    fields = form_body(body)
    missing = [name for name in ("command", "user_id") if not fields.get(name)]
    if missing:
        raise BadRequest(f"slash command is missing {', '.join(missing)}")
    return SlashCommand(
        command=fields["command"],
        text=fields.get("text", "").strip(),
        user_id=fields["user_id"],
        channel_id=fields.get("channel_id", ""),
        trigger_id=fields.get("trigger_id", ""),
        at=at,
    )
