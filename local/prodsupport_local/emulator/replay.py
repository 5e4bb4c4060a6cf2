"""`prodsupport replay SCENARIO.jsonl`: the whole system on a virtual clock, one JSON line per effect.

The input and output formats are the contract of docs/design.md#replay. Each input line sets the virtual clock to
its `at`, sends what the real sender would send, signed as the real sender signs it (Slack v0 HMAC over
`v0:<ts>:<body>`, PagerDuty V3 `v1=` HMAC over the body), and then drains the queues, so an email asked for
at a moment goes out at that moment. The output is stable byte for byte (sorted keys, compact separators,
counters instead of random ids), so a scenario and its expected output can live side by side as a test.

All lines are checked before anything runs: a bad line stops the replay with `line N: <what is wrong>`
and exit status 2, with no output.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

from prodsupport.core.settings import Settings, SettingsError, env_from_config
from prodsupport.core.timefmt import parse_iso, to_iso
from prodsupport.partner.model import PartnerDirectory
from prodsupport_local.emulator import faults
from prodsupport_local.emulator.aws import LocalSecrets, SentEmail
from prodsupport_local.emulator.cfn import DEFAULT_TEMPLATE, load_template
from prodsupport_local.emulator.local_logs import show_local_logs
from prodsupport_local.emulator.signing import github_headers, pagerduty_headers, slack_headers
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, InvocationFailure, LocalStack, VirtualClock
from prodsupport_local.fakes.recording_github import GitHubCall
from prodsupport_local.fakes.recording_pagerduty import PagerDutyCall
from prodsupport_local.fakes.recording_slack import SlackCall

ACTIONS = ("slack_event", "slack_command", "slack_interaction", "pagerduty", "github", "github_fault", "fault", "tick")
ROUTES = {
    "slack_event": "/slack/events",
    "slack_command": "/slack/commands",
    "slack_interaction": "/slack/interactions",
    "pagerduty": "/pagerduty/webhook",
    "github": "/github/webhook",
}
GITHUB_FAULT_KEYS = {"path": str, "method": str, "status": int, "retry_after": int, "times": int, "carry_out": bool}
# Settings a scenario may not change: they point the functions at the local stack itself.
STACK_SETTINGS = frozenset(
    {
        "table_name",
        "email_queue_url",
        "slack_api_url",
        "pagerduty_api_url",
        "slack_secret_name",
        "pagerduty_secret_name",
        "github_api_url",
        "github_secret_name",
        "github_retry_budget_seconds",
        "outbox_queue_url",
        "ses_configuration_set",
    }
)
SETTING_NAMES = frozenset(Settings._fields) - STACK_SETTINGS
_WEBHOOK_ID_NAMESPACE = uuid.UUID("6f1c1f0e-4a8e-4f43-9c53-2f1d7e0b5a10")


class ScenarioError(ValueError):
    """A scenario line is malformed; the message starts with `line N:`."""


@dataclass(frozen=True)
class Step:
    line: int
    at: datetime
    action: str
    payload: dict[str, Any]
    headers: dict[str, str | None]
    show_answer: bool = False  # print the response's text (an ephemeral answer) on the http line


@dataclass(frozen=True)
class Scenario:
    config: dict[str, Any]
    steps: tuple[Step, ...]


def parse_scenario(lines: Iterable[str]) -> Scenario:
    """Check every line; raise ScenarioError for the first bad one."""
    config: dict[str, Any] = {}
    steps: list[Step] = []
    previous: datetime | None = None
    seen_content = False
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"line {number}: not JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(item, dict):
            raise ScenarioError(f"line {number}: expected a JSON object")
        if "config" in item:
            if seen_content:
                raise ScenarioError(f"line {number}: a config line must be the first line")
            config = _config(number, item)
        else:
            step = _step(number, item)
            if previous is not None and step.at < previous:
                raise ScenarioError(
                    f"line {number}: at {to_iso(step.at)} is before the previous line's {to_iso(previous)}"
                )
            previous = step.at
            steps.append(step)
        seen_content = True
    return Scenario(config, tuple(steps))


def run_scenario(lines: Iterable[str], *, stack: LocalStack | None = None) -> list[dict[str, Any]]:
    """Replay a scenario and return its output lines as dicts (see `format_effect` for the text form).

    With `stack` (started, active, on a VirtualClock) that stack is reset to the scenario's settings and
    reused, which saves starting servers for every scenario; otherwise one is started and closed around the
    run. Raises ScenarioError for a bad line before anything runs.
    """
    return Replay(parse_scenario(lines), stack=stack).run()


class Replay:
    """One scenario's run; `failures` holds the handler errors it met (logged, and visible as 500s)."""

    def __init__(self, scenario: Scenario, *, stack: LocalStack | None = None) -> None:
        self.scenario = scenario
        self._stack = stack
        self.failures: list[InvocationFailure] = []

    def run(self) -> list[dict[str, Any]]:
        settings = {**DEFAULT_SETTINGS, **self.scenario.config}
        if self._stack is not None:
            if not isinstance(self._stack.clock, VirtualClock):
                raise TypeError("a replay needs a LocalStack on a VirtualClock")
            self._stack.reset(settings)
            return self._run(self._stack)
        with LocalStack(
            settings=settings, clock=VirtualClock(), extra_env={"POWERTOOLS_LOG_LEVEL": "WARNING"}
        ) as stack:
            return self._run(stack)

    def _run(self, stack: LocalStack) -> list[dict[str, Any]]:
        clock = stack.clock
        assert isinstance(clock, VirtualClock)
        effects: list[dict[str, Any]] = []
        for step in self.scenario.steps:
            clock.set(step.at)
            calls_before = len(stack.slack.calls)
            github_before = len(stack.github.calls)
            pagerduty_before = len(stack.pagerduty.calls) if stack.pagerduty is not None else 0
            emails_before = len(stack.sent_emails())
            at = to_iso(step.at)
            if step.action == "tick":
                stack.tick(step.at)
            elif step.action == "github_fault":
                fault = dict(step.payload)
                stack.github.fail_next(str(fault.pop("path")), **fault)
                continue
            elif step.action == "fault":
                stack.inject_fault(faults.parse_fault_request(json.dumps(step.payload).encode()))
                continue
            else:
                method, path, headers, body = build_request(step, stack.aws.secrets)
                response = stack.request(method, path, headers, body)
                http: dict[str, Any] = {"route": stack.route_key(method, path), "status": response.status}
                if step.show_answer:
                    http["answer"] = _answer_text(response.body)
                effects.append({"at": at, "http": http})
            stack.drain()
            effects.extend({"at": at, "github": _github_effect(call)} for call in stack.github.calls[github_before:])
            if stack.pagerduty is not None:
                effects.extend(
                    {"at": at, "pagerduty": _pagerduty_effect(call)}
                    for call in stack.pagerduty.calls[pagerduty_before:]
                    if call.method != "GET"
                )
            effects.extend(
                {"at": at, "slack": _slack_effect(call)}
                for call in stack.slack.calls[calls_before:]
                if call.ok and call.method not in UNRECORDED_SLACK_METHODS
            )
            effects.extend({"at": at, "email": _email_effect(email)} for email in stack.sent_emails()[emails_before:])
        self.failures = list(stack.failures)
        return effects


