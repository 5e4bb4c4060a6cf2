"""The Slack Web API adapter: slack_sdk's WebClient with its retry handlers, bounded by the time left.

Every Web API call goes through a client built here, so rate limits (429 + Retry-After), server errors
and dropped connections are retried by slack_sdk's own handlers rather than by code of ours — but never
past the function's deadline: Lambda kills a function at its Timeout, and whatever it was doing is lost.
A call, or a Retry-After sleep, that cannot end before the deadline minus a reserve raises `Deferred`
instead, so the caller still has the reserve to hand the effect to the outbox.

`chat.postMessage` is not resent blindly: Slack has no idempotency key, and a post that timed out or got
a 5xx may well be in the channel. A message that carries an `effect_id` (in its metadata) is looked for
in its thread first; only a post known not to be there is sent again. A lookup that cannot answer leaves
the outcome unknown and the effect goes to the outbox, which looks again later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from ssl import SSLContext
from typing import Any

from aws_lambda_powertools import Logger
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.jitter import Jitter, RandomJitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from prodsupport.infra import metrics
from prodsupport.infra.budget import Budget
from prodsupport.infra.slack_message import SlackMessage

logger = Logger(child=True)
TIMEOUT_SECONDS = 2
# Below this, a call would time out before Slack could answer; better hand the effect over at once.
MIN_CALL_SECONDS = 0.5
POST_ATTEMPTS = 3
# A longer Retry-After means Slack is throttling the workspace: an idle function would hold up every other
# incident in the run (and bill for it), so the post goes to the outbox, whose delay outlasts the wait.
MAX_RETRY_WAIT_SECONDS = 3
REPLIES_PAGE = 200
# The last part of the Web API methods that only read (conversations.replies, users.info, ...): any other
# call has an effect, which a delivery's claim must precede.
READS = frozenset({"history", "info", "list", "lookupByEmail", "members", "replies", "test"})
# Errors Slack may answer in a 200's body that say "not now" rather than "never".
PASSING_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})


class Deferred(Exception):
    """An effect that cannot be finished now: no time left before the deadline, a Retry-After past it, or
    a post whose outcome is still unknown."""


def make_client(
    *,
    token: str,
    base_url: str,
    backoff_seconds: float,
    budget: Budget,
    team: str | None = None,
    before_effect: Callable[[], None] | None = None,
    tls: SSLContext | None = None,
) -> WebClient:
    """`team`: a deployment of several teams names the team in every message's metadata it posts or updates
    (docs/design.md#message-metadata); a single-team deployment passes None and posts what it always did.
    `before_effect` runs before every call that is not a read (`READS`): a delivery's claim is made first.
    `tls`: the context of every HTTPS call (the runtime's, made once per container, so a cold start can make
    it ahead); without one, urllib's default opener makes its own with the first call."""

    class NoJitter(Jitter):
        """With a zero backoff (local runs, tests) a retry should not wait at all."""

        def recalculate(self, duration: float) -> float:
            return duration

    class WithinBudget(RetryHandler):
        """Retries only while a sleep and one more attempt still end before the reserve, and never resends
        a post that carries an effect id (its outcome is unknown: `post` looks for it before sending again)."""

        def can_retry(
            self,
            *,
            state: RetryState,
            request: HttpRequest,
            response: HttpResponse | None = None,
            error: Exception | None = None,
        ) -> bool:
            if not super().can_retry(state=state, request=request, response=response, error=error):
                return False
            if _carries_effect_id(request) and not _is_rate_limit(response):
                return False
            if _is_rate_limit(response):
                wait = _retry_after(response) + 1.0  # slack_sdk adds up to a second of jitter
            else:
                wait = backoff_seconds * 2**state.current_attempt
            # the retry keeps the timeout its call started with, so it must fit whole before the budget ends
            return wait <= MAX_RETRY_WAIT_SECONDS + 1 and wait + TIMEOUT_SECONDS <= budget.usable_seconds()

    class RateLimited(WithinBudget, RateLimitErrorRetryHandler):
        """A 429 was not accepted by Slack, so resending a post after Retry-After cannot duplicate it."""

    class ServerErrors(WithinBudget, ServerErrorRetryHandler):
        pass

    class ConnectionErrors(WithinBudget, ConnectionErrorRetryHandler):
        pass

    class BudgetedWebClient(WebClient):
        """Each call's timeout is what the budget allows, at most TIMEOUT_SECONDS."""

        def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
            usable = budget.usable_seconds()
            if usable < MIN_CALL_SECONDS:
                raise Deferred(f"no time left for {api_method}")
            self.timeout = int(min(TIMEOUT_SECONDS, usable)) or 1
            if before_effect is not None and api_method.rsplit(".", 1)[-1] not in READS:
                before_effect()
            if team is not None:
                kwargs = _with_team(kwargs, team)
            return super().api_call(api_method, **kwargs)

    jitter = RandomJitter() if backoff_seconds > 0 else NoJitter()
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff_seconds, jitter=jitter)
    return BudgetedWebClient(
        token=token,
        base_url=base_url,
        ssl=tls,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[
            RateLimited(max_retry_count=2),
            ServerErrors(max_retry_count=2, interval_calculator=interval),
            ConnectionErrors(max_retry_count=2, interval_calculator=interval),
        ],
    )


def _with_team(kwargs: dict[str, Any], team: str) -> dict[str, Any]:
    """The call's JSON body with `team` in its metadata's event payload (a payload naming a team keeps it)."""
    body = kwargs.get("json")
    metadata = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(metadata, dict):
        return kwargs
    payload = metadata.get("event_payload")
    if not isinstance(payload, dict) or "team" in payload:
        return kwargs
    stamped = {**metadata, "event_payload": {**payload, "team": team}}
    return {**kwargs, "json": {**body, "metadata": stamped}}


