"""A local stand-in for the PagerDuty REST API v2 (``https://api.pagerduty.com``).

Serves the two reads the bot needs to find who is on call: ``GET /oncalls`` (whose user is a
``user_reference`` without an email, as in PagerDuty) and ``GET /users/{id}`` (which has it); and what paging
a partner takes: ``GET /services/{id}`` (its escalation policy, set with :meth:`set_service`) and
``POST /incidents/{id}/responder_requests`` (checked as PagerDuty checks it: a ``From`` header, a
``requester_id`` and targets that are escalation policies or users)::

    with RecordingPagerDutyApi() as pagerduty:
        pagerduty.set_oncall("PEP1", "PUSER1", "ana@example.com", "Ana Oncall")
        # GET {pagerduty.base_url}/oncalls?escalation_policy_ids[]=PEP1&earliest=true
        #     with "Authorization: Token token=..."

Every request is recorded as a :class:`PagerDutyCall`; requests without ``Authorization: Token token=...``
answer 401, and :meth:`RecordingPagerDutyApi.fail_next` injects errors and slow answers. Errors use
PagerDuty's shape, ``{"error": {"message": ..., "code": ...}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import unquote

from prodsupport_local.fakes.base import ApiServer, FakeApi, FakeHandler, Fault

WEB_URL = "https://example.pagerduty.com"
API_URL = "https://api.pagerduty.com"
DEFAULT_LIMIT = 25

_ERROR_CODES: dict[int, tuple[int, str]] = {
    HTTPStatus.UNAUTHORIZED: (2006, "Authentication failed"),
    HTTPStatus.NOT_FOUND: (2100, "Not Found"),
    HTTPStatus.TOO_MANY_REQUESTS: (2020, "Rate Limit Exceeded"),
}


@dataclass
class PagerDutyCall:
    """One request as the recording server saw it.

    ``query`` keeps PagerDuty's repeated parameters as lists (``{"escalation_policy_ids[]": ["P1", "P2"]}``).
    ``status`` is 0, with an empty ``response``, while an injected hang is holding the answer back.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    response: dict[str, Any]
    status: int = 200
    body: Any = None
    sender: str = ""  # the From header

    @property
    def ok(self) -> bool:
        return self.status == HTTPStatus.OK


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _OnCall:
    escalation_policy_id: str
    user_id: str
    escalation_level: int
    start: str | None
    end: str | None


