"""The post-mortem from Slack: `/incident <id> postmortem …`, the draft's buttons and its two forms."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from prodsupport.incident.model import Incident
from prodsupport.postmortem.model import AddActionItem, PostmortemCheckpoint
from prodsupport.slack.requests import SlashCommand

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime
    from prodsupport.slack.router import Router

FORM_PREFIX = "postmortem_"


def _checkpoint(rt: Runtime, command: SlashCommand, parsed: PostmortemCheckpoint, incident: Incident) -> str:
    from prodsupport.postmortem import flows as postmortem_flow

    return postmortem_flow.checkpoint(rt, incident, parsed, command.user_id, command.at)


def _action_item(rt: Runtime, command: SlashCommand, parsed: AddActionItem, incident: Incident) -> str:
    from prodsupport.postmortem import flows as postmortem_flow

    return postmortem_flow.action_item(rt, incident, parsed, command.user_id, command.at)


def _button(rt: Runtime, incident: Incident, kind: str, payload: dict[str, Any], at: datetime) -> None:
    """`incident_postmortem_<kind>` on the draft or pull request message: a form to fill, or the held checkpoint."""
    from prodsupport.postmortem import flows as postmortem_flow
    from prodsupport.postmortem import github_messages

    kind = kind.removeprefix(FORM_PREFIX)
    user = str((payload.get("user") or {}).get("id") or "")
    if kind in ("schedule", "share"):
        rt.slack.views_open(trigger_id=str(payload.get("trigger_id") or ""), view=postmortem_flow.modal(incident, kind))
    elif kind == "action":
        rt.slack.views_open(
            trigger_id=str(payload.get("trigger_id") or ""), view=github_messages.action_item_modal(incident)
        )
    elif kind == "held":
        postmortem_flow.checkpoint(rt, incident, PostmortemCheckpoint(incident.id, "held"), user, at)


def _submitted(
    rt: Runtime, incident: Incident, callback_id: str, values: dict[str, Any], user: str, at: datetime
) -> None:
    from prodsupport.postmortem import flows as postmortem_flow

    postmortem_flow.submit_modal(rt, incident, callback_id.removeprefix(FORM_PREFIX), values, user, at)


def register(router: Router) -> None:
    router.incident_verb(PostmortemCheckpoint, _checkpoint)
    router.incident_verb(AddActionItem, _action_item)
    router.action(FORM_PREFIX, _button)
    router.incident_view(FORM_PREFIX, _submitted)
