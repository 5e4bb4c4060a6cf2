"""PagerDuty's REST API v2 as the bot calls it: the API token from the secret, then one JSON request.

The on-call lookup and a partner's page read the same token and fail in the same ways, so the reasons are
worded once here; each caller turns `PagerDutyApiError` into its own outcome (the fallback on-call, or a
page the thread says did not go out).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

ACCEPT = "application/vnd.pagerduty+json;version=2"


class PagerDutyApiError(Exception):
    """PagerDuty could not be asked, or did not answer usefully; the message is a reason people can read."""


def api_token(rt: Runtime) -> str:
    try:
        token = rt.secret(rt.settings.pagerduty_secret_name).get("api_token")
    except (GetParameterError, TransformParameterError, ValueError) as exc:
        raise PagerDutyApiError(f"the PagerDuty secret could not be read ({type(exc).__name__})") from None
    if not isinstance(token, str) or not token:
        raise PagerDutyApiError("the PagerDuty secret has no api_token")
    return token


def call(
    method: str,
    url: str,
    token: str,
    *,
    timeout: float,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One request with the caller's timeout: each caller knows what its invocation can spare."""
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
        raise PagerDutyApiError(f"PagerDuty answered HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PagerDutyApiError(f"PagerDuty is not reachable ({type(exc).__name__})") from None
    except json.JSONDecodeError:
        raise PagerDutyApiError("PagerDuty answered something other than JSON") from None
    if not isinstance(answer, dict):
        raise PagerDutyApiError("PagerDuty answered something other than a JSON object")
    return answer
