"""The `postmortem_update` message every post-mortem step posts in the incident's thread, built one way.

Drafting, scheduling, sharing and the GitHub steps (pull request, action items, merge) all say where the
post-mortem stands: its state and the next checkpoint's due, per docs/design.md#message-metadata.
"""

from __future__ import annotations

from typing import Any

from prodsupport.core.timefmt import to_iso
from prodsupport.incident.model import Incident
from prodsupport.infra.slack_message import SlackMessage
from prodsupport.postmortem import model as postmortem


def update(incident: Incident, text: str, *, blocks: list[dict[str, Any]] | None = None, **extra: Any) -> SlackMessage:
    """A `postmortem_update` in the thread; `extra` adds to its payload (a URL, an action item, …)."""
    assert incident.postmortem is not None
    payload: dict[str, Any] = {"incident_id": incident.id, "state": incident.postmortem.state.value}
    due = postmortem.next_due(incident)
    if due is not None:
        payload["due"] = to_iso(due)
    payload.update(extra)
    return SlackMessage(
        channel=incident.channel_id,
        thread_ts=incident.thread_ts,
        text=text,
        blocks=blocks or [],
        event_type="postmortem_update",
        payload=payload,
    )
