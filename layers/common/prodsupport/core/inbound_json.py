"""JSON from outside (Slack, PagerDuty), parsed within bounds before any handler sees it.

The standard parser recurses once per nesting level, accepts `NaN` and `1e400` (infinity), decodes bytes
with `surrogatepass` and turns `\\ud800` into a lone surrogate that no later `encode()` survives. Each of
those became a 500 deep inside a use case; here each is a `BadJson` with a reason, before anything runs.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64  # Slack's deepest real payloads (rich-text blocks in a view) nest about a dozen levels
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class BadJson(ValueError):
    """The text is not JSON this service reads; the message says why and is safe to send back."""


def loads(data: bytes | str) -> Any:
    """Parse strict UTF-8 JSON, at most `MAX_DEPTH` deep, with finite numbers and well-formed strings."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadJson("body is not valid UTF-8") from None
    else:
        text = data
    _check_depth(text)
    try:
        parsed = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as exc:  # JSONDecodeError, and an integer longer than Python's 4300-digit limit
        raise BadJson(f"not valid JSON: {exc}") from None
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadJson("JSON holds a lone surrogate (\\ud800-\\udfff), which is not text") from None
    return parsed


def _check_depth(text: str) -> None:
    """Count brackets outside strings without recursing, so the refusal itself cannot overflow the stack."""
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_DEPTH:
            raise BadJson(f"JSON nested deeper than {MAX_DEPTH} levels")


def _refuse_constant(name: str) -> float:
    raise BadJson(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson(f"number {text[:20]} is out of range")
    return value
