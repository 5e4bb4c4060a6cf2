"""`POST /_local/faults`: a fault for Slack, PagerDuty, SES or GitHub, injected into a running `prodsupport run`.

The body is one JSON object; the fault is queued on the stand-in through the same
:class:`~prodsupport_local.fakes.base.Fault` the tests use, and hits the next ``count`` matching calls::

    {"dependency": "slack", "target": "chat.postMessage", "status": 503, "count": 2}
    {"dependency": "slack", "target": "chat.postMessage", "retry_after": 12}
    {"dependency": "slack", "target": "chat.postMessage", "delay_seconds": 5}     # slow, then posts
    {"dependency": "pagerduty", "target": "/oncalls", "status": 500}
    {"dependency": "ses", "drop": true}                                          # sends, never answers
    {"dependency": "github", "target": "/repos/o/r/pulls", "status": 502}

``target`` is the Slack Web API method, or the path prefix for PagerDuty and GitHub (default: every path)
and SES (default: SendEmail's). ``error`` is Slack's `{"ok": false, "error": …}` or SES's error code. An unknown
field or a value out of range is refused with the reason, and nothing is queued.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from prodsupport_local.fakes.base import Fault
from prodsupport_local.fakes.ses_gate import SEND_EMAIL_PATH

PATH = "/_local/faults"
MAX_DELAY_SECONDS = 900.0  # a Lambda's longest timeout: longer proves nothing more
MAX_COUNT = 1000
_FIELDS = frozenset({"dependency", "target", "status", "retry_after", "delay_seconds", "error", "drop", "count"})

type Dependency = Literal["slack", "pagerduty", "ses", "github"]


class FaultRequestError(ValueError):
    """The body does not describe a fault; the message says which field and why."""


@dataclass(frozen=True)
class FaultRequest:
    dependency: Dependency
    target: str
    fault: Fault


def parse_fault_request(body: bytes) -> FaultRequest:
    try:
        spec = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise FaultRequestError("the body must be a JSON object") from None
    if not isinstance(spec, dict):
        raise FaultRequestError("the body must be a JSON object")
    unknown = sorted(set(spec) - _FIELDS)
    if unknown:
        raise FaultRequestError(f"unknown field(s) {', '.join(unknown)}; expected some of {', '.join(sorted(_FIELDS))}")
    dependency = spec.get("dependency")
    if dependency not in ("slack", "pagerduty", "ses", "github"):
        raise FaultRequestError("`dependency` must be slack, pagerduty, ses or github")
    default_target = {"slack": None, "pagerduty": "", "ses": SEND_EMAIL_PATH, "github": ""}[dependency]
    target = spec.get("target", default_target)
    if not isinstance(target, str) or (dependency == "slack" and not target):
        raise FaultRequestError("`target` must be a Slack Web API method, e.g. chat.postMessage")
    fault = Fault(
        status=_integer(spec, "status", 100, 599),
        retry_after=_integer(spec, "retry_after", 0, 3600),
        hang_seconds=_seconds(spec.get("delay_seconds", 0)),
        error=_text(spec.get("error")),
        drop=_flag(spec.get("drop", False)),
        remaining=_integer(spec, "count", 1, MAX_COUNT) or 1,
    )
    return FaultRequest(dependency, target, fault)


def describe(request: FaultRequest) -> dict[str, Any]:
    """The queued fault as the endpoint answers it, so the person sees what was understood."""
    fault = request.fault
    return {
        "dependency": request.dependency,
        "target": request.target,
        "status": fault.status,
        "retry_after": fault.retry_after,
        "delay_seconds": fault.hang_seconds,
        "error": fault.error,
        "drop": fault.drop,
        "count": fault.remaining,
    }


def _integer(spec: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultRequestError(f"`{name}` must be a whole number from {low} to {high}")
    return value


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_DELAY_SECONDS:
        raise FaultRequestError(f"`delay_seconds` must be a number from 0 to {MAX_DELAY_SECONDS:g}")
    return float(value)


def _text(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise FaultRequestError("`error` must be a non-empty string")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FaultRequestError("`drop` must be true or false")
    return value
