"""The incident use cases behind Slack: declare, acknowledge, work and resolve.

Each function takes the runtime (settings, store, Slack client, policy) and plain inputs with their
time, so the same inputs replay to the same effects. State is written before anything is posted, and a
re-delivered request finds the state already written and repairs only what is missing (a card never
posted), which is what makes a retry safe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from prodsupport.core import inbound_json
from prodsupport.core.timefmt import format_et, from_slack_ts, parse_iso
from prodsupport.incident import messages as msg
from prodsupport.incident.alerts import recovered_title, recovering_incident
from prodsupport.incident.messages import ephemeral
from prodsupport.incident.model import Deadline, Incident, Severity, Sla, Source, Status
from prodsupport.incident.store import Reply
from prodsupport.infra.dynamo import ConditionFailed
from prodsupport.infra.outbox import deliver
from prodsupport.infra.slack_api import SlackMessage, post
from prodsupport.slack import authorization
from prodsupport.slack.commands import (
    INCIDENT_USAGE,
    PRODSUPPORT_USAGE,
    AddActionItem,
    CommandError,
    Declare,
    Help,
    IncidentCommand,
    LinkPagerDuty,
    ListIncidents,
    NextUpdate,
    OpenDeclareForm,
    PostmortemCheckpoint,
    Resolve,
    RosterChange,
    SendEmail,
    SetApplications,
    SetField,
    SetSeverity,
    StatusUpdate,
    parse_incident,
    parse_next_update,
    parse_prodsupport,
)
from prodsupport.slack.markup import escape_placeholders, plain_text
from prodsupport.slack.requests import TS_RE, SlashCommand, escape_mrkdwn

if TYPE_CHECKING:
    from prodsupport.infra.runtime import Runtime

logger = Logger(child=True)
IGNORED_SUBTYPES = {"message_changed", "message_deleted", "channel_join", "channel_leave", "channel_topic"}
CRITICAL_ALERT_RE = re.compile(r"\b(critical|p1|sev ?1)\b", re.IGNORECASE)
MAX_TITLE = 150
RESPONSE_URL_HOST = "hooks.slack.com"
# Longer than a declaration can take (Lambda timeout) plus Slack's retries of it (after 1 and 5 minutes).
CLAIM_HOLD = timedelta(minutes=10)
DECLARATION_TEXT = "Declared the incident from this message"
TRIGGER_ERRORS = frozenset({"invalid_trigger_id", "expired_trigger_id", "exchanged_trigger_id"})
# chat.postEphemeral's answers when the bot cannot post where the shortcut was used (a DM, a private channel).
NOT_POSTABLE_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "restricted_action"})
OWN_VIEW_CALLBACKS = frozenset(
    {"declare_incident", "release_create", "incident_status", "incident_details", "incident_resolve", "incident_email"}
)
FORM_NOT_OPENED = (
    "Slack would not open the form: the request expired or was already used. Run the command again, "
    "or declare at once with `/incident <critical|major|minor> <title>`."
)


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
) -> Incident:
    sequence = rt.store.next_sequence("INC", rt.policy.incident_year(opened_at))
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
        owner=rt.roster.load().email_owner,
        acknowledged_at=acknowledged_at,
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
    incident.thread_ts = incident.card_ts = _send(rt, msg.incident_card(incident, thread_ts=None))
    rt.store.create(incident)
    _announce_declaration_ack(rt, incident)
    return incident


def _announce_declaration_ack(rt: Runtime, incident: Incident) -> None:
    """A human's declaration is the Slack ack; say so with the same metadata a reply would get."""
    deadline = incident.deadlines[Sla.SLACK_ACK]
    if incident.declared_by and deadline.met_at is not None:
        deliver(rt, msg.acknowledged(incident, Sla.SLACK_ACK, deadline, incident.declared_by))


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
) -> None:
    """A declaration on an existing message (an alert, or the message shortcut): that message is the root.

    One incident per message, however many declare it at once: the first to claim the message declares it
    (takes the id, posts the card); any other declaration attaches to that incident, and a person's counts
    as the Slack ack, as their reply in the thread would. A re-delivered alert repairs only a missing card.
    Attaching is changing that incident, so a person who may not change it is refused before anything is
    written; declaring a new incident stays open to anyone in the channel.
    """
    channel = rt.settings.channel_id
    claimant = f"{source.value}:{declared_by}"
    existing = rt.store.get(channel, thread_ts)
    _refuse_attaching(rt, existing, declared_by)
    owner = rt.store.claim_message(channel, thread_ts, claimant, rt.clock(), CLAIM_HOLD)
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
        )
        return
    if owner == claimant and existing is not None:
        _ensure_card(rt, existing)
    if declared_by:
        _refuse_attaching(rt, existing or rt.store.get(channel, thread_ts), declared_by)  # stored since the look
        _acknowledge(rt, Reply(channel, thread_ts, at, declared_by, DECLARATION_TEXT))


