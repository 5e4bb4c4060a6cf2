"""Placeholder until the release issue lands (issue 8)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from prodsupport.slack_requests import SlashCommand

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime


def on_command(rt: Runtime, command: SlashCommand) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": "Releases are not available yet (issue 8)."}


def weekly_digest(rt: Runtime, now: datetime) -> None:
    return None


def release_day(rt: Runtime, now: datetime) -> None:
    return None
