"""The lifecycle both recording APIs share: a loopback HTTP server on a free port, in a daemon thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass
class Fault:
    """One injected failure of a stand-in, the same for Slack, PagerDuty, SES and GitHub (and `POST /_local/faults`).

    - ``error`` (Slack only) answers HTTP ``status`` (default 200) with ``{"ok": false, "error": error}``;
    - ``retry_after`` answers HTTP ``status`` (default 429) with a ``Retry-After`` header;
    - ``status`` alone answers that HTTP status with the service's error body;
    - ``hang_seconds`` holds the answer back that long first;
    - ``drop`` closes the connection instead of answering: with nothing else given the call is processed
      first (Slack posts, SES sends), the outcome the caller cannot know;
    - ``answer_late_seconds`` processes the call at once and holds the answer back that long: a client that
      times out meanwhile sees no answer although the effect happened;
    - a hang and/or a drop alone leave the call processed as usual; nothing at all answers HTTP 500.
    """

    status: int | None = None
    retry_after: int | None = None
    hang_seconds: float = 0.0
    error: str | None = None
    drop: bool = False
    remaining: int = 1
    answer_late_seconds: float = 0.0

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


class LocalServer:
    """Start, stop and address of a stand-in API; subclasses say which server they run.

    `_stopping` is set on stop, so a request held by an injected hang ends at once instead of keeping the
    thread (and the test) waiting.
    """

    label = "local-server"

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

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
