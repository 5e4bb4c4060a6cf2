"""Placeholder until the PagerDuty issue lands (issue 5)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from prodsupport.commands import CommandError
from prodsupport.incident import Incident

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime


def link(rt: Runtime, incident: Incident, pagerduty_id: str, url: str, user: str, at: datetime) -> str:
    raise CommandError("PagerDuty linking is not available yet (issue 5).")
