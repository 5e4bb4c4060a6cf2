"""The local stack shows what goes wrong (issue 13, finding 11): its own log lines survive Powertools'
root-handler filter, and its HTTP servers answer a burst of concurrent connections instead of resetting some.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from prodsupport_local.emulator.server import LocalServer
from prodsupport_local.emulator.stack import LocalStack
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

BURST = 48
# Linux drops the SYN of a connection that finds the listen backlog full and the client resends it after
# one second: a connect slower than this found the backlog full (elsewhere it is reset outright).
CONNECT_SECONDS = 0.9

# `make run` configures logging, then a handler module creates Powertools' Logger(service="prodsupport").
LOGGING_AFTER_A_HANDLER_LOADED = """
import logging, sys
logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")
{setup}
from aws_lambda_powertools import Logger
Logger(service="prodsupport")
logging.getLogger("prodsupport_local.emulator.server").info("POST /slack/commands 500")
"""


def stderr_of(setup: str) -> str:
    script = LOGGING_AFTER_A_HANDLER_LOADED.format(setup=setup)
    done = subprocess.run(  # noqa: S603 - this interpreter running a script written above
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stderr


def test_powertools_filter_for_prodsupport_hides_lines_sent_through_the_root_handler() -> None:
    """The cause: Powertools' SuppressFilter matches any logger name containing its service name."""
    hidden = stderr_of('logging.getLogger("prodsupport_local").setLevel(logging.INFO)')

    assert "POST /slack/commands 500" not in hidden


def test_local_stack_lines_stay_visible_after_a_handler_has_loaded() -> None:
    shown = stderr_of(
        "from prodsupport_local.emulator.local_logs import show_local_logs\n"
        'show_local_logs(logging.INFO, "%(name)s: %(message)s")'
    )

    assert "prodsupport_local.emulator.server: POST /slack/commands 500" in shown.splitlines()


def answered_at_once(host: str, port: int, count: int) -> list[bytes]:
    """`count` clients connect at the same moment (a barrier), each sends one request and reads its status.

    The handshake is completed by the kernel from the listen backlog, so a connect never waits on the
    server's threads; only the answer does.
    """
    barrier = threading.Barrier(count)
    lines: list[bytes] = [b""] * count

    def client(index: int) -> None:
        barrier.wait(timeout=30)
        try:
            with socket.create_connection((host, port), timeout=CONNECT_SECONDS) as conn:
                conn.settimeout(20)
                conn.sendall(b"GET /no-such-route HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
                lines[index] = conn.makefile("rb").readline()
        except OSError as exc:
            lines[index] = repr(exc).encode()

    threads = [threading.Thread(target=client, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return lines


@pytest.fixture
def local_server(stack: LocalStack) -> Iterator[LocalServer]:
    server = LocalServer(stack, "127.0.0.1", 0, schedule=False).start()
    try:
        yield server
    finally:
        server.stop()


def test_the_local_server_answers_every_one_of_a_burst_of_concurrent_connections(local_server: LocalServer) -> None:
    host, port = local_server.url.removeprefix("http://").split(":")

    lines = answered_at_once(host, int(port), BURST)

    assert [line.split(b" ")[1:2] for line in lines] == [[b"404"]] * BURST


def test_the_recording_slack_api_answers_every_one_of_a_burst_of_concurrent_connections() -> None:
    with RecordingSlackApi() as slack:
        host, port = slack.root_url.removeprefix("http://").split(":")

        lines = answered_at_once(host, int(port), BURST)

    assert [line.split(b" ")[1:2] for line in lines] == [[b"404"]] * BURST
