"""The Slack router: where each request goes, and the one place a refusal becomes an answer."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from prodsupport.core.errors import UserError
from prodsupport.core.settings import Settings
from prodsupport.runtime import Runtime
from prodsupport.slack import events
from prodsupport.slack.requests import SlashCommand
from prodsupport.slack.router import FORM_NOT_OPENED, Router

AT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
# The handlers here never reach the runtime; the router only asks it whose channel a command came from.
NO_RUNTIME = Runtime(Settings(table_name="t", channel_id="C1"), lambda: AT)


def command(name: str, text: str = "") -> SlashCommand:
    return SlashCommand(command=name, text=text, user_id="U1", channel_id="C1", trigger_id="t", at=AT)


def refusing(message: str) -> Any:
    def handler(*_: object) -> None:
        raise UserError(message)

    return handler


def slack_refused(error: str) -> Any:
    def handler(*_: object) -> None:
        response = SlackResponse(
            client=None,
            http_verb="POST",
            api_url="views.open",
            req_args={},
            data={"ok": False, "error": error},
            headers={},
            status_code=200,
        )
        raise SlackApiError("views.open failed", response)

    return handler


def submission(callback_id: str, block_id: str = "when") -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": "U1"},
        "view": {"callback_id": callback_id, "blocks": [{"block_id": block_id}], "state": {"values": {}}},
    }


def test_a_user_error_from_a_command_handler_is_answered_ephemerally_with_placeholders_shown() -> None:
    router = Router()
    router.command("/release", refusing("Usage: `/release <app>`"))

    answer = router.on_command(NO_RUNTIME, command("/release"))

    assert answer == {"response_type": "ephemeral", "text": "Usage: `/release &lt;app&gt;`"}


def test_an_expired_trigger_is_told_to_the_person_instead_of_failing_the_command() -> None:
    router = Router()
    router.command("/release", slack_refused("expired_trigger_id"))

    assert router.on_command(NO_RUNTIME, command("/release")) == {"response_type": "ephemeral", "text": FORM_NOT_OPENED}


def test_a_user_error_from_a_form_is_shown_on_the_forms_first_block() -> None:
    router = Router()
    router.view("release_create", refusing("The date is not a date."))

    answer = router.on_interaction(NO_RUNTIME, submission("release_create", block_id="date"), AT)

    assert answer == {"response_action": "errors", "errors": {"date": "The date is not a date."}}


def test_a_form_this_app_did_not_register_is_ignored_with_an_empty_answer() -> None:
    router = Router()
    router.view("release_create", refusing("never called"))

    assert router.on_interaction(NO_RUNTIME, submission("someone_elses_form"), AT) is None


def test_a_registered_view_is_matched_exactly_and_a_prefix_only_when_it_ends_in_an_underscore() -> None:
    router = Router()
    seen: list[str] = []
    router.view("release_create", lambda *args: seen.append("exact"))

    router.on_interaction(NO_RUNTIME, submission("release_create_extra"), AT)
    router.on_interaction(NO_RUNTIME, submission("release_create"), AT)

    assert seen == ["exact"]


def test_an_event_type_nobody_registered_is_not_handled() -> None:
    router = Router()
    router.event("message", lambda rt, event: None)

    assert router.handles_event("message")
    assert not router.handles_event("channel_created")
    assert not router.handles_event({"type": "message"})


def test_every_domain_registers_its_slack_entry_points_with_the_router() -> None:
    router = events.routes()

    assert set(router.events) == {"message", "reaction_added", "file_shared", "app_home_opened"}
    assert set(router.commands) == {"/prodsupport", "/release"}
    assert set(router.shortcuts) == {"declare_incident"}
    assert set(router.actions) == {
        "status",
        "details",
        "resolve",
        "email",
        "postmortem_",
        "partner_select",
        "partner_tag_",
    }
    assert set(router.views) == {"declare_incident", "release_create"}
    assert set(router.incident_views) == {
        "incident_status",
        "incident_details",
        "incident_resolve",
        "incident_email",
        "postmortem_",
    }


_EVENTS_ONLY_PROBE = """
import sys
from prodsupport.slack import events
kinds = sorted(events.ROUTER.events)
unloaded = ("prodsupport.slack.commands", "prodsupport.postmortem.model", "prodsupport.release.model",
            "prodsupport.roster.store", "prodsupport.slack.release_handlers", "prodsupport.github.model")
print(kinds, sorted(name for name in unloaded if name in sys.modules))
"""


def test_given_a_fresh_container_when_events_are_routed_then_commands_and_other_domains_stay_unloaded() -> None:
    probe = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", _EVENTS_ONLY_PROBE],
        capture_output=True,
        check=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "layers" / "common")},
    )

    assert probe.stdout.strip() == "['app_home_opened', 'file_shared', 'message', 'reaction_added'] []"


def test_given_the_first_command_when_every_route_is_registered_then_the_events_router_gets_them() -> None:
    assert events.routes() is events.ROUTER
    assert set(events.ROUTER.events) == {"message", "reaction_added", "file_shared", "app_home_opened"}