def _refuse_attaching(rt: Runtime, incident: Incident | None, declared_by: str) -> None:
    if incident is None or not declared_by:
        return
    refused = authorization.refusal(rt, incident, declared_by)
    if refused:
        raise CommandError(refused)


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
) -> None:
    """The declaration holding the message's claim: store the incident, with any early reply as its ack."""
    channel = rt.settings.channel_id
    opened_at = from_slack_ts(thread_ts)
    incident = _new_incident(
        rt,
        title=title,
        severity=severity,
        source=source,
        thread_ts=thread_ts,
        opened_at=opened_at,
        declared_by=declared_by,
        applications=applications,
        acknowledged_at=at,
    )
    incident.summary = summary
    early = rt.store.early_reply(channel, thread_ts) if not declared_by else None
    try:
        _create_with_early_reply(rt, incident, early, watch=not declared_by)
    except ConditionFailed:
        stored = rt.store.get(channel, thread_ts)
        if stored is not None:
            _ensure_card(rt, stored)
            return
        early = rt.store.early_reply(channel, thread_ts)  # a reply was noted while this was being declared
        if early is None:
            raise
        _create_with_early_reply(rt, incident, early, watch=False)
    incident = _ensure_card(rt, incident)
    if early:
        deliver(rt, msg.acknowledged(incident, Sla.SLACK_ACK, incident.deadlines[Sla.SLACK_ACK], early["user"]))
    _announce_declaration_ack(rt, incident)


def _create_with_early_reply(rt: Runtime, incident: Incident, early: dict[str, Any] | None, *, watch: bool) -> None:
    """Store the incident, with the reply that came before it as its ack.

    `watch`: no reply was found, so the create fails if one is noted meanwhile, just as the reply's note fails
    if this create lands first. Whichever write is second sees the first, so the ack is never lost between.
    """
    if early:
        incident.meet(Sla.SLACK_ACK, parse_iso(early["at"]))
        incident.note(parse_iso(early["at"]), "acknowledged", early["user"], early.get("text", ""))
    rt.store.create(incident, without_early_reply=watch and early is None)


def _ensure_card(rt: Runtime, incident: Incident) -> Incident:
    if incident.card_ts:
        return incident
    card_ts = _send(rt, msg.incident_card(incident, thread_ts=incident.thread_ts))
    rt.store.add_card_alias(incident, card_ts)

    def set_card(current: Incident) -> None:
        current.card_ts = current.card_ts or card_ts

    saved, _ = rt.store.mutate(incident.channel_id, incident.thread_ts, set_card)
    return saved


def alert_title(event: dict[str, Any]) -> str:
    """An alert's first line, or its first attachment's title: integrations put the headline in either."""
    text = str(event.get("text") or "")
    for attachment in event.get("attachments") or []:
        text = text or str(attachment.get("title") or attachment.get("fallback") or "")
    first = text.strip().splitlines()[0] if text.strip() else "Alert"
    return plain_text(re.sub(r"[*_~`]", "", first)).strip() or "Alert"


# --- events -------------------------------------------------------------------------------------------


HANDLED_EVENT_TYPES = frozenset({"message", "reaction_added", "file_shared"})


def on_event(rt: Runtime, event: dict[str, Any]) -> None:
    kind = event.get("type")
    if kind == "message":
        on_message(rt, event)
    elif kind == "reaction_added":
        on_reaction(rt, event)
    elif kind == "file_shared":
        from prodsupport.email import flows as email_flow

        email_flow.on_file_shared(rt, event)


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
        deliver(rt, msg.acknowledged(incident, Sla.SLACK_ACK, ack, reply.user))
    elif _is_the_acknowledging_reply(incident, reply):
        deliver(rt, msg.acknowledged(incident, Sla.SLACK_ACK, ack, reply.user), look_first=True)


