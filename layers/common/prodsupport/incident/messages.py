"""What the bot says, as pure functions of the incident: text, Block Kit and the metadata of docs/design.md.

Every message about an incident carries `metadata` so workflows, tests and the replay tool read what
happened without parsing prose. Anything a person typed is escaped before it is echoed back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from prodsupport.core.mrkdwn import URL_RE
from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.timefmt import format_local, to_iso
from prodsupport.incident.clocks import ClockOutcome, clock_outcome
from prodsupport.incident.model import Deadline, Incident, PagerDutyLink, Severity, Sla
from prodsupport.infra.blocks import MAX_SELECT_OPTIONS, actions, button, input_block, section, text_input
from prodsupport.infra.slack_message import SlackMessage

SEVERITY_EMOJI = {
    Severity.CRITICAL: ":red_circle:",
    Severity.MAJOR: ":large_orange_circle:",
    Severity.MINOR: ":large_yellow_circle:",
}
SLA_LABEL = {
    Sla.SLACK_ACK: "Slack acknowledgement",
    Sla.PAGERDUTY_ACK: "PagerDuty acknowledgement",
    Sla.STAKEHOLDER_EMAIL: "stakeholder email",
    Sla.STATUS_UPDATE: "promised status update",
    Sla.POSTMORTEM_SCHEDULED: "post-mortem session scheduling",
    Sla.POSTMORTEM_SHARED: "post-mortem shared in Slack",
}
WINDOW_LABEL = {"business": "business-hours", "after_hours": "after-hours"}


def sentence_case(label: str) -> str:
    """A label opening a line: only its first letter raised, so a name inside it keeps its case ("PagerDuty
    acknowledgement"), which `str.capitalize()` would lower."""
    return label[:1].upper() + label[1:]


LIST_OUTCOME = {ClockOutcome.MET: "met", ClockOutcome.LATE: "met late", ClockOutcome.BREACHED: "*breached*"}


def mention(user_id: str, fallback: str = "the on-call engineer") -> str:
    """A Slack mention of the user, or words naming the role when nobody is configured for it."""
    return f"<@{user_id}>" if user_id else fallback


def card_actions(incident_id: str) -> dict[str, Any]:
    """The card's buttons, the same on the card as posted and as kept live (and on the App Home)."""
    return actions(
        "incident_actions",
        [
            button("Post status", "incident_status", incident_id),
            button("Edit details", "incident_details", incident_id),
            button("Stakeholder email", "incident_email", incident_id),
            button("Resolve", "incident_resolve", incident_id, "primary"),
        ],
    )


def how_to_acknowledge(ack: Deadline, zone: ZoneInfo) -> str:
    """Only a message in the thread counts as the Slack acknowledgement: people who react with an emoji believe
    they answered, so the card says so for as long as the acknowledgement is owed."""
    return (
        f"*Acknowledge by:* {format_local(ack.due, zone)} — post a message in this thread (a reaction does not count)"
    )


DECLARED = "incident_declared"  # the card's metadata as a declaration posts it


def incident_card(
    incident: Incident, *, thread_ts: str | None, zone: ZoneInfo, partners: tuple[str, ...] = ()
) -> SlackMessage:
    """The incident card: the thread root for a declared incident, or the bot's first reply to an alert.

    `partners` are the directory's names, offered in a multi-select that tags them (none: no select)."""
    ack = incident.deadlines[Sla.SLACK_ACK]
    header = f"{SEVERITY_EMOJI[incident.severity]} *{incident.id}* · {incident.severity.value} · {esc(incident.title)}"
    facts = [
        f"*Opened:* {format_local(incident.opened_at, zone)} ({WINDOW_LABEL[incident.window]})",
        how_to_acknowledge(ack, zone),
        f"*Applications:* {esc(', '.join(incident.applications) or 'not set')}",
    ]
    if Sla.STAKEHOLDER_EMAIL in incident.deadlines:
        facts.append(f"*Stakeholder email due:* {format_local(incident.deadlines[Sla.STAKEHOLDER_EMAIL].due, zone)}")
    if incident.pagerduty and incident.pagerduty.url:
        facts.append(f"*PagerDuty:* {pagerduty_page(incident.pagerduty)}")
    if incident.partners:
        facts.append(partners_line(incident, zone))
    blocks = [
        section(header),
        section("\n".join(facts)),
        card_actions(incident.id),
        *partner_select(partners),
    ]
    return SlackMessage(
        channel=incident.channel_id,
        thread_ts=thread_ts,
        text=(
            f"{incident.id} ({incident.severity.value}): {esc(incident.title)} — "
            f"acknowledge by {format_local(ack.due, zone)}"
        ),
        blocks=blocks,
        event_type=DECLARED,
        payload={
            "incident_id": incident.id,
            "severity": incident.severity.value,
            "opened_at": to_iso(incident.opened_at),
            "window": incident.window,
            "ack_due": to_iso(ack.due),
        },
    )


def partners_line(incident: Incident, zone: ZoneInfo) -> str:
    """Who was pulled in and when, for the card and `/incident list`."""
    tags = [
        f"{esc(tag.name)} ({format_local(tag.at, zone)}{', paged' if tag.paged else ''})" for tag in incident.partners
    ]
    return f"*Partners:* {'; '.join(tags)}"


def partner_select(names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The card's multi-select of the partner directory; choosing partners tags them (`incident_partner_select`)."""
    if not names:
        return []
    options = [
        {"text": {"type": "plain_text", "text": name[:75]}, "value": name[:75]} for name in names[:MAX_SELECT_OPTIONS]
    ]
    select = {
        "type": "multi_static_select",
        "action_id": "incident_partner_select",
        "placeholder": {"type": "plain_text", "text": "Tag partners"},
        "options": options,
    }
    return [actions("incident_partners", [select])]


def acknowledged(incident: Incident, sla: Sla, deadline: Deadline, by: str, *, zone: ZoneInfo) -> SlackMessage:
    assert deadline.met_at is not None
    met = deadline.met_at <= deadline.due
    verdict = "within" if met else "*after*"
    return SlackMessage(
        channel=incident.channel_id,
        thread_ts=incident.thread_ts,
        text=(
            f":white_check_mark: {incident.id} {SLA_LABEL[sla]} by {mention(by)} "
            f"at {format_local(deadline.met_at, zone)}, "
            f"{verdict} the {WINDOW_LABEL[incident.window]} window (due {format_local(deadline.due, zone)})."
        ),
        event_type="incident_acknowledged",
        payload={
            "incident_id": incident.id,
            "sla": sla.value,
            "at": to_iso(deadline.met_at),
            "due": to_iso(deadline.due),
            "met": met,
        },
        effect_id=f"{incident.id}/acknowledged/{sla.value}",
    )


def reaction_does_not_count(incident: Incident, user: str, *, zone: ZoneInfo) -> SlackMessage:
    due = incident.deadlines[Sla.SLACK_ACK].due
    return SlackMessage(
        channel=incident.channel_id,
        thread_ts=incident.thread_ts,
        text=(
            f"{mention(user)} thanks — but the playbook counts only a message in the thread as the "
            f"acknowledgement, not a reaction. Please post a message in this thread by {format_local(due, zone)}."
        ),
        event_type="sla_reminder",
        payload={"incident_id": incident.id, "sla": Sla.SLACK_ACK.value, "due": to_iso(due)},
    )


def incident_updated(incident: Incident, *, field: str, text: str) -> SlackMessage:
    """A change to a field or a status update, in the thread; `incident_updated` extends docs/design.md's table."""
    return SlackMessage(
        channel=incident.channel_id,
        thread_ts=incident.thread_ts,
        text=text,
        event_type="incident_updated",
        payload={"incident_id": incident.id, "field": field},
    )


def alert_recovered(incident: Incident, alert_text: str) -> SlackMessage:
    """The alert cleared: news for the thread, not a resolution; people decide when it is over."""
    text = (
        f":large_green_circle: The alert reports recovery: *{esc(alert_text)}*. {incident.id} stays open until "
        f"someone confirms it and resolves it with `/incident {incident.id} resolve <resolution>`."
    )
    return incident_updated(incident, field="alert_recovered", text=text)


def status_posted(incident: Incident, author: str, at: datetime, *, zone: ZoneInfo) -> SlackMessage:
    header = f":memo: *Status update* on {incident.id} by {mention(author)} at {format_local(at, zone)}:"
    text = f"{header}\n{esc(incident.current_status)}"
    if incident.next_update_at:
        text += f"\n_Next update by {format_local(incident.next_update_at, zone)}._"
    message = incident_updated(incident, field="current_status", text=text)
    payload = {**message.payload, "at": to_iso(at)}
    if incident.next_update_at:
        payload["next_update_due"] = to_iso(incident.next_update_at)
    return SlackMessage(message.channel, message.text, message.blocks, message.thread_ts, message.event_type, payload)


def resolved(incident: Incident, by: str, *, zone: ZoneInfo) -> SlackMessage:
    assert incident.ended_at is not None
    return SlackMessage(
        channel=incident.channel_id,
        thread_ts=incident.thread_ts,
        text=(
            f":large_green_circle: {incident.id} resolved by {mention(by)} at {format_local(incident.ended_at, zone)}: "
            f"{esc(incident.resolution)}"
        ),
        event_type="incident_resolved",
        payload={"incident_id": incident.id, "ended_at": to_iso(incident.ended_at)},
        effect_id=f"{incident.id}/resolved/{to_iso(incident.ended_at)}",  # a reopened incident resolves anew
    )


def incident_list(incidents: list[Incident], now: datetime, *, zone: ZoneInfo) -> str:
    if not incidents:
        return "No open incidents."
    lines = []
    for incident in sorted(incidents, key=lambda i: i.opened_at):
        clocks = []
        for sla, deadline in incident.deadlines.items():
            state = LIST_OUTCOME.get(clock_outcome(deadline, now)) or f"due {format_local(deadline.due, zone)}"
            clocks.append(f"{SLA_LABEL[sla]}: {state}")
        line = (
            f"• *{incident.id}* ({incident.severity.value}) {esc(incident.title)}"
            f" — opened {format_local(incident.opened_at, zone)}\n    {'; '.join(clocks)}"
        )
        if incident.partners:
            line += f"\n    {partners_line(incident, zone)}"
        lines.append(line)
    return "\n".join(lines)


def _plain_input(
    block_id: str, label: str, *, initial: str = "", multiline: bool = False, optional: bool = False
) -> dict[str, Any]:
    return input_block(block_id, label, text_input(initial=initial, multiline=multiline), optional=optional)


def declare_modal(*, applications: tuple[str, ...], title: str = "", metadata: dict[str, str]) -> dict[str, Any]:
    """The declare form: the slash command opens it empty, the message shortcut prefilled."""
    severity_options = [{"text": {"type": "plain_text", "text": s.value}, "value": s.value} for s in Severity]
    app_options = [{"text": {"type": "plain_text", "text": a[:75]}, "value": a[:75]} for a in applications]
    blocks: list[dict[str, Any]] = [
        _plain_input("title", "Title", initial=title[:150]),
        input_block(
            "severity",
            "Severity",
            {
                "type": "static_select",
                "action_id": "value",
                "options": severity_options,
                "initial_option": severity_options[1],
            },
        ),
    ]
    if app_options:
        blocks.append(
            input_block(
                "applications",
                "Applications impacted",
                {"type": "multi_static_select", "action_id": "value", "options": app_options},
                optional=True,
            )
        )
    blocks.append(_plain_input("summary", "Summary (2-3 sentences)", multiline=True, optional=True))
    return {
        "type": "modal",
        "callback_id": "declare_incident",
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": "Declare incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "blocks": blocks,
    }


def pagerduty_page(link: PagerDutyLink) -> str:
    """`<url|id>` only for an http(s) URL: a link made by bare id has none, and `<|id>` (or a `javascript:`
    one kept from before links were checked) would show people an empty or unsafe link."""
    label = esc(link.incident_id)
    return f"<{link.url}|{label}>" if URL_RE.match(link.url) else label


def notice_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only tells something: the one answer that reaches a person where the bot cannot post."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title[:24]},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [section(text[:3000])],
    }


def incident_modal(incident: Incident, kind: str) -> dict[str, Any]:
    """The card's forms: status update, details and resolution, each submitting to `incident_<kind>`."""
    if kind == "status":
        title, blocks = (
            "Status update",
            [
                _plain_input("status", "Current status", initial=incident.current_status, multiline=True),
                _plain_input("next", "Next update (e.g. 2h, 30m or 14:00 ET)", optional=True),
            ],
        )
    elif kind == "resolve":
        title, blocks = (
            "Resolve incident",
            [_plain_input("resolution", "Resolution", initial=incident.resolution, multiline=True)],
        )
    else:
        title, blocks = (
            "Incident details",
            [
                _plain_input("summary", "Summary", initial=incident.summary, multiline=True, optional=True),
                _plain_input(
                    "business_impact",
                    "Business impact",
                    initial=incident.business_impact,
                    multiline=True,
                    optional=True,
                ),
                _plain_input(
                    "applications",
                    "Applications (comma-separated)",
                    initial=", ".join(incident.applications),
                    optional=True,
                ),
            ],
        )
    return {
        "type": "modal",
        "callback_id": f"incident_{kind}",
        "private_metadata": incident.id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": blocks,
    }
