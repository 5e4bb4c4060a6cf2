"""The GitHub webhook's time budget comes from its Lambda context, as every other handler's: without it, GitHub
and Slack calls would be bounded only by their own timeouts, and Lambda would kill a slow delivery mid-effect."""

from __future__ import annotations

import math

from builders import SETTINGS

from prodsupport import runtime
from prodsupport_local.emulator.stack import LocalStack

FUNCTION_TIMEOUT_SECONDS = 10  # template.yaml's Globals


def test_a_github_delivery_bounds_the_invocation_by_the_functions_timeout(configured: LocalStack) -> None:
    configured.configure({**SETTINGS, "github_repo": "o/r"})
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "D1", "Content-Type": "application/json"}

    configured.request("POST", "/github/webhook", headers, b"{}")

    left = runtime.current().budget.seconds_left()
    assert not math.isinf(left) and left <= FUNCTION_TIMEOUT_SECONDS
