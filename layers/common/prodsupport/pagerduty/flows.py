"""The PagerDuty use cases: a triggered incident opens a thread, its acknowledgement meets the playbook's
PagerDuty clock, and everything else PagerDuty reports goes on the timeline and into the thread.

Deliveries are at least once, so each one is claimed twice before it has an effect: by `X-Webhook-Id`
(repeated on every retry of one delivery) and by `event.id` (repeated when two subscriptions deliver the
same event). A repeat that arrives while the first delivery may still fail is answered 503, which PagerDuty
retries, instead of being dropped (see dedupe). The time of every change is the event's `occurred_at`,
never the time it arrived, so a retried or late delivery records when the thing happened in PagerDuty.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from prodsupport.core.errors import UserError
from prodsupport.core.mrkdwn import URL_RE
from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.settings import TeamUnavailable
from prodsupport.core.timefmt import format_local
from prodsupport.incident.model import Deadline, Incident, PagerDutyLink, Severity, Sla, Source
from prodsupport.infra import metrics
from prodsupport.infra.dedupe import DeliveryInFlight, DuplicateDelivery
from prodsupport.infra.dynamo import ConditionFailed
from prodsupport.infra.slack_api import post
from prodsupport.infra.slack_message import SlackMessage
from prodsupport.pagerduty import links as pagerduty_links
from prodsupport.pagerduty import messages as pd_msg
from prodsupport.pagerduty.webhook import (
    ACKNOWLEDGED,
    ESCALATED,
    PRIORITY_UPDATED,
    REASSIGNED,
    REOPENED,
    RESOLVED,
    RESPONDER_ADDED,
    RESPONDER_REPLIED,
    STATUS_UPDATE_PUBLISHED,
    TRIGGERED,
    UNACKNOWLEDGED,
    WEBHOOK_ID_HEADER,
    PagerDutyIncident,
    WebhookEvent,
    header,
    opens_incidents,
    parse_event,
    severity_for,
)
from prodsupport.roster.oncall import oncall_user

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
ACTOR = Source.PAGERDUTY.value
MAX_TITLE = 150
ACCEPTED = 202
RETRY_LATER = 503
UNOWNED_SERVICE = "ignored: no team owns the service"

Handler = Callable[["Runtime", WebhookEvent, PagerDutyIncident], str]


def webhook_secrets(rt: Runtime) -> list[str]:
    """The subscription secrets to accept: more than one while a secret is being rotated."""
    configured = rt.secret(rt.settings.pagerduty_secret_name).get("webhook_secrets")
    if isinstance(configured, str):
        return [configured]
    if isinstance(configured, list):
        return [str(secret) for secret in configured if secret]
    return []


def handle_webhook(rt: Runtime, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    """One verified delivery: (HTTP status, JSON body). Raises `BadWebhook` for a body it cannot read."""
    event = parse_event(body)
    if not event.handled:
        logger.info("ignored a PagerDuty event type", event_type=event.event_type, event_id=event.id)
        return _answer("ignored", event)
    assert event.incident is not None
    delivery_id = header(headers, WEBHOOK_ID_HEADER) or event.id
    received_at = rt.clock()
    try:
        # One claim, on the event: a resent delivery carries the same event (a V3 delivery holds exactly one), and
        # a second subscription's delivery of it has another webhook id but the same event id.
        # The claim rides on the delivery's first write (infra/dedupe.py), so it costs no request of its own.
        with rt.dedupe.once("pagerduty-event", event.id, received_at, refuse_in_flight=True, fold=True):
            try:
                team = _owning_team(rt, event.incident)
            except TeamUnavailable as exc:
                logger.error("a PagerDuty event of a team that cannot be served", event_id=event.id, error=str(exc))
                metrics.count("TeamConfigErrors")
                return _answer("ignored: its team cannot be served", event)
            if team is None:
                service = event.incident.service.id if event.incident.service is not None else ""
                logger.warning("a PagerDuty event of a service no team owns", event_id=event.id, service=service)
                return _answer(UNOWNED_SERVICE, event)  # counted by the function, as every outcome
            outcome = HANDLERS[event.event_type](team, event, event.incident)
    except DuplicateDelivery:
        logger.info("duplicate PagerDuty delivery", webhook_id=delivery_id, event_id=event.id)
        return _answer("duplicate", event)
    except DeliveryInFlight:
        logger.info("PagerDuty delivery repeated while the first is in flight", webhook_id=delivery_id)
        return RETRY_LATER, json.dumps({"status": "in flight", "event_id": event.id, "retry": True})
    logger.info("PagerDuty event handled", event_type=event.event_type, event_id=event.id, outcome=outcome)
    return _answer(outcome, event)


def _owning_team(rt: Runtime, pd: PagerDutyIncident) -> Runtime | None:
    """The team of the incident this one is linked to, whatever its service (a team may link an incident of a
    service it does not list, and its acks, priority and resolution are judged by its own playbook); else the
    team that owns the incident's PagerDuty service (`Runtime.for_service`), None when no team does. A
    single-team deployment has one team to choose, so it skips the look (reads the handler would make again)."""
    if not rt.several_teams:
        return rt
    linked = _linked(rt, pd.id)
    if linked is not None:
        return rt.for_team(linked.team)
    return rt.for_service(pd.service.id if pd.service is not None else "")


def _answer(outcome: str, event: WebhookEvent) -> tuple[int, str]:
    return ACCEPTED, json.dumps({"status": outcome, "event_id": event.id, "event_type": event.event_type})


def _send(rt: Runtime, message: SlackMessage) -> str:
    return post(rt.slack, message)


def _linked(rt: Runtime, pagerduty_id: str) -> Incident | None:
    seen = rt.store.get_seen_linked(pagerduty_id)
    if seen is not None:
        return seen
    link = pagerduty_links.find(rt.table, pagerduty_id)
    if link is None:
        return None
    return rt.store.get(str(link["channel_id"]), str(link["thread_ts"]))


# --- incident.triggered -------------------------------------------------------------------------------


def on_triggered(rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    """Open an incident whose thread root is the bot's card, unless this PagerDuty incident is linked already.

    Nobody has acknowledged anything yet, so both clocks start: the Slack ack (a human post in the thread)
    and the PagerDuty ack, with the same due time.
    """
    existing = _linked(rt, pd.id)  # the delivery's claim goes with this look (a duplicate stops here)
    if existing is not None:
        return _attach(rt, existing, event, pd)
    if not opens_incidents(pd, rt.settings.pagerduty_service_ids):
        logger.info("ignored a trigger from a service not configured", service=pd.service.id if pd.service else "")
        return "ignored: service not configured"
    # Read while the id counter is written (infra/ahead.py): what the root card's post needs besides its id. Only
    # once the claim is made: a link whose incident is missing leaves it pending for the next write.
    if rt.table.pending is None:
        rt.slack_ahead()
        rt.roster.read_ahead()
    settings = rt.settings
    opened_at = event.occurred_at
    incident = rt.policy.new_incident(
        sequence=rt.store.next_sequence(rt.id_prefix, rt.policy.incident_year(opened_at)),
        title=pd.title[:MAX_TITLE],
        severity=_severity(rt, pd),
        source=Source.PAGERDUTY,
        channel_id=settings.channel_id,
        thread_ts="",
        opened_at=opened_at,
        declared_by="",
        applications=[settings.applications[0]] if settings.applications else [],
        owner=rt.roster.current().email_owner,
        team=rt.team_id,
        id_prefix=rt.id_prefix,
    )
    incident.pagerduty = PagerDutyLink(pd.id, pd.html_url)
    root = pd_msg.thread_root(incident, pd, oncall_user(rt, opened_at), zone=rt.zone, partners=rt.partners.names)
    incident.thread_ts = incident.card_ts = _send(rt, root)
    # The usual case in one transaction: linked on condition that no acknowledgement was noted before the link.
    # Such a note is written only while the link is absent, so once this succeeds no acknowledgement can be left
    # unapplied: a later one finds the link and is applied by its own delivery.
    stored, winner = _create_linked(rt, incident, pd, absent=[pagerduty_links.early_ack_key(pd.id)])
    early = ""
    if not stored and winner is None:
        # An acknowledgement came first (rare: PagerDuty sent it before the trigger was handled): link without
        # that condition, then apply the noted acknowledgement, which can no longer change once linked.
        stored, winner = _create_linked(rt, incident, pd, absent=[])
        if stored:
            incident, early = _apply_ack_noted_meanwhile(rt, incident, pd.id)
    if winner is not None:
        logger.warning("PagerDuty incident was linked while its thread was opened", incident_id=winner.id)
        return _attach(rt, winner, event, pd)
    if early:
        _send(rt, pd_msg.acknowledged(incident, incident.deadlines[Sla.PAGERDUTY_ACK], early, zone=rt.zone))
    return "opened"


def _create_linked(
    rt: Runtime, incident: Incident, pd: PagerDutyIncident, *, absent: list[tuple[str, str]]
) -> tuple[bool, Incident | None]:
    """(True, None) once stored with its link; (False, the incident that holds the link) when another won it;
    (False, None) when the link is free but an item named in `absent` (a noted acknowledgement) exists."""
    try:
        rt.store.create(incident, also=[pagerduty_links.item(incident, pd.id)], absent=absent)
    except ConditionFailed:
        winner = _linked(rt, pd.id)
        if winner is None and not absent:
            raise
        return False, winner
    return True, None


def _apply_early_ack(rt: Runtime, incident: Incident, pagerduty_id: str) -> str:
    """Meet the PagerDuty clock with an acknowledgement that arrived before the link; returns its agent."""
    early = pagerduty_links.early_ack(rt.table, pagerduty_id)
    deadline = incident.deadlines.get(Sla.PAGERDUTY_ACK)
    if early is None or deadline is None or deadline.met_at is not None:
        return ""
    at, agent = early
    incident.acknowledge_in_pagerduty(at, agent)
    return agent or "PagerDuty"


def _apply_ack_noted_meanwhile(rt: Runtime, incident: Incident, pagerduty_id: str) -> tuple[Incident, str]:
    """An acknowledgement noted before the link, applied once the link exists.

    Its note is written only while the link is absent, so once the link exists this look is final: an
    acknowledgement either is noted by now, or found the link and was applied by its own delivery.
    """
    if pagerduty_links.early_ack(rt.table, pagerduty_id) is None:
        return incident, ""
    return rt.store.mutate(
        incident.channel_id, incident.thread_ts, lambda current: _apply_early_ack(rt, current, pagerduty_id)
    )


def _attach(rt: Runtime, incident: Incident, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    """The PagerDuty incident was linked before PagerDuty said it triggered: note it once, in the thread."""
    if incident.source is Source.PAGERDUTY or any(e.kind == "pagerduty_triggered" for e in incident.timeline):
        return "already open"
    text = (
        f":rotating_light: PagerDuty {pd_msg.pagerduty_link(pd.id, pd.html_url, pd.label)} triggered: "
        f"{esc(pd.title)}. Acknowledge it in PagerDuty."
    )
    _update(rt, incident, event, pd, "pagerduty_triggered", "pagerduty", text)
    return "attached"


def _severity(rt: Runtime, pd: PagerDutyIncident) -> Severity:
    return severity_for(
        pd,
        critical_priorities=rt.settings.pagerduty_critical_priorities,
        critical_urgencies=rt.settings.pagerduty_critical_urgencies,
    )


# --- incident.acknowledged ----------------------------------------------------------------------------


def on_acknowledged(rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    """The first acknowledgement meets the PagerDuty clock at `occurred_at`; later ones (after an
    unacknowledge) are noted, since the playbook counts the first."""
    incident = _linked(rt, pd.id)
    agent = event.agent_name
    if incident is None:
        if pagerduty_links.note_early_ack(rt.table, pd.id, event.occurred_at, agent, rt.dedupe.ttl):
            _not_linked(event, pd)
            return "kept until linked"
        incident = _linked(rt, pd.id)  # linked since the first look: the note was refused, so apply it here
        if incident is None:
            raise RuntimeError(f"PagerDuty {pd.id} was linked and unlinked while its acknowledgement was handled")

    def change(current: Incident) -> Deadline | None:
        _refresh_link(current, pd)
        current.track_pagerduty_ack()  # a `/incident link` may have claimed the link but not saved the clock yet
        return current.acknowledge_in_pagerduty(event.occurred_at, agent)

    saved, met = rt.store.mutate(incident.channel_id, incident.thread_ts, change, read=incident)
    if met is not None:
        _send(rt, pd_msg.acknowledged(saved, saved.deadlines[Sla.PAGERDUTY_ACK], agent, zone=rt.zone))
        return "acknowledged"
    text = f":white_check_mark: PagerDuty {_label(saved, pd)} acknowledged again by {esc(agent)}."
    _send(rt, pd_msg.updated(saved, event, field="pagerduty_status", text=text))
    return "noted"


# --- the rest: timeline and thread --------------------------------------------------------------------


def on_unacknowledged(rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    def text(link: str) -> str:
        return f":warning: PagerDuty {link} is *unacknowledged* again ({esc(event.agent_name)}); it is paging."

    return _simple(rt, event, pd, "pagerduty_unacknowledged", "pagerduty_status", text)


def on_reassigned(rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    def text(link: str) -> str:
        return f":busts_in_silhouette: PagerDuty {link} reassigned to {esc(_assignees(pd))} by {esc(event.agent_name)}."

    return _simple(rt, event, pd, "pagerduty_reassigned", "assignees", text)


def on_escalated(rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    def text(link: str) -> str:
        return f":arrow_double_up: PagerDuty {link} escalated to {esc(_assignees(pd))}."

    return _simple(rt, event, pd, "pagerduty_escalated", "assignees", text)


def on_priority_updated(rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    """Severity follows the priority; becoming critical starts the email clock from the original opening."""
    incident = _linked(rt, pd.id)
    if incident is None:
        return _not_linked(event, pd)
    severity = _severity(rt, pd)
    priority = pd.priority or "no priority"

    def change(current: Incident) -> bool:
        _refresh_link(current, pd)
        changed = current.change_severity(severity, rt.policy.email_due(current.opened_at), rt.policy.email_severities)
        current.note(event.occurred_at, "pagerduty_priority", ACTOR, f"priority {priority}, severity {severity.value}")
        return changed

    saved, changed = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
    text = f":arrows_counterclockwise: PagerDuty {_label(saved, pd)} priority set to *{esc(priority)}*"
    text += f" by {esc(event.agent_name)}."
    if changed:
        text += f" Severity is now *{severity.value}*."
    email = saved.deadlines.get(Sla.STAKEHOLDER_EMAIL)
    if changed and severity is Severity.CRITICAL and email is not None and email.pending:
        text += f" Stakeholder email due {format_local(email.due, rt.zone)}."
    _send(rt, pd_msg.updated(saved, event, field="severity" if changed else "priority", text=text))
    return "severity changed" if changed else "noted"


def on_resolved(rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    """Resolving in PagerDuty resolves the incident the way `/incident <id> resolve` does, post-mortem included.

    An incident already resolved goes through the same resolve, which repairs what a failed first handling
    left undone (PagerDuty retries that delivery); only one resolved elsewhere first is noted "as well".
    """
    incident = _linked(rt, pd.id)
    if incident is None:
        return _not_linked(event, pd)
    resolution = f"Resolved in PagerDuty by {event.agent_name}"
    by_this_event = incident.ended_at == event.occurred_at and incident.resolution == resolution
    try:
        # Loaded here: a trigger or an ack (most deliveries) never needs the post-mortem and email modules.
        from prodsupport.postmortem.flows import resolve_incident  # noqa: PLC0415

        resolve_incident(rt, incident, resolution, "", event.occurred_at)
    except UserError:
        if by_this_event:
            return "resolved"
        logger.info("incident was resolved already", incident_id=incident.id)
    else:
        return "resolved"

    def text(link: str) -> str:
        return f":large_green_circle: PagerDuty {link} resolved by {esc(event.agent_name)} as well."

    return _simple(rt, event, pd, "pagerduty_resolved", "pagerduty_status", text)


def on_reopened(rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    """PagerDuty says the problem is back, so the incident is open again (its clocks stay as they were)."""
    incident = _linked(rt, pd.id)
    if incident is None:
        return _not_linked(event, pd)

    link = _label(incident, pd)
    text = f":rotating_light: PagerDuty {link} reopened by {esc(event.agent_name)}: {incident.id} is open again."
    _update(rt, incident, event, pd, "pagerduty_reopened", "status", text, Incident.reopen)
    return "reopened"


def on_status_update_published(rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    """A PagerDuty status update is the incident's latest status (the one the stakeholder email quotes)."""
    incident = _linked(rt, pd.id)
    if incident is None:
        return _not_linked(event, pd)
    at = event.occurred_at

    def record(current: Incident) -> None:
        current.update_status(at, event.message)

    text = (
        f":memo: *Status update* on {incident.id} from PagerDuty by {esc(event.agent_name)} "
        f"at {format_local(at, rt.zone)}:\n"
        f"{esc(event.message)}"
    )
    _update(rt, incident, event, pd, "pagerduty_status_update", "current_status", text, record)
    return "noted"


