"""Where each Slack request goes: a small registry each domain's handlers register with, and the one place
where a refusal becomes an answer.

Commands are routed by slash command (and `/incident`'s parsed verb), block actions by `action_id` prefix,
view submissions by `callback_id`, shortcuts by `callback_id`, events by type. With several teams, the router
also chooses whose playbook handles a request (docs/design.md#teams): an event's or a command's channel, an
incident's own team for anything naming an incident, the form's `team` for a submission. A handler raises
`UserError` for anything the person must change; the router answers it once: an ephemeral reply to a
command, the form's error to a submission, an ephemeral message to a click. Slack refusing `views.open`
for a trigger that expired or was used is told to the person, not failed.

An Events API event needs only the event types' routes (each domain's `register_events`); the commands,
shortcuts, buttons and forms, with the command parser and the models they name, are registered with the first
command or interaction (`slack.events.routes`). A handler module imports its domain's use cases inside the
handler, so a container's first request loads only the domain it needs (cold start).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackApiError

from prodsupport.core.errors import UserError
from prodsupport.core.mrkdwn import escape_placeholders
from prodsupport.core.settings import TeamUnavailable
from prodsupport.incident.flows import find
from prodsupport.incident.model import Incident
from prodsupport.infra import metrics
from prodsupport.slack import authorization
from prodsupport.slack.requests import SlashCommand

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime
    from prodsupport.slack.commands import IncidentCommand

logger = Logger(child=True)
type Answer = dict[str, Any] | None
type EventHandler = Callable[[Runtime, dict[str, Any]], None]
type CommandHandler = Callable[[Runtime, SlashCommand], Answer]
type VerbHandler = Callable[[Runtime, SlashCommand, Any, Incident], str]
type PlainVerbHandler = Callable[[Runtime, SlashCommand, Any], Answer]
type ShortcutHandler = Callable[[Runtime, dict[str, Any]], None]
type ActionHandler = Callable[[Runtime, Incident, str, dict[str, Any], datetime], None]
type ViewHandler = Callable[[Runtime, dict[str, Any], dict[str, Any], str, datetime], None]
type IncidentViewHandler = Callable[[Runtime, Incident, str, dict[str, Any], str, datetime], None]

TRIGGER_ERRORS = frozenset({"invalid_trigger_id", "expired_trigger_id", "exchanged_trigger_id"})
FORM_NOT_OPENED = (
    "Slack would not open the form: the request expired or was already used. Run the command again, "
    "or declare at once with `/incident <critical|major|minor> <title>`."
)
INCIDENT_ACTION_PREFIX = "incident_"


def ephemeral(text: str) -> dict[str, Any]:
    """A slash-command answer only the person who typed the command sees."""
    return {"response_type": "ephemeral", "text": text}


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


def _form_not_opened(exc: Exception) -> bool:
    """Slack refuses views.open for a trigger that expired (after 3 s), was used, or is no trigger at all."""
    return isinstance(exc, SlackApiError) and exc.response.get("error") in TRIGGER_ERRORS


def _first_block(view: dict[str, Any]) -> str:
    blocks = view.get("blocks") or [{}]
    return str(blocks[0].get("block_id") or "title")


def _lookup[H](table: dict[str, H], key: str) -> H | None:
    """An exact key, or the longest registered key ending in `_` that `key` starts with."""
    if key in table:
        return table[key]
    prefixes = [k for k in table if k.endswith("_") and key.startswith(k)]
    return table[max(prefixes, key=len)] if prefixes else None


def no_team_here(channel_id: str) -> str:
    return (
        f"No team runs its playbook in <#{channel_id}>: run this in your team's incident channel. Nothing was changed."
    )


def team_metadata(rt: Runtime) -> dict[str, str]:
    """Put in a form's `private_metadata`, so its submission is handled by the team that opened it."""
    return {"team": rt.team_id} if rt.several_teams else {}


def _channel_team(rt: Runtime, channel_id: str) -> Runtime:
    """The team view for a command typed in `channel_id`; a UserError when no team owns it or its team's
    configuration is bad."""
    try:
        view = rt.for_channel(channel_id)
    except TeamUnavailable as exc:
        raise UserError(f"This channel's team cannot be served now ({exc}); tell a prodsupport admin.") from None
    if view is None:
        raise UserError(no_team_here(channel_id))
    return view


def _shortcut_team(rt: Runtime, channel_id: str) -> Runtime:
    """A shortcut used in a team's channel is that team's; anywhere else (a global shortcut, another channel,
    a team that cannot be served) the default team's, whose handler says where incidents are declared."""
    try:
        return rt.for_channel(channel_id) or rt.root
    except TeamUnavailable:
        return rt.root


