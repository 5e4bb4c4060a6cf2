"""The members of a channel as Slack lists them, read once per container and kept for a TTL.

`conversations.members` (every page) is what authorization asks; kept for `member_cache_seconds`, one read
serves every change in that window, and a person missing from a cached list is looked up once more, so
someone who has just joined is not turned away until the cache expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

MEMBERS_PAGE_SIZE = 1000  # Slack's maximum for conversations.members


@dataclass(frozen=True)
class _Members:
    users: frozenset[str]
    fetched_at: datetime


class ChannelMembers:
    """The members of each incident channel this container has asked about, kept for a TTL."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._cache: dict[str, _Members] = {}

    def includes(self, channel_id: str, user_id: str) -> bool:
        cached = self._fresh(channel_id)
        if cached is not None and user_id in cached.users:
            return True
        return user_id in self._fetch(channel_id).users

    def _fresh(self, channel_id: str) -> _Members | None:
        cached = self._cache.get(channel_id)
        ttl = timedelta(seconds=self._rt.settings.member_cache_seconds)
        if cached is None or self._rt.clock() - cached.fetched_at >= ttl:
            return None
        return cached

    def _fetch(self, channel_id: str) -> _Members:
        users: set[str] = set()
        for page in self._rt.slack.conversations_members(channel=channel_id, limit=MEMBERS_PAGE_SIZE):
            users.update(str(member) for member in page.get("members") or [])
        members = self._cache[channel_id] = _Members(frozenset(users), self._rt.clock())
        return members
