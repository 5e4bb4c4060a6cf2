"""What every stand-in API shares: a loopback HTTP server on a free port, and one way to inject faults.

A fault is queued for a target (a Slack method, a PagerDuty or SES path), taken by the next matching call, and
played out by :meth:`FakeApi.answer_with` the same way for every stand-in; only the error body a refusal carries
is each service's own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """One injected failure of a stand-in, the same for Slack, PagerDuty, SES and GitHub (and `POST /_local/faults`).

    - ``error`` is the service's error: Slack answers HTTP ``status`` (default 200) with ``{"ok": false, "error":
      error}``, SES answers it as its error code (PagerDuty's error body has none);
    - ``retry_after`` answers HTTP ``status`` (default 429) with a ``Retry-After`` header;
    - ``status`` alone answers that HTTP status with the service's error body;
    - ``hang_seconds`` holds the answer back that long first;
    - ``drop`` closes the connection instead of answering: with nothing else given the call is processed
      first (Slack posts, SES sends), the outcome the caller cannot know;
    - ``answer_late_seconds`` processes the call at once and holds the answer back that long: a client that
      times out meanwhile sees no answer although the effect happened;
    - a hang and/or a drop alone leave the call processed as usual; nothing at all answers HTTP 500;
    - ``after_calls`` lets that many matching calls through untouched first (fail the second batch, not the
      first);
    - ``method`` limits the fault to calls of that HTTP method (GitHub: fail the POST, not the GET);
    - ``carry_out`` does what was asked before the fault answers (the 5xx a client cannot tell from a lost call).
    """

    status: int | None = None
    retry_after: int | None = None
    hang_seconds: float = 0.0
    error: str | None = None
    drop: bool = False
    remaining: int = 1
    answer_late_seconds: float = 0.0
    after_calls: int = 0
    method: str | None = None
    carry_out: bool = False

    def __post_init__(self) -> None:
        if self.remaining < 1:
            raise ValueError("times must be at least 1")

    @property
    def processes_call(self) -> bool:
        """Only delays or drops: the call itself goes through as usual."""
        delays_or_drops = self.hang_seconds > 0 or self.drop
        return delays_or_drops and self.status is None and self.retry_after is None and self.error is None

    @property
    def answers_late(self) -> bool:
        return self.answer_late_seconds > 0

    def take(self) -> bool:
        """Count one use; True when it was the last and the fault leaves its queue."""
        self.remaining -= 1
        return self.remaining <= 0


class ApiServer(ThreadingHTTPServer):
    """A loopback server on a free port whose request handlers reach their stand-in API as `server.api`."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 resets connections under a burst of concurrent calls

    def __init__(self, api: Any, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.api = api


class FakeHandler(BaseHTTPRequestHandler):
    """What every stand-in's request handler shares: each HTTP method goes to `handle_call`, logs stay quiet
    (the record of calls is the log), and an answer the client stopped waiting for is let go."""

    def do_GET(self) -> None:
        self.handle_call()

    def do_POST(self) -> None:
        self.handle_call()

    def do_PUT(self) -> None:
        self.handle_call()

    def do_DELETE(self) -> None:
        self.handle_call()

    def do_PATCH(self) -> None:
        self.handle_call()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def handle_call(self) -> None:
        raise NotImplementedError

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def read_rest_call(self) -> tuple[str, dict[str, list[str]], Any]:
        """A REST call's path, query and body: the JSON sent, or its text when it is not JSON (recorded as sent,
        so a test sees what a client got wrong)."""
        raw = self.read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        url = urlsplit(self.path)
        return url.path, parse_qs(url.query, keep_blank_values=True), body

    def send_answer(self, status: int, body: bytes, headers: Iterable[tuple[str, str]]) -> None:
        """Answer with ``body`` and its length; a client that stopped waiting is let go."""
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout while we hung)

    def close_unanswered(self) -> None:
        """Close the connection without an answer, as a dropped or held call ends for the client."""
        self.close_connection = True


class FaultQueue:
    """Faults waiting for their calls, in the order queued; a call takes the first one its target matches.

    ``exact`` matches a target only to itself (Slack's method names); otherwise a target is a path prefix.
    """

    def __init__(self, *, exact: bool = False) -> None:
        self._exact = exact
        self._lock = threading.Lock()
        self._queued: list[tuple[str, Fault]] = []

    def add(self, target: str, fault: Fault) -> None:
        with self._lock:
            self._queued.append((target, fault))

    def take(self, target: str, method: str = "") -> Fault | None:
        """The fault for a call to ``target`` (with HTTP ``method``), counted as used; None when nothing is
        queued for it."""
        with self._lock:
            for index, (queued_for, fault) in enumerate(self._queued):
                if fault.method not in (None, method.upper()):
                    continue
                if target == queued_for or (not self._exact and target.startswith(queued_for)):
                    if fault.after_calls > 0:
                        fault.after_calls -= 1
                        return None
                    if fault.take():
                        del self._queued[index]
                    return fault
        return None

    def pending(self) -> list[tuple[str, Fault]]:
        with self._lock:
            return list(self._queued)

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()


class FakeApi[C]:
    """Start, stop, address, faults and the record of calls (``C``) of a stand-in API; subclasses say which
    server they run and when a call is recorded.

    `_stopping` is set on stop, so a request held by an injected hang ends at once instead of keeping the
    thread (and the test) waiting.
    """

    label = "fake-api"
    exact_fault_targets = False

    def __init__(self) -> None:
        self.faults = FaultQueue(exact=self.exact_fault_targets)
        self.calls: list[C] = []
        self._lock = threading.RLock()
        self._recorded = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def clear(self) -> None:
        """Forget recorded calls and pending faults."""
        with self._lock:
            self.calls.clear()
        self.faults.clear()

    def wait_for_calls(self, count: int, timeout: float) -> bool:
        """Block until ``count`` calls are recorded (a test's synchronisation with a call in another process)."""
        with self._recorded:
            return self._recorded.wait_for(lambda: len(self.calls) >= count, timeout=timeout)

    def _record(self, call: C) -> None:
        with self._recorded:
            self.calls.append(call)
            self._recorded.notify_all()

    def add_fault(self, target: str, fault: Fault) -> None:
        """Queue ``fault`` for the next calls to ``target``."""
        self.faults.add(target, fault)

    def fail_next(
        self,
        target: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        hang_seconds: float = 0.0,
        answer_late_seconds: float = 0.0,
        times: int = 1,
        error: str | None = None,
        drop: bool = False,
        method: str | None = None,
        carry_out: bool = False,
    ) -> None:
        """Make the next ``times`` calls to ``target`` fail as :class:`Fault` describes (faults queue up in the
        order they are added): a hang alone is then processed normally (like Slack, which posts even when the
        client has given up); ``drop`` processes and never answers; ``answer_late_seconds`` processes at once
        and answers that much later (a client that gave up meanwhile cannot know the effect happened).

        Failed attempts are recorded with the answer they got.
        """
        fault = Fault(
            status,
            retry_after,
            hang_seconds,
            error,
            drop,
            remaining=times,
            answer_late_seconds=answer_late_seconds,
            method=method.upper() if method else None,
            carry_out=carry_out,
        )
        self.add_fault(target, fault)

    def answer_with[A](
        self,
        fault: Fault | None,
        *,
        process: Callable[[], A],
        refuse: Callable[[Fault], A],
        record: Callable[[A], None],
        stopped: A,
    ) -> A | None:
        """Play ``fault`` out on one call: the answer to send, or None to close the connection unanswered.

        ``process`` does what the service does, ``refuse`` is its error answer, ``record`` keeps what the
        call got (``stopped`` when the server stopped during a hang), whether or not the client hears it.
        """
        if fault is not None and fault.answers_late:
            answer = process()
            record(answer)
            return None if self._stopping.wait(fault.answer_late_seconds) else answer
        if fault is not None and fault.hang_seconds > 0 and self._stopping.wait(fault.hang_seconds):
            record(stopped)
            return None
        if fault is not None and not fault.processes_call:
            if fault.carry_out:
                process()
            answer = refuse(fault)
        else:
            answer = process()
        record(answer)
        return None if fault is not None and fault.drop else answer

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        self._stopping.clear()
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.label}-{self._server.server_port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; a request held by an injected hang is dropped without an answer."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._server.server_port}"
