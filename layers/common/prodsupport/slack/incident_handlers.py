"""Incidents from Slack: the channel's messages and reactions, `/incident`, the declare shortcut and form, and
the card's status, details and resolve buttons and forms.

Each handler reads what Slack sent into plain values and calls one use case in prodsupport.incident.flows
(resolving goes through the post-mortem package, which starts the post-mortem a resolve may owe).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackApiError

from prodsupport.core import inbound_json
from prodsupport.core.errors import UserError
from prodsupport.incident import flows as incident_flow
from prodsupport.incident import messages as msg
from prodsupport.incident.model import Incident, Severity, Source
from prodsupport.slack import authorization
from prodsupport.slack.requests import TS_RE, SlashCommand
from prodsupport.slack.router import Answer, ephemeral, team_metadata

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime
    from prodsupport.slack import commands
    from prodsupport.slack.router import Router

logger = Logger(child=True)
# chat.postEphemeral's answers when the bot cannot post where the shortcut was used (a DM, a private channel).
NOT_POSTABLE_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "restricted_action"})


# --- commands that name no incident -------------------------------------------------------------------


def _open_form(rt: Runtime, command: SlashCommand, parsed: commands.OpenDeclareForm) -> Answer:
    rt.slack.views_open(
        trigger_id=command.trigger_id,
        view=msg.declare_modal(
            applications=rt.settings.applications, metadata={"source": "slash_command", **team_metadata(rt)}
        ),
    )
    return None


def _help(rt: Runtime, command: SlashCommand, parsed: commands.Help) -> Answer:
    return ephemeral(parsed.text)


def _list(rt: Runtime, command: SlashCommand, parsed: commands.ListIncidents) -> Answer:
    from prodsupport.postmortem import github_messages, github_tracking

    own = [incident for incident in rt.store.open_incidents() if incident.team == rt.team_id]
    listed = msg.incident_list(own, command.at, zone=rt.zone)
    if rt.settings.github_repo:
        github = github_messages.open_work(*github_tracking.team_entries(rt.table, rt.id_prefix), command.at)
        listed = f"{listed}\n{github}" if github else listed
    return ephemeral(listed)


def _declare(rt: Runtime, command: SlashCommand, parsed: commands.Declare) -> Answer:
    incident = incident_flow.declare_new_thread(
        rt, title=parsed.title, severity=parsed.severity, at=command.at, user=command.user_id
    )
    return ephemeral(f"Declared *{incident.id}* in <#{incident.channel_id}>.")


# --- changes to one incident --------------------------------------------------------------------------


def _set_field(rt: Runtime, command: SlashCommand, parsed: commands.SetField, incident: Incident) -> str:
    label = "Summary" if parsed.field == "summary" else "Business impact"
    incident_flow.update_field(rt, incident, parsed.field, parsed.value, command.user_id, command.at)
    return f"{label} of {incident.id} updated."


def _set_applications(rt: Runtime, command: SlashCommand, parsed: commands.SetApplications, incident: Incident) -> str:
    from prodsupport.slack.partner_handlers import suggest_after_applications

    saved = incident_flow.set_applications(rt, incident, list(parsed.applications), command.user_id, command.at)
    suggest_after_applications(rt, saved)
    return f"Applications of {incident.id} updated."


def _set_severity(rt: Runtime, command: SlashCommand, parsed: commands.SetSeverity, incident: Incident) -> str:
    incident_flow.set_severity(rt, incident, parsed.severity, command.user_id, command.at)
    return f"{incident.id} is now {parsed.severity.value}."


def _post_status(rt: Runtime, command: SlashCommand, parsed: commands.StatusUpdate, incident: Incident) -> str:
    incident_flow.post_status(rt, incident, parsed.text, parsed.next_update, command.user_id, command.at)
    return f"Status of {incident.id} posted in the thread."


def _resolve(rt: Runtime, command: SlashCommand, parsed: commands.Resolve, incident: Incident) -> str:
    from prodsupport.postmortem.flows import resolve_incident

    resolve_incident(rt, incident, parsed.text, command.user_id, command.at)
    return f"{incident.id} resolved."


# --- the declare shortcut and form --------------------------------------------------------------------


def _open_declare_form(rt: Runtime, payload: dict[str, Any]) -> None:
    metadata = {"source": "slash_command", **team_metadata(rt)}
    title = ""
    message = payload.get("message")
    if payload.get("type") == "message_action" and isinstance(message, dict):
        channel = str((payload.get("channel") or {}).get("id") or "")
        if channel != rt.settings.channel_id:
            _tell_declared_elsewhere(rt, payload, channel)
            return
        root = str(message.get("thread_ts") or message.get("ts") or "")
        metadata = {"source": "message_shortcut", "message_ts": root, **team_metadata(rt)}
        title = incident_flow.alert_title(message)
    rt.slack.views_open(
        trigger_id=str(payload.get("trigger_id") or ""),
        view=msg.declare_modal(applications=rt.settings.applications, title=title, metadata=metadata),
    )


def _tell_declared_elsewhere(rt: Runtime, payload: dict[str, Any], channel: str) -> None:
    """Said as an ephemeral where the shortcut was used; where the bot cannot post (a DM, a channel it is not
    in), Slack answers channel_not_found, so the same words go in a modal on the shortcut's trigger."""
    text = f"Incidents are declared in <#{rt.settings.channel_id}>; this message is elsewhere."
    try:
        rt.slack.chat_postEphemeral(channel=channel, user=str((payload.get("user") or {}).get("id") or ""), text=text)
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_POSTABLE_ERRORS:
            raise
        logger.info("the shortcut's channel cannot be posted to; answering in a modal", error=exc.response["error"])
        rt.slack.views_open(trigger_id=str(payload.get("trigger_id") or ""), view=msg.notice_modal("Not here", text))


