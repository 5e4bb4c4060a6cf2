"""Requests signed as Slack, PagerDuty and GitHub sign them, for everything that plays them here: the replay
tool, `prodsupport smoke`, the tests' builders and the benchmarks.

PagerDuty's `v1=` signature is the package's own `prodsupport.pagerduty.webhook.sign`, the one the webhook
verifies with. Slack's is not taken from slack_sdk's `SignatureVerifier.generate_signature` because that one
decodes the body as UTF-8 first, and a test must be able to sign the bytes Slack would never send (a body that
is not UTF-8) to see them refused.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from prodsupport.pagerduty.webhook import sign

SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
PAGERDUTY_USER_AGENT = "PagerDuty-Webhook/V3.0"
GITHUB_USER_AGENT = "GitHub-Hookshot/prodsupport-replay"


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_headers(secret: str, at: datetime, body: bytes, **extra: str) -> dict[str, str]:
    """What Slack sends with `body` signed at `at`: JSON when it starts with `{`, else a form post."""
    timestamp = str(int(at.timestamp()))
    content_type = "application/json" if body.lstrip().startswith(b"{") else "application/x-www-form-urlencoded"
    return {
        "Content-Type": content_type,
        "User-Agent": SLACK_USER_AGENT,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": slack_signature(secret, timestamp, body),
        **extra,
    }


def pagerduty_headers(secret: str, body: bytes, webhook_id: str) -> dict[str, str]:
    """What PagerDuty sends with a V3 webhook delivery signed with one subscription's secret."""
    return {
        "Content-Type": "application/json",
        "User-Agent": PAGERDUTY_USER_AGENT,
        "X-PagerDuty-Signature": sign(secret, body),
        "X-Webhook-Id": webhook_id,
    }


def github_signature(secret: str, body: bytes) -> str:
    """GitHub's `X-Hub-Signature-256`: `sha256=` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(secret: str, body: bytes, event: str, delivery: str) -> dict[str, str]:
    """What GitHub sends with a webhook delivery of ``event`` signed with the hook's secret."""
    return {
        "Content-Type": "application/json",
        "User-Agent": GITHUB_USER_AGENT,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": github_signature(secret, body),
    }
