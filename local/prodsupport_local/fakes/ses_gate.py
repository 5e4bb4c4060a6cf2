"""SES with injectable faults: a loopback hop in front of moto's SES v2 endpoint.

Every call is forwarded to moto unchanged (moto keeps what was sent, so `LocalStack.sent_emails` is still
the record) unless a :class:`~prodsupport_local.fakes.base.Fault` is queued for its path, the same fault
the recording Slack and PagerDuty APIs take. The functions reach it through boto3's per-service endpoint
variable, `AWS_ENDPOINT_URL_SESV2`. For SES a fault's ``error`` names the error code (`MessageRejected`,
`TooManyRequestsException`, …); ``drop`` sends the email and closes the connection without an answer;
``answer_late_seconds`` sends it and holds the answer back (a sender killed meanwhile never learns it was sent).
Every call is recorded in ``calls`` with what SES did, so a test counts the sender's attempts.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import cast
from urllib.parse import urlsplit

from prodsupport_local.fakes.base import ApiServer, FakeApi, FakeHandler, Fault

SEND_EMAIL_PATH = "/v2/email/outbound-emails"
FORWARD_TIMEOUT_SECONDS = 30
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})

type _Reply = tuple[int, list[tuple[str, str]], bytes]
_STOPPED: _Reply = (0, [], b"")


@dataclass(frozen=True)
class SesCall:
    """One call that reached the gate and what SES did with it (``status`` 0: the server stopped first)."""

    method: str
    path: str
    status: int


class SesFaultGate(FakeApi[SesCall]):
    """Forwards SES v2 calls to `upstream()` (moto's endpoint), failing those a queued fault names."""

    label = "ses-fault-gate"

    def __init__(self, upstream: Callable[[], str]) -> None:
        super().__init__()
        self._upstream = upstream

    def _make_server(self) -> ApiServer:
        return ApiServer(self, _GateHandler)

    def calls_to(self, path_prefix: str = SEND_EMAIL_PATH) -> list[SesCall]:
        """The recorded calls whose path starts with ``path_prefix`` (default: SendEmail's)."""
        with self._lock:
            return [call for call in self.calls if call.path.startswith(path_prefix)]

    def _answer(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> _Reply | None:
        """The reply to send, or None to close the connection unanswered."""
        return self.answer_with(
            self.faults.take(path),
            process=lambda: self._forward(method, path, headers, body),
            refuse=_fault_reply,
            record=lambda reply: self._record(SesCall(method, path, reply[0])),
            stopped=_STOPPED,
        )

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> _Reply:
        upstream = urlsplit(self._upstream())
        connection = http.client.HTTPConnection(upstream.netloc, timeout=FORWARD_TIMEOUT_SECONDS)
        try:
            connection.request(method, path, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read()
            kept = [(name, value) for name, value in response.getheaders() if name.lower() not in _HOP_BY_HOP]
            return response.status, kept, data
        finally:
            connection.close()


def _fault_reply(fault: Fault) -> _Reply:
    """SES v2 answers errors as JSON with the error code in `x-amzn-ErrorType`, which botocore reads."""
    status = fault.status or (HTTPStatus.TOO_MANY_REQUESTS if fault.retry_after is not None else 500)
    code = fault.error or {429: "TooManyRequestsException", 400: "BadRequestException"}.get(status, "InternalFailure")
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    if fault.retry_after is not None:
        headers.append(("Retry-After", str(fault.retry_after)))
    return int(status), headers, json.dumps({"message": f"injected fault: {code}"}).encode()


class _GateHandler(FakeHandler):
    protocol_version = "HTTP/1.1"

    def handle_call(self) -> None:
        gate = cast(SesFaultGate, cast(ApiServer, self.server).api)
        reply = gate._answer(self.command, self.path, list(self.headers.items()), self.read_body())
        if reply is None:
            self.close_unanswered()
            return
        status, headers, data = reply
        self.send_answer(status, data, headers)
