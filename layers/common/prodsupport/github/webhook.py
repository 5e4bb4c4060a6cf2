"""GitHub webhooks: the `X-Hub-Signature-256` check, and each delivery routed to its use case once.

GitHub signs the raw body with HMAC-SHA256 and sends `sha256=<hex>`. Any of the configured secrets may
match, so a secret is rotated by adding the new one, changing it in GitHub, then removing the old one.
GitHub does not retry a failed delivery by itself (people redeliver from the settings page), and may send
the same delivery again: `X-GitHub-Delivery` is claimed once, and released if handling fails so that a
redelivery is processed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
MAX_BODY_BYTES = 1024 * 1024  # GitHub caps payloads at 25 MB, ours are a few KB; more is not from our repository
DEDUPE_SOURCE = "github"


class BadWebhook(ValueError):
    """A signed delivery we cannot read: answered 400, which GitHub shows on the delivery's page."""


def header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), "")


def verify_signature(secrets: Iterable[str], signature: str, body: bytes) -> bool:
    """Constant time against each secret; every secret is tried, so the time does not say which matched."""
    scheme, _, given = signature.partition("=")
    if scheme != "sha256" or not given:
        return False
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        matched |= hmac.compare_digest(expected, given.strip().lower())
    return matched


def webhook_secrets(rt: Runtime) -> list[str]:
    secrets = rt.github_secret.get("webhook_secrets") or []
    if isinstance(secrets, str):
        secrets = [secrets]
    return [str(secret) for secret in secrets if secret]


def handle(rt: Runtime, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    """A verified delivery: (status, JSON answer). Unknown events and actions are answered 202 and ignored."""
    event = header(headers, EVENT_HEADER)
    delivery = header(headers, DELIVERY_HEADER)
    if not delivery:
        raise BadWebhook(f"{DELIVERY_HEADER} is missing")
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadWebhook("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise BadWebhook("the body is not a JSON object")
    if event == "ping":
        return 200, _answer("pong")
    at = rt.clock()
    with rt.dedupe.once(DEDUPE_SOURCE, delivery, at) as first:
        if not first:
            return 200, _answer("duplicate")
        done = _route(rt, event, payload, at)
    return 202, _answer("done" if done else "ignored")


def _route(rt: Runtime, event: str, payload: dict[str, Any], at: datetime) -> bool:
    from prodsupport.github import postmortem_pr

    action = payload.get("action")
    sender = str((payload.get("sender") or {}).get("login") or "someone")
    if event == "pull_request" and action == "closed" and isinstance(payload.get("pull_request"), dict):
        return postmortem_pr.on_pull_request_closed(rt, payload["pull_request"], sender, at)
    if event == "issues" and action == "closed" and isinstance(payload.get("issue"), dict):
        repo = str((payload.get("repository") or {}).get("full_name") or "")
        return postmortem_pr.on_issue_closed(rt, payload["issue"], repo, sender, at)
    logger.info("ignored a GitHub event", github_event=event, action=action)
    return False


def _answer(status: str) -> str:
    return json.dumps({"status": status})
