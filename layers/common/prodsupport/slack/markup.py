"""Slack's message markup read back as the plain text a person meant.

Slack delivers text with `&`, `<`, `>` as entities and mentions, channels and links as `<…>` tokens. Stored
that way, the text would be escaped a second time when echoed (`&amp;gt;`) and would leak `<@U123|pat>`
into the stakeholder email. So text is turned plain once, on the way in, and escaped for its medium on
the way out.
"""

from __future__ import annotations

import re

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
