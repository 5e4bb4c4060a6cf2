"""No secret ever reaches a log line: every flow that reads the Slack or PagerDuty secrets is run with all
logging captured at DEBUG (Powertools' JSON lines on stdout/stderr, and every Python logger), including the
failure paths that log exceptions, and the captured text must not contain any of the local secret values."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from builders import (
    INC,
    SECRETS,
    SETTINGS,
    WEDNESDAY_10_ET,
    alert,
    clock_of,
    command_answer,
    command_body,
    pagerduty_body,
    pagerduty_headers,
    slack_event,
    slack_headers,
)

from prodsupport.core.timefmt import to_iso
from prodsupport_local.emulator.stack import LocalStack

SECRET_VALUES = (
    SECRETS.slack_signing_secret,
    SECRETS.slack_bot_token,
    *SECRETS.pagerduty_webhook_secrets,
    SECRETS.pagerduty_api_token,
)


def declare_and_ack_with_slack_failing_once(stack: LocalStack) -> None:
    stack.slack.fail_next("chat.postMessage", status=500)
    slack_event(stack, alert(WEDNESDAY_10_ET), "Ev1")
    stack.slack.fail_next("chat.postMessage", status=500, times=3)
    reply = {"type": "message", "channel": "C0PRODSUP", "user": "U0ONCALL", "text": "on it"}
    slack_event(
        stack,
        {**reply, "ts": f"{int(WEDNESDAY_10_ET.timestamp())}.000200", "thread_ts": alert(WEDNESDAY_10_ET)["ts"]},
        "Ev2",
    )


def bad_and_stale_signatures(stack: LocalStack) -> None:
    body = command_body("critical Kiosks down")
    stack.request("POST", "/slack/commands", slack_headers(body, WEDNESDAY_10_ET, secret="wrong"), body)
    stack.request("POST", "/slack/commands", slack_headers(body, WEDNESDAY_10_ET - timedelta(minutes=6)), body)
    webhook = pagerduty_body("incident.triggered", WEDNESDAY_10_ET, event_id="01PD")
    stack.request("POST", "/pagerduty/webhook", pagerduty_headers(webhook, secret="wrong"), webhook)


def pagerduty_trigger_with_oncall_lookup_failing(stack: LocalStack) -> None:
    assert stack.pagerduty is not None
    stack.pagerduty.fail_next("/oncalls", status=500)
    webhook = pagerduty_body("incident.triggered", WEDNESDAY_10_ET, event_id="01PD")
    stack.request("POST", "/pagerduty/webhook", pagerduty_headers(webhook), webhook)


def checker_and_email_with_slack_refusing(stack: LocalStack) -> None:
    command_answer(stack, "critical Kiosks down")
    command_answer(stack, f"{INC} email", user="U0PM")
    stack.slack.fail_next("chat.postMessage", error="invalid_auth", times=2)
    stack.drain()
    at = WEDNESDAY_10_ET + timedelta(hours=20)
    clock_of(stack).set(at)
    stack.invoke("SlaCheckerFunction", {"time": to_iso(at), "job": "sla"})


FLOWS: dict[str, Callable[[LocalStack], None]] = {
    "slack events with Slack failing": declare_and_ack_with_slack_failing_once,
    "bad and stale signatures": bad_and_stale_signatures,
    "pagerduty with the on-call lookup failing": pagerduty_trigger_with_oncall_lookup_failing,
    "checker and email sender with Slack refusing": checker_and_email_with_slack_refusing,
}


@pytest.mark.parametrize("flow", FLOWS.values(), ids=FLOWS.keys())
def test_no_secret_appears_in_any_log_line(
    stack: LocalStack,
    flow: Callable[[LocalStack], None],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stack.configure({**SETTINGS, "pagerduty_escalation_policy_id": "PEP1", "oncall_user_id": "U0ONCALL"})
    clock_of(stack).set(WEDNESDAY_10_ET)
    caplog.set_level(logging.DEBUG)

    flow(stack)

    out, err = capfd.readouterr()
    logged = "\n".join([out, err, caplog.text, *(f.traceback for f in stack.failures)])
    assert logged.strip(), "the flow logged nothing, so the check would prove nothing"
    leaked = [secret for secret in SECRET_VALUES if secret in logged]
    assert leaked == []
