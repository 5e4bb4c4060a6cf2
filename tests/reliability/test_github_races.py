"""Two resolves of one incident publishing its post-mortem at once (two Lambda containers): one branch, one
file, one pull request, one link in the thread.

Each publisher is a separate Runtime with its own GitHub client on its own thread, against the same recording
GitHub API (which, like GitHub, creates a ref, a file or a pull request for a branch atomically, answering 422 to
the second). A barrier holds both until each has looked and found nothing, so every run really races to create.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from prodsupport import runtime
from prodsupport.core.settings import Settings
from prodsupport.github.client import GitHubClient, GitHubSession
from prodsupport.postmortem import github_pr as postmortem_pr
from prodsupport.runtime import Runtime
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack, VirtualClock

REPO = "o/r"
PUBLISHERS = 2


class RacingSession(GitHubSession):
    """Waits at the barrier before its first create, so both publishers create after both looked."""

    def __init__(self, client: GitHubClient, deadline: float, barrier: threading.Barrier) -> None:
        super().__init__(client, deadline)
        self.barrier = barrier
        self.waited = False

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        if not self.waited:
            self.waited = True
            self.barrier.wait()
        return super().post(path, body)


class RacingClient(GitHubClient):
    def __init__(self, base: GitHubClient, barrier: threading.Barrier) -> None:
        super().__init__(token=base.token, api_url=base.api_url, budget_seconds=base.budget_seconds)
        self.barrier = barrier

    def session(self) -> GitHubSession:
        return RacingSession(self, self.monotonic() + self.budget_seconds, self.barrier)


def test_two_resolves_publishing_at_once_make_one_branch_file_and_pull_request(
    stack: LocalStack, send_slack_form: Any
) -> None:
    # GIVEN a resolved critical incident whose pull request is not open yet (GitHub refused it at the resolve)
    stack.reset({**DEFAULT_SETTINGS, "github_repo": REPO})
    send = send_slack_form(stack, "U0ONCALL")
    stack.github.fail_next("/repos/", status=403, times=100)
    send(datetime(2026, 11, 25, 18, 0, tzinfo=UTC), text="critical Pre-check-in fails")
    send(datetime(2026, 11, 25, 20, 0, tzinfo=UTC), text="INC-2026-0001 resolve Rolled back")
    stack.github.faults.clear()
    assert stack.github.pulls(REPO) == []
    clock = stack.clock
    assert isinstance(clock, VirtualClock)
    at = datetime(2026, 11, 25, 20, 5, tzinfo=UTC)

    # WHEN two containers publish it at the same moment, both having found nothing
    barrier = threading.Barrier(PUBLISHERS, timeout=10)
    runtimes = []
    for _ in range(PUBLISHERS):
        rt = Runtime(Settings.from_env(), clock)
        assert rt.github is not None
        rt.__dict__["github"] = RacingClient(rt.github, barrier)
        rt.slack.auth_test()
        runtimes.append(rt)
    incident = runtime.current().store.get_by_id("INC-2026-0001")
    assert incident is not None
    posts_before = len(stack.slack.posts())
    with ThreadPoolExecutor(max_workers=PUBLISHERS) as pool:
        futures = [pool.submit(postmortem_pr.publish, rt, incident, at, thread_link="t") for rt in runtimes]
        results = [future.result() for future in futures]

    # THEN both really raced to create the branch, there is one of each, both containers agree, one link posted
    assert sorted(c.status for c in stack.github.calls_to("POST", f"/repos/{REPO}/git/refs")) == [201, 422]
    assert stack.github.branches(REPO) == ["main", "postmortem/inc-2026-0001"]
    assert [pull["number"] for pull in stack.github.pulls(REPO)] == [1]
    assert len([c for c in stack.github.calls_to("PUT", f"/repos/{REPO}/contents/") if c.ok]) == 1
    assert {r.postmortem.pull_request.number for r in results if r.postmortem and r.postmortem.pull_request} == {1}
    links = [c for c in stack.slack.posts()[posts_before:] if "is a pull request" in str(c.args.get("text"))]
    assert len(links) == 1