def build_request(step: Step, secrets: LocalSecrets) -> tuple[str, str, dict[str, str], bytes]:
    """The HTTP request the real sender would make for this step, signed at the step's time."""
    if step.action == "pagerduty":
        body = _compact(step.payload).encode()
        webhook_id = str(uuid.uuid5(_WEBHOOK_ID_NAMESPACE, f"line-{step.line}"))
        headers = pagerduty_headers(secrets.pagerduty_webhook_secrets[0], body, webhook_id)
    elif step.action == "github":
        body = _compact(step.payload).encode()
        delivery = str(uuid.uuid5(_WEBHOOK_ID_NAMESPACE, f"github-line-{step.line}"))
        headers = github_headers(secrets.github_webhook_secrets[0], body, _github_event(step.payload), delivery)
    else:
        if step.action == "slack_event":
            body = _compact(step.payload).encode()
        elif step.action == "slack_command":
            body = urlencode({k: _form_value(v) for k, v in step.payload.items()}).encode()
        else:
            body = urlencode({"payload": _compact(step.payload)}).encode()
        headers = slack_headers(secrets.slack_signing_secret, step.at, body)
    return "POST", ROUTES[step.action], _override(headers, step.headers), body


def format_effect(effect: Mapping[str, Any]) -> str:
    """One output line: sorted keys, compact separators, UTF-8 text (byte-stable across runs)."""
    return json.dumps(effect, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# -- command line -------------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="run a JSONL scenario on a virtual clock and print one JSON line per effect",
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
    )
    parser.add_argument("scenario", type=Path, help="the scenario file (JSON lines; - for standard input)")
    parser.add_argument(
        "--log-level", default="WARNING", help="the functions' POWERTOOLS_LOG_LEVEL (logs go to stderr)"
    )
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="default: the repository's")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Exit 0 when the run completed, 1 when a handler failed on the way, 2 for a bad scenario."""
    out = sys.stdout
    try:
        text = sys.stdin.read() if str(args.scenario) == "-" else args.scenario.read_text(encoding="utf-8")
        scenario = parse_scenario(text.splitlines())
    except OSError as exc:
        print(f"{args.scenario}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    settings = {**DEFAULT_SETTINGS, **scenario.config}
    log_format = "%(levelname)s %(name)s: %(message)s"
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format=log_format)
    show_local_logs(logging.WARNING, log_format)
    # The handlers log (Powertools) and may print to stdout; stdout is this command's output, so while the
    # functions run everything else goes to stderr.
    sys.stdout = sys.stderr
    stack = LocalStack(
        template=load_template(args.template),
        settings=settings,
        clock=VirtualClock(),
        extra_env={"POWERTOOLS_LOG_LEVEL": args.log_level},
    )
    try:
        stack.start()
        replay = Replay(scenario, stack=stack)
        effects = replay.run()
    except SettingsError as exc:
        print(f"line 1: {exc}", file=sys.stderr)
        return 2
    finally:
        stack.close()
        sys.stdout = out
    _write(out, (format_effect(effect) for effect in effects))
    for failure in replay.failures:
        print(f"{failure.function} failed ({failure.trigger}): {failure.error}", file=sys.stderr)
    return 1 if replay.failures else 0


def _write(out: TextIO, lines: Iterable[str]) -> None:
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        out.write(data.decode("utf-8"))
        out.flush()


# -- internals ------------------------------------------------------------------------------------------------


def _config(number: int, item: Mapping[str, Any]) -> dict[str, Any]:
    if set(item) != {"config"}:
        raise ScenarioError(f"line {number}: a config line has only the key 'config'")
    config = item["config"]
    if not isinstance(config, dict):
        raise ScenarioError(f"line {number}: config must be a JSON object of settings")
    for key in config:
        if key in STACK_SETTINGS:
            raise ScenarioError(f"line {number}: {key!r} is set by the local stack, not by a scenario")
        if key == "teams_parameter":
            raise ScenarioError(f"line {number}: 'teams_parameter' names an SSM parameter; a scenario gives `teams`")
        if key not in SETTING_NAMES:
            raise ScenarioError(f"line {number}: unknown setting {key!r}")
    teams = config.get("teams", [])
    if not isinstance(teams, list) or not all(isinstance(team, dict) for team in teams):
        raise ScenarioError(f"line {number}: teams must be a list of team objects")
    try:
        settings = Settings.from_env(env_from_config({"table_name": "check", **DEFAULT_SETTINGS, **config}))
        PartnerDirectory.parse(settings.partners)
        for index, team in enumerate(settings.teams):
            try:
                PartnerDirectory.parse(team.settings.partners)
            except SettingsError as exc:
                raise SettingsError(f"teams[{index}].{exc}") from None
    except SettingsError as exc:
        raise ScenarioError(f"line {number}: {exc}") from None
    return dict(config)


def _step(number: int, item: Mapping[str, Any]) -> Step:
    actions = [key for key in ACTIONS if key in item]
    unknown = sorted(set(item) - {*ACTIONS, "at", "headers", "answer"})
    if unknown:
        raise ScenarioError(f"line {number}: unknown key {unknown[0]!r}")
    if len(actions) != 1:
        found = f"found {', '.join(actions)}" if actions else "found none"
        raise ScenarioError(f"line {number}: expected exactly one of {', '.join(ACTIONS)}; {found}")
    action = actions[0]
    if "at" not in item:
        raise ScenarioError(f"line {number}: missing 'at' (an ISO 8601 UTC time)")
    if not isinstance(item["at"], str):
        raise ScenarioError(f"line {number}: 'at' must be an ISO 8601 string")
    try:
        at = parse_iso(item["at"])
    except ValueError as exc:
        raise ScenarioError(f"line {number}: at: {exc}") from None
    payload = item[action]
    if not isinstance(payload, dict):
        raise ScenarioError(f"line {number}: {action} must be a JSON object")
    if action == "tick" and payload:
        raise ScenarioError(f'line {number}: tick takes no options; write "tick": {{}}')
    if action == "github_fault":
        _check_github_fault(number, payload)
    if action == "fault":
        try:
            faults.parse_fault_request(json.dumps(payload).encode())
        except faults.FaultRequestError as exc:
            raise ScenarioError(f"line {number}: fault: {exc}") from None
    if action == "slack_command":
        for key, value in payload.items():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise ScenarioError(f"line {number}: slack_command field {key!r} must be a string")
    headers = item.get("headers", {})
    if action in ("tick", "github_fault", "fault") and "headers" in item:
        raise ScenarioError(f"line {number}: a {action} sends no request, so it takes no headers")
    if not isinstance(headers, dict) or not all(isinstance(value, str) or value is None for value in headers.values()):
        raise ScenarioError(f"line {number}: headers must map names to strings (or null to remove one)")
    show_answer = item.get("answer", False)
    if not isinstance(show_answer, bool) or (show_answer and action not in ("slack_command", "slack_interaction")):
        raise ScenarioError(f"line {number}: answer is true or false, on a slack_command or slack_interaction line")
    return Step(number, at, action, payload, headers, show_answer)


def _override(computed: Mapping[str, str], given: Mapping[str, str | None]) -> dict[str, str]:
    """A line's headers replace computed ones of the same name in any case; null removes one."""
    replaced = {name.lower() for name in given}
    headers = {name: value for name, value in computed.items() if name.lower() not in replaced}
    headers.update({name: value for name, value in given.items() if value is not None})
    return headers