def note_alert_recovery(rt: Runtime, base: str, text: str, bot_id: str, at: datetime) -> None:
    """A recovery message goes in the thread of the open incident its alert opened, never opens one.

    Noted on the timeline once (a retried delivery finds the entry) and posted on every handling, so a
    delivery that failed before its post is repaired by Slack's retry.
    """
    incident = recovering_incident(rt.store.open_incidents(), base, MAX_TITLE)
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
        _send(rt, msg.reaction_does_not_count(saved, str(event.get("user") or "")))


# --- commands -----------------------------------------------------------------------------------------


def on_command(rt: Runtime, command: SlashCommand) -> dict[str, Any] | None:
    try:
        if command.command == "/prodsupport":
            return on_roster_command(rt, command)
        if command.command == "/release":
            from prodsupport.release import flows as release_flow

            return release_flow.on_command(rt, command)
        return on_incident_command(rt, command, parse_incident(command.text))
    except CommandError as exc:
        return ephemeral(escape_placeholders(str(exc)))
    except Exception as exc:
        if not _form_not_opened(exc):
            raise
        return ephemeral(FORM_NOT_OPENED)


def _form_not_opened(exc: Exception) -> bool:
    """Slack refuses views.open for a trigger that expired (after 3 s), was used, or is no trigger at all:
    the person is told so, instead of the request failing."""
    from slack_sdk.errors import SlackApiError

    return isinstance(exc, SlackApiError) and exc.response.get("error") in TRIGGER_ERRORS


def on_incident_command(rt: Runtime, command: SlashCommand, parsed: IncidentCommand) -> dict[str, Any] | None:
    match parsed:
        case OpenDeclareForm():
            rt.slack.views_open(
                trigger_id=command.trigger_id,
                view=msg.declare_modal(applications=rt.settings.applications, metadata={"source": "slash_command"}),
            )
            return None
        case Help():
            return ephemeral(parsed.text)
        case ListIncidents():
            listed = msg.incident_list(rt.store.open_incidents(), command.at)
            if rt.settings.github_repo:
                from prodsupport.github import messages, tracking

                github = messages.open_work(*tracking.open_entries(rt.table), command.at)
                listed = f"{listed}\n{github}" if github else listed
            return ephemeral(listed)
        case Declare():
            incident = declare_new_thread(
                rt, title=parsed.title, severity=parsed.severity, at=command.at, user=command.user_id
            )
            return ephemeral(f"Declared *{incident.id}* in <#{incident.channel_id}>.")
    found = _find(rt, getattr(parsed, "incident_id", ""))
    refused = authorization.refusal(rt, found, command.user_id, from_channel=command.channel_id)
    if refused:
        return ephemeral(refused)
    return _incident_change(rt, parsed, found, command.user_id, command.at)


def _find(rt: Runtime, incident_id: str) -> Incident:
    incident = rt.store.get_by_id(incident_id)
    if incident is None:
        raise CommandError(f"There is no incident {incident_id}. `/incident list` shows the open ones.")
    return incident


def _incident_change(
    rt: Runtime, parsed: IncidentCommand, found: Incident, user: str, at: datetime
) -> dict[str, Any] | None:
    incident_id = found.id
    match parsed:
        case SetField():
            label = "Summary" if parsed.field == "summary" else "Business impact"
            update_field(rt, found, parsed.field, parsed.value, user, at)
            return ephemeral(f"{label} of {incident_id} updated.")
        case SetApplications():
            set_applications(rt, found, list(parsed.applications), user, at)
            return ephemeral(f"Applications of {incident_id} updated.")
        case SetSeverity():
            set_severity(rt, found, parsed.severity, user, at)
            return ephemeral(f"{incident_id} is now {parsed.severity.value}.")
        case StatusUpdate():
            post_status(rt, found, parsed.text, parsed.next_update, user, at)
            return ephemeral(f"Status of {incident_id} posted in the thread.")
        case Resolve():
            resolve(rt, found, parsed.text, user, at)
            return ephemeral(f"{incident_id} resolved.")
        case SendEmail():
            from prodsupport.email import flows as email_flow

            return ephemeral(email_flow.request_email(rt, found, user, at))
        case LinkPagerDuty():
            from prodsupport.pagerduty import flows as pagerduty_flow

            return ephemeral(pagerduty_flow.link(rt, found, parsed.pagerduty_id, parsed.url, user, at))
        case PostmortemCheckpoint():
            from prodsupport.postmortem import flows as postmortem_flow

            return ephemeral(postmortem_flow.checkpoint(rt, found, parsed, user, at))
        case AddActionItem():
            from prodsupport.postmortem import flows as postmortem_flow

            return ephemeral(postmortem_flow.action_item(rt, found, parsed, user, at))
    raise CommandError(f"That command is not available in this deployment.\n{INCIDENT_USAGE}")


