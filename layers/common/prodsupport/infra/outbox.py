"""The Slack outbox: an effect that cannot be posted now is queued, and posted once, later.

A Lambda is killed at its Timeout, so a post that would outlive the invocation (a slow Slack, a
Retry-After past the deadline) or whose outcome is unknown (the answer never came) is not retried in
place: it is sent to the outbox queue while the invocation still has its reserve. The queue's consumer
looks for the effect in its thread before posting it, so a post that did land is not repeated; a look that
still cannot answer leaves the message on the queue for SQS to redeliver, and after its receives it waits
in the dead-letter queue, alarmed.
"""

from __future__ import annotations

import json
from copy import replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from prodsupport.infra.slack_api import Deferred, post
from prodsupport.infra.slack_message import SlackMessage

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
MAX_SQS_DELAY_SECONDS = 900


def deliver(rt: Runtime, message: SlackMessage, *, look_first: bool = False) -> bool:
    """Post an effect now, or hand it to the outbox; True when it is in Slack already."""
    try:
        post(rt.slack, message, look_first=look_first)
    except Deferred as deferred:
        hand_over(rt, message, deferred)
        return False
    return True


def hand_over(rt: Runtime, message: SlackMessage, deferred: Deferred) -> None:
    """The delay (`outbox_delay_seconds`, a minute by default) outlasts Slack's usual Retry-After for
    chat.postMessage; a consumer still refused is redelivered after the queue's visibility timeout.

    The message takes its team along in its metadata (the consumer posts with the default team's client, which
    leaves a payload that names its team as it is)."""
    if rt.several_teams and message.event_type and "team" not in message.payload:
        message = replace(message, payload={**message.payload, "team": rt.team_id})
    enqueue(rt, message.to_record())
    logger.warning("Slack effect handed to the outbox", effect_id=message.effect_id, reason=str(deferred))


def enqueue(rt: Runtime, record: dict[str, Any]) -> None:
    """Queue one outbox record: a post (`SlackMessage.to_record`) or a domain's own kind (a card to repaint)."""
    rt.client("sqs").send_message(
        QueueUrl=rt.settings.outbox_queue_url,
        MessageBody=json.dumps(record),
        DelaySeconds=min(MAX_SQS_DELAY_SECONDS, rt.settings.outbox_delay_seconds),
    )


def post_queued(rt: Runtime, body: str) -> None:
    """The consumer's side; raises Deferred (the record is redelivered) while the outcome is still unknown."""
    message = SlackMessage.from_record(json.loads(body))
    post(rt.slack, message, look_first=True)
