"""Who is on call: PagerDuty's answer, mapped to a Slack user, with a static fallback.

The roster lives in PagerDuty (schedules, overrides, swaps), so a static setting would be wrong by the
first swap. PagerDuty knows the person by email and Slack by user id, so the answer takes three reads:
`GET /oncalls` for the escalation policy, `GET /users/{id}` for the email, Slack `users.lookupByEmail`.
Those reads sit on paths with deadlines (PagerDuty waits 5 s for a webhook answer), so each has a short
timeout, the answer is cached for `oncall_cache_seconds`, and `oncall_user_id` answers whenever PagerDuty
is not configured or not reachable: a reminder naming the fallback beats a reminder not sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlencode
from weakref import WeakKeyDictionary

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackApiError, SlackClientError

from prodsupport.infra import pagerduty_api
from prodsupport.infra.pagerduty_api import PagerDutyApiError

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
TIMEOUT_SECONDS = 1.5
UNKNOWN_LEVEL = 1 << 30


class OncallUnavailable(Exception):
    """PagerDuty or Slack could not say who is on call; the message says which step failed."""


class _Answer(NamedTuple):
    escalation_policy_id: str
    user_id: str
    fetched_at: datetime


# One answer per runtime: a new runtime (a new container, or a test's reset) starts with an empty cache.
_answers: WeakKeyDictionary[Runtime, _Answer] = WeakKeyDictionary()


def oncall_user(rt: Runtime, now: datetime) -> str:
    """The Slack user id of whoever PagerDuty has on call at the first level of the escalation policy.

    `now` is the caller's injected time; the cache is judged against it, so a replay on a virtual clock
    caches exactly as production does.
    """
    settings = rt.settings
    policy_id = settings.pagerduty_escalation_policy_id
    if not policy_id:
        return settings.oncall_user_id
    cached = _answers.get(rt)
    ttl = timedelta(seconds=settings.oncall_cache_seconds)
    if cached and cached.escalation_policy_id == policy_id and cached.fetched_at <= now < cached.fetched_at + ttl:
        return cached.user_id
    try:
        user_id = _look_up(rt, policy_id)
    except OncallUnavailable as exc:
        logger.warning("on-call lookup failed; using the fallback on-call user", reason=str(exc))
        return settings.oncall_user_id
    _answers[rt] = _Answer(policy_id, user_id, now)
    return user_id


def _look_up(rt: Runtime, policy_id: str) -> str:
    token = _api_token(rt)
    base = rt.settings.pagerduty_api_url.rstrip("/")
    query = urlencode({"escalation_policy_ids[]": policy_id, "earliest": "true"})
    oncalls = _get(f"{base}/oncalls?{query}", token).get("oncalls")
    if not isinstance(oncalls, list):
        raise OncallUnavailable("GET /oncalls answered without an 'oncalls' list")
    users = [
        (_level(entry), str(entry["user"]["id"]))
        for entry in oncalls
        if isinstance(entry, dict) and isinstance(entry.get("user"), dict) and entry["user"].get("id")
    ]
    if not users:
        raise OncallUnavailable(f"nobody is on call for escalation policy {policy_id}")
    pagerduty_user = min(users)[1]
    user = _get(f"{base}/users/{quote(pagerduty_user, safe='')}", token).get("user")
    email = user.get("email") if isinstance(user, dict) else None
    if not isinstance(email, str) or not email:
        raise OncallUnavailable(f"PagerDuty user {pagerduty_user} has no email")
    return _slack_user(rt, email)


def _level(entry: dict[str, Any]) -> int:
    """The escalation level: the first level is paged first, so it is who the bot names; unknown sorts last."""
    level = entry.get("escalation_level")
    return level if isinstance(level, int) else UNKNOWN_LEVEL


def _api_token(rt: Runtime) -> str:
    try:
        return pagerduty_api.api_token(rt)
    except PagerDutyApiError as exc:
        raise OncallUnavailable(str(exc)) from None


def _get(url: str, token: str) -> dict[str, Any]:
    try:
        return pagerduty_api.call("GET", url, token, timeout=TIMEOUT_SECONDS)
    except PagerDutyApiError as exc:
        raise OncallUnavailable(str(exc)) from None


def _slack_user(rt: Runtime, email: str) -> str:
    try:
        response = rt.slack.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        raise OncallUnavailable(f"Slack users.lookupByEmail failed: {exc.response.get('error')}") from None
    except (SlackClientError, OSError) as exc:
        raise OncallUnavailable(f"Slack is not reachable: {type(exc).__name__}") from None
    user = response.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(user_id, str) or not user_id:
        raise OncallUnavailable("Slack users.lookupByEmail answered without a user id")
    return user_id