def _change(rt: Runtime, incident: Incident, change: Callable[[Incident], object], user: str, at: datetime) -> Incident:
    """Apply a person's change and post it in the thread on their behalf.

    That post is a timestamped message by a person, which is how the playbook defines the Slack ack, so
    the first one meets it (a PagerDuty-driven change, with no Slack user, does not).
    """

    def apply(current: Incident) -> bool:
        change(current)
        if user and current.meet(Sla.SLACK_ACK, at) is not None:
            current.note(at, "acknowledged", user, "acknowledged by an update posted in the thread")
            return True
        return False

    saved, acknowledged = rt.store.mutate(incident.channel_id, incident.thread_ts, apply)
    if acknowledged:
        deliver(rt, msg.acknowledged(saved, Sla.SLACK_ACK, saved.deadlines[Sla.SLACK_ACK], user))
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
        rt.policy.change_severity(current, severity)
        current.note(at, "severity", user, severity.value)

    saved = _change(rt, incident, change, user, at)
    text = f"Severity set to *{severity.value}* by {msg.mention(user)}."
    if Sla.STAKEHOLDER_EMAIL in saved.deadlines and saved.deadlines[Sla.STAKEHOLDER_EMAIL].pending:
        text += f" Stakeholder email due {format_et(saved.deadlines[Sla.STAKEHOLDER_EMAIL].due)}."
    _send(rt, msg.incident_updated(saved, field="severity", text=text))
    return saved


def post_status(
    rt: Runtime, incident: Incident, text: str, promise: NextUpdate | None, user: str, at: datetime
) -> Incident:
    """A status update meets any promised update and may promise the next one, which gets its own clock."""
    next_at = promise.resolve(at, rt.policy.calendar.local(at)) if promise else None

    def change(current: Incident) -> None:
        current.current_status = text
        current.status_at = at
        current.next_update_at = next_at
        current.meet(Sla.STATUS_UPDATE, at)
        if next_at is not None:
            current.deadlines[Sla.STATUS_UPDATE] = Deadline(due=next_at)
        current.note(at, "status", user, text)

    saved = _change(rt, incident, change, user, at)
    _send(rt, msg.status_posted(saved, user, at))
    return saved


def resolve(rt: Runtime, incident: Incident, text: str, user: str, at: datetime) -> Incident:
    """Resolve once: the check is inside the conditional write, so two resolves racing post one message.

    Resolving an incident that is already resolved repairs what a failed first attempt left undone (its
    "resolved" post, looked for in the thread before it is posted again; its post-mortem) and otherwise says
    it is already resolved.
    """
    from prodsupport.postmortem import flows as postmortem_flow

    resolved_now: list[bool] = []

    def change(current: Incident) -> None:
        resolved_now[:] = [current.status is not Status.RESOLVED]
        if not resolved_now[0]:
            return
        current.status = Status.RESOLVED
        current.ended_at = at
        current.resolution = text
        current.next_update_at = None
        current.deadlines.pop(Sla.STATUS_UPDATE, None)
        current.note(at, "resolved", user, text)

    saved = _change(rt, incident, change, user, at)
    if resolved_now[0]:
        deliver(rt, msg.resolved(saved, user))
    else:
        if saved.ended_at is not None:  # a record resolved without its time has no post to repair
            deliver(rt, msg.resolved(saved, _resolver(saved)), look_first=True)
        if not postmortem_flow.owed(saved):
            raise CommandError(f"{incident.id} is already resolved.")
    return postmortem_flow.on_resolved(rt, saved, at)


def _resolver(incident: Incident) -> str:
    """Who resolved it, as the timeline says, so a repaired "resolved" post is the one first meant."""
    return next((entry.actor for entry in reversed(incident.timeline) if entry.kind == "resolved"), "")


# --- the roster ---------------------------------------------------------------------------------------


def on_roster_command(rt: Runtime, command: SlashCommand) -> dict[str, Any]:
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


def _apply_roster(roster: Any, change: RosterChange) -> Any:
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


# --- interactions -------------------------------------------------------------------------------------


