"""Placeholder until the stakeholder-email issue lands (issue 6)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from prodsupport.commands import CommandError
from prodsupport.incident import Incident

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime


def request_email(rt: Runtime, incident: Incident, user: str, at: datetime) -> str:
    raise CommandError("Stakeholder email is not available yet (issue 6).")


def open_email_modal(rt: Runtime, incident: Incident, trigger_id: str, user: str) -> None:
    raise CommandError("Stakeholder email is not available yet (issue 6).")


def submit_email_modal(rt: Runtime, incident: Incident, values: dict[str, Any], user: str, at: datetime) -> None:
    raise CommandError("Stakeholder email is not available yet (issue 6).")


def on_file_shared(rt: Runtime, event: dict[str, Any]) -> None:
    return None
