"""PagerDuty from Slack: `/incident <id> link <PagerDuty incident>` (the webhook has its own function)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prodsupport.incident.model import Incident
from prodsupport.slack.commands import LinkPagerDuty
from prodsupport.slack.requests import SlashCommand

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime
    from prodsupport.slack.router import Router


def _link(rt: Runtime, command: SlashCommand, parsed: LinkPagerDuty, incident: Incident) -> str:
    from prodsupport.pagerduty import flows as pagerduty_flow

    return pagerduty_flow.link(rt, incident, parsed.pagerduty_id, parsed.url, command.user_id, command.at)


def register(router: Router) -> None:
    router.incident_verb(LinkPagerDuty, _link)
