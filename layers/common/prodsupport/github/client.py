"""A thin GitHub REST client over urllib3, which the Lambda runtime already ships (botocore depends on it).

Why not PyGithub or githubkit: the bot makes about ten kinds of request, and both libraries cost megabytes in
the layer and hundreds of milliseconds of import on every cold start of every path that touches GitHub, for
models we would not use. What they would add is retrying, and GitHub's rules for that are short:

- 429, or 403 with `Retry-After` or `x-ratelimit-remaining: 0` (primary and secondary rate limits): wait as
  told (`Retry-After`, else until `x-ratelimit-reset`), then retry. GitHub did not act on such a request, so
  this is safe for every method.
- 5xx and dropped connections: retried for GET and PUT only. A POST that failed that way may have been
  carried out, so creating is left to the use cases, which look the thing up before creating it again
  (`postmortem_pr`); a retried POST here could file a second issue.

Every wait is bounded by the session's budget (the time the Lambda has left for GitHub): a wait that would
overrun it is not started, and the error goes up instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    import urllib3

API_VERSION = "2022-11-28"
USER_AGENT = "prodsupport"
MAX_ATTEMPTS = 4
BACKOFF_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 2.0
_IDEMPOTENT = frozenset({"GET", "PUT", "HEAD"})


class GitHubError(Exception):
    """GitHub refused or failed a request; `status` is 0 when no answer came back."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"GitHub answered {status}: {message}" if status else f"GitHub unreachable: {message}")
        self.status = status
        self.body = body

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def unprocessable(self) -> bool:
        """422: what we asked to create already exists (a ref, a file without its sha, a second pull request)."""
        return self.status == 422

    @property
    def transient(self) -> bool:
        """Worth asking again after looking: a 5xx, a rate limit left unretried, or no answer at all."""
        return self.status == 0 or self.status >= 500 or self.status == 429


class GitHubClient:
    """A token and where GitHub is, with one connection pool; `session()` starts one use case's budget."""

    def __init__(
        self,
        *,
        token: str,
        api_url: str,
        budget_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        before_write: Callable[[], None] | None = None,
    ) -> None:
        """`before_write` runs before each request that changes something (anything but a GET)."""
        self.before_write = before_write
        self.token = token
        self.api_url = api_url
        self.budget_seconds = budget_seconds
        self.sleep = sleep
        self.monotonic = monotonic
        self.wall = wall

    def session(self) -> GitHubSession:
        return GitHubSession(self, self.monotonic() + self.budget_seconds)

    @cached_property
    def pool(self) -> urllib3.PoolManager:
        import urllib3  # noqa: PLC0415 - cold start: loaded by the first GitHub call

        return urllib3.PoolManager(retries=False)


@dataclass
class GitHubSession:
    client: GitHubClient
    deadline: float
    requests: int = 0

    def left(self) -> float:
        return self.deadline - self.client.monotonic()

    def get(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("POST", path, body=body)

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PUT", path, body=body)

    def patch(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PATCH", path, body=body)

    def request(
        self, method: str, path: str, *, body: Mapping[str, Any] | None = None, query: Mapping[str, str] | None = None
    ) -> Any:
        """The decoded JSON answer of a 2xx; GitHubError otherwise, after the retries the module allows."""
        import urllib3  # noqa: PLC0415 - cold start: loaded by the first GitHub call

        if method != "GET" and self.client.before_write is not None:
            self.client.before_write()
        url = self.client.api_url.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")
        payload = json.dumps(body).encode() if body is not None else None
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.client.token}",
            "User-Agent": USER_AGENT,
            "X-GitHub-Api-Version": API_VERSION,
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            left = self.left()
            if left <= 0:
                raise GitHubError(0, f"{method} {path}: no time left")
            timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT_SECONDS, left), read=min(READ_TIMEOUT_SECONDS, left))
            self.requests += 1
            try:
                response = self.client.pool.request(
                    method, url, body=payload, headers=headers, timeout=timeout, redirect=False
                )
            except urllib3.exceptions.HTTPError as exc:
                error = GitHubError(0, f"{method} {path}: {type(exc).__name__}")
                if method not in _IDEMPOTENT or attempt == MAX_ATTEMPTS:
                    raise error from None
                self._wait(float(BACKOFF_SECONDS * 2 ** (attempt - 1)), error)
                continue
            decoded = _decode(response.data)
            if 200 <= response.status < 300:
                return decoded
            error = GitHubError(response.status, _message(decoded), decoded)
            wait = self._retry_wait(method, response.status, response.headers, attempt)
            if wait is None or attempt == MAX_ATTEMPTS:
                raise error
            self._wait(wait, error)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry_wait(self, method: str, status: int, headers: Mapping[str, str], attempt: int) -> float | None:
        retry_after = headers.get("Retry-After")
        limited = status == 429 or (
            status == 403 and (retry_after is not None or headers.get("x-ratelimit-remaining") == "0")
        )
        if limited:
            if retry_after is not None and retry_after.strip().isdigit():
                return float(retry_after)
            reset = headers.get("x-ratelimit-reset", "")
            if reset.strip().isdigit():
                return max(0.0, float(reset) - self.client.wall())
            return 60.0  # GitHub's advice for a secondary limit without a hint: at least a minute
        if status >= 500 and method in _IDEMPOTENT:
            return float(BACKOFF_SECONDS * 2 ** (attempt - 1))
        return None

    def _wait(self, seconds: float, error: GitHubError) -> None:
        if seconds >= self.left():
            raise error
        self.client.sleep(seconds)


def contents_path(repo: str, path: str) -> str:
    return f"/repos/{repo}/contents/{quote(path)}"


def _decode(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return {"message": data[:200].decode("utf-8", "replace")}


def _message(decoded: Any) -> str:
    if isinstance(decoded, dict):
        return str(decoded.get("message") or "")
    return ""
