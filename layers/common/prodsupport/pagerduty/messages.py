"""What the bot says about PagerDuty, as pure functions: the thread root, the acknowledgement, the updates.

Built on the Slack builders so the card, the buttons and the metadata (docs/design.md) stay one shape whichever
way an incident opened. Everything PagerDuty sends (titles, names, status updates) is typed by people,
so it is escaped before it is echoed.
"""

from __future__ import annotations

from copy import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.timefmt import format_local, to_iso
from prodsupport.incident import messages as msg
from prodsupport.incident.model import Deadline, Incident, Sla
from prodsupport.infra.blocks import section
from prodsupport.infra.slack_message import SlackMessage
from prodsupport.pagerduty.webhook import PagerDutyIncident, WebhookEvent

SOURCE = "pagerduty"


def pagerduty_link(pagerduty_id: str, url: str, label: str = "") -> str:
    """`<url|label>` when PagerDuty gave a URL, else the plain label (the id when nothing better is known)."""
    text = esc(label or pagerduty_id)
    return f"<{url}|{text}>" if url else text


def thread_root(
    incident: Incident, pd: PagerDutyIncident, oncall_user_id: str, *, zone: ZoneInfo, partners: tuple[str, ...] = ()
) -> SlackMessage:
    """The incident card, plus what PagerDuty knows and who must acknowledge where.

    The `incident_declared` payload gains the source and the PagerDuty ack's due time, since a PagerDuty
    incident starts two clocks, not one.
    """
    card = msg.incident_card(incident, thread_ts=None, zone=zone, partners=partners)
    ack = incident.deadlines[Sla.PAGERDUTY_ACK]
    facts = [
        f"urgency {esc(pd.urgency)}" if pd.urgency else "",
        f"priority {esc(pd.priority)}" if pd.priority else "no priority",
        f"service {esc(pd.service.summary or pd.service.id)}" if pd.service else "",
    ]
    lines = [f"*PagerDuty {pagerduty_link(pd.id, pd.html_url, pd.label)}:* {' · '.join(f for f in facts if f)}"]
    if pd.assignees:
        lines.append(f"*Paged:* {esc(', '.join(a.summary or a.id for a in pd.assignees))}")
    lines.append(
        f"*On call:* {msg.mention(oncall_user_id)} — acknowledge in PagerDuty *and* post in this thread "
        f"by {format_local(ack.due, zone)}"
    )
    pagerduty_facts = section("\n".join(lines))
    payload = {
        **card.payload,
        "source": SOURCE,
        "pagerduty_incident_id": pd.id,
        "pagerduty_ack_due": to_iso(ack.due),
    }
    return replace(card, blocks=[*card.blocks[:2], pagerduty_facts, *card.blocks[2:]], payload=payload)


def acknowledged(incident: Incident, deadline: Deadline, agent: str, *, zone: ZoneInfo) -> SlackMessage:
    """The PagerDuty acknowledgement against the same window as the Slack one; `met` says which side it fell."""
    assert deadline.met_at is not None
    met = deadline.met_at <= deadline.due
    verdict = "within" if met else "*after*"
    label = msg.SLA_LABEL[Sla.PAGERDUTY_ACK]
    return SlackMessage(
        channel=incident.channel_id,
        thread_ts=incident.thread_ts,
        text=(
            f":white_check_mark: {incident.id} {label} by {esc(agent)} at {format_local(deadline.met_at, zone)}, "
            f"{verdict} the {msg.WINDOW_LABEL[incident.window]} window (due {format_local(deadline.due, zone)})."
        ),
        event_type="incident_acknowledged",
        payload={
            "incident_id": incident.id,
            "sla": Sla.PAGERDUTY_ACK.value,
            "at": to_iso(deadline.met_at),
            "due": to_iso(deadline.due),
            "met": met,
        },
    )


def updated(incident: Incident, event: WebhookEvent, *, field: str, text: str) -> SlackMessage:
    """A PagerDuty change in the thread, as `incident_updated` naming the field and the PagerDuty event."""
    message = msg.incident_updated(incident, field=field, text=text)
    payload = {
        **message.payload,
        "source": SOURCE,
        "pagerduty_event": event.event_type,
        "at": to_iso(event.occurred_at),
    }
    return replace(message, payload=payload)


def linked(incident: Incident, user: str, at: datetime, *, zone: ZoneInfo) -> SlackMessage:
    assert incident.pagerduty is not None
    ack = incident.deadlines[Sla.PAGERDUTY_ACK]
    due = (
        f"due {format_local(ack.due, zone)}" if ack.due > at else f"its window closed at {format_local(ack.due, zone)}"
    )
    link = pagerduty_link(incident.pagerduty.incident_id, incident.pagerduty.url)
    message = msg.incident_updated(
        incident,
        field="pagerduty",
        text=(
            f":link: {msg.mention(user)} linked PagerDuty {link} to {incident.id}. The PagerDuty "
            f"acknowledgement is tracked from now on, against the same window as the Slack one ({due})."
        ),
    )
    payload = {
        **message.payload,
        "pagerduty_incident_id": incident.pagerduty.incident_id,
        "pagerduty_ack_due": to_iso(ack.due),
        "at": to_iso(at),
    }
    return replace(message, payload=payload)
