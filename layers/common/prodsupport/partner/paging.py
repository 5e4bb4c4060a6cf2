"""Asking PagerDuty for a partner's responder: `POST /incidents/{id}/responder_requests` (REST API v2).

A responder request targets a user or an escalation policy, so a partner known by its service is paged
through that service's escalation policy (`GET /services/{id}`). PagerDuty wants a requester (a PagerDuty
user id) in the body and, for an account-level token, that user's email in `From`. Every failure becomes
`PageFailed` with a reason people can read: the tag stands, and the thread says the page did not go out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from prodsupport.infra import pagerduty_api
from prodsupport.infra.pagerduty_api import PagerDutyApiError
from prodsupport.partner.model import Partner

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

TIMEOUT_SECONDS = 3.0
# Kept for what follows a page in the same invocation: recording it and the tag's post (or its hand-off).
AFTER_PAGE_SECONDS = 2.0
MIN_CALL_SECONDS = 0.5
# A tag is a slash command or a click: Slack shows the person an error unless it is answered within 3 s of the
# request, so every page ends that long after the handler got it, less the margin to record it, post and answer.
SLACK_ANSWER_SECONDS = 3.0
ANSWER_MARGIN_SECONDS = 1.0
NO_TIME = "no time was left within Slack's 3-second answer to ask PagerDuty: page from PagerDuty directly"


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
        return pagerduty_api.api_token(rt)
    except PagerDutyApiError as exc:
        raise PageFailed(str(exc)) from None


def _call(
    rt: Runtime,
    method: str,
    url: str,
    token: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One request, its timeout cut to what both the invocation and Slack's answer window can spare: a hung
    PagerDuty fails the page, never the request (Lambda would kill it at its Timeout, after the tag but before
    its post; Slack would show the person an error although the tag was made)."""
    answer_left = SLACK_ANSWER_SECONDS - ANSWER_MARGIN_SECONDS - rt.budget.elapsed_seconds()
    timeout = min(TIMEOUT_SECONDS, rt.budget.usable_seconds() - AFTER_PAGE_SECONDS, answer_left)
    if timeout < MIN_CALL_SECONDS:
        raise PageFailed(NO_TIME)
    if method != "GET":
        rt.before_effect()
    try:
        return pagerduty_api.call(method, url, token, timeout=timeout, body=body, headers=headers)
    except PagerDutyApiError as exc:
        raise PageFailed(str(exc)) from None