# The membership check made before every change to an incident: a read on the way to the effect, whose
# outcome shows as the change or its refusal, so recording it would only bury the effects.
# files_upload_v2's request for an upload URL is plumbing too: the upload it completes is printed, with its
# channel and title.
UNRECORDED_SLACK_METHODS = frozenset({"conversations.members", "files.getUploadURLExternal"})


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _form_value(value: str | int | float) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _slack_effect(call: SlackCall) -> dict[str, Any]:
    """A message as sent; a completed file upload (files_upload_v2's last call) with its channel and title."""
    args: Mapping[str, Any] = call.args
    response: Mapping[str, Any] = call.response
    channel = args.get("channel") or args.get("channel_id")
    if isinstance(channel, dict):
        channel = channel.get("id")
    ts = response.get("ts") or response.get("message_ts")
    effect = {
        "method": call.method,
        "channel": channel,
        "ts": ts,
        "thread_ts": args.get("thread_ts") or None,
        "text": args.get("text") or args.get("initial_comment"),
        "metadata": _without_effect_id(args.get("metadata")),
    }
    if call.method == "views.publish":
        effect["user"] = args.get("user_id")
        effect["text"] = _view_text(args.get("view"))
    files = args.get("files")
    if call.method == "files.completeUploadExternal" and isinstance(files, list):
        effect["title"] = ", ".join(str(entry.get("title", "")) for entry in files if isinstance(entry, dict))
    return effect


