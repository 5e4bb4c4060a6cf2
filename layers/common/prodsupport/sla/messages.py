"""What the SLA checker says when a playbook clock is near or past, and whom it names.

Escalation is by name because a channel-wide nag is easy to ignore: the on-call owns the acks, the PM (or
the backup while the PM is out) owns the stakeholder email and the promised updates, and the incident's
owner drives the post-mortem. Every breach also names the PM, who answers for the playbook to stakeholders.
Pure functions of the incident and the people, so the texts can be tested without Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.timefmt import format_et, to_iso
from prodsupport.incident.messages import SLA_LABEL, WINDOW_LABEL, mention, pagerduty_page
from prodsupport.incident.model import Incident, Sla
from prodsupport.incident.policy import ACK_SLAS, SlaAction
from prodsupport.infra.slack_message import SlackMessage

OWNER_SLAS = (Sla.STAKEHOLDER_EMAIL, Sla.STATUS_UPDATE)
"""The clocks the PM owns; their reminders are also sent as a direct message, which a thread may not be."""


@dataclass(frozen=True)
class Escalation:
    """Who is named in a run: looked up once per run, not once per incident."""

    oncall: str
    pm: str


@dataclass(frozen=True)
class SlaNotice:
    """A reminder or breach for the incident thread, and the person who also gets it directly, if anyone."""

    thread: SlackMessage
    direct_to: str = ""
    direct_text: str = ""

    def direct(self, channel: str) -> SlackMessage:
        """The direct message carries the thread's metadata, so a workflow sees the same record either way."""
        return SlackMessage(
            channel=channel,
            text=self.direct_text,
            event_type=self.thread.event_type,
            payload=dict(self.thread.payload),
        )


def duration_text(span: timedelta) -> str:
    """A span rounded up to the minute, in the largest units that read naturally: `1 h 15 min`, `2 days`."""
    minutes = max(0, -(-int(span.total_seconds()) // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day" + ("s" if days > 1 else ""))
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts)


def _what_to_do(incident: Incident, sla: Sla) -> str:
    match sla:
        case Sla.SLACK_ACK:
            return "post a message in this thread (a reaction does not count)"
        case Sla.PAGERDUTY_ACK:
            page = f" {pagerduty_page(incident.pagerduty)}" if incident.pagerduty else ""
            return f"acknowledge the incident in PagerDuty{page}"
        case Sla.STAKEHOLDER_EMAIL:
            return f"send it with `/incident {incident.id} email` or the card's *Stakeholder email* button"
        case Sla.STATUS_UPDATE:
            return f"post it with `/incident {incident.id} status <text>` or the card's *Post status* button"
        case Sla.POSTMORTEM_SCHEDULED:
            return f"schedule it with `/incident {incident.id} postmortem scheduled <YYYY-MM-DD HH:MM> <attendees…>`"
    return f"share it with `/incident {incident.id} postmortem shared <url>`"


def _responsible(incident: Incident, sla: Sla, people: Escalation) -> tuple[str, str]:
    if sla in ACK_SLAS:
        return people.oncall, "the on-call engineer"
    if sla in OWNER_SLAS:
        return people.pm, "the PM"
    return incident.owner or people.pm, "the incident owner"


def _payload(incident: Incident, action: SlaAction) -> dict[str, str]:
    return {"incident_id": incident.id, "sla": action.sla.value, "due": to_iso(action.due)}


def effect_id(incident: Incident, action: SlaAction) -> str:
    """One per reminder lead or breach of one deadline: what every run, retry and the outbox agree on."""
    lead = f"/{action.lead}" if action.kind == "reminder" else ""
    return f"{incident.id}/{action.kind}/{action.sla.value}/{to_iso(action.due)}{lead}"


def reminder(incident: Incident, action: SlaAction, people: Escalation, now: datetime) -> SlaNotice:
    """Before a deadline: name who must act, what to do, and how long is left (the run may be late)."""
    who, fallback = _responsible(incident, action.sla, people)
    label = SLA_LABEL[action.sla]
    todo = _what_to_do(incident, action.sla)
    text = (
        f":alarm_clock: *{incident.id}* {esc(incident.title)}: the {label} is due by {format_et(action.due)} "
        f"(in {duration_text(action.due - now)}). {mention(who, fallback)}, please {todo}."
    )
    thread = SlackMessage(
        channel=incident.channel_id,
        thread_ts=incident.thread_ts,
        text=text,
        event_type="sla_reminder",
        payload=_payload(incident, action),
        effect_id=effect_id(incident, action),
    )
    if action.sla not in OWNER_SLAS or not who:
        return SlaNotice(thread)
    direct_text = (
        f":alarm_clock: The {label} for *{incident.id}* {esc(incident.title)} is due by {format_et(action.due)} "
        f"(in {duration_text(action.due - now)}): please {todo}. "
        f"The incident thread is in <#{incident.channel_id}>."
    )
    return SlaNotice(thread, direct_to=who, direct_text=direct_text)


def breach(incident: Incident, action: SlaAction, people: Escalation, now: datetime) -> SlaNotice:
    """After a deadline: say it was missed, by how much, and name the person responsible and the PM."""
    who, fallback = _responsible(incident, action.sla, people)
    label = SLA_LABEL[action.sla]
    window = f" ({WINDOW_LABEL[incident.window]} window)" if action.sla in ACK_SLAS else ""
    late = now - action.due
    lateness = f", {duration_text(late)} ago" if late >= timedelta(minutes=1) else ""
    cc = f" cc <@{people.pm}> (PM)" if people.pm and people.pm != who else ""
    todo = _what_to_do(incident, action.sla)
    text = (
        f":rotating_light: *{incident.id}* {esc(incident.title)}: the {label} was due at {format_et(action.due)}"
        f"{window}{lateness} and has not happened. {mention(who, fallback)}, please {todo}.{cc}"
    )
    return SlaNotice(
        SlackMessage(
            channel=incident.channel_id,
            thread_ts=incident.thread_ts,
            text=text,
            event_type="sla_breached",
            payload=_payload(incident, action),
            effect_id=effect_id(incident, action),
        )
    )


def notice(incident: Incident, action: SlaAction, people: Escalation, now: datetime) -> SlaNotice:
    return breach(incident, action, people, now) if action.kind == "breach" else reminder(incident, action, people, now)
