"""A body API Gateway marks base64 that is not base64: every HTTP route answers 400, the same way, and writes
nothing (no signature could match it, so it is malformed input rather than a forgery)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from builders import table_items

from prodsupport.infra.apigw import NOT_BASE64
from prodsupport_local.emulator.apigw import http_api_event
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack

AT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
ROUTES = [
    ("SlackEventsFunction", "/slack/events"),
    ("SlackEventsFunction", "/slack/commands"),
    ("SlackEventsFunction", "/slack/interactions"),
    ("PagerDutyWebhookFunction", "/pagerduty/webhook"),
    ("GitHubWebhookFunction", "/github/webhook"),
]


@pytest.mark.parametrize(("function", "path"), ROUTES, ids=[path for _, path in ROUTES])
def test_a_body_that_claims_base64_but_is_not_is_400_on_every_route(
    stack: LocalStack, function: str, path: str
) -> None:
    # GIVEN a deployment with GitHub configured, and a request whose base64 body is not base64
    stack.reset({**DEFAULT_SETTINGS, "github_repo": "department-of-veterans-affairs/va.gov-team-sensitive"})
    event = http_api_event("POST", path, {"Content-Type": "application/x-www-form-urlencoded"}, b"x=1", AT)
    event.update(body="%%% not base64 %%%", isBase64Encoded=True)

    # WHEN the route's function handles it
    response = stack.lambdas.invoke(function, event)

    # THEN it is a 400 saying why, and nothing is written
    assert (response["statusCode"], response["body"]) == (400, NOT_BASE64)
    assert table_items(stack) == []