def _view_text(view: Any) -> str | None:
    """A published view has no text of its own: its header, sections (with their button's label) and context, one
    line each, so a golden shows what the person sees."""
    if not isinstance(view, Mapping):
        return None
    lines = []
    for block in view.get("blocks") or []:
        text = block.get("text") or {}
        if block.get("type") in ("header", "section") and text.get("text"):
            button = ((block.get("accessory") or {}).get("text") or {}).get("text")
            lines.append(f"{text['text']} [{button}]" if button else str(text["text"]))
        elif block.get("type") == "context":
            lines.extend(str(element.get("text", "")) for element in block.get("elements") or [])
    return "\n".join(lines)


def _github_event(payload: Mapping[str, Any]) -> str:
    """The `X-GitHub-Event` a body like this comes with; a line's own header says otherwise when it must."""
    if "pull_request" in payload:
        return "pull_request"
    if "issue" in payload:
        return "issues"
    return "ping"


def _check_github_fault(number: int, payload: Mapping[str, Any]) -> None:
    if not isinstance(payload.get("path"), str):
        raise ScenarioError(f"line {number}: github_fault needs a 'path' (a prefix of the REST paths to fail)")
    for key, value in payload.items():
        kind = GITHUB_FAULT_KEYS.get(key)
        if kind is None:
            raise ScenarioError(f"line {number}: github_fault takes {', '.join(GITHUB_FAULT_KEYS)}; not {key!r}")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ScenarioError(f"line {number}: github_fault {key!r} must be a {kind.__name__}")


