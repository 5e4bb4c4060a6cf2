"""Who may change an incident: a member of its channel, acting from that channel (or a configured one).

Any workspace member can run a slash command anywhere and click a button on any message they can see, so
a change is accepted only when Slack's own membership list of the incident's channel names the person.
That list is read with `conversations.members` (every page) and kept per Lambda container for
`member_cache_seconds`: one read serves every change in that window, and a person missing from a cached
list is looked up once more, so someone who has just joined is not turned away until the cache expires.
Reading (`list`, `help`) and declaring stay open to everyone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from prodsupport.incident.model import Incident
from prodsupport.infra.slack_api import TIMEOUT_SECONDS

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
RESPONSE_URL_HOST = "hooks.slack.com"


def refusal(rt: Runtime, incident: Incident, user_id: str, *, from_channel: str | None = None) -> str | None:
    """Why `user_id` may not change `incident`, or None when they may.

    `from_channel` is where a slash command was typed; buttons and forms pass None, because they sit on the
    bot's own messages or modals, where the person's membership is what matters.
    """
    home = incident.channel_id
    allowed_channels = {home, *rt.settings.command_channel_ids}
    if from_channel is not None and from_channel not in allowed_channels:
        return f"Changes to {incident.id} are made in <#{home}>, where the team can see them. Nothing was changed."
    try:
        member = rt.channel_members.includes(home, user_id)
    except SlackApiError as exc:
        error = exc.response.get("error")
        return f"I could not check who is in <#{home}> (Slack answered `{error}`), so nothing was changed."
    if not member:
        return f"Only members of <#{home}> can change {incident.id}. Join the channel first; nothing was changed."
    return None


def tell_who_clicked(rt: Runtime, payload: dict[str, Any], incident: Incident, user: str, text: str) -> None:
    """An ephemeral answer to the person who clicked, through the click's `response_url`: Slack refuses
    chat.postEphemeral to someone outside the channel (`user_not_in_channel`), who is just who is refused.
    The refusal is told at most once and never fails the request: nothing was changed either way."""
    response_url = str(payload.get("response_url") or "")
    slack_hosts = {RESPONSE_URL_HOST, urlsplit(rt.settings.slack_api_url).netloc}
    rt.before_effect()  # the response URL is outside the WebClient: a repeat of this click must stop here
    try:
        if urlsplit(response_url).netloc in slack_hosts:
            WebhookClient(response_url, timeout=TIMEOUT_SECONDS, retry_handlers=[]).send(
                text=text, response_type="ephemeral", replace_original=False
            )
        else:
            rt.slack.chat_postEphemeral(channel=incident.channel_id, user=user, text=text)
    except (SlackApiError, OSError) as exc:
        logger.warning("could not tell a refused person why", user=user, error=type(exc).__name__)
