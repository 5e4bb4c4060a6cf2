"""The roster from Slack: `/prodsupport pm|backup|ooo|stakeholders …`, for prodsupport admins only."""

from __future__ import annotations

from copy import replace
from typing import TYPE_CHECKING, Any

from prodsupport.infra.dynamo import ConditionFailed
from prodsupport.roster.store import Roster
from prodsupport.slack.commands import PRODSUPPORT_USAGE, RosterChange, parse_prodsupport
from prodsupport.slack.requests import SlashCommand
from prodsupport.slack.router import ephemeral

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime
    from prodsupport.slack.router import Router


def _on_command(rt: Runtime, command: SlashCommand) -> dict[str, Any]:
    if command.user_id not in rt.settings.admin_user_ids:
        return ephemeral("Only prodsupport admins can change the roster or the stakeholder list.")
    change = parse_prodsupport(command.text)
    if change.action == "help":
        return ephemeral(PRODSUPPORT_USAGE)
    roster = rt.roster.load()
    if change.action == "stakeholders_list":
        listed = "\n".join(f"• {address}" for address in roster.stakeholders) or "The stakeholder list is empty."
        return ephemeral(listed)
    try:
        rt.roster.save(_apply_roster(roster, change))
    except ConditionFailed:
        return ephemeral("Someone else changed the roster at the same moment; please run the command again.")
    return ephemeral(_roster_confirmation(change))


def _apply_roster(roster: Roster, change: RosterChange) -> Roster:
    match change.action:
        case "pm":
            return replace(roster, pm_user_id=change.user_id)
        case "backup":
            return replace(roster, backup_pm_user_id=change.user_id)
        case "ooo":
            return replace(roster, pm_out_of_office=change.on)
        case "stakeholders_add":
            merged = list(roster.stakeholders) + [e for e in change.emails if e not in roster.stakeholders]
            return replace(roster, stakeholders=tuple(merged))
    return replace(roster, stakeholders=tuple(e for e in roster.stakeholders if e not in change.emails))


def _roster_confirmation(change: RosterChange) -> str:
    match change.action:
        case "pm":
            return f"<@{change.user_id}> is now the PM."
        case "backup":
            return f"<@{change.user_id}> is now the backup PM."
        case "ooo":
            return "The PM is out of office: the backup owns stakeholder emails." if change.on else "The PM is back."
        case "stakeholders_add":
            return f"Added {len(change.emails)} stakeholder(s)."
    return f"Removed {len(change.emails)} stakeholder(s)."


def register(router: Router) -> None:
    router.command("/prodsupport", _on_command)
