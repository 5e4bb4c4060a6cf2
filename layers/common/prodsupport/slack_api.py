"""The Slack Web API adapter: slack_sdk's WebClient with its retry handlers, and one way to post.

Every Web API call goes through a client built here, so rate limits (429 + Retry-After), server errors
and dropped connections are retried by slack_sdk's own handlers rather than by code of ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prodsupport import metrics

if TYPE_CHECKING:
    from slack_sdk import WebClient

TIMEOUT_SECONDS = 2


def make_client(*, token: str, base_url: str, backoff_seconds: float) -> WebClient:
    """slack_sdk is imported here, not at the top: the message builders import `SlackMessage` from this
    module and must stay free of the SDK (design.md: the domain imports no slack_sdk)."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )
    from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
    from slack_sdk.http_retry.jitter import Jitter, RandomJitter

    class NoJitter(Jitter):
        """With a zero backoff (local runs, tests) a retry should not wait at all."""

        def recalculate(self, duration: float) -> float:
            return duration

    jitter = RandomJitter() if backoff_seconds > 0 else NoJitter()
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff_seconds, jitter=jitter)
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2, interval_calculator=interval),
            ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=interval),
        ],
    )


@dataclass(frozen=True)
class SlackMessage:
    """A message as the pure builders describe it; `metadata` is design.md's machine-readable record."""

    channel: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    event_type: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def post(client: WebClient, message: SlackMessage) -> str:
    """Post and return the message ts. Slack mrkdwn in `text` must already be escaped by the builder."""
    kwargs: dict[str, Any] = {"channel": message.channel, "text": message.text}
    if message.blocks:
        kwargs["blocks"] = message.blocks
    if message.thread_ts:
        kwargs["thread_ts"] = message.thread_ts
    if message.event_type:
        kwargs["metadata"] = {"event_type": message.event_type, "event_payload": message.payload}
    response = client.chat_postMessage(**kwargs)
    metrics.posted(message.event_type)
    return str(response["ts"])