class RecordingPagerDutyApi(FakeApi[PagerDutyCall]):
    """A PagerDuty REST API v2 on ``127.0.0.1`` that records every request; see the module docstring."""

    label = "recording-pagerduty"

    def __init__(self, *, token: str | None = None) -> None:
        """``token``, when given, is the only API key accepted; otherwise any ``Token token=...`` is."""
        super().__init__()
        self._token = token
        self._oncalls: list[_OnCall] = []
        self._users: dict[str, dict[str, Any]] = {}
        self._services: dict[str, str] = {}

    # -- lifecycle -------------------------------------------------------------------------------------------

    def _make_server(self) -> ApiServer:
        return ApiServer(self, _PagerDutyRequestHandler)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash, like ``https://api.pagerduty.com``)."""
        return self.root_url

    # -- inspection and configuration ------------------------------------------------------------------------

    def calls_to(self, path_prefix: str) -> list[PagerDutyCall]:
        """Every recorded request whose path starts with ``path_prefix``, failed attempts included."""
        with self._lock:
            return [call for call in self.calls if call.path.startswith(path_prefix)]

    def set_oncall(
        self,
        escalation_policy_id: str,
        user_id: str,
        email: str,
        name: str,
        *,
        escalation_level: int = 1,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        """Put ``user_id`` on call for the policy at ``escalation_level``, replacing whoever was there.

        Without ``start``/``end`` the on-call is permanent (PagerDuty answers ``null`` for both).
        """
        oncall = _OnCall(escalation_policy_id, user_id, escalation_level, _iso(start), _iso(end))
        with self._lock:
            self._users[user_id] = _user_object(user_id, email=email, name=name)
            self._oncalls = [
                existing
                for existing in self._oncalls
                if (existing.escalation_policy_id, existing.escalation_level)
                != (escalation_policy_id, escalation_level)
            ]
            self._oncalls.append(oncall)

    def set_service(self, service_id: str, escalation_policy_id: str) -> None:
        """A service whose escalation policy a responder request for it pages."""
        with self._lock:
            self._services[service_id] = escalation_policy_id

    # -- request handling (called from server threads) -------------------------------------------------------

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        authorization: str,
        body: Any = None,
        sender: str = "",
    ) -> _Answer | None:
        call = PagerDutyCall(method=method, path=path, query=query, response={}, status=0, body=body, sender=sender)
        self._record(call)
        return self.answer_with(
            self.faults.take(path),
            process=lambda: self._processed(method, path, query, authorization, body, sender),
            refuse=_fault_answer,
            record=lambda answer: self._finish(call, answer),
            stopped=_error(HTTPStatus.SERVICE_UNAVAILABLE, "Server stopped"),
        )

    def _processed(
        self, method: str, path: str, query: dict[str, list[str]], authorization: str, body: Any, sender: str
    ) -> _Answer:
        if not self._authorized(authorization):
            return _error(HTTPStatus.UNAUTHORIZED)
        with self._lock:
            if method == "POST" and path.startswith("/incidents/") and path.endswith("/responder_requests"):
                incident_id = unquote(path.removeprefix("/incidents/").removesuffix("/responder_requests"))
                return _responder_request(incident_id, body, sender)
            return self._route(method, path, query)

    def _authorized(self, authorization: str) -> bool:
        scheme, _, credentials = authorization.partition(" ")
        key, _, token = credentials.strip().partition("=")
        if scheme != "Token" or key != "token" or not token:
            return False
        return self._token is None or token == self._token

    def _finish(self, call: PagerDutyCall, answer: _Answer) -> None:
        with self._lock:
            call.response = answer.body
            call.status = int(answer.status)

    def _route(self, method: str, path: str, query: dict[str, list[str]]) -> _Answer:
        if method == "GET" and path == "/oncalls":
            return self._list_oncalls(query)
        if method == "GET" and path.startswith("/users/") and path.count("/") == 2:
            return self._get_user(unquote(path.removeprefix("/users/")))
        if method == "GET" and path.startswith("/services/") and path.count("/") == 2:
            return self._get_service(unquote(path.removeprefix("/services/")))
        return _error(HTTPStatus.NOT_FOUND)

    def _get_service(self, service_id: str) -> _Answer:
        policy = self._services.get(service_id)
        if policy is None:
            return _error(HTTPStatus.NOT_FOUND)
        service = _reference(service_id, "service", service_id, "services")
        reference = _reference(policy, "escalation_policy_reference", policy, "escalation_policies")
        return _Answer(HTTPStatus.OK, {"service": {**service, "escalation_policy": reference}})

    def _list_oncalls(self, query: dict[str, list[str]]) -> _Answer:
        policies = set(query.get("escalation_policy_ids[]", []))
        users = set(query.get("user_ids[]", []))
        schedules = set(query.get("schedule_ids[]", []))
        include_users = "users" in query.get("include[]", [])
        try:
            limit = int(_first(query, "limit") or DEFAULT_LIMIT)
            offset = int(_first(query, "offset") or 0)
        except ValueError:
            return _error(HTTPStatus.BAD_REQUEST, "Invalid Input Provided", 2001)
        try:
            since, until = _parse(_first(query, "since")), _parse(_first(query, "until"))
        except ValueError:
            return _error(HTTPStatus.BAD_REQUEST, "Invalid time values in 'since' and/or 'until' parameters", 2004)
        matching = [
            oncall
            for oncall in sorted(self._oncalls, key=lambda o: (o.escalation_policy_id, o.escalation_level))
            if (not policies or oncall.escalation_policy_id in policies)
            and (not users or oncall.user_id in users)
            and not schedules  # every on-call here is a direct user target of the policy: no schedule
            and _overlaps(oncall, since, until)
        ]
        page = matching[offset : offset + limit]
        return _Answer(
            HTTPStatus.OK,
            {
                "oncalls": [self._oncall_object(oncall, include_users=include_users) for oncall in page],
                "limit": limit,
                "offset": offset,
                "more": offset + limit < len(matching),
                "total": None,
            },
        )

    def _oncall_object(self, oncall: _OnCall, *, include_users: bool) -> dict[str, Any]:
        user = self._users[oncall.user_id]
        policy_id = oncall.escalation_policy_id
        return {
            "user": user if include_users else _reference(user["id"], "user_reference", user["summary"], "users"),
            "escalation_policy": _reference(policy_id, "escalation_policy_reference", policy_id, "escalation_policies"),
            "schedule": None,
            "escalation_level": oncall.escalation_level,
            "start": oncall.start,
            "end": oncall.end,
        }

    def _get_user(self, user_id: str) -> _Answer:
        user = self._users.get(user_id)
        if user is None:
            return _error(HTTPStatus.NOT_FOUND)
        return _Answer(HTTPStatus.OK, {"user": user})


