"""The GitHub client against the recording GitHub API: which failures it retries, and for how long.

The clock and the sleep are injected, so a Retry-After of minutes is tested without waiting for it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prodsupport.github.client import GitHubClient, GitHubError
from prodsupport_local.fakes.recording_github import RecordingGitHubApi

REF = "/repos/o/r/git/ref/heads/main"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def github() -> Iterator[RecordingGitHubApi]:
    with RecordingGitHubApi(token="t") as api:
        yield api


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def client(github: RecordingGitHubApi, time: FakeTime, budget: float = 10.0) -> GitHubClient:
    return GitHubClient(
        token="t", api_url=github.base_url, budget_seconds=budget, sleep=time.sleep, monotonic=time.monotonic
    )


def test_a_rate_limit_is_waited_out_as_retry_after_says_then_retried(
    github: RecordingGitHubApi, time: FakeTime
) -> None:
    github.fail_next(REF, retry_after=3)
    assert client(github, time).session().get(REF)["ref"] == "refs/heads/main"
    assert time.slept == [3.0]


def test_a_retry_after_longer_than_the_time_left_is_not_waited(github: RecordingGitHubApi, time: FakeTime) -> None:
    github.fail_next(REF, retry_after=60)
    with pytest.raises(GitHubError) as raised:
        client(github, time, budget=5).session().get(REF)
    assert (raised.value.status, time.slept) == (429, [])


def test_a_secondary_rate_limit_403_with_retry_after_is_retried(github: RecordingGitHubApi, time: FakeTime) -> None:
    github.fail_next(REF, status=403, retry_after=2)
    client(github, time).session().get(REF)
    assert [call.status for call in github.calls] == [403, 200]


def test_a_5xx_on_a_read_is_retried_with_backoff(github: RecordingGitHubApi, time: FakeTime) -> None:
    github.fail_next(REF, status=502, times=2)
    client(github, time).session().get(REF)
    assert time.slept == [0.5, 1.0]


def test_a_5xx_on_a_create_is_not_retried_by_the_client(github: RecordingGitHubApi, time: FakeTime) -> None:
    github.fail_next("/repos/o/r/issues", status=502)
    with pytest.raises(GitHubError) as raised:
        client(github, time).session().post("/repos/o/r/issues", {"title": "x"})
    assert raised.value.transient
    assert len(github.calls) == 1


def test_a_refusal_is_raised_at_once(github: RecordingGitHubApi, time: FakeTime) -> None:
    with pytest.raises(GitHubError) as raised:
        client(github, time).session().get("/repos/o/r/git/ref/heads/missing")
    assert raised.value.not_found
    assert time.slept == []


def test_a_wrong_token_is_401(github: RecordingGitHubApi, time: FakeTime) -> None:
    wrong = GitHubClient(token="nope", api_url=github.base_url, budget_seconds=5, sleep=time.sleep)
    with pytest.raises(GitHubError) as raised:
        wrong.session().get(REF)
    assert raised.value.status == 401
