"""The incident use cases: declare, acknowledge, work and resolve.

Each function takes the runtime (settings, store, Slack client, policy) and plain inputs with their
time, so the same inputs replay to the same effects. State is written before anything is posted, and a
re-delivered request finds the state already written and repairs only what is missing (a card never
posted), which is what makes a retry safe. The Slack surface (prodsupport.slack) parses requests and
calls these; resolving, which also starts the post-mortem, is the post-mortem package's `resolve_incident`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from prodsupport.core.errors import UserError
from prodsupport.core.mrkdwn import escape_mrkdwn, plain_text
from prodsupport.core.timefmt import format_local, from_slack_ts, parse_iso
from prodsupport.incident import messages as msg
from prodsupport.incident.alerts import recovered_title, recovering_incident
from prodsupport.incident.model import Incident, Severity, Sla, Source
from prodsupport.incident.next_update import NextUpdate
from prodsupport.incident.store import Reply
from prodsupport.infra.dynamo import ConditionFailed
from prodsupport.infra.outbox import deliver
from prodsupport.infra.slack_api import delete, post, thread_replies
from prodsupport.infra.slack_message import SlackMessage

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
IGNORED_SUBTYPES = {"message_changed", "message_deleted", "channel_join", "channel_leave", "channel_topic"}
CRITICAL_ALERT_RE = re.compile(r"\b(critical|p1|sev ?1)\b", re.IGNORECASE)
MAX_TITLE = 150
# Longer than a declaration can take (Lambda timeout) plus Slack's retries of it (after 1 and 5 minutes).
CLAIM_HOLD = timedelta(minutes=10)
DECLARATION_TEXT = "Declared the incident from this message"
ACK_BY_UPDATE = "acknowledged by an update posted in the thread"
type Refusal = Callable[[Incident], str | None]  # why the declaring person may not change this incident, or None


def _send(rt: Runtime, message: SlackMessage) -> str:
    return post(rt.slack, message)


# --- declaring ----------------------------------------------------------------------------------------


def _new_incident(
    rt: Runtime,
    *,
    title: str,
    severity: Severity,
    source: Source,
    thread_ts: str,
    opened_at: datetime,
    declared_by: str,
    applications: list[str] | None = None,
    acknowledged_at: datetime | None = None,
    incident_id: str | None = None,
) -> Incident:
    """`incident_id`: the id an earlier attempt of this declaration took (and showed on its card), kept."""
    if incident_id is not None:
        sequence = int(incident_id.rsplit("-", 1)[1])
    else:
        sequence = rt.store.next_sequence(rt.id_prefix, rt.policy.incident_year(opened_at))
    return rt.policy.new_incident(
        sequence=sequence,
        title=title[:MAX_TITLE],
        severity=severity,
        source=source,
        channel_id=rt.settings.channel_id,
        thread_ts=thread_ts,
        opened_at=opened_at,
        declared_by=declared_by,
        applications=applications or [rt.settings.applications[0]],
        owner=rt.roster.current().email_owner,
        acknowledged_at=acknowledged_at,
        team=rt.team_id,
        id_prefix=rt.id_prefix,
    )


def declare_new_thread(
    rt: Runtime,
    *,
    title: str,
    severity: Severity,
    at: datetime,
    user: str,
    applications: list[str] | None = None,
    summary: str = "",
) -> Incident:
    """A declaration from the slash command or its form: the bot's card becomes the thread root."""
    incident = _new_incident(
        rt,
        title=title,
        severity=severity,
        source=Source.SLASH_COMMAND,
        thread_ts="",
        opened_at=at,
        declared_by=user,
        applications=applications,
    )
    incident.summary = summary
    incident.thread_ts = incident.card_ts = _send(
        rt, msg.incident_card(incident, thread_ts=None, zone=rt.zone, partners=rt.partners.names)
    )
    rt.store.create(incident)
    _announce_declaration_ack(rt, incident)
    return incident


def _announce_declaration_ack(rt: Runtime, incident: Incident) -> None:
    """A human's declaration is the Slack ack; say so with the same metadata a reply would get."""
    deadline = incident.deadlines[Sla.SLACK_ACK]
    if incident.declared_by and deadline.met_at is not None:
        deliver(rt, msg.acknowledged(incident, Sla.SLACK_ACK, deadline, incident.declared_by, zone=rt.zone))


