"""Partners from Slack: `/incident partners`, `/incident <id> partner <name…>`, the card's multi-select and
the suggestion's buttons. Each reads what Slack sent and calls prodsupport.partner.flows."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from prodsupport.core.errors import UserError
from prodsupport.incident.model import Incident
from prodsupport.slack.commands import ListPartners, TagPartners
from prodsupport.slack.requests import SlashCommand
from prodsupport.slack.router import Answer, ephemeral

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime
    from prodsupport.slack.router import Router

TAG_KIND_PREFIX = "partner_tag_"


def _list(rt: Runtime, command: SlashCommand, parsed: ListPartners) -> Answer:
    from prodsupport.partner import messages

    return ephemeral(messages.directory(rt.partners))


def _tag(rt: Runtime, command: SlashCommand, parsed: TagPartners, incident: Incident) -> str:
    from prodsupport.partner import flows

    return flows.tag_answer(rt, incident, parsed.names, command.user_id, command.at)


def _tag_clicked(rt: Runtime, incident: Incident, kind: str, payload: dict[str, Any], at: datetime) -> None:
    """A suggestion's button (`partner_tag_<name>`) or the card's multi-select (the partners chosen)."""
    from prodsupport.partner import flows, messages

    user = str((payload.get("user") or {}).get("id") or "")
    if kind.startswith(TAG_KIND_PREFIX):
        names = [kind.removeprefix(TAG_KIND_PREFIX)]
    else:
        action: dict[str, Any] = next(
            (a for a in payload.get("actions") or [] if a.get("action_id") == "incident_partner_select"), {}
        )
        names = [str(option.get("value") or "") for option in action.get("selected_options") or []]
        if not names:
            return  # every option cleared from the select: nothing was chosen, so nothing to say
    if rt.partners.error:
        raise UserError(messages.invalid(rt.partners))
    partners = tuple(partner for partner in map(rt.partners.get, names) if partner is not None)
    if not partners:
        raise UserError(f"None of those is in the partner directory: {', '.join(rt.partners.names)}.")
    saved, _, again = flows.tag(rt, incident, partners, user, at)
    if again:
        rt.slack.chat_postEphemeral(
            channel=incident.channel_id, user=user, text=messages.already_tagged(saved, again, rt.zone)
        )


def suggest_after_applications(rt: Runtime, incident: Incident) -> None:
    """Applications were just set: suggest the partners supporting them (once per incident)."""
    from prodsupport.partner import flows

    if rt.partners.partners:
        flows.suggest(rt, incident)


def register(router: Router) -> None:
    router.incident_command(ListPartners, _list)
    router.incident_verb(TagPartners, _tag)
    router.action("partner_select", _tag_clicked)
    router.action(TAG_KIND_PREFIX, _tag_clicked)
