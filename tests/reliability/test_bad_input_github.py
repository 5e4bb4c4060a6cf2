"""Well-signed GitHub webhooks with any shape (hypothesis): answered 2xx or 400 naming the field, never a 500.

The signature is right, so the parsing and the use cases meet the input; one incident with a post-mortem pull
request exists, so a body that happens to name it reaches the code that changes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from builders import github_headers, table_items
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack, VirtualClock

REPO = "o/r"
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
near = st.sampled_from([1, 2, 0, -1, "1", "postmortem/inc-2026-0001", REPO, "<!-- prodsupport:INC-2026-0001:A1 -->"])
anything = json_values | near


def shaped(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={name: anything for name in names})


pulls = st.fixed_dictionaries(
    {"action": st.sampled_from(["closed", "opened", 3])},
    optional={
        "pull_request": st.fixed_dictionaries(
            {},
            optional={
                "number": anything,
                "merged": anything,
                "head": shaped(["ref"]) | anything,
                "base": st.fixed_dictionaries({}, optional={"ref": anything, "repo": shaped(["full_name"])}) | anything,
            },
        )
        | anything,
        "sender": shaped(["login"]) | anything,
    },
)
issues = st.fixed_dictionaries(
    {"action": st.sampled_from(["closed", "reopened"])},
    optional={
        "issue": shaped(["number", "body"]) | anything,
        "repository": shaped(["full_name"]) | anything,
        "sender": shaped(["login"]) | anything,
    },
)


@PROPERTY
@given(event=st.sampled_from(["pull_request", "issues", "push", ""]), body=pulls | issues | json_values)
def test_a_signed_github_webhook_of_any_shape_is_never_a_500(
    stack: LocalStack, send_slack_form: Callable[..., Callable[..., Any]], event: str, body: Any
) -> None:
    if not stack.settings.get("github_repo"):
        stack.reset({**DEFAULT_SETTINGS, "github_repo": REPO})
        send = send_slack_form(stack, "U0ONCALL")
        send(datetime(2026, 11, 25, 18, 0, tzinfo=UTC), text="critical Pre-check-in fails")
        send(datetime(2026, 11, 25, 20, 0, tzinfo=UTC), text="INC-2026-0001 resolve Rolled back")
        send(datetime(2026, 11, 26, 15, 0, tzinfo=UTC), text="INC-2026-0001 action Add a probe")
        assert len(stack.github.issues(REPO)) == 1
    clock = stack.clock
    assert isinstance(clock, VirtualClock)
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC) + timedelta(minutes=1))
    raw = json.dumps(body).encode()
    response = stack.request("POST", "/github/webhook", github_headers(raw, event), raw)
    assert response.status in {200, 202, 400}, response
    assert stack.failures == []


def _delivered(stack: LocalStack, raw: bytes) -> Any:
    stack.reset({**DEFAULT_SETTINGS, "github_repo": REPO})
    return stack.request("POST", "/github/webhook", github_headers(raw, "pull_request"), raw)


def test_a_signed_github_webhook_nested_past_the_bound_is_a_400_naming_the_depth(stack: LocalStack) -> None:
    response = _delivered(stack, b"[" * 100_000 + b"]" * 100_000)

    assert response.status == 400, response
    assert b"nested deeper" in response.body
    assert stack.failures == []


def test_a_signed_github_webhook_holding_a_lone_surrogate_is_a_400_and_writes_nothing(stack: LocalStack) -> None:
    raw = b'{"action": "closed", "pull_request": {"number": 1, "merged": true}, "sender": {"login": "\\ud800"}}'

    response = _delivered(stack, raw)

    assert response.status == 400, response
    assert b"surrogate" in response.body
    assert stack.failures == []
    assert table_items(stack) == []