def declare_in_thread(
    rt: Runtime,
    *,
    thread_ts: str,
    title: str,
    severity: Severity,
    source: Source,
    declared_by: str,
    at: datetime,
    applications: list[str] | None = None,
    summary: str = "",
    may_change: Refusal | None = None,
) -> None:
    """A declaration on an existing message (an alert, or the message shortcut): that message is the root.

    One incident per message, however many declare it at once: the first to claim the message declares it
    (takes the id, posts the card); any other declaration attaches to that incident, and a person's counts
    as the Slack ack, as their reply in the thread would. A re-delivered alert repairs only a missing card.
    Attaching is changing that incident, so a person who may not change it is refused (`may_change`, the
    Slack surface's membership check, says why) before anything is written; declaring a new incident stays
    open to anyone in the channel.
    """
    channel = rt.settings.channel_id
    claimant = f"{source.value}:{declared_by}"
    if declared_by and may_change is not None:  # refused before anything is written
        _refuse_attaching(rt.store.get(channel, thread_ts), declared_by, may_change)
    owner, existing, again = rt.store.claim_message(channel, thread_ts, claimant, rt.clock(), CLAIM_HOLD)
    if owner == claimant and existing is None:
        _declare_claimed(
            rt,
            thread_ts=thread_ts,
            title=title,
            severity=severity,
            source=source,
            declared_by=declared_by,
            at=at,
            applications=applications,
            summary=summary,
            again=again,
        )
        return
    if owner == claimant and existing is not None:
        _ensure_card(rt, existing)
    if declared_by:
        # the incident may have been stored since the first look
        _refuse_attaching(existing or rt.store.get(channel, thread_ts), declared_by, may_change)
        _acknowledge(rt, Reply(channel, thread_ts, at, declared_by, DECLARATION_TEXT))


def _refuse_attaching(incident: Incident | None, declared_by: str, may_change: Refusal | None) -> None:
    if incident is None or not declared_by or may_change is None:
        return
    refused = may_change(incident)
    if refused:
        raise UserError(refused)


def _declare_claimed(
    rt: Runtime,
    *,
    thread_ts: str,
    title: str,
    severity: Severity,
    source: Source,
    declared_by: str,
    at: datetime,
    applications: list[str] | None,
    summary: str,
    again: bool,
) -> None:
    """The declaration holding the message's claim: post the card, then store the incident with it and any
    early reply as its ack.

    The card is posted before the incident is stored so the incident is written once, with its card and the
    card's alias. The claim keeps any other declaration from posting a card meanwhile; the claimant's own retry
    (`again`) first looks in the thread for the card an earlier attempt of its own posted, and declares that
    card's incident instead of taking a new id.
    """
    channel = rt.settings.channel_id
    posted = _card_posted_before(rt, channel, thread_ts) if again else None
    incident = _new_incident(
        rt,
        title=title,
        severity=severity,
        source=source,
        thread_ts=thread_ts,
        opened_at=from_slack_ts(thread_ts),
        declared_by=declared_by,
        applications=applications,
        acknowledged_at=at,
        incident_id=posted[0] if posted else None,
    )
    incident.summary = summary
    incident.card_ts = posted[1] if posted else _send(rt, _card(rt, incident))
    card = [rt.store.card_alias(incident, incident.card_ts)]
    # An early reply is rare, and an alert's create fails while one is noted: only a failed create reads it.
    early: dict[str, Any] | None = None
    try:
        _create_with_early_reply(rt, incident, None, watch=not declared_by, also=card)
    except ConditionFailed:
        stored = rt.store.get(channel, thread_ts)
        if stored is not None:  # stored by an attempt of this claimant's still at work: its card stands
            if stored.card_ts != incident.card_ts:
                delete(rt.slack, channel, incident.card_ts)
            _ensure_card(rt, stored)
            return
        early = rt.store.early_reply(channel, thread_ts)  # a reply was noted before or while this was declared
        if early is None:
            raise
        _create_with_early_reply(rt, incident, early, watch=False, also=card)
    if early:
        deliver(
            rt,
            msg.acknowledged(incident, Sla.SLACK_ACK, incident.deadlines[Sla.SLACK_ACK], early["user"], zone=rt.zone),
        )
    _announce_declaration_ack(rt, incident)


