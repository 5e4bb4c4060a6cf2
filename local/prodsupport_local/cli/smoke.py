"""`prodsupport smoke`: prove from outside that a stack is alive, and print each thing checked.

`make smoke STACK=<name>` runs it against a deployed stack; `make smoke-local` (part of `make test`) runs the
same HTTP checks against the local stack served on a free port, as `make run` serves it:

1. a signed Slack `url_verification` to /slack/events is answered with its challenge (the signing secret in
   Secrets Manager matches what the function reads);
2. the same request unsigned is refused with 401 (verification is on);
3. a signed PagerDuty `pagey.ping` to /pagerduty/webhook is answered 2xx (the webhook secret matches);
4. the SLA checker, invoked once (`sam remote invoke` on AWS), runs the `sla` job;
5. on AWS, every alarm of the stack is OK (an alarm without data yet counts as OK but is listed).

Deployed mode reads the stack's outputs and parameters with boto3 and the caller's AWS credentials, and the
secrets' current values, which it never prints. It changes nothing: a url_verification and a ping have no
effect, and an SLA run only does what the schedule would do this minute.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prodsupport_local.emulator.signing import pagerduty_headers, slack_headers

SAM = ".venv-tools/bin/sam"
HTTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Target:
    """What the checks need to know about one stack, however it runs."""

    name: str
    api_url: str
    slack_signing_secret: str
    pagerduty_webhook_secret: str
    invoke_checker: Callable[[dict[str, Any]], Any]
    alarm_states: Callable[[], dict[str, str]] | None


class SmokeFailure(Exception):
    """A check failed; the message says which and what came back."""


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def check_url_verification(target: Target) -> str:
    challenge = f"smoke-{uuid.uuid4().hex}"
    body = json.dumps({"type": "url_verification", "token": "smoke", "challenge": challenge}).encode()
    status, answer = _post(
        f"{target.api_url}/slack/events", body, slack_headers(target.slack_signing_secret, datetime.now(UTC), body)
    )
    if status != 200 or challenge not in answer:
        raise SmokeFailure(f"signed url_verification: expected 200 with the challenge, got {status} {answer[:200]!r}")
    return "signed Slack url_verification answered 200 with its challenge"


def check_unsigned_refused(target: Target) -> str:
    body = json.dumps({"type": "url_verification", "token": "smoke", "challenge": "unsigned"}).encode()
    status, answer = _post(f"{target.api_url}/slack/events", body, {"Content-Type": "application/json"})
    if status != 401:
        raise SmokeFailure(f"unsigned Slack request: expected 401, got {status} {answer[:200]!r}")
    return "unsigned Slack request refused with 401"


def check_pagerduty_ping(target: Target) -> str:
    event = {
        "id": f"smoke-{uuid.uuid4().hex}",
        "event_type": "pagey.ping",
        "resource_type": "pagey",
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "agent": None,
        "client": None,
        "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
    }
    body = json.dumps({"event": event}).encode()
    headers = pagerduty_headers(target.pagerduty_webhook_secret, body, webhook_id=f"smoke-{uuid.uuid4().hex}")
    status, answer = _post(f"{target.api_url}/pagerduty/webhook", body, headers)
    if not 200 <= status < 300:
        raise SmokeFailure(f"signed PagerDuty ping: expected 2xx, got {status} {answer[:200]!r}")
    return f"signed PagerDuty ping answered {status}"


def check_checker(target: Target) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = target.invoke_checker({"time": now, "job": "sla"})
    if not isinstance(result, dict) or result.get("job") != "sla":
        raise SmokeFailure(f"SLA checker invoked once: expected a result for job 'sla', got {result!r}")
    return f"SLA checker invoked once: checked {result.get('checked', 0)} incident(s)"


def check_alarms(target: Target) -> str:
    if target.alarm_states is None:
        return "alarms: not emulated locally (skipped)"
    states = target.alarm_states()
    firing = sorted(name for name, state in states.items() if state == "ALARM")
    if firing:
        raise SmokeFailure(f"alarms in ALARM: {', '.join(firing)}")
    waiting = sorted(name for name, state in states.items() if state != "OK")
    note = f" ({len(waiting)} without data yet: {', '.join(waiting)})" if waiting else ""
    return f"{len(states)} alarm(s), none in ALARM{note}"


CHECKS = (check_url_verification, check_unsigned_refused, check_pagerduty_ping, check_checker, check_alarms)


def run_checks(target: Target, out: Any = sys.stdout) -> int:
    """Run every check in order, print one line each; 0 when all pass, 1 at the first failure."""
    print(f"smoke: {target.name} at {target.api_url}", file=out)
    for check in CHECKS:
        try:
            line = check(target)
        except (SmokeFailure, OSError) as exc:
            print(f"  FAIL {exc}", file=out)
            return 1
        print(f"  ok   {line}", file=out)
    print("smoke: all checks passed", file=out)
    return 0


# --- deployed ---------------------------------------------------------------------------------------------


def deployed_target(stack_name: str, region: str | None) -> Target:
    import boto3

    session = boto3.session.Session(region_name=region)
    [stack] = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    secrets = session.client("secretsmanager")

    def secret(name: str) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
        return value

    slack = secret(parameters["SlackSecretName"])
    pagerduty = secret(parameters["PagerDutySecretName"])

    def invoke_checker(event: dict[str, Any]) -> Any:
        sam = SAM if shutil.which(SAM) else "sam"
        command = [sam, "remote", "invoke", "SlaCheckerFunction", "--stack-name", stack_name]
        command += ["--event", json.dumps(event), "--output", "json"]
        if region:
            command += ["--region", region]
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)  # noqa: S603
        return json.loads(json.loads(done.stdout)["Payload"])

    def alarm_states() -> dict[str, str]:
        resources = session.client("cloudformation").describe_stack_resources(StackName=stack_name)
        names = [
            r["PhysicalResourceId"]
            for r in resources["StackResources"]
            if r["ResourceType"] == "AWS::CloudWatch::Alarm"
        ]
        answer = session.client("cloudwatch").describe_alarms(AlarmNames=names)
        return {a["AlarmName"]: a["StateValue"] for a in answer["MetricAlarms"]}

    return Target(
        name=f"stack {stack_name}",
        api_url=outputs["ApiUrl"].rstrip("/"),
        slack_signing_secret=str(slack["signing_secret"]),
        pagerduty_webhook_secret=str(pagerduty["webhook_secrets"][0]),
        invoke_checker=invoke_checker,
        alarm_states=alarm_states,
    )


# --- local ------------------------------------------------------------------------------------------------


def run_local(out: Any = None) -> int:
    """The checks against the local stack served on a free port, as `make run` serves it."""
    from prodsupport.core.clock import system_clock
    from prodsupport_local.emulator.aws import LocalSecrets
    from prodsupport_local.emulator.server import LocalServer
    from prodsupport_local.emulator.stack import LocalStack

    secrets = LocalSecrets()
    # The handlers log and print their metrics to stdout, as Lambda's runtime would; here stdout is the report.
    handlers_out, sys.stdout = sys.stdout, sys.stderr
    with LocalStack(clock=system_clock, secrets=secrets) as stack:
        server = LocalServer(stack, port=0, schedule=False).start()
        try:
            target = Target(
                name="local stack",
                api_url=server.url,
                slack_signing_secret=secrets.slack_signing_secret,
                pagerduty_webhook_secret=secrets.pagerduty_webhook_secrets[0],
                invoke_checker=lambda event: stack.invoke("SlaCheckerFunction", event),
                alarm_states=None,
            )
            return run_checks(target, out if out is not None else handlers_out)
        finally:
            server.stop()
            sys.stdout = handlers_out


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "smoke", help="prove a stack is alive from outside", description=__doc__.split("\n\n")[0]
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="a deployed stack's name (needs AWS credentials)")
    where.add_argument("--local", action="store_true", help="the local stack on a free port")
    parser.add_argument("--region", default=None, help="the stack's region (default: the AWS CLI's)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.local:
        return run_local()
    return run_checks(deployed_target(args.stack, args.region))
