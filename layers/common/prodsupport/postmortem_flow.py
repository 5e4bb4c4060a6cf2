"""Placeholder until the post-mortem issue lands (issue 7)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from prodsupport.commands import CommandError, PostmortemCheckpoint
from prodsupport.incident import Incident

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime


def checkpoint(rt: Runtime, incident: Incident, command: PostmortemCheckpoint, user: str, at: datetime) -> str:
    raise CommandError("Post-mortems are not available yet (issue 7).")


def on_resolved(rt: Runtime, incident: Incident, at: datetime) -> Incident:
    return incident