class _PagerDutyRequestHandler(FakeHandler):
    server_version = "RecordingPagerDutyApi/1"

    @property
    def _api(self) -> RecordingPagerDutyApi:
        return cast(RecordingPagerDutyApi, cast(ApiServer, self.server).api)

    def handle_call(self) -> None:
        path, query, body = self.read_rest_call()
        authorization = self.headers.get("Authorization", "")
        answer = self._api._answer(self.command, path, query, authorization, body, self.headers.get("From", ""))
        if answer is None:
            self.close_unanswered()
            return
        body = json.dumps(answer.body).encode()
        self.send_answer(answer.status, body, (("Content-Type", "application/json; charset=utf-8"), *answer.headers))


def _responder_request(incident_id: str, body: Any, sender: str) -> _Answer:
    """What PagerDuty answers a responder request: 400 without a From, a requester or valid targets."""
    if not sender:
        return _error(HTTPStatus.BAD_REQUEST, 'You must specify a user\'s email address in the "From" header', 2001)
    if not isinstance(body, dict) or not isinstance(body.get("requester_id"), str) or not body["requester_id"]:
        return _error(HTTPStatus.BAD_REQUEST, "requester_id is required", 2001)
    targets = body.get("responder_request_targets")
    kinds = {"escalation_policy_reference", "user_reference"}
    if not isinstance(targets, list) or not targets:
        return _error(HTTPStatus.BAD_REQUEST, "responder_request_targets is required", 2001)
    for target in targets:
        inner = target.get("responder_request_target") if isinstance(target, dict) else None
        if not isinstance(inner, dict) or inner.get("type") not in kinds or not inner.get("id"):
            return _error(HTTPStatus.BAD_REQUEST, "Invalid responder_request_target", 2001)
    requester = body["requester_id"]
    request = {
        "incident": _reference(incident_id, "incident_reference", incident_id, "incidents"),
        "requester": _reference(requester, "user_reference", requester, "users"),
        "message": str(body.get("message") or ""),
        "responder_request_targets": targets,
    }
    return _Answer(HTTPStatus.OK, {"responder_request": request})


def _error(status: int, message: str | None = None, code: int | None = None) -> _Answer:
    default_code, default_message = _ERROR_CODES.get(status, (2000, "An internal error has occurred"))
    return _Answer(status, {"error": {"message": message or default_message, "code": code or default_code}})


def _fault_answer(fault: Fault) -> _Answer:
    if fault.retry_after is not None:
        answer = _error(fault.status or HTTPStatus.TOO_MANY_REQUESTS)
        return _Answer(answer.status, answer.body, (("Retry-After", str(fault.retry_after)),))
    return _error(fault.status or HTTPStatus.INTERNAL_SERVER_ERROR)


def _user_object(user_id: str, *, email: str, name: str) -> dict[str, Any]:
    return {
        **_reference(user_id, "user", name, "users"),
        "name": name,
        "email": email,
        "time_zone": "America/New_York",
        "role": "user",
    }


def _reference(object_id: str, object_type: str, summary: str, collection: str) -> dict[str, Any]:
    return {
        "id": object_id,
        "type": object_type,
        "summary": summary,
        "self": f"{API_URL}/{collection}/{object_id}",
        "html_url": f"{WEB_URL}/{collection}/{object_id}",
    }


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _overlaps(oncall: _OnCall, since: datetime | None, until: datetime | None) -> bool:
    """Whether the on-call overlaps [since, until]; an open bound on either side overlaps everything."""
    end, start = _parse(oncall.end), _parse(oncall.start)
    if since is not None and end is not None and end <= since:
        return False
    return until is None or start is None or start < until


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
