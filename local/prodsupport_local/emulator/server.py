"""`prodsupport run`: the app on this machine, on wall-clock time, for Slack, PagerDuty and curl to talk to.

Every HttpApi route of template.yaml is served on http://127.0.0.1:3000 and handed to the real handlers as
API Gateway payload 2.0 events; the scheduled rules fire once per wall-clock minute; queued emails go out
right after the request that queued them (SES is emulated: `[ses] to=… subject=…` is printed, nothing is
delivered).

Slack is the real Web API when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set (point the Slack app's
request URLs at a tunnel to this port), else a recording stand-in that prints what the bot would post.
Settings come from PRODSUPPORT_* variables in the environment, e.g. PRODSUPPORT_CHANNEL_ID. The banner
prints the environment that points the other subcommands (report, email preview, postmortem draft) at this
stack's emulated AWS; its port changes on every run and its state goes when the process stops.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, cast

from prodsupport.core.clock import system_clock
from prodsupport.core.settings import PREFIX, SettingsError
from prodsupport_local.emulator import faults
from prodsupport_local.emulator.aws import REGION
from prodsupport_local.emulator.cfn import DEFAULT_TEMPLATE, load_template
from prodsupport_local.emulator.local_logs import show_local_logs
from prodsupport_local.emulator.replay import SETTING_NAMES
from prodsupport_local.emulator.stack import LocalStack, RealSlack

log = logging.getLogger("prodsupport_local.emulator.server")
DRAIN_INTERVAL_SECONDS = 1.0
MAX_BODY_BYTES = 1_000_000
# socketserver's default listen backlog is 5: a burst of 40 connections (Slack and PagerDuty retries, a
# load test) overflowed it and a fifth of them were reset before a handler thread saw them.
REQUEST_QUEUE_SIZE = 128


class LocalServer:
    """The HTTP front door and the scheduler thread around a started LocalStack."""

    def __init__(
        self,
        stack: LocalStack,
        host: str = "127.0.0.1",
        port: int = 3000,
        *,
        schedule: bool = True,
        show_emails: bool = False,
    ) -> None:
        self.stack = stack
        self.schedule = schedule
        self.show_emails = show_emails
        self._emails_shown = 0
        self._httpd = _Server((host, port), self)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalServer:
        serve = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="prodsupport-http", daemon=True
        )
        self._threads.append(serve)
        if self.schedule:
            self._threads.append(threading.Thread(target=self._scheduler, name="prodsupport-scheduler", daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def after_request(self) -> None:
        """A request may have queued an email: let the scheduler thread drain now, not in a second."""
        self._wake.set()

    def _scheduler(self) -> None:
        """Fire the template's schedules at each wall-clock minute; drain the queues in between."""
        next_tick = _minute(self.stack.clock()) + timedelta(minutes=1)
        while not self._stopping.is_set():
            remaining = (next_tick - self.stack.clock()).total_seconds()
            self._wake.wait(timeout=max(0.0, min(DRAIN_INTERVAL_SECONDS, remaining)))
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                now = self.stack.clock()
                if now >= next_tick:
                    ran = self.stack.tick(next_tick)
                    log.info("tick %s: %s", next_tick.isoformat(), ", ".join(ran))
                    next_tick = max(next_tick + timedelta(minutes=1), _minute(now))
                else:
                    self.stack.drain()
                if self.show_emails:
                    self._print_new_emails()
            except Exception:
                log.exception("scheduler step failed; the next one runs as usual")

    def _print_new_emails(self) -> None:
        """SES is emulated, so printing what it accepted is the only way a person sees an email went out."""
        sent = self.stack.sent_emails()
        for email in sent[self._emails_shown :]:
            subject = json.dumps(email.subject, ensure_ascii=False)
            print(f"[ses] to={','.join(email.to)} subject={subject}", flush=True)
        self._emails_shown = len(sent)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = REQUEST_QUEUE_SIZE

    def __init__(self, address: tuple[str, int], owner: LocalServer) -> None:
        super().__init__(address, _Handler)
        self.owner = owner


