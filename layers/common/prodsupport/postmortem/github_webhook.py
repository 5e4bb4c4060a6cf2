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

from prodsupport.core import inbound_json
from prodsupport.github.model import ClosedIssue, ClosedPullRequest

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
        payload = inbound_json.loads(body)
    except inbound_json.BadJson as exc:
        raise BadWebhook(f"the body is not valid JSON: {exc}") from None
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
    from prodsupport.postmortem import github_pr as postmortem_pr  # noqa: PLC0415 - cold start: after the signature check

    action = payload.get("action")
    if event == "pull_request" and action == "closed":
        return postmortem_pr.on_pull_request_closed(rt, closed_pull_request(payload), at)
    if event == "issues" and action == "closed":
        return postmortem_pr.on_issue_closed(rt, closed_issue(payload), at)
    logger.info("ignored a GitHub event", github_event=event, action=str(action)[:40])
    return False


def _object(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadWebhook(f"{where}{key} must be an object")
    return value


def _text(parent: Mapping[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadWebhook(f"{where}{key} must be a string")
    return value


def _number(parent: Mapping[str, Any], key: str, where: str) -> int:
    value = parent.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadWebhook(f"{where}{key} must be a positive whole number")
    return value


def _sender(payload: Mapping[str, Any]) -> str:
    return _text(_object(payload, "sender", ""), "login", "sender.") or "someone"


def closed_pull_request(payload: Mapping[str, Any]) -> ClosedPullRequest:
    """GitHub's pull_request payload, the parts we read; a wrong type is a 400 naming the field."""
    pull = _object(payload, "pull_request", "")
    if not pull:
        raise BadWebhook("pull_request is missing")
    base = _object(pull, "base", "pull_request.")
    base_repo = _object(base, "repo", "pull_request.base.")
    merged = pull.get("merged")
    if merged is not None and not isinstance(merged, bool):
        raise BadWebhook("pull_request.merged must be true or false")
    return ClosedPullRequest(
        repo=_text(base_repo, "full_name", "pull_request.base.repo."),
        repo_url=_text(base_repo, "html_url", "pull_request.base.repo."),
        number=_number(pull, "number", "pull_request."),
        merged=bool(merged),
        head=_text(_object(pull, "head", "pull_request."), "ref", "pull_request.head."),
        base=_text(base, "ref", "pull_request.base."),
        sender=_sender(payload),
    )


def closed_issue(payload: Mapping[str, Any]) -> ClosedIssue:
    issue = _object(payload, "issue", "")
    if not issue:
        raise BadWebhook("issue is missing")
    return ClosedIssue(
        repo=_text(_object(payload, "repository", ""), "full_name", "repository."),
        number=_number(issue, "number", "issue."),
        body=_text(issue, "body", "issue."),
        sender=_sender(payload),
    )


def _answer(status: str) -> str:
    return json.dumps({"status": status})
