"""Inbound Slack requests: verify the signature on the raw body, then parse what Slack sent.

Verification uses slack_sdk's SignatureVerifier with the runtime's clock, so the five-minute freshness
window is checked against virtual time in a replay and against the wall clock in production.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from prodsupport.clock import Clock
from prodsupport.timefmt import from_epoch

MAX_BODY_BYTES = 256 * 1024
USER_RE = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^@?([UW][A-Z0-9]{2,})$")
LINK_RE = re.compile(r"^<(https?://[^|>]+)(?:\|[^>]*)?>$")


class BadRequest(ValueError):
    """The request is malformed; the message says what was expected and goes back to the sender."""


class _ClockAdapter(SlackClock):
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock().timestamp()


def verify(*, secret: str, headers: dict[str, str], body: bytes, clock: Clock) -> bool:
    """True only for a request Slack signed within the freshness window."""
    verifier = SignatureVerifier(secret, clock=_ClockAdapter(clock))
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        return verifier.is_valid_request(body, lowered)
    except (ValueError, TypeError):
        return False


def request_time(headers: dict[str, str]) -> datetime:
    """A command or interaction happened when Slack signed it: the one time it carries."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return from_epoch(int(lowered["x-slack-request-timestamp"]))


def json_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
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
        payload = json.loads(fields["payload"])
    except json.JSONDecodeError as exc:
        raise BadRequest(f"'payload' is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise BadRequest("'payload' must be a JSON object with a 'type'")
    return payload


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


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters; anything a person typed is escaped before the bot echoes it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape_text(text: str) -> str:
    """What a person typed: Slack sends `&`, `<` and `>` in command text as entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def user_id(token: str) -> str | None:
    """A user as Slack may send it: `<@U123|name>`, `<@U123>`, `@U123` or `U123`."""
    match = USER_RE.match(token.strip())
    if not match:
        return None
    return match.group(1) or match.group(2)


def link(token: str) -> str:
    """A URL as Slack may send it: `<https://…|label>`, `<https://…>` or bare."""
    token = token.strip()
    match = LINK_RE.match(token)
    return match.group(1) if match else token
