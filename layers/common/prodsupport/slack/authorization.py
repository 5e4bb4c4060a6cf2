"""Who may change an incident: a member of its channel, acting from that channel (or a configured one).

Any workspace member can run a slash command anywhere and click a button on any message they can see, so
a change is accepted only when Slack's own membership list of the incident's channel names the person.
That list is read with `conversations.members` (every page) and kept per Lambda container for
`member_cache_seconds`: one read serves every change in that window, and a person missing from a cached
list is looked up once more, so someone who has just joined is not turned away until the cache expires.
Reading (`list`, `help`) and declaring stay open to everyone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prodsupport.incident.model import Incident

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime


def refusal(rt: Runtime, incident: Incident, user_id: str, *, from_channel: str | None = None) -> str | None:
    """Why `user_id` may not change `incident`, or None when they may.

    `from_channel` is where a slash command was typed; buttons and forms pass None, because they sit on the
    bot's own messages or modals, where the person's membership is what matters.
    """
    from slack_sdk.errors import SlackApiError

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
