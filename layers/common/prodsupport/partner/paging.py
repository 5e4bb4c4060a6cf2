"""Asking PagerDuty for a partner's responder: `POST /incidents/{id}/responder_requests` (REST API v2).

A responder request targets a user or an escalation policy, so a partner known by its service is paged
through that service's escalation policy (`GET /services/{id}`). PagerDuty wants a requester (a PagerDuty
user id) in the body and, for an account-level token, that user's email in `From`. Every failure becomes
`PageFailed` with a reason people can read: the tag stands, and the thread says the page did not go out.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from prodsupport.partner.model import Partner

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

TIMEOUT_SECONDS = 3.0
# Kept for what follows a page in the same invocation: recording it and the tag's post (or its hand-off).
AFTER_PAGE_SECONDS = 2.0
MIN_CALL_SECONDS = 0.5
ACCEPT = "application/vnd.pagerduty+json;version=2"


class PageFailed(Exception):
    """PagerDuty was not asked, or refused; the message is what the thread says."""


def request_responder(rt: Runtime, pagerduty_incident_id: str, partner: Partner, message: str) -> str:
    """Ask PagerDuty for the partner's responder on the linked incident; returns the escalation policy paged."""
    settings = rt.settings
    if not settings.pagerduty_requester_id:
        raise PageFailed("no PagerDuty requester is configured (PRODSUPPORT_PAGERDUTY_REQUESTER_ID)")
    token = _api_token(rt)
    base = settings.pagerduty_api_url.rstrip("/")
    policy = partner.pagerduty_escalation_policy_id or _service_policy(rt, base, token, partner.pagerduty_service_id)
    body = {
        "requester_id": settings.pagerduty_requester_id,
        "message": message[:1000],
        "responder_request_targets": [
            {"responder_request_target": {"id": policy, "type": "escalation_policy_reference"}}
        ],
    }
    headers = {"Content-Type": "application/json"}
    if settings.pagerduty_from_email:
        headers["From"] = settings.pagerduty_from_email
    url = f"{base}/incidents/{quote(pagerduty_incident_id, safe='')}/responder_requests"
    _call(rt, "POST", url, token, body, headers)
    return policy


def _service_policy(rt: Runtime, base: str, token: str, service_id: str) -> str:
    service = _call(rt, "GET", f"{base}/services/{quote(service_id, safe='')}", token).get("service")
    policy = service.get("escalation_policy") if isinstance(service, dict) else None
    policy_id = policy.get("id") if isinstance(policy, dict) else None
    if not isinstance(policy_id, str) or not policy_id:
        raise PageFailed(f"PagerDuty service {service_id} has no escalation policy to page")
    return policy_id


def _api_token(rt: Runtime) -> str:
    try:
        token = rt.secret(rt.settings.pagerduty_secret_name).get("api_token")
    except (GetParameterError, TransformParameterError, ValueError) as exc:
        raise PageFailed(f"the PagerDuty secret could not be read ({type(exc).__name__})") from None
    if not isinstance(token, str) or not token:
        raise PageFailed("the PagerDuty secret has no api_token")
    return token


def _call(
    rt: Runtime,
    method: str,
    url: str,
    token: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One request, its timeout cut to what the invocation can spare: a hung PagerDuty fails the page, never
    the request (Lambda would kill it at its Timeout, after the tag but before its post)."""
    timeout = min(TIMEOUT_SECONDS, rt.budget.usable_seconds() - AFTER_PAGE_SECONDS)
    if timeout < MIN_CALL_SECONDS:
        raise PageFailed("no time was left to ask PagerDuty in this request")
    request = urllib.request.Request(  # noqa: S310 - the URL is the configured PagerDuty API, always http(s)
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token token={token}", "Accept": ACCEPT, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise PageFailed(f"PagerDuty answered HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PageFailed(f"PagerDuty is not reachable ({type(exc).__name__})") from None
    except json.JSONDecodeError:
        raise PageFailed("PagerDuty answered something other than JSON") from None
    return answer if isinstance(answer, dict) else {}
