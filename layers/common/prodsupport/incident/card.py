"""The live incident card: the whole incident as it stands, painted over the card with `chat.update`.

Pure: rendered from the saved incident and `now` alone, so any process at any time paints the same card
for the same state, and a retry rendered later paints the later state. The `incident_state` metadata is the
same state for machines (docs/design.md#message-metadata); the `text` fallback carries the essentials for
notifications and screen readers, which do not read blocks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from prodsupport.core.mrkdwn import URL_RE
from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.timefmt import format_local, to_iso
from prodsupport.incident.clocks import ClockOutcome, ClockView, clocks, next_due
from prodsupport.incident.messages import (
    SEVERITY_EMOJI,
    SLA_LABEL,
    WINDOW_LABEL,
    card_actions,
    how_to_acknowledge,
    mention,
    pagerduty_page,
    partner_select,
    partners_line,
    sentence_case,
)
from prodsupport.incident.model import EmailState, Incident, Sla
from prodsupport.infra.blocks import section
from prodsupport.infra.slack_message import SlackMessage

EVENT_TYPE = "incident_state"
OUTCOME_MARK = {
    ClockOutcome.MET: ":white_check_mark: met",
    ClockOutcome.LATE: ":warning: met late",
    ClockOutcome.BREACHED: ":x: *breached*",
    ClockOutcome.PENDING: ":hourglass_flowing_sand: pending",
}


def clock_line(clock: ClockView, zone: ZoneInfo) -> str:
    """One clock as the card and the App Home show it: due time in the team's zone and the outcome."""
    line = (
        f"• {sentence_case(SLA_LABEL[clock.sla])}: due {format_local(clock.due, zone)} — {OUTCOME_MARK[clock.outcome]}"
    )
    if clock.met_at is not None:
        line += f" ({format_local(clock.met_at, zone)})"
    return line


def _status_line(incident: Incident, zone: ZoneInfo) -> str:
    if not incident.is_open and incident.ended_at is not None:
        return (
            f"*Resolved* {format_local(incident.ended_at, zone)}: {esc(incident.resolution) or 'no resolution given'}"
        )
    if incident.current_status and incident.status_at is not None:
        return f"*Status* ({format_local(incident.status_at, zone)}): {esc(incident.current_status)}"
    return "*Status:* no update posted yet"


EMAIL_STATE = {
    EmailState.QUEUED: "queued",
    EmailState.SENDING: "sending",
    EmailState.SENT: "sent",
    EmailState.REJECTED: "*rejected*",
    EmailState.UNKNOWN: "*outcome unknown* (see the thread)",
    EmailState.FAILED: "*not queued*",
}


def _email_line(incident: Incident, zone: ZoneInfo) -> list[str]:
    """The latest stakeholder email asked for, as the sender last recorded it."""
    if not incident.emails:
        return []
    latest = incident.emails[-1]
    when = f" {format_local(latest.sent_at, zone)}" if latest.sent_at is not None else ""
    return [f"*Stakeholder email:* {EMAIL_STATE[latest.state]}{when} ({len(incident.emails)} asked for)"]


def _ack_instruction(incident: Incident, shown: list[ClockView], zone: ZoneInfo) -> list[str]:
    """The posted card's instruction, kept while the Slack acknowledgement is still owed."""
    owed = any(clock.sla is Sla.SLACK_ACK and clock.outcome is ClockOutcome.PENDING for clock in shown)
    return [how_to_acknowledge(incident.deadlines[Sla.SLACK_ACK], zone)] if owed and incident.is_open else []


def _links(incident: Incident) -> list[str]:
    links = []
    if incident.pagerduty is not None:
        links.append(f"*PagerDuty:* {pagerduty_page(incident.pagerduty)}")
    if incident.postmortem is not None:
        report = incident.postmortem.url or (
            incident.postmortem.pull_request.url if incident.postmortem.pull_request else ""
        )
        shown = f"<{report}|report>" if URL_RE.match(report) else "no report link yet"
        links.append(f"*Post-mortem:* {incident.postmortem.state.value} · {shown}")
    return links


