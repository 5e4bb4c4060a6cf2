"""Slack requests (already verified) to the router: parsing, the time of each, and exactly-once delivery.

Events carry an `event_id` that Slack re-sends on retry; commands and interactions carry none, so their
identity is the signed timestamp and body, which makes a replayed request a duplicate too. A repeat that
arrives while the first delivery may still fail is answered 503, so Slack keeps retrying it (see dedupe).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from prodsupport.infra.dedupe import DeliveryInFlight, DuplicateDelivery
from prodsupport.slack import email_handlers, home_handlers, incident_handlers
from prodsupport.slack import requests as slack_requests
from prodsupport.slack.requests import BadRequest
from prodsupport.slack.router import Router

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
OK = (200, "")
RETRY_LATER = 503
ROUTER = Router()
# An Events API event (a thread reply, an alert) needs only the event types' routes, so it loads neither the
# command parser nor the models only commands and forms name (cold start); `routes()` adds the rest.
for _domain in (incident_handlers, email_handlers, home_handlers):
    _domain.register_events(ROUTER)


@cache
def routes() -> Router:
    """Every route: the event types', and every domain's commands, shortcuts, buttons and forms, registered
    with the container's first command or interaction."""
    from prodsupport.slack import (  # noqa: PLC0415 - loaded with the first command or interaction
        pagerduty_handlers,
        partner_handlers,
        postmortem_handlers,
        release_handlers,
        roster_handlers,
    )

    for domain in (
        incident_handlers,
        email_handlers,
        postmortem_handlers,
        pagerduty_handlers,
        partner_handlers,
        release_handlers,
        roster_handlers,
    ):
        domain.register(ROUTER)
    return ROUTER


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _request_id(headers: dict[str, str], body: bytes) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get("x-slack-request-timestamp", "")
    return hashlib.sha256(stamp.encode() + b":" + body).hexdigest()


def _once(rt: Runtime, source: str, delivery_id: str, handle: Callable[[], tuple[int, str]]) -> tuple[int, str]:
    """One effect per delivery: a repeat after the first is 200 and does nothing; one during its lease is 503.
    The claim rides on the delivery's first write (infra/dedupe.py), so it costs no request of its own."""
    try:
        with rt.dedupe.once(source, delivery_id, rt.clock(), refuse_in_flight=True, fold=True):
            return handle()
    except DuplicateDelivery:
        logger.info("duplicate Slack delivery", source=source, delivery_id=delivery_id)
        return OK
    except DeliveryInFlight as busy:
        logger.info("Slack delivery repeated while the first is in flight", source=source, delivery_id=delivery_id)
        return RETRY_LATER, _json({"error": str(busy)})


def handle_events_request(rt: Runtime, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    payload = slack_requests.json_body(body)
    kind = payload.get("type")
    if kind == "url_verification":
        return 200, _json({"challenge": str(payload.get("challenge", ""))})
    if kind != "event_callback":
        logger.info("ignored an Events API request", type=kind)
        return OK
    event = payload.get("event")
    event_id = payload.get("event_id")
    if not isinstance(event, dict) or not isinstance(event_id, str) or not event_id:
        raise BadRequest("event_callback needs an 'event' object and an 'event_id'")
    event_type = event.get("type")
    if not ROUTER.handles_event(event_type):
        # Slack counts any non-2xx against the app and sends every subscribed type (channel_created's
        # `channel` is an object): what this app does not handle is not read, so its shape cannot matter.
        logger.info("ignored an event type this app does not handle", event_type=str(event_type)[:80])
        return OK
    slack_requests.check_event(event)

    def handle() -> tuple[int, str]:
        ROUTER.on_event(rt, event)
        return OK

    return _once(rt, "slack", event_id, handle)


def handle_command_request(rt: Runtime, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    at = slack_requests.request_time(headers)
    command = slack_requests.slash_command(body, at)

    def handle() -> tuple[int, str]:
        response = routes().on_command(rt, command)
        return (200, _json(response)) if response else OK

    return _once(rt, "slack-command", _request_id(headers, body), handle)


def handle_interaction_request(rt: Runtime, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    at = slack_requests.request_time(headers)
    payload = slack_requests.interaction_payload(body)

    def handle() -> tuple[int, str]:
        response = routes().on_interaction(rt, payload, at)
        return (200, _json(response)) if response else OK

    return _once(rt, "slack-interaction", _request_id(headers, body), handle)
