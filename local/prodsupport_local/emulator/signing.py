"""Requests signed as Slack signs them, for everything that plays Slack here: replay, smoke, tests, benchmarks.

PagerDuty's `v1=` signature has one implementation too, the package's own (`prodsupport.pagerduty.webhook.sign`),
which the senders here call. Slack's is not taken from slack_sdk's `SignatureVerifier.generate_signature`
because that one decodes the body as UTF-8 first, and a test must be able to sign the bytes Slack would
never send (a body that is not UTF-8) to see them refused.
"""

from __future__ import annotations

import hashlib
import hmac


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
