"""What is said about partners, as pure functions: the directory, a tag's post and the suggestion.

A tag's post carries `partner_tagged` metadata (docs/design.md#message-metadata), one per partner, so the
timeline of who was pulled in when can be read from Slack as well as from the incident.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.timefmt import format_local, to_iso
from prodsupport.incident.messages import pagerduty_page
from prodsupport.incident.model import Incident
from prodsupport.infra.blocks import actions, button, section
from prodsupport.infra.slack_message import SlackMessage
from prodsupport.partner.model import Partner, PartnerDirectory

TAG_ACTION_PREFIX = "incident_partner_tag_"
EMPTY_DIRECTORY = "No partners are configured (the `partners` setting, docs/settings.md)."


def invalid(partners: PartnerDirectory) -> str:
    return (
        f"The partner directory is misconfigured, so no partner can be tagged: {esc(partners.error)}. "
        "An admin fixes the `partners` setting and redeploys (docs/runbook.md)."
    )


def directory(partners: PartnerDirectory) -> str:
    """`/incident partners`: each partner, what it answers to, how it is reached and what it supports."""
    if partners.error:
        return invalid(partners)
    if not partners.partners:
        return EMPTY_DIRECTORY
    lines = []
    for partner in partners.partners:
        facts = []
        if partner.aliases:
            facts.append(f"also {esc(', '.join(partner.aliases))}")
        if partner.applications:
            facts.append(f"supports {esc(', '.join(partner.applications))}")
        facts.append("paged in PagerDuty" if partner.pageable else "Slack only")
        lines.append(f"• *{esc(partner.name)}* — {'; '.join(facts)}")
    return "Partners (`/incident <id> partner <name…>` tags them):\n" + "\n".join(lines)


def unknown(words: tuple[str, ...], partners: PartnerDirectory) -> str:
    names = ", ".join(partners.names) or "none are configured"
    return f"I know no partner called {esc(', '.join(words))}. The directory has: {esc(names)}. Nothing was tagged."


def already_tagged(incident: Incident, names: list[str], zone: ZoneInfo) -> str:
    parts = []
    for name in names:
        tag = incident.partner(name)
        when = f" at {format_local(tag.at, zone)}" if tag else ""
        parts.append(f"{esc(name)} was already tagged on {incident.id}{when}")
    return "; ".join(parts) + ". Not pinged again."


def tagged(
    incident: Incident, partner: Partner, by: str, at: datetime, *, paged: bool, page_error: str, zone: ZoneInfo
) -> SlackMessage:
    """The ping: the partner's group or people, and the essentials they need to help without scrolling."""
    who = partner.mentions or f"*{esc(partner.name)}*"
    facts = [
        f"*{incident.id}* · {incident.severity.value} · {esc(incident.title)}",
        f"*Impact:* {esc(incident.business_impact) if incident.business_impact else 'not described yet'}",
        f"*Current status:* {esc(incident.current_status) if incident.current_status else 'no update yet'}",
        f"*Applications:* {esc(', '.join(incident.applications) or 'not set')}",
    ]
    if incident.pagerduty is not None:
        facts.append(f"*PagerDuty:* {pagerduty_page(incident.pagerduty)}")
    if paged:
        facts.append(f"_A responder request for {esc(partner.name)} was sent in PagerDuty._")
    elif page_error:
        facts.append(f":warning: _Paging {esc(partner.name)} in PagerDuty failed: {esc(page_error)}. The tag stands._")
    text = f":wave: {who} — <@{by}> tagged {esc(partner.name)} to help with this incident.\n" + "\n".join(facts)
    return SlackMessage(
        channel=incident.channel_id,
        thread_ts=incident.thread_ts,
        text=text,
        event_type="partner_tagged",
        payload={"incident_id": incident.id, "partner": partner.name, "at": to_iso(at), "paged": paged},
        effect_id=f"{incident.id}/partner_tagged/{partner.name}",
    )


def responder_message(incident: Incident, partner: Partner) -> str:
    """What PagerDuty shows the paged responder: enough to find the thread."""
    return f"{incident.id} ({incident.severity.value}): {incident.title} — {partner.name} is asked to help."


def suggested(incident: Incident, partners: tuple[Partner, ...]) -> SlackMessage:
    """Once per incident: the partners supporting its applications, each one click away from a tag."""
    names = ", ".join(partner.name for partner in partners)
    text = f":bulb: Partners supporting {esc(', '.join(incident.applications))}: *{esc(names)}*. Tag them if needed."
    buttons = [
        button(f"Tag {partner.name}"[:75], f"{TAG_ACTION_PREFIX}{partner.name}", incident.id) for partner in partners
    ]
    return SlackMessage(
        channel=incident.channel_id,
        thread_ts=incident.thread_ts,
        text=text,
        blocks=[section(text), actions("incident_partner_suggestions", buttons[:25])],
        event_type="partners_suggested",
        payload={"incident_id": incident.id, "partners": [partner.name for partner in partners]},
        effect_id=f"{incident.id}/partners_suggested",
    )