def _event_channel(event: dict[str, Any]) -> str:
    """Where an event happened: a message's `channel`, a reaction's `item.channel`, a file's `channel_id`."""
    item = event.get("item")
    channel = event.get("channel") or (item.get("channel") if isinstance(item, dict) else None)
    return str(channel or event.get("channel_id") or "")


def _form_team(rt: Runtime, view: dict[str, Any]) -> Runtime:
    try:
        metadata = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        return rt
    team = metadata.get("team") if isinstance(metadata, dict) else None
    if not isinstance(team, str):
        return rt
    try:
        return rt.for_team(team)
    except TeamUnavailable as exc:
        raise UserError(str(exc)) from None


def _incident_team(rt: Runtime, incident: Incident) -> Runtime:
    """Whatever names an incident is handled with its team's playbook, wherever it was typed or clicked."""
    try:
        return rt.for_team(incident.team)
    except TeamUnavailable as exc:
        raise UserError(f"{incident.id} cannot be changed now: {exc}. Nothing was changed.") from None


def _incident_of(rt: Runtime, payload: dict[str, Any], action: dict[str, Any], *, routed: bool) -> Incident | None:
    """A button carries its incident's id as its value; a select has no value of its own, so the incident of
    a select this app handles is the one whose message (the card) it sits on."""
    if action.get("value") or not routed:
        return rt.store.get_by_id(str(action.get("value") or ""))
    container = payload.get("container") or {}
    channel = str((payload.get("channel") or {}).get("id") or container.get("channel_id") or "")
    message_ts = str(container.get("message_ts") or "")
    return rt.store.get_by_message(channel, message_ts) if channel and message_ts else None


def _unavailable() -> NoReturn:
    from prodsupport.slack.commands import INCIDENT_USAGE  # noqa: PLC0415 - loaded with the first command

    raise UserError(f"That command is not available in this deployment.\n{INCIDENT_USAGE}")


