"""Slack's mrkdwn both ways: text a person typed made plain on the way in, escaped again on the way out.

Slack delivers text with `&`, `<`, `>` as entities and mentions, channels and links as `<…>` tokens. Stored
that way, the text would be escaped a second time when echoed (`&amp;gt;`) and would leak `<@U123|pat>`
into the stakeholder email. So text is turned plain once, on the way in, and escaped for its medium on
the way out. Pure string functions: every layer may use them, the inbound parser and the domains' messages.
"""

from __future__ import annotations

import re

USER_RE = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^@?([UW][A-Z0-9]{2,})$")
LINK_RE = re.compile(r"^<(https?://[^|>]+)(?:\|[^>]*)?>$")
URL_RE = re.compile(r"^https?://[^\s<>|]+$")  # a URL that can stand inside a `<url|label>` link


TOKEN_RE = re.compile(r"<([^<>]+)>")


def _token(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    if target.startswith(("@U", "@W", "@B")):
        return f"@{label or target[1:]}"
    if target.startswith("#C") or target.startswith("#G"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        return label or f"@{target[1:].split('^')[0]}"
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    if label and label != target:
        return f"{label} ({target})"
    return target


def plain_text(text: str) -> str:
    """Tokens first, entities last: a `&lt;` the person typed must never be read as the start of a token."""
    return TOKEN_RE.sub(_token, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


PLACEHOLDER_RE = re.compile(r"<(?![@#!]|https?://|mailto:)([^<>]*)>")


def escape_placeholders(text: str) -> str:
    """Usage texts show `<title>`; Slack would read that as a link. Its own tokens (`<@U1>`, links) stay."""
    return PLACEHOLDER_RE.sub(r"&lt;\1&gt;", text)


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters; anything a person typed is escaped before the bot echoes it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape_text(text: str) -> str:
    """What a person typed: Slack sends `&`, `<` and `>` in command text as entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def user_id(token: str) -> str | None:
    """A user as Slack may send it: `<@U123|name>`, `<@U123>`, `@U123` or `U123`."""
    match = USER_RE.match(token.strip())
    if not match:
        return None
    return match.group(1) or match.group(2)


def link(token: str) -> str:
    """A URL as Slack may send it: `<https://…|label>`, `<https://…>` or bare."""
    token = token.strip()
    match = LINK_RE.match(token)
    return match.group(1) if match else token
