"""Releases from Slack: `/release …` and the announce form (the digest and the day's email run on a schedule)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, assert_never

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackApiError

from prodsupport.core.errors import UserError
from prodsupport.release.model import (
    FORM_CALLBACK_ID,
    RELEASE_USAGE,
    Announce,
    CancelRelease,
    ListReleases,
    OpenReleaseForm,
    ReleaseHelp,
    ReleaseInputError,
    parse_release,
)
from prodsupport.slack.requests import SlashCommand
from prodsupport.slack.router import ephemeral, team_metadata

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime
    from prodsupport.slack.router import Router

logger = Logger(child=True)


def _on_command(rt: Runtime, command: SlashCommand) -> dict[str, Any] | None:
    from prodsupport.release import flows as release_flow

    try:
        parsed = parse_release(command.text, rt.settings.applications)
    except ReleaseInputError as exc:
        raise UserError(str(exc)) from None
    match parsed:
        case OpenReleaseForm():
            return _open_form(rt, command.trigger_id)
        case ReleaseHelp():
            return ephemeral(RELEASE_USAGE)
        case ListReleases():
            return ephemeral(release_flow.list_text(rt, command.at))
        case CancelRelease():
            return ephemeral(release_flow.cancel(rt, parsed.release_id, command.user_id, command.at))
        case Announce():
            release, warnings = release_flow.announce(
                rt,
                application=parsed.application,
                day=parsed.day,
                summary=parsed.summary,
                user=command.user_id,
                at=command.at,
            )
            return ephemeral(release_flow.confirmation(rt, release, warnings))
    assert_never(parsed)


def _open_form(rt: Runtime, trigger_id: str) -> dict[str, Any] | None:
    from prodsupport.release import flows as release_flow

    try:
        view = release_flow.release_modal(rt.settings.applications)
        if team_metadata(rt):
            view["private_metadata"] = json.dumps(team_metadata(rt))
        rt.slack.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        logger.warning("could not open the release form", error=str(exc.response.get("error")))
        return ephemeral(f"I couldn't open the release form. Use the text form instead:\n{RELEASE_USAGE}")
    return None


def _submitted(rt: Runtime, view: dict[str, Any], values: dict[str, Any], user: str, at: datetime) -> None:
    from prodsupport.release import flows as release_flow

    release_flow.submit_modal(rt, values, user, at)


def register(router: Router) -> None:
    router.command("/release", _on_command)
    router.view(FORM_CALLBACK_ID, _submitted)