@dataclass
class Router:
    """The routing table; `slack.events` builds it from every domain's `register_events`, then `register`."""

    events: dict[str, EventHandler] = field(default_factory=dict)
    personal_events: set[str] = field(default_factory=set)
    commands: dict[str, CommandHandler] = field(default_factory=dict)
    incident_commands: dict[type, PlainVerbHandler] = field(default_factory=dict)
    incident_verbs: dict[type, VerbHandler] = field(default_factory=dict)
    shortcuts: dict[str, ShortcutHandler] = field(default_factory=dict)
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    views: dict[str, ViewHandler] = field(default_factory=dict)
    incident_views: dict[str, IncidentViewHandler] = field(default_factory=dict)

    # --- registration -----------------------------------------------------------------------------------

    def event(self, kind: str, handler: EventHandler, *, personal: bool = False) -> None:
        """`personal`: the event is about a person, not a channel (the App Home): it is given the default team's
        view, and the handler finds that person's teams."""
        self.events[kind] = handler
        if personal:
            self.personal_events.add(kind)

    def command(self, name: str, handler: CommandHandler) -> None:
        self.commands[name] = handler

    def incident_command(self, kind: type, handler: PlainVerbHandler) -> None:
        """An `/incident` form that names no incident (declare, list, help, the form)."""
        self.incident_commands[kind] = handler

    def incident_verb(self, kind: type, handler: VerbHandler) -> None:
        """An `/incident <id> <verb>`: the router finds the incident and checks who may change it first."""
        self.incident_verbs[kind] = handler

    def shortcut(self, callback_id: str, handler: ShortcutHandler) -> None:
        self.shortcuts[callback_id] = handler

    def action(self, kind: str, handler: ActionHandler) -> None:
        """A button on an incident's messages (`incident_<kind>`, its value the incident id); a `kind` ending
        in `_` is a prefix, and the handler is given the whole kind to tell its buttons apart."""
        self.actions[kind] = handler

    def view(self, callback_id: str, handler: ViewHandler) -> None:
        self.views[callback_id] = handler

    def incident_view(self, callback_id: str, handler: IncidentViewHandler) -> None:
        """A form about one incident (its id in `private_metadata`); `callback_id` ending in `_` is a prefix."""
        self.incident_views[callback_id] = handler

    # --- dispatch -----------------------------------------------------------------------------------------

    def handles_event(self, kind: object) -> bool:
        return isinstance(kind, str) and kind in self.events

    def on_event(self, rt: Runtime, event: dict[str, Any]) -> None:
        """An event is its channel's team's; one in a channel no team owns is not for this app."""
        handler = self.events.get(str(event.get("type")))
        if handler is None:
            return
        if event.get("type") in self.personal_events:
            handler(rt.root, event)
            return
        try:
            view = rt.for_channel(_event_channel(event))
        except TeamUnavailable as exc:
            logger.error("ignored an event of a team that cannot be served", error=str(exc))
            metrics.count("TeamConfigErrors")
            return
        if view is not None:
            handler(view, event)

    def on_command(self, rt: Runtime, command: SlashCommand) -> Answer:
        try:
            handler = self.commands.get(command.command)
            if handler is None:
                return self._on_incident_command(rt, command)
            return handler(_channel_team(rt, command.channel_id), command)
        except UserError as exc:
            return ephemeral(escape_placeholders(str(exc)))
        except SlackApiError as exc:
            if not _form_not_opened(exc):
                raise
            return ephemeral(FORM_NOT_OPENED)

    def _on_incident_command(self, rt: Runtime, command: SlashCommand) -> Answer:
        from prodsupport.slack.commands import parse_incident  # noqa: PLC0415 - an event never parses a command

        parsed: IncidentCommand = parse_incident(command.text)
        plain = self.incident_commands.get(type(parsed))
        if plain is not None:
            return plain(_channel_team(rt, command.channel_id), command, parsed)
        verb = self.incident_verbs.get(type(parsed))
        found = find(rt, getattr(parsed, "incident_id", ""))
        rt = _incident_team(rt, found)
        refused = authorization.refusal(rt, found, command.user_id, from_channel=command.channel_id)
        if refused:
            return ephemeral(refused)
        if verb is None:
            _unavailable()
        return ephemeral(verb(rt, command, parsed, found))

    def on_interaction(self, rt: Runtime, payload: dict[str, Any], at: datetime) -> Answer:
        kind = payload.get("type")
        try:
            if kind in ("message_action", "shortcut"):
                shortcut = self.shortcuts.get(str(payload.get("callback_id") or ""))
                channel = str((payload.get("channel") or {}).get("id") or "")
                if shortcut is not None:
                    shortcut(_shortcut_team(rt, channel), payload)
            elif kind == "block_actions":
                self._on_actions(rt, payload, at)
        except SlackApiError as exc:
            if not _form_not_opened(exc):
                raise
            return None
        if kind == "view_submission":
            return self._on_submission(rt, payload, at)
        return None

    def _action(self, action_id: str) -> tuple[str, ActionHandler] | None:
        kind = action_id.removeprefix(INCIDENT_ACTION_PREFIX)
        handler = _lookup(self.actions, kind)
        return None if handler is None else (kind, handler)

    def _on_actions(self, rt: Runtime, payload: dict[str, Any], at: datetime) -> None:
        for action in payload.get("actions") or []:
            routed = self._action(str(action.get("action_id") or ""))
            incident = _incident_of(rt, payload, action, routed=routed is not None)
            if incident is None:
                continue
            user = str((payload.get("user") or {}).get("id") or "")
            try:
                team = _incident_team(rt, incident)
            except UserError as exc:
                authorization.tell_who_clicked(rt, payload, incident, user, str(exc))
                continue
            refused = authorization.refusal(team, incident, user)
            if refused:
                authorization.tell_who_clicked(team, payload, incident, user, refused)
                continue
            if routed is None:
                continue
            kind, handler = routed
            try:
                handler(team, incident, kind, payload, at)
            except UserError as exc:
                team.slack.chat_postEphemeral(
                    channel=incident.channel_id, user=user, text=escape_placeholders(str(exc))
                )

    def _on_submission(self, rt: Runtime, payload: dict[str, Any], at: datetime) -> Answer:
        view = payload.get("view") or {}
        callback_id = str(view.get("callback_id") or "")
        user = str((payload.get("user") or {}).get("id") or "")
        plain = self.views.get(callback_id)
        about_incident = _lookup(self.incident_views, callback_id)
        if plain is None and about_incident is None:
            logger.info("ignored a view submission this app did not open", callback_id=callback_id[:80])
            return None  # Slack closes a view answered with an empty 200; the errors answer is for our forms
        try:
            values = form_values(view)
            if plain is not None:
                plain(_form_team(rt, view), view, values, user, at)
            elif about_incident is not None:
                incident = find(rt, str(view.get("private_metadata") or ""))
                team = _incident_team(rt, incident)
                refused = authorization.refusal(team, incident, user)
                if refused:
                    raise UserError(refused)
                about_incident(team, incident, callback_id, values, user, at)
        except UserError as exc:
            return {"response_action": "errors", "errors": {_first_block(view): str(exc)}}
        return None