def _card(rt: Runtime, incident: Incident) -> SlackMessage:
    """The card as a declaration posts it: a reply under the message declared."""
    return msg.incident_card(incident, thread_ts=incident.thread_ts, zone=rt.zone, partners=rt.partners.names)


def _card_posted_before(rt: Runtime, channel: str, thread_ts: str) -> tuple[str, str] | None:
    """(incident id, ts) of the card an earlier attempt posted under the message: a bot's reply (never the
    message itself) with the declaration's metadata, the latest if several attempts each left one."""
    latest: tuple[str, str] | None = None
    for found in thread_replies(rt.slack, channel, thread_ts):
        metadata = found.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        is_card = metadata.get("event_type") == msg.DECLARED and payload.get("incident_id")
        if is_card and found.get("bot_id") and str(found.get("ts")) != thread_ts:
            latest = str(payload["incident_id"]), str(found["ts"])
    return latest


def _create_with_early_reply(
    rt: Runtime,
    incident: Incident,
    early: dict[str, Any] | None,
    *,
    watch: bool,
    also: list[dict[str, Any]],
) -> None:
    """Store the incident, with the reply that came before it as its ack.

    `watch`: no reply was found, so the create fails if one is noted meanwhile, just as the reply's note fails
    if this create lands first. Whichever write is second sees the first, so the ack is never lost between.
    """
    if early:
        incident.acknowledge(parse_iso(early["at"]), early["user"], early.get("text", ""))
    rt.store.create(incident, also=also, without_early_reply=watch and early is None)


def _ensure_card(rt: Runtime, incident: Incident) -> Incident:
    if incident.card_ts:
        return incident
    card_ts = _send(
        rt, msg.incident_card(incident, thread_ts=incident.thread_ts, zone=rt.zone, partners=rt.partners.names)
    )

    def set_card(current: Incident) -> None:
        current.card_ts = current.card_ts or card_ts

    alias = rt.store.card_alias(incident, card_ts)
    saved, _ = rt.store.mutate(incident.channel_id, incident.thread_ts, set_card, read=incident, also=lambda _: [alias])
    return saved


def alert_title(event: dict[str, Any]) -> str:
    """An alert's first line, or its first attachment's title: integrations put the headline in either."""
    text = str(event.get("text") or "")
    for attachment in event.get("attachments") or []:
        text = text or str(attachment.get("title") or attachment.get("fallback") or "")
    first = text.strip().splitlines()[0] if text.strip() else "Alert"
    return plain_text(re.sub(r"[*_~`]", "", first)).strip() or "Alert"


# --- messages in the channel --------------------------------------------------------------------------


def on_message(rt: Runtime, event: dict[str, Any]) -> None:
    if event.get("channel") != rt.settings.channel_id or event.get("subtype") in IGNORED_SUBTYPES:
        return
    ts = str(event.get("ts") or "")
    thread_ts = str(event.get("thread_ts") or "")
    bot_id = event.get("bot_id")
    if bot_id or event.get("subtype") == "bot_message":
        if bot_id in rt.settings.alert_bot_ids and ts and (not thread_ts or thread_ts == ts):
            title = alert_title(event)
            base = recovered_title(title, rt.settings.alert_recovery_patterns)
            if base is not None:
                note_alert_recovery(rt, base, title, str(bot_id), from_slack_ts(ts))
                return
            severity = Severity.CRITICAL if CRITICAL_ALERT_RE.search(title) else Severity.MAJOR
            declare_in_thread(
                rt,
                thread_ts=ts,
                title=title,
                severity=severity,
                source=Source.ALERT_MESSAGE,
                declared_by="",
                at=from_slack_ts(ts),
            )
        return
    user = str(event.get("user") or "")
    if not user or not ts or not thread_ts or thread_ts == ts:
        return
    _acknowledge(rt, Reply(rt.settings.channel_id, thread_ts, from_slack_ts(ts), user, str(event.get("text") or "")))