def on_interaction(rt: Runtime, payload: dict[str, Any], at: datetime) -> dict[str, Any] | None:
    kind = payload.get("type")
    user = str((payload.get("user") or {}).get("id") or "")
    try:
        if kind in ("message_action", "shortcut") and payload.get("callback_id") == "declare_incident":
            _open_declare_form(rt, payload)
        elif kind == "block_actions":
            _on_card_button(rt, payload, at)
    except Exception as exc:
        if not _form_not_opened(exc):
            raise
        return None
    if kind == "view_submission":
        view = payload.get("view") or {}
        callback_id = str(view.get("callback_id") or "")
        if callback_id not in OWN_VIEW_CALLBACKS and not callback_id.startswith("postmortem_"):
            logger.info("ignored a view submission this app did not open", callback_id=callback_id[:80])
            return None  # Slack closes a view answered with an empty 200; the errors answer is for our forms
        try:
            _on_submission(rt, callback_id, view, user, at)
        except CommandError as exc:
            return {"response_action": "errors", "errors": {_first_block(view): str(exc)}}
    return None


def _open_declare_form(rt: Runtime, payload: dict[str, Any]) -> None:
    metadata = {"source": "slash_command"}
    title = ""
    message = payload.get("message")
    if payload.get("type") == "message_action" and isinstance(message, dict):
        channel = str((payload.get("channel") or {}).get("id") or "")
        if channel != rt.settings.channel_id:
            _tell_declared_elsewhere(rt, payload, channel)
            return
        root = str(message.get("thread_ts") or message.get("ts") or "")
        metadata = {"source": "message_shortcut", "message_ts": root}
        title = alert_title(message)
    rt.slack.views_open(
        trigger_id=str(payload.get("trigger_id") or ""),
        view=msg.declare_modal(applications=rt.settings.applications, title=title, metadata=metadata),
    )


def _tell_declared_elsewhere(rt: Runtime, payload: dict[str, Any], channel: str) -> None:
    """Said as an ephemeral where the shortcut was used; where the bot cannot post (a DM, a channel it is not
    in), Slack answers channel_not_found, so the same words go in a modal on the shortcut's trigger."""
    from slack_sdk.errors import SlackApiError

    text = f"Incidents are declared in <#{rt.settings.channel_id}>; this message is elsewhere."
    try:
        rt.slack.chat_postEphemeral(channel=channel, user=str((payload.get("user") or {}).get("id") or ""), text=text)
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_POSTABLE_ERRORS:
            raise
        logger.info("the shortcut's channel cannot be posted to; answering in a modal", error=exc.response["error"])
        rt.slack.views_open(trigger_id=str(payload.get("trigger_id") or ""), view=msg.notice_modal("Not here", text))


def _on_card_button(rt: Runtime, payload: dict[str, Any], at: datetime) -> None:
    for action in payload.get("actions") or []:
        kind = str(action.get("action_id") or "").removeprefix("incident_")
        incident = rt.store.get_by_id(str(action.get("value") or ""))
        trigger_id = str(payload.get("trigger_id") or "")
        if incident is None:
            continue
        user = str((payload.get("user") or {}).get("id") or "")
        refused = authorization.refusal(rt, incident, user)
        if refused:
            _tell_who_clicked(rt, payload, incident, user, refused)
            continue
        if kind in ("status", "details", "resolve"):
            rt.slack.views_open(trigger_id=trigger_id, view=msg.incident_modal(incident, kind))
        elif kind == "email":
            from prodsupport.email import flows as email_flow

            email_flow.open_email_modal(rt, incident, trigger_id, user)
        elif kind.startswith("postmortem_"):
            from prodsupport.postmortem import flows as postmortem_flow

            postmortem_flow.on_button(rt, incident, kind.removeprefix("postmortem_"), trigger_id, user, at)


def _tell_who_clicked(rt: Runtime, payload: dict[str, Any], incident: Incident, user: str, text: str) -> None:
    """An ephemeral answer to the person who clicked, through the click's `response_url`: Slack refuses
    chat.postEphemeral to someone outside the channel (`user_not_in_channel`), who is just who is refused.
    The refusal is told at most once and never fails the request: nothing was changed either way."""
    from urllib.parse import urlsplit

    from slack_sdk.errors import SlackApiError
    from slack_sdk.webhook import WebhookClient

    from prodsupport.infra.slack_api import TIMEOUT_SECONDS

    response_url = str(payload.get("response_url") or "")
    slack_hosts = {RESPONSE_URL_HOST, urlsplit(rt.settings.slack_api_url).netloc}
    try:
        if urlsplit(response_url).netloc in slack_hosts:
            WebhookClient(response_url, timeout=TIMEOUT_SECONDS, retry_handlers=[]).send(
                text=text, response_type="ephemeral", replace_original=False
            )
        else:
            rt.slack.chat_postEphemeral(channel=incident.channel_id, user=user, text=text)
    except (SlackApiError, OSError) as exc:
        logger.warning("could not tell a refused person why", user=user, error=type(exc).__name__)


