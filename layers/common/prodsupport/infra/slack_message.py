"""A Slack message as the pure builders describe it, apart from the SDK that posts it.

Every domain's messages module builds these; only `infra.slack_api` (and so only code that posts) loads
slack_sdk. An import-linter contract keeps the models and message builders free of the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SlackMessage:
    """A message as the pure builders describe it; `metadata` is the machine-readable record (docs/design.md).

    `effect_id` names the logical effect (the same for every attempt, in every invocation), so a post
    whose outcome is unknown can be found in its thread instead of being posted twice; only thread
    replies (with `thread_ts`) carry one. `broadcast` also shows the reply in the channel.
    """

    channel: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    event_type: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    effect_id: str | None = None
    broadcast: bool = False

    def to_record(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "text": self.text,
            "blocks": self.blocks,
            "thread_ts": self.thread_ts,
            "event_type": self.event_type,
            "payload": self.payload,
            "effect_id": self.effect_id,
            "broadcast": self.broadcast,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> SlackMessage:
        return cls(
            channel=str(record["channel"]),
            text=str(record["text"]),
            blocks=list(record.get("blocks") or []),
            thread_ts=record.get("thread_ts"),
            event_type=record.get("event_type"),
            payload=dict(record.get("payload") or {}),
            effect_id=record.get("effect_id"),
            broadcast=bool(record.get("broadcast")),
        )
