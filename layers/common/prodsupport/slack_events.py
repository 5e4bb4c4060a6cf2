"""Slack requests (already verified) to use cases: parsing, the time of each, and exactly-once delivery.

Events carry an `event_id` that Slack re-sends on retry; commands and interactions carry none, so their
identity is the signed timestamp and body, which makes a replayed request a duplicate too.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from prodsupport import incident_flow, slack_requests
from prodsupport.slack_requests import BadRequest
from prodsupport.timefmt import from_epoch

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
OK = (200, "")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _request_id(headers: dict[str, str], body: bytes) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get("x-slack-request-timestamp", "")
    return hashlib.sha256(stamp.encode() + b":" + body).hexdigest()


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
    at = _event_time(rt, payload)
    with rt.dedupe.once("slack", event_id, at) as first:
        if not first:
            logger.info("duplicate Slack event", event_id=event_id)
            return OK
        incident_flow.on_event(rt, event)
    return OK


def _event_time(rt: Runtime, payload: dict[str, Any]) -> datetime:
    event_time = payload.get("event_time")
    return from_epoch(int(event_time)) if isinstance(event_time, int) else rt.clock()


def handle_command_request(rt: Runtime, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    at = slack_requests.request_time(headers)
    command = slack_requests.slash_command(body, at)
    with rt.dedupe.once("slack-command", _request_id(headers, body), at) as first:
        if not first:
            return OK
        response = incident_flow.on_command(rt, command)
    return (200, _json(response)) if response else OK


def handle_interaction_request(rt: Runtime, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    at = slack_requests.request_time(headers)
    payload = slack_requests.interaction_payload(body)
    with rt.dedupe.once("slack-interaction", _request_id(headers, body), at) as first:
        if not first:
            return OK
        response = incident_flow.on_interaction(rt, payload, at)
    return (200, _json(response)) if response else OK