def _first_block(view: dict[str, Any]) -> str:
    blocks = view.get("blocks") or [{}]
    return str(blocks[0].get("block_id") or "title")


def form_values(view: dict[str, Any]) -> dict[str, Any]:
    """Flatten `view.state.values` to {block_id: value}: text, selected option, or selected options."""
    flat: dict[str, Any] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for element in actions.values():
            if "selected_options" in element:
                flat[block_id] = [o["value"] for o in element.get("selected_options") or []]
            elif "selected_option" in element:
                flat[block_id] = (element.get("selected_option") or {}).get("value")
            elif "selected_date" in element:
                flat[block_id] = element.get("selected_date") or ""
            else:
                flat[block_id] = (element.get("value") or "").strip()
    return flat


def _on_submission(rt: Runtime, callback_id: str, view: dict[str, Any], user: str, at: datetime) -> None:
    values = form_values(view)
    if callback_id == "declare_incident":
        _declare_from_form(rt, view, values, user, at)
        return
    if callback_id == "release_create":
        from prodsupport.release import flows as release_flow

        release_flow.submit_modal(rt, values, user, at)
        return
    incident = _find(rt, str(view.get("private_metadata") or ""))
    refused = authorization.refusal(rt, incident, user)
    if refused:
        raise CommandError(refused)
    if callback_id == "incident_status":
        status = str(values.get("status") or "")
        if not status:
            raise CommandError("The status is missing.")
        next_text = str(values.get("next") or "")
        _, promise = parse_next_update(f"x next {next_text}") if next_text else ("", None)
        if next_text and promise is None:
            raise CommandError("Next update: use 2h, 30m or HH:MM (ET).")
        post_status(rt, incident, status, promise, user, at)
    elif callback_id == "incident_details":
        for field in ("summary", "business_impact"):
            if values.get(field) and values[field] != getattr(incident, field):
                incident = update_field(rt, incident, field, str(values[field]), user, at)
        apps = [a.strip() for a in str(values.get("applications") or "").split(",") if a.strip()]
        if apps and apps != incident.applications:
            set_applications(rt, incident, apps, user, at)
    elif callback_id == "incident_resolve":
        resolution = str(values.get("resolution") or "")
        if not resolution:
            raise CommandError("The resolution is missing.")
        resolve(rt, incident, resolution, user, at)
    elif callback_id == "incident_email":
        from prodsupport.email import flows as email_flow

        email_flow.submit_email_modal(rt, incident, values, user, at)
    elif callback_id.startswith("postmortem_"):
        from prodsupport.postmortem import flows as postmortem_flow

        postmortem_flow.submit_modal(rt, incident, callback_id.removeprefix("postmortem_"), values, user, at)


def _declare_from_form(rt: Runtime, view: dict[str, Any], values: dict[str, Any], user: str, at: datetime) -> None:
    title = str(values.get("title") or "")
    if not title:
        raise CommandError("The title is missing.")
    try:
        severity = Severity(str(values.get("severity") or "major"))
    except ValueError:
        raise CommandError("Severity must be critical, major or minor.") from None
    apps = [str(a) for a in values.get("applications") or []] or None
    summary = str(values.get("summary") or "")
    metadata = _json_object(str(view.get("private_metadata") or "{}"))
    if metadata.get("source") == "message_shortcut" and metadata.get("message_ts"):
        if not isinstance(metadata["message_ts"], str) or not TS_RE.match(metadata["message_ts"]):
            raise CommandError("This form was opened on a message Slack did not identify; declare it again.")
        declare_in_thread(
            rt,
            thread_ts=str(metadata["message_ts"]),
            title=title,
            severity=severity,
            source=Source.MESSAGE_SHORTCUT,
            declared_by=user,
            at=at,
            applications=apps,
            summary=summary,
        )
        return
    declare_new_thread(rt, title=title, severity=severity, at=at, user=user, applications=apps, summary=summary)


def _json_object(text: str) -> dict[str, Any]:
    try:
        parsed = inbound_json.loads(text)
    except inbound_json.BadJson:
        return {}
    return parsed if isinstance(parsed, dict) else {}
