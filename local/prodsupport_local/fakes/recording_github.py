"""A local stand-in for the GitHub REST API (``https://api.github.com``), reached by prodsupport's client.

Serves what the post-mortem needs: refs, file contents, pull requests and issues of any repository it is
asked about (each starts with one commit on its base branch)::

    with RecordingGitHubApi() as github:
        # GET {github.base_url}/repos/o/r/git/ref/heads/main  with "Authorization: Bearer ..."
        github.file("o/r", "postmortem/inc-2026-0001", path)  # the file's text on that branch, or None

Pull requests and issues share one number sequence per repository from 1, as on GitHub; a pull request's
``html_url`` is ``https://github.com/<owner>/<name>/pull/<n>``. Branches and file contents are kept. Every
request is recorded as a :class:`GitHubCall`; requests without ``Authorization: Bearer|token ...`` answer 401.
:meth:`RecordingGitHubApi.fail_next` injects errors, rate limits (``Retry-After``) and slow answers, and with
``carry_out=True`` a failure *after* the request took effect (the 5xx a client cannot tell from a lost one).
Errors use GitHub's shape, ``{"message": ..., "documentation_url": ...}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import unquote

from prodsupport_local.fakes.base import ApiServer, FakeApi, FakeHandler, Fault

WEB_URL = "https://github.com"
API_URL = "https://api.github.com"
DOCS_URL = "https://docs.github.com/rest"
DEFAULT_BASE_BRANCH = "main"


@dataclass
class GitHubCall:
    """One request as the recording server saw it; ``status`` is 0 while an injected hang holds the answer."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    response: Any = None
    status: int = 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class _Repo:
    full_name: str
    base_branch: str
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit sha
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (branch, path) -> text
    pulls: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    next_number: int = 1
    commits: int = 0


