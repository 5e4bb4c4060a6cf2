"""The stakeholder email from Slack: `/incident <id> email`, the card's button and form, a shared invite."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prodsupport.incident.model import Incident
    from prodsupport.runtime import Runtime
    from prodsupport.slack.commands import SendEmail
    from prodsupport.slack.requests import SlashCommand
    from prodsupport.slack.router import Router


def _send_now(rt: Runtime, command: SlashCommand, parsed: SendEmail, incident: Incident) -> str:
    from prodsupport.email import flows as email_flow

    return email_flow.request_email(rt, incident, command.user_id, command.at)


def _button(rt: Runtime, incident: Incident, kind: str, payload: dict[str, Any], at: datetime) -> None:
    from prodsupport.email import flows as email_flow

    user = str((payload.get("user") or {}).get("id") or "")
    email_flow.open_email_modal(rt, incident, str(payload.get("trigger_id") or ""), user)


def _submitted(
    rt: Runtime, incident: Incident, callback_id: str, values: dict[str, Any], user: str, at: datetime
) -> None:
    from prodsupport.email import flows as email_flow

    email_flow.submit_email_modal(rt, incident, values, user, at)


def _file_shared(rt: Runtime, event: dict[str, Any]) -> None:
    from prodsupport.email import flows as email_flow

    email_flow.on_file_shared(rt, event)


def register_events(router: Router) -> None:
    router.event("file_shared", _file_shared)


def register(router: Router) -> None:
    from prodsupport.slack.commands import SendEmail

    router.incident_verb(SendEmail, _send_now)
    router.action("email", _button)
    router.incident_view("incident_email", _submitted)