def _github_effect(call: GitHubCall) -> dict[str, Any]:
    """The request as sent, except a file's base64 `content`, printed as its text so a diff can be read."""
    query = urlencode(call.query, doseq=True)
    body = call.body
    if isinstance(body, dict) and isinstance(body.get("content"), str):
        with contextlib.suppress(ValueError):
            body = {**body, "content": base64.b64decode(body["content"], validate=True).decode("utf-8")}
    return {
        "method": call.method,
        "path": f"{call.path}?{query}" if query else call.path,
        "body": body,
        "status": call.status,
    }


def _answer_text(body: bytes) -> str | None:
    """The text a person would see: a command's ephemeral answer (`text`), else the body as sent (if any)."""
    if not body:
        return None
    try:
        answer = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
    return str(answer.get("text")) if isinstance(answer, dict) and "text" in answer else body.decode("utf-8")


def _pagerduty_effect(call: PagerDutyCall) -> dict[str, Any]:
    """A write to PagerDuty (a responder request) as sent; its reads (who is on call) are not effects."""
    return {"method": call.method, "path": call.path, "body": call.body, "from": call.sender, "status": call.status}


def _without_effect_id(metadata: Any) -> Any:
    """The effect id is delivery bookkeeping (finding a post whose answer was lost), not what was said."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get("event_payload"), dict):
        return metadata or None
    payload = {k: v for k, v in metadata["event_payload"].items() if k != "effect_id"}
    return {**metadata, "event_payload": payload}


def _email_effect(email: SentEmail) -> dict[str, Any]:
    return {
        "from": email.sender,
        "to": list(email.to),
        "subject": email.subject,
        "text": email.text,
        "html": email.html,
        "message_id": email.message_id,
    }