def _acknowledge(rt: Runtime, reply: Reply) -> None:
    """A person's message in the thread (a reply, or declaring it once it was claimed) is the Slack ack if it
    is the first; before the incident is stored it is kept as an early reply, which the declaration takes."""
    incident, acknowledged = rt.store.record_reply(reply)
    if incident is None:
        if rt.store.note_early_reply(reply, rt.dedupe.ttl):
            return
        incident, acknowledged = rt.store.record_reply(reply)  # the declaration landed since the first look
        if incident is None:
            return
    ack = incident.deadlines[Sla.SLACK_ACK]
    if acknowledged:
        deliver(rt, msg.acknowledged(incident, Sla.SLACK_ACK, ack, reply.user, zone=rt.zone))
    elif _is_the_acknowledging_reply(incident, reply):
        deliver(rt, msg.acknowledged(incident, Sla.SLACK_ACK, ack, reply.user, zone=rt.zone), look_first=True)


def note_alert_recovery(rt: Runtime, base: str, text: str, bot_id: str, at: datetime) -> None:
    """A recovery message goes in the thread of the open incident its alert opened, never opens one.

    Noted on the timeline once (a retried delivery finds the entry) and posted on every handling, so a
    delivery that failed before its post is repaired by Slack's retry.
    """
    own = [open_ for open_ in rt.store.open_incidents() if open_.team == rt.team_id]  # not another team's alert
    incident = recovering_incident(own, base, MAX_TITLE)
    if incident is None:
        logger.info("an alert recovery matched no open incident; nothing to do", title=text[:MAX_TITLE])
        return

    def note(current: Incident) -> None:
        entry = (at.replace(microsecond=0), "alert_recovered", bot_id, text[:500])
        if not any((e.at, e.kind, e.actor, e.text) == entry for e in current.timeline):
            current.note(at, "alert_recovered", bot_id, text[:500])

    saved, _ = rt.store.mutate(incident.channel_id, incident.thread_ts, note)
    _send(rt, msg.alert_recovered(saved, text))


def _is_the_acknowledging_reply(incident: Incident, reply: Reply) -> bool:
    """Slack retries a delivery whose handling failed after the ack was written (the post failed): the
    retry finds the ack already recorded, by this very reply, and owes the post that never went out."""
    entry = next((e for e in incident.timeline if e.kind == "acknowledged"), None)
    return entry is not None and (entry.at, entry.actor, entry.text) == (
        reply.at.replace(microsecond=0),
        reply.user,
        reply.text[:500],
    )


def on_reaction(rt: Runtime, event: dict[str, Any]) -> None:
    """A reaction is not an acknowledgement; when it is the first human response, say so once."""
    item = event.get("item") or {}
    if item.get("type") != "message" or item.get("channel") != rt.settings.channel_id:
        return
    incident = rt.store.get_by_message(rt.settings.channel_id, str(item.get("ts") or ""))
    if incident is None or incident.reaction_noted or not incident.deadlines[Sla.SLACK_ACK].pending:
        return

    def note(current: Incident) -> bool:
        first = not current.reaction_noted and current.deadlines[Sla.SLACK_ACK].pending
        current.reaction_noted = True
        return first

    saved, first = rt.store.mutate(incident.channel_id, incident.thread_ts, note)
    if first:
        _send(rt, msg.reaction_does_not_count(saved, str(event.get("user") or ""), zone=rt.zone))


# --- changes ------------------------------------------------------------------------------------------


def find(rt: Runtime, incident_id: str) -> Incident:
    """The incident a person named, or the answer that there is none."""
    incident = rt.store.get_by_id(incident_id)
    if incident is None:
        raise UserError(f"There is no incident {incident_id}. `/incident list` shows the open ones.")
    return incident


