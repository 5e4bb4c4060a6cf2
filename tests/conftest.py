"""Shared fixtures: one local stack per session, reset to an empty deployment for each test that uses it.

Starting moto and the stand-ins once per session and resetting them per test (fresh tables, queues,
secrets, recorders: about 35 ms) keeps the suite fast; the stack's environment and clock are in place only
while a test holds the `stack` fixture, so tests that do not use it see the process as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

import pytest
from builders import deploy, slack_headers

from prodsupport import runtime
from prodsupport_local.emulator.aws import LocalSecrets
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack, VirtualClock
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

REPO_ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = REPO_ROOT / "events"
# Friday after Thanksgiving 2026, 9:05 AM EST: a weekday that is not a federal holiday.
DEFAULT_NOW = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
LOCAL_SIGNING_SECRET = LocalSecrets().slack_signing_secret


class SignedRequest(NamedTuple):
    headers: dict[str, str]
    body: bytes


@pytest.fixture(scope="session")
def session_stack() -> Iterator[LocalStack]:
    stack = LocalStack(clock=VirtualClock(DEFAULT_NOW)).start()
    stack.deactivate()
    try:
        yield stack
    finally:
        stack.close()


@pytest.fixture
def stack(session_stack: LocalStack) -> Iterator[LocalStack]:
    """An empty deployment with the default settings, its clock at DEFAULT_NOW, active for this test."""
    clock = session_stack.clock
    assert isinstance(clock, VirtualClock)
    clock.set(DEFAULT_NOW)
    session_stack.reset(DEFAULT_SETTINGS)
    session_stack.activate()
    try:
        yield session_stack
    finally:
        session_stack.deactivate()


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    """The stack deployed with the team's settings, its clock on a business-hours Wednesday."""
    return deploy(stack)


@pytest.fixture
def slack(stack: LocalStack) -> RecordingSlackApi:
    return stack.slack


@pytest.fixture
def clock(stack: LocalStack) -> VirtualClock:
    assert isinstance(stack.clock, VirtualClock)
    return stack.clock


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """No settings, clients or cached secrets survive a test."""
    yield
    runtime.reset()


def _load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, the corpus `sam local invoke -e` uses too."""
    loaded = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"events/{name} is not a JSON object"
    return loaded


@pytest.fixture
def load_event() -> Callable[[str], dict[str, Any]]:
    return _load_event


def _signed_slack_request(
    body: bytes | str | dict[str, Any], ts: int | datetime, secret: str = LOCAL_SIGNING_SECRET
) -> SignedRequest:
    """Headers and body as Slack sends them: a dict is JSON, text starting with `{` is JSON, else a form."""
    if isinstance(body, dict):
        raw = json.dumps(body, separators=(",", ":")).encode()
    else:
        raw = body.encode() if isinstance(body, str) else body
    at = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    return SignedRequest(slack_headers(raw, at, secret=secret), raw)


@pytest.fixture
def signed_slack_request() -> Callable[..., SignedRequest]:
    return _signed_slack_request


SlackFormSender = Callable[..., Any]


@pytest.fixture
def send_slack_form(clock: VirtualClock) -> Callable[..., SlackFormSender]:
    """A sender bound to a stack and a default user: POSTs a slash command (`text`) or an interaction
    (`payload`) at a virtual time, signed as Slack signs it."""

    def bind(stack: LocalStack, default_user: str) -> SlackFormSender:
        def send(
            at: datetime, *, text: str = "", user: str = default_user, payload: dict[str, Any] | None = None
        ) -> Any:
            clock.set(at)
            if payload is None:
                fields = {
                    "command": "/incident",
                    "text": text,
                    "user_id": user,
                    "channel_id": stack.settings["channel_id"],
                    "trigger_id": "t",
                }
                request = _signed_slack_request(urlencode(fields), at)
                return stack.request("POST", "/slack/commands", request.headers, request.body)
            request = _signed_slack_request(urlencode({"payload": json.dumps(payload)}), at)
            return stack.request("POST", "/slack/interactions", request.headers, request.body)

        return send

    return bind