def fallback_text(incident: Incident, now: datetime, zone: ZoneInfo) -> str:
    """Id, severity, state, the breached clocks first (the most urgent news) and the next due one: what a
    notification or a screen reader says of the card."""
    state = "open" if incident.is_open else "resolved"
    breached = [clock for clock in clocks(incident, now) if clock.outcome is ClockOutcome.BREACHED]
    upcoming = next_due(incident, now)
    parts = []
    if breached:
        late = "; ".join(f"{SLA_LABEL[clock.sla]}, due {format_local(clock.due, zone)}" for clock in breached)
        parts.append(f"BREACHED: {late}")
    if upcoming is not None:
        parts.append(f"next: {SLA_LABEL[upcoming.sla]} due {format_local(upcoming.due, zone)}")
    due = " — ".join(parts) or "nothing due"
    return f"{incident.id} ({incident.severity.value}) {state} — {esc(incident.title)} — {due}"


def state_payload(incident: Incident, now: datetime) -> dict[str, Any]:
    """The `incident_state` metadata. Slack's payload values are strings, numbers, booleans and flat objects
    (or lists of them), with no null: a field that does not apply is left out."""
    payload: dict[str, Any] = {
        "incident_id": incident.id,
        "card_version": incident.version,
        "severity": incident.severity.value,
        "state": "open" if incident.is_open else "resolved",
        "clocks": [
            {"sla": clock.sla.value, "due": to_iso(clock.due), "outcome": clock.outcome.value}
            for clock in clocks(incident, now)
        ],
    }
    if incident.owner:
        payload["owner"] = incident.owner
    if incident.status_at is not None:
        payload["status_at"] = to_iso(incident.status_at)
    if incident.ended_at is not None and not incident.is_open:
        payload["ended_at"] = to_iso(incident.ended_at)
    if (upcoming := next_due(incident, now)) is not None:
        payload["next_due"] = {"sla": upcoming.sla.value, "due": to_iso(upcoming.due)}
    if incident.emails:
        payload["email_state"] = incident.emails[-1].state.value
    if incident.pagerduty is not None:
        payload["pagerduty_incident_id"] = incident.pagerduty.incident_id
    if incident.postmortem is not None:
        payload["postmortem_state"] = incident.postmortem.state.value
    return payload


def live_card(incident: Incident, now: datetime, *, zone: ZoneInfo, partners: tuple[str, ...] = ()) -> SlackMessage:
    """The card as `chat.update` paints it over `incident.card_ts`; the buttons and the partner select (of the
    directory's `partners`) go once it is resolved."""
    state = "" if incident.is_open else " · :large_green_circle: *resolved*"
    header = f"{SEVERITY_EMOJI[incident.severity]} *{incident.id}* · {incident.severity.value} · {esc(incident.title)}"
    shown = clocks(incident, now)
    facts = [
        f"*Owner:* {mention(incident.owner, 'nobody named')}",
        f"*Opened:* {format_local(incident.opened_at, zone)} ({WINDOW_LABEL[incident.window]})",
        *_ack_instruction(incident, shown, zone),
        f"*Applications:* {esc(', '.join(incident.applications) or 'not set')}",
        _status_line(incident, zone),
        *_email_line(incident, zone),
        *_links(incident),
    ]
    if incident.partners:
        facts.append(partners_line(incident, zone))
    blocks = [section(header + state), section("\n".join(facts))]
    if shown:
        blocks.append(section("*Clocks*\n" + "\n".join(clock_line(clock, zone) for clock in shown)))
    if incident.is_open:
        blocks.extend([card_actions(incident.id), *partner_select(partners)])
    return SlackMessage(
        channel=incident.channel_id,
        text=fallback_text(incident, now, zone),
        blocks=blocks,
        event_type=EVENT_TYPE,
        payload=state_payload(incident, now),
    )
