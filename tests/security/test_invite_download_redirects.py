"""The .ics import sends the bot token to Slack's file host only, redirects included (issue 13, finding 9).

The recording Slack answers the file's download address with a 302; "another host" is a second local HTTP
server (another port on loopback is another origin) that records what it was sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from builders import CHANNEL, SETTINGS, WEDNESDAY_10_ET, clock_of, slack_event
from slack_sdk import WebClient

from prodsupport import runtime
from prodsupport_local.emulator.aws import LocalSecrets
from prodsupport_local.emulator.stack import LocalStack

INVITE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Calendar//EN\r\nBEGIN:VEVENT\r\nUID:weekly-sync\r\n"
    "DTSTAMP:20261101T120000Z\r\nSUMMARY:Weekly Sync\r\nATTENDEE;CN=Kim:mailto:kim@example.gov\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


class OtherHost:
    """A server on another origin that answers the invite and remembers each request's Authorization."""

    def __init__(self) -> None:
        seen: list[str | None] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.headers.get("Authorization"))
                body = INVITE.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: `seen` is the record."""

        self.seen = seen
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self._server.server_address[1]}/invite.ics"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def other_host() -> Iterator[OtherHost]:
    server = OtherHost()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def share_invite(stack: LocalStack) -> Callable[[Callable[[str], str]], None]:
    """Upload the invite, let the test point its download somewhere (given the file's own download URL),
    then deliver the admin's file_shared event."""
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)

    def share(redirect_to: Callable[[str], str]) -> None:
        client = WebClient(token=LocalSecrets().slack_bot_token, base_url=stack.slack.base_url)
        file_id = str(client.files_upload_v2(channel=CHANNEL, content=INVITE, filename="sync.ics")["file"]["id"])
        own_url = str(client.files_info(file=file_id)["file"]["url_private_download"])
        stack.slack.redirect_download(file_id, redirect_to(own_url))
        shared = {"type": "file_shared", "channel_id": CHANNEL, "file_id": file_id, "user_id": "U0ADMIN"}
        assert slack_event(stack, shared, f"Ev-{file_id}").status == 200

    return share


def stakeholders() -> tuple[str, ...]:
    return runtime.current().roster.load().stakeholders


def test_a_redirect_to_another_host_is_not_followed_and_the_token_stays_home(
    stack: LocalStack, share_invite: Callable[[Callable[[str], str]], None], other_host: OtherHost
) -> None:
    share_invite(lambda _own: other_host.url)

    assert other_host.seen == []
    [told] = stack.slack.calls_to("chat.postEphemeral")
    assert told.args["text"] == "Could not import sync.ics: Slack gave no download address for the file"
    assert "kim@example.gov" not in stakeholders()


def test_a_redirect_on_slacks_own_file_host_is_followed(
    stack: LocalStack, share_invite: Callable[[Callable[[str], str]], None]
) -> None:
    share_invite(lambda own: f"{own}?hop=1")

    assert "kim@example.gov" in stakeholders()
    assert stack.slack.calls_to("chat.postEphemeral") == []