def _declare_submitted(rt: Runtime, view: dict[str, Any], values: dict[str, Any], user: str, at: datetime) -> None:
    from prodsupport.slack.partner_handlers import suggest_after_applications

    title = str(values.get("title") or "")
    if not title:
        raise UserError("The title is missing.")
    try:
        severity = Severity(str(values.get("severity") or "major"))
    except ValueError:
        raise UserError("Severity must be critical, major or minor.") from None
    apps = [str(a) for a in values.get("applications") or []] or None
    summary = str(values.get("summary") or "")
    metadata = _json_object(str(view.get("private_metadata") or "{}"))
    if metadata.get("source") == "message_shortcut" and metadata.get("message_ts"):
        if not isinstance(metadata["message_ts"], str) or not TS_RE.match(metadata["message_ts"]):
            raise UserError("This form was opened on a message Slack did not identify; declare it again.")
        incident_flow.declare_in_thread(
            rt,
            thread_ts=str(metadata["message_ts"]),
            title=title,
            severity=severity,
            source=Source.MESSAGE_SHORTCUT,
            declared_by=user,
            at=at,
            applications=apps,
            summary=summary,
            may_change=lambda incident: authorization.refusal(rt, incident, user),
        )
        declared = rt.store.get(rt.settings.channel_id, str(metadata["message_ts"])) if apps else None
        if declared is not None:
            suggest_after_applications(rt, declared)
        return
    incident = incident_flow.declare_new_thread(
        rt, title=title, severity=severity, at=at, user=user, applications=apps, summary=summary
    )
    if apps:
        suggest_after_applications(rt, incident)


def _json_object(text: str) -> dict[str, Any]:
    try:
        parsed = inbound_json.loads(text)
    except inbound_json.BadJson:
        return {}
    return parsed if isinstance(parsed, dict) else {}


# --- the card's buttons and forms ---------------------------------------------------------------------


def _open_card_form(rt: Runtime, incident: Incident, kind: str, payload: dict[str, Any], at: datetime) -> None:
    rt.slack.views_open(trigger_id=str(payload.get("trigger_id") or ""), view=msg.incident_modal(incident, kind))


def _status_submitted(
    rt: Runtime, incident: Incident, callback_id: str, values: dict[str, Any], user: str, at: datetime
) -> None:
    from prodsupport.incident.next_update import parse_next_update_field

    status = str(values.get("status") or "")
    if not status:
        raise UserError("The status is missing.")
    promise = parse_next_update_field(str(values.get("next") or ""))
    incident_flow.post_status(rt, incident, status, promise, user, at)


def _details_submitted(
    rt: Runtime, incident: Incident, callback_id: str, values: dict[str, Any], user: str, at: datetime
) -> None:
    from prodsupport.slack.partner_handlers import suggest_after_applications

    for field in ("summary", "business_impact"):
        if values.get(field) and values[field] != getattr(incident, field):
            incident = incident_flow.update_field(rt, incident, field, str(values[field]), user, at)
    apps = [a.strip() for a in str(values.get("applications") or "").split(",") if a.strip()]
    if apps and apps != incident.applications:
        suggest_after_applications(rt, incident_flow.set_applications(rt, incident, apps, user, at))


def _resolve_submitted(
    rt: Runtime, incident: Incident, callback_id: str, values: dict[str, Any], user: str, at: datetime
) -> None:
    from prodsupport.postmortem.flows import resolve_incident

    resolution = str(values.get("resolution") or "")
    if not resolution:
        raise UserError("The resolution is missing.")
    resolve_incident(rt, incident, resolution, user, at)


def register_events(router: Router) -> None:
    router.event("message", incident_flow.on_message)
    router.event("reaction_added", incident_flow.on_reaction)


def register(router: Router) -> None:
    from prodsupport.slack import commands

    router.incident_command(commands.OpenDeclareForm, _open_form)
    router.incident_command(commands.Help, _help)
    router.incident_command(commands.ListIncidents, _list)
    router.incident_command(commands.Declare, _declare)
    router.incident_verb(commands.SetField, _set_field)
    router.incident_verb(commands.SetApplications, _set_applications)
    router.incident_verb(commands.SetSeverity, _set_severity)
    router.incident_verb(commands.StatusUpdate, _post_status)
    router.incident_verb(commands.Resolve, _resolve)
    router.shortcut("declare_incident", _open_declare_form)
    router.view("declare_incident", _declare_submitted)
    for kind in ("status", "details", "resolve"):
        router.action(kind, _open_card_form)
    router.incident_view("incident_status", _status_submitted)
    router.incident_view("incident_details", _details_submitted)
    router.incident_view("incident_resolve", _resolve_submitted)