class RecordingGitHubApi(FakeApi[GitHubCall]):
    """A GitHub REST API on ``127.0.0.1`` that records every request; see the module docstring."""

    label = "recording-github"

    def __init__(self, *, token: str | None = None, base_branch: str = DEFAULT_BASE_BRANCH, echo: bool = False) -> None:
        """``token``, when given, is the only one accepted; ``base_branch`` is every new repository's first;
        ``echo`` prints each write as ``[github] METHOD path -> status`` (``make run``)."""
        super().__init__()
        self._echo = echo
        self._token = token
        self._base_branch = base_branch
        self._repos: dict[str, _Repo] = {}

    def _make_server(self) -> ApiServer:
        return ApiServer(self, _GitHubRequestHandler)

    @property
    def base_url(self) -> str:
        return self.root_url

    # -- inspection and configuration ------------------------------------------------------------------------

    def calls_to(self, method: str, path_prefix: str) -> list[GitHubCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method and c.path.startswith(path_prefix)]

    def file(self, repo: str, branch: str, path: str) -> str | None:
        with self._lock:
            return self._repo(repo).files.get((branch, path))

    def branches(self, repo: str) -> list[str]:
        with self._lock:
            return sorted(self._repo(repo).branches)

    def pulls(self, repo: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(pull) for pull in self._repo(repo).pulls]

    def issues(self, repo: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(issue) for issue in self._repo(repo).issues]

    # -- request handling (called from server threads) -------------------------------------------------------

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, authorization: str
    ) -> _Answer | None:
        call = GitHubCall(method=method, path=path, query=query, body=body)
        self._record(call)
        return self.answer_with(
            self.faults.take(path, method),
            process=lambda: self._processed(method, path, query, body, authorization),
            refuse=_fault_answer,
            record=lambda answer: self._finish(call, answer),
            stopped=_error(HTTPStatus.SERVICE_UNAVAILABLE, "Server stopped"),
        )

    def _processed(self, method: str, path: str, query: dict[str, list[str]], body: Any, authorization: str) -> _Answer:
        if not self._authorized(authorization):
            return _error(HTTPStatus.UNAUTHORIZED, "Bad credentials")
        with self._lock:
            return self._route(method, path, query, body)

    def _authorized(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not token.strip():
            return False
        return self._token is None or token.strip() == self._token

    def _finish(self, call: GitHubCall, answer: _Answer) -> None:
        with self._lock:
            call.response = answer.body
            call.status = int(answer.status)
        if self._echo and call.method != "GET":
            print(f"[github] {call.method} {call.path} -> {call.status}", flush=True)

    def _repo(self, full_name: str) -> _Repo:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            repo = self._repos[full_name.lower()] = _Repo(full_name, self._base_branch)
            repo.branches[self._base_branch] = _commit_sha(full_name, 0)
        return repo

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> _Answer:
        parts = path.strip("/").split("/")
        if len(parts) < 4 or parts[0] != "repos":
            return _error(HTTPStatus.NOT_FOUND)
        repo = self._repo(f"{unquote(parts[1])}/{unquote(parts[2])}")
        rest = parts[3:]
        payload = body if isinstance(body, dict) else {}
        match (method, rest[0]):
            case ("GET", "git") if rest[1:2] == ["ref"] and rest[2:3] == ["heads"]:
                return self._get_ref(repo, unquote("/".join(rest[3:])))
            case ("POST", "git") if rest[1:] == ["refs"]:
                return self._create_ref(repo, payload)
            case ("GET", "contents"):
                return self._get_contents(repo, unquote("/".join(rest[1:])), _first(query, "ref"))
            case ("PUT", "contents"):
                return self._put_contents(repo, unquote("/".join(rest[1:])), payload)
            case ("GET", "pulls") if len(rest) == 1:
                return self._list_pulls(repo, query)
            case ("POST", "pulls") if len(rest) == 1:
                return self._create_pull(repo, payload)
            case ("GET", "issues") if len(rest) == 1:
                return self._list_issues(repo, query)
            case ("POST", "issues") if len(rest) == 1:
                return self._create_issue(repo, payload)
        return _error(HTTPStatus.NOT_FOUND)

    def _get_ref(self, repo: _Repo, branch: str) -> _Answer:
        sha = repo.branches.get(branch)
        if sha is None:
            return _error(HTTPStatus.NOT_FOUND)
        return _Answer(HTTPStatus.OK, _ref_object(repo, branch, sha))

    def _create_ref(self, repo: _Repo, payload: dict[str, Any]) -> _Answer:
        ref, sha = str(payload.get("ref") or ""), str(payload.get("sha") or "")
        if not ref.startswith("refs/heads/") or not sha:
            return _error(HTTPStatus.UNPROCESSABLE_ENTITY, "Invalid request.")
        branch = ref.removeprefix("refs/heads/")
        if branch in repo.branches:
            return _error(HTTPStatus.UNPROCESSABLE_ENTITY, "Reference already exists")
        if sha not in repo.branches.values():
            return _error(HTTPStatus.UNPROCESSABLE_ENTITY, "Object does not exist")
        repo.branches[branch] = sha
        for (on, path), text in list(repo.files.items()):
            if repo.branches.get(on) == sha and on != branch:
                repo.files[(branch, path)] = text
        return _Answer(HTTPStatus.CREATED, _ref_object(repo, branch, sha))

    def _get_contents(self, repo: _Repo, path: str, ref: str | None) -> _Answer:
        branch = ref or repo.base_branch
        text = repo.files.get((branch, path))
        if branch not in repo.branches or text is None:
            return _error(HTTPStatus.NOT_FOUND)
        return _Answer(HTTPStatus.OK, {**_content_object(repo, branch, path, text), "encoding": "base64"})

    def _put_contents(self, repo: _Repo, path: str, payload: dict[str, Any]) -> _Answer:
        branch = str(payload.get("branch") or repo.base_branch)
        if branch not in repo.branches:
            return _error(HTTPStatus.NOT_FOUND, "Branch not found")
        try:
            text = base64.b64decode(str(payload.get("content") or ""), validate=True).decode("utf-8")
        except ValueError:
            return _error(HTTPStatus.UNPROCESSABLE_ENTITY, "content is not valid Base64")
        existing = repo.files.get((branch, path))
        given_sha = payload.get("sha")
        if existing is not None and not given_sha:
            return _error(HTTPStatus.UNPROCESSABLE_ENTITY, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if existing is not None and given_sha != _blob_sha(existing):
            return _error(HTTPStatus.CONFLICT, f"{path} does not match {given_sha}")
        repo.files[(branch, path)] = text
        repo.commits += 1
        repo.branches[branch] = _commit_sha(repo.full_name, repo.commits)
        status = HTTPStatus.OK if existing is not None else HTTPStatus.CREATED
        return _Answer(
            status,
            {
                "content": _content_object(repo, branch, path, text, with_body=False),
                "commit": {"sha": repo.branches[branch], "message": str(payload.get("message") or "")},
            },
        )

    def _list_pulls(self, repo: _Repo, query: dict[str, list[str]]) -> _Answer:
        head, state = _first(query, "head"), _first(query, "state") or "open"
        owner = repo.full_name.split("/", 1)[0]
        found = [
            pull
            for pull in repo.pulls
            if (head is None or head.lower() == f"{owner}:{pull['head']['ref']}".lower())
            and (state == "all" or pull["state"] == state)
        ]
        return _Answer(HTTPStatus.OK, found)

    def _create_pull(self, repo: _Repo, payload: dict[str, Any]) -> _Answer:
        head, base, title = str(payload.get("head") or ""), str(payload.get("base") or ""), payload.get("title")
        if head not in repo.branches or base not in repo.branches or not title:
            return _error(HTTPStatus.UNPROCESSABLE_ENTITY, "Validation Failed")
        if any(pull["head"]["ref"] == head and pull["state"] == "open" for pull in repo.pulls):
            return _error(HTTPStatus.UNPROCESSABLE_ENTITY, f"A pull request already exists for {head}.")
        number = self._number(repo)
        pull = {
            "number": number,
            "state": "open",
            "title": str(title),
            "body": str(payload.get("body") or ""),
            "html_url": f"{WEB_URL}/{repo.full_name}/pull/{number}",
            "url": f"{API_URL}/repos/{repo.full_name}/pulls/{number}",
            "merged": False,
            "head": {"ref": head, "sha": repo.branches[head]},
            "base": {"ref": base, "sha": repo.branches[base], "repo": _repo_object(repo)},
        }
        repo.pulls.append(pull)
        return _Answer(HTTPStatus.CREATED, pull)

    def _list_issues(self, repo: _Repo, query: dict[str, list[str]]) -> _Answer:
        wanted = {label for label in (_first(query, "labels") or "").split(",") if label}
        state = _first(query, "state") or "open"
        found = [
            issue
            for issue in reversed(repo.issues)
            if wanted <= {label["name"] for label in issue["labels"]} and (state == "all" or issue["state"] == state)
        ]
        return _Answer(HTTPStatus.OK, found)

    def _create_issue(self, repo: _Repo, payload: dict[str, Any]) -> _Answer:
        title = payload.get("title")
        if not title:
            return _error(HTTPStatus.UNPROCESSABLE_ENTITY, "Validation Failed")
        number = self._number(repo)
        issue = {
            "number": number,
            "state": "open",
            "title": str(title),
            "body": str(payload.get("body") or ""),
            "labels": [{"name": str(name)} for name in payload.get("labels") or []],
            "html_url": f"{WEB_URL}/{repo.full_name}/issues/{number}",
            "url": f"{API_URL}/repos/{repo.full_name}/issues/{number}",
        }
        repo.issues.append(issue)
        return _Answer(HTTPStatus.CREATED, issue)

    def _number(self, repo: _Repo) -> int:
        number = repo.next_number
        repo.next_number += 1
        return number


class _GitHubRequestHandler(FakeHandler):
    server_version = "RecordingGitHubApi/1"

    @property
    def _api(self) -> RecordingGitHubApi:
        return cast(RecordingGitHubApi, cast(ApiServer, self.server).api)

    def handle_call(self) -> None:
        path, query, body = self.read_rest_call()
        answer = self._api._answer(self.command, path, query, body, self.headers.get("Authorization", ""))
        if answer is None:
            self.close_unanswered()
            return
        data = json.dumps(answer.body).encode()
        self.send_answer(answer.status, data, (("Content-Type", "application/json; charset=utf-8"), *answer.headers))


def _error(status: int, message: str | None = None) -> _Answer:
    return _Answer(status, {"message": message or HTTPStatus(status).phrase, "documentation_url": DOCS_URL})


def _fault_answer(fault: Fault) -> _Answer:
    if fault.retry_after is not None:
        answer = _error(fault.status or HTTPStatus.TOO_MANY_REQUESTS, "API rate limit exceeded")
        return _Answer(answer.status, answer.body, (("Retry-After", str(fault.retry_after)),))
    return _error(fault.status or HTTPStatus.INTERNAL_SERVER_ERROR)


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _blob_sha(text: str) -> str:
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _commit_sha(repo: str, n: int) -> str:
    return hashlib.sha1(f"{repo}#{n}".encode(), usedforsecurity=False).hexdigest()


def _repo_object(repo: _Repo) -> dict[str, Any]:
    return {"full_name": repo.full_name, "html_url": f"{WEB_URL}/{repo.full_name}"}


def _ref_object(repo: _Repo, branch: str, sha: str) -> dict[str, Any]:
    return {
        "ref": f"refs/heads/{branch}",
        "url": f"{API_URL}/repos/{repo.full_name}/git/refs/heads/{branch}",
        "object": {"sha": sha, "type": "commit"},
    }


def _content_object(repo: _Repo, branch: str, path: str, text: str, *, with_body: bool = True) -> dict[str, Any]:
    content: dict[str, Any] = {
        "type": "file",
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": _blob_sha(text),
        "html_url": f"{WEB_URL}/{repo.full_name}/blob/{branch}/{path}",
    }
    if with_body:
        content["content"] = base64.encodebytes(text.encode("utf-8")).decode("ascii")
    return content