def _carries_effect_id(request: Any) -> bool:
    """chat.postMessage goes out as JSON; only a post with an effect id can be looked for."""
    return request.url.endswith("/chat.postMessage") and b'"effect_id"' in (request.data or b"")


def _is_rate_limit(response: Any) -> bool:
    return response is not None and response.status_code == 429


def _retry_after(response: Any) -> int:
    """Slack's Retry-After in whole seconds (1 when absent or unreadable, as slack_sdk assumes)."""
    for name, values in (response.headers or {}).items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list) else values
            return int(value) if str(value).isdigit() else 1
    return 1


def post(client: WebClient, message: SlackMessage, *, look_first: bool = False) -> str:
    """Post and return the message ts. Slack mrkdwn in `text` must already be escaped by the builder.

    `look_first` is for a delivery that may already have happened (a retried event, the outbox): the
    thread is searched before the first attempt too. Raises Deferred when the effect must be handed over.
    """
    kwargs: dict[str, Any] = {"channel": message.channel, "text": message.text}
    if message.blocks:
        kwargs["blocks"] = message.blocks
    if message.thread_ts:
        kwargs["thread_ts"] = message.thread_ts
    if message.broadcast:
        kwargs["reply_broadcast"] = True
    if message.event_type:
        kwargs["metadata"] = _metadata(message)
    if look_first and message.effect_id and (found := _look(client, message)):
        return found
    attempt = 1
    while True:
        try:
            response = client.chat_postMessage(**kwargs)
            metrics.posted(message.event_type)
            return str(response["ts"])
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                raise Deferred(f"Slack asked to wait {_retry_after(exc.response)} s, past the deadline") from exc
            if status < 500 or message.effect_id is None:  # a 4xx was not posted; slack_sdk retried the rest
                raise
        except OSError:  # a timeout or a dropped connection: Slack may have posted it
            if message.effect_id is None:
                raise
        if found := _look(client, message):
            return found
        if attempt == POST_ATTEMPTS:
            raise Deferred(f"{message.effect_id} not posted after {POST_ATTEMPTS} attempts")
        attempt += 1


def _metadata(message: SlackMessage) -> dict[str, Any]:
    payload = dict(message.payload)
    if message.effect_id:
        payload["effect_id"] = message.effect_id
    return {"event_type": message.event_type, "event_payload": payload}


class CannotUpdate(Exception):
    """Slack refused the update for good (the message is gone, or not the bot's): trying again cannot help."""


def update(client: WebClient, ts: str, message: SlackMessage) -> None:
    """Replace the bot's message `ts` with `message` (`chat.update`).

    Painting the same message twice leaves it as it was, so unlike a post an update whose outcome is unknown
    may simply be sent again: slack_sdk's handlers retry it within the budget, and whatever may still pass
    later (a 429, a 5xx, a timeout) is `Deferred`; any other refusal is `CannotUpdate`.
    """
    kwargs: dict[str, Any] = {"channel": message.channel, "ts": ts, "text": message.text, "blocks": message.blocks}
    if message.event_type:
        kwargs["metadata"] = _metadata(message)
    try:
        client.chat_update(**kwargs)
    except SlackApiError as exc:
        status, error = exc.response.status_code, str(exc.response.get("error") or "")
        if status == 429 or status >= 500 or error in PASSING_ERRORS:
            raise Deferred(f"chat.update answered {status} {error}") from exc
        raise CannotUpdate(error or str(status)) from exc
    except OSError as exc:
        raise Deferred(f"chat.update did not answer: {exc}") from exc
    metrics.count("CardUpdates")


def _look(client: WebClient, message: SlackMessage) -> str | None:
    """A lookup that cannot answer leaves the outcome unknown: the effect is deferred, never resent blind."""
    try:
        return find_effect(client, message)
    except (OSError, SlackApiError) as exc:
        raise Deferred(f"could not look for {message.effect_id}: {exc}") from exc


def find_effect(client: WebClient, message: SlackMessage) -> str | None:
    """The ts of the bot's reply carrying this effect id, read from its thread (every effect with an id is
    a thread reply); any failure to read propagates, as the outcome is then still unknown."""
    for found in thread_replies(client, message.channel, str(message.thread_ts)):
        metadata = found.get("metadata") or {}
        if (metadata.get("event_payload") or {}).get("effect_id") == message.effect_id:
            return str(found["ts"])
    return None


def thread_replies(client: WebClient, channel: str, thread_ts: str) -> Iterator[dict[str, Any]]:
    """Every message of a thread with its metadata, page by page; a failure to read propagates."""
    for page in _thread_pages(client, channel, thread_ts):
        yield from page.get("messages") or []


def delete(client: WebClient, channel: str, ts: str) -> None:
    """Remove a message the bot posted in vain (a card whose incident another attempt stored); best effort:
    a stray message is untidy, never wrong, so a refusal is logged and left."""
    try:
        client.chat_delete(channel=channel, ts=ts)
    except (OSError, SlackApiError) as exc:
        logger.warning("could not delete a stray message", ts=ts, error=str(exc))


def _thread_pages(client: WebClient, channel: str, thread_ts: str) -> Iterator[Any]:
    cursor: str | None = None
    while True:
        page = client.conversations_replies(
            channel=channel, ts=thread_ts, include_all_metadata=True, limit=REPLIES_PAGE, cursor=cursor
        )
        yield page
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return