class _Handler(BaseHTTPRequestHandler):
    server_version = "prodsupport-local/1"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def _handle(self) -> None:
        owner = cast(_Server, self.server).owner
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length > 0 else b""
        if self.path.split("?", 1)[0] == faults.PATH:
            self._inject_fault(owner, body)
            return
        response = owner.stack.request(
            self.command, self.path, list(self.headers.items()), body, source_ip=self.client_address[0]
        )
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)
        owner.after_request()

    def _inject_fault(self, owner: LocalServer, body: bytes) -> None:
        """The local stack's own endpoint, not one of the template's routes: see prodsupport_local.emulator.faults."""
        if self.command != "POST":
            self._send_json(405, {"error": f"{faults.PATH} takes POST"})
            return
        try:
            request = faults.parse_fault_request(body)
            owner.stack.inject_fault(request)
        except faults.FaultRequestError as exc:
            self._send_json(400, {"error": str(exc)})
            return
        except RuntimeError as exc:  # Slack is the real workspace: there is no stand-in to fail
            self._send_json(409, {"error": str(exc)})
            return
        log.info("fault injected: %s", json.dumps(faults.describe(request)))
        self._send_json(201, {"queued": faults.describe(request)})

    def _send_json(self, status: int, answer: dict[str, object]) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def settings_from_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """PRODSUPPORT_* variables that name a scenario-settable setting, as a settings mapping."""
    env = os.environ if environ is None else environ
    return {name: env[PREFIX + name.upper()] for name in sorted(SETTING_NAMES) if env.get(PREFIX + name.upper())}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="serve the app locally on wall-clock time (emulated AWS; real or recording Slack)",
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="default: the repository's")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    log_format = "%(asctime)s %(name)s: %(message)s"
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format=log_format)
    show_local_logs(logging.INFO, log_format)  # requests and ticks; not botocore's chatter
    token, signing_secret = os.environ.get("SLACK_BOT_TOKEN"), os.environ.get("SLACK_SIGNING_SECRET")
    real_slack = RealSlack(token, signing_secret) if token and signing_secret else None
    stack = LocalStack(
        template=load_template(args.template),
        settings=settings_from_environment(),
        clock=system_clock,
        real_slack=real_slack,
        echo=real_slack is None,
    )
    try:
        stack.start()
    except SettingsError as exc:
        print(f"prodsupport run: {exc}", file=sys.stderr)
        return 2
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    server: LocalServer | None = None
    try:
        server = LocalServer(stack, args.host, args.port, show_emails=True).start()
        _print_banner(stack, server)
        while not stopped.wait(timeout=3600):
            pass
        print("\nstopping…", file=sys.stderr)
    except OSError as exc:
        print(f"prodsupport run: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
        stack.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _print_banner(stack: LocalStack, server: LocalServer) -> None:
    lines = ["prodsupport is running locally", ""]
    routes = sorted(stack.routes, key=lambda route: route.path)
    lines += [f"  {route.method:<5} {server.url}{route.path:<22} -> {route.function}" for route in routes]
    env = stack.env
    lines += [
        "",
        f"  AWS (moto):     {stack.aws.endpoint_url}   table {env.get('PRODSUPPORT_TABLE_NAME')}",
        f"  Slack API:      {env.get('PRODSUPPORT_SLACK_API_URL')}"
        + ("   (real workspace)" if stack.real_slack else "   (recording; posts are printed)"),
        f"  PagerDuty API:  {env.get('PRODSUPPORT_PAGERDUTY_API_URL')}   (recording)",
        f"  GitHub API:     {env.get('PRODSUPPORT_GITHUB_API_URL')}   (recording; writes are printed; "
        "used when PRODSUPPORT_GITHUB_REPO is set)",
        f"  channel:        {env.get('PRODSUPPORT_CHANNEL_ID')}",
        "  schedules:      every wall-clock minute, in template order",
        "",
    ]
    if stack.real_slack is None:
        secret = stack.aws.secrets.slack_signing_secret
        lines += [
            f"  Slack signing secret (local): {secret}",
            '  sign a request:  ts=$(date +%s); body=\'{"type":"url_verification","challenge":"hi"}\'',
            f'    sig=v0=$(printf \'v0:%s:%s\' "$ts" "$body" | openssl dgst -sha256 -hmac {secret} -r'
            " | cut -d' ' -f1)",
            f"    curl -s {server.url}/slack/events -H 'Content-Type: application/json' \\",
            '      -H "X-Slack-Request-Timestamp: $ts" -H "X-Slack-Signature: $sig" -d "$body"',
            "",
        ]
    pagerduty_secret = stack.aws.secrets.pagerduty_webhook_secrets[0]
    lines += [
        f"  PagerDuty webhook secret (local): {pagerduty_secret}",
        "  sign a webhook:  body='{\"event\": {...}}'",
        f"    sig=v1=$(printf '%s' \"$body\" | openssl dgst -sha256 -hmac {pagerduty_secret} -r | cut -d' ' -f1)",
        f"    curl -s {server.url}/pagerduty/webhook -H 'Content-Type: application/json' \\",
        '      -H "X-PagerDuty-Signature: $sig" -d "$body"',
        "",
        f"  GitHub webhook secret (local): {stack.aws.secrets.github_webhook_secrets[0]}",
        '  sign a webhook:  body=\'{"action": "closed", "pull_request": {...}}\'',
        f"    sig=sha256=$(printf '%s' \"$body\" | openssl dgst -sha256 -hmac "
        f"{stack.aws.secrets.github_webhook_secrets[0]} -r | cut -d' ' -f1)",
        f"    curl -s {server.url}/github/webhook -H 'Content-Type: application/json' \\",
        "      -H 'X-GitHub-Event: pull_request' -H \"X-GitHub-Delivery: $(uuidgen)\" \\",
        '      -H "X-Hub-Signature-256: $sig" -d "$body"',
        "",
        "  the CLI on this stack (report, email preview, postmortem draft): put this before the command",
        f"    {cli_environment(stack)}",
        "",
    ]
    lines.append("Ctrl-C stops.")
    print("\n".join(lines), flush=True)


def cli_environment(stack: LocalStack) -> str:
    """Shell assignments that point `prodsupport report|email|postmortem` at this stack, with its settings.

    Any credentials do for moto. The settings are the ones the functions run with (template parameter
    defaults included, local plumbing left out), so a preview or a report reads the table as they do.
    """
    functions_env = stack.aws.environment(stack.settings)
    settings = {
        name: value
        for name, value in functions_env.items()
        if value and name.startswith(PREFIX) and name.removeprefix(PREFIX).lower() in SETTING_NAMES
    }
    env = {
        "AWS_ENDPOINT_URL": stack.aws.endpoint_url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        f"{PREFIX}TABLE_NAME": functions_env.get(f"{PREFIX}TABLE_NAME", ""),
        **settings,
    }
    return " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())


def _minute(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)