def on_responder_added(rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    """A responder was asked to help (by a partner tag, or in PagerDuty itself): the thread hears who."""

    def text(link: str) -> str:
        asked = f" by {esc(event.agent_name)}" if event.agent else ""
        note = f": {esc(event.message.rstrip('.'))}" if event.message else ""
        return f":raising_hand: {_responder_name(event)} was asked{asked} to respond on PagerDuty {link}{note}."

    return _simple(rt, event, pd, "pagerduty_responder_added", "responders", text)


def on_responder_replied(rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident) -> str:
    """The responder's answer (joined or declined), so the thread knows whether help is coming."""

    def text(link: str) -> str:
        answer = {"joined": "*joined*", "declined": "*declined*"}.get(event.state, esc(event.state or "answered"))
        return f":speech_balloon: {_responder_name(event)} {answer} the responder request on PagerDuty {link}."

    return _simple(rt, event, pd, "pagerduty_responder_replied", "responders", text)


def _responder_name(event: WebhookEvent) -> str:
    responder = event.responder
    return esc(responder.summary or responder.id) if responder else "A responder"


def _simple(
    rt: Runtime, event: WebhookEvent, pd: PagerDutyIncident, kind: str, field: str, text: Callable[[str], str]
) -> str:
    """A change that only goes on the timeline and into the thread; `text` gets the PagerDuty link."""
    incident = _linked(rt, pd.id)
    if incident is None:
        return _not_linked(event, pd)
    _update(rt, incident, event, pd, kind, field, text(_label(incident, pd)))
    return "noted"


def _update(
    rt: Runtime,
    incident: Incident,
    event: WebhookEvent,
    pd: PagerDutyIncident,
    kind: str,
    field: str,
    text: str,
    also: Callable[[Incident], object] | None = None,
) -> Incident:
    def change(current: Incident) -> None:
        _refresh_link(current, pd)
        if also is not None:
            also(current)
        current.note(event.occurred_at, kind, ACTOR, _timeline_text(event, pd))

    saved, _ = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
    _send(rt, pd_msg.updated(saved, event, field=field, text=text))
    return saved


def _refresh_link(incident: Incident, pd: PagerDutyIncident) -> None:
    """A link made from a bare id learns its URL from the first event that carries one."""
    if incident.pagerduty is not None and not incident.pagerduty.url and pd.html_url:
        incident.pagerduty.url = pd.html_url


def _timeline_text(event: WebhookEvent, pd: PagerDutyIncident) -> str:
    parts = [f"{event.event_type} by {event.agent_name}"]
    if event.event_type in (REASSIGNED, ESCALATED):
        parts.append(f"assigned to {_assignees(pd)}")
    if event.event_type in (RESPONDER_ADDED, RESPONDER_REPLIED) and event.responder is not None:
        parts.append(f"{event.responder.summary or event.responder.id} {event.state}".strip())
    if event.message:
        parts.append(event.message)
    return ": ".join(parts)


def _label(incident: Incident, pd: PagerDutyIncident) -> str:
    url = pd.html_url or (incident.pagerduty.url if incident.pagerduty else "")
    return pd_msg.pagerduty_link(pd.id, url, pd.label)


def _assignees(pd: PagerDutyIncident) -> str:
    return ", ".join(a.summary or a.id for a in pd.assignees) or "nobody"


def _not_linked(event: WebhookEvent, pd: PagerDutyIncident) -> str:
    """An event about a PagerDuty incident no thread knows (its trigger predates the subscription)."""
    logger.info("PagerDuty incident is not linked to an incident", event_type=event.event_type, pagerduty_id=pd.id)
    return "not linked"


HANDLERS: dict[str, Handler] = {
    TRIGGERED: on_triggered,
    ACKNOWLEDGED: on_acknowledged,
    UNACKNOWLEDGED: on_unacknowledged,
    REASSIGNED: on_reassigned,
    ESCALATED: on_escalated,
    PRIORITY_UPDATED: on_priority_updated,
    RESOLVED: on_resolved,
    REOPENED: on_reopened,
    STATUS_UPDATE_PUBLISHED: on_status_update_published,
    RESPONDER_ADDED: on_responder_added,
    RESPONDER_REPLIED: on_responder_replied,
}


# --- /incident <id> link ------------------------------------------------------------------------------


def link(rt: Runtime, incident: Incident, pagerduty_id: str, url: str, user: str, at: datetime) -> str:
    """Link a PagerDuty incident to an incident declared in Slack, so its acknowledgement is tracked too.

    The PagerDuty ack is due with the Slack ack (see `Incident.track_pagerduty_ack`).
    """
    if not incident.is_open:
        raise UserError(f"{incident.id} is resolved; there is no acknowledgement left to track.")
    current_link = incident.pagerduty
    if current_link is not None and current_link.incident_id == pagerduty_id:
        return f"{incident.id} is already linked to PagerDuty {pagerduty_id}."
    if current_link is not None:
        raise UserError(f"{incident.id} is already linked to PagerDuty {current_link.incident_id}.")
    try:
        pagerduty_links.claim(rt.table, incident, pagerduty_id)
    except pagerduty_links.AlreadyLinked as exc:
        raise UserError(
            f"PagerDuty {pagerduty_id} is already linked to {exc.incident_id}; its acknowledgement is tracked there."
        ) from None
    safe_url = url if URL_RE.match(url) else ""

    def change(current: Incident) -> str:
        current.link_pagerduty(PagerDutyLink(pagerduty_id, safe_url), at, user)
        return _apply_early_ack(rt, current, pagerduty_id)

    try:
        saved, early = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
    except Exception:
        pagerduty_links.give_back(rt.table, pagerduty_id)  # the link and the incident change go together or not at all
        raise
    _send(rt, pd_msg.linked(saved, user, at, zone=rt.zone))
    if early:
        _send(rt, pd_msg.acknowledged(saved, saved.deadlines[Sla.PAGERDUTY_ACK], early, zone=rt.zone))
    return f"{incident.id} is linked to PagerDuty {pagerduty_id}; its acknowledgement is tracked from now on."