def _change(rt: Runtime, incident: Incident, change: Callable[[Incident], object], user: str, at: datetime) -> Incident:
    """Apply a person's change and post it in the thread on their behalf.

    That post is a timestamped message by a person, which is how the playbook defines the Slack ack, so
    the first one meets it (a PagerDuty-driven change, with no Slack user, does not).
    """

    def apply(current: Incident) -> bool:
        change(current)
        return bool(user) and current.acknowledge(at, user, ACK_BY_UPDATE) is not None

    saved, acknowledged = rt.store.mutate(incident.channel_id, incident.thread_ts, apply, read=incident)
    if acknowledged:
        deliver(rt, msg.acknowledged(saved, Sla.SLACK_ACK, saved.deadlines[Sla.SLACK_ACK], user, zone=rt.zone))
    return saved


def update_field(rt: Runtime, incident: Incident, field: str, value: str, user: str, at: datetime) -> Incident:
    label = "Summary" if field == "summary" else "Business impact"

    def change(current: Incident) -> None:
        setattr(current, field, value)
        current.note(at, field, user, value)

    saved = _change(rt, incident, change, user, at)
    _send(
        rt,
        msg.incident_updated(saved, field=field, text=f"{label} set by {msg.mention(user)}: {escape_mrkdwn(value)}"),
    )
    return saved


def set_applications(rt: Runtime, incident: Incident, apps: list[str], user: str, at: datetime) -> Incident:
    def change(current: Incident) -> None:
        current.applications = apps
        current.note(at, "applications", user, ", ".join(apps))

    saved = _change(rt, incident, change, user, at)
    text = f"Applications impacted set by {msg.mention(user)}: {escape_mrkdwn(', '.join(apps))}"
    _send(rt, msg.incident_updated(saved, field="applications", text=text))
    return saved


def set_severity(rt: Runtime, incident: Incident, severity: Severity, user: str, at: datetime) -> Incident:
    def change(current: Incident) -> None:
        current.change_severity(severity, rt.policy.email_due(current.opened_at), rt.policy.email_severities)
        current.note(at, "severity", user, severity.value)

    saved = _change(rt, incident, change, user, at)
    text = f"Severity set to *{severity.value}* by {msg.mention(user)}."
    if Sla.STAKEHOLDER_EMAIL in saved.deadlines and saved.deadlines[Sla.STAKEHOLDER_EMAIL].pending:
        text += f" Stakeholder email due {format_local(saved.deadlines[Sla.STAKEHOLDER_EMAIL].due, rt.zone)}."
    _send(rt, msg.incident_updated(saved, field="severity", text=text))
    return saved


def post_status(
    rt: Runtime, incident: Incident, text: str, promise: NextUpdate | None, user: str, at: datetime
) -> Incident:
    """A status update meets any promised update and may promise the next one, which gets its own clock."""
    next_at = promise.resolve(at, rt.policy.calendar.local(at)) if promise else None

    def change(current: Incident) -> None:
        current.update_status(at, text, next_at)
        current.note(at, "status", user, text)

    saved = _change(rt, incident, change, user, at)
    _send(rt, msg.status_posted(saved, user, at, zone=rt.zone))
    return saved


def resolve(rt: Runtime, incident: Incident, text: str, user: str, at: datetime) -> tuple[Incident, bool]:
    """Resolve once: the check is inside the conditional write, so two resolves racing post one message.

    Says whether this call resolved it. Resolving an incident that is already resolved repairs its "resolved"
    post, looked for in the thread before it is posted again (a failed first attempt may have lost it); the
    caller (postmortem.flows.resolve_incident) decides what else is still owed.
    """
    resolved_now: list[bool] = []

    def change(current: Incident) -> None:
        resolved_now[:] = [current.resolve(at, text, user)]

    saved = _change(rt, incident, change, user, at)
    if resolved_now[0]:
        deliver(rt, msg.resolved(saved, user, zone=rt.zone))
    elif saved.ended_at is not None:  # a record resolved without its time has no post to repair
        deliver(rt, msg.resolved(saved, _resolver(saved), zone=rt.zone), look_first=True)
    return saved, resolved_now[0]


def _resolver(incident: Incident) -> str:
    """Who resolved it, as the timeline says, so a repaired "resolved" post is the one first meant."""
    return next((entry.actor for entry in reversed(incident.timeline) if entry.kind == "resolved"), "")
