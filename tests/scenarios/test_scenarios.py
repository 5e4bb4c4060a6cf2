"""Replay scenarios against their expected output, and the replay tool's own contract (docs/design.md#replay).

Each `tests/scenarios/<name>.jsonl` runs through `run_scenario`; its output must equal
`<name>.expected.jsonl` byte for byte. `UPDATE_GOLDEN=1 pytest tests/scenarios` rewrites the expected files
from the current behaviour (review the diff before committing it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from prodsupport import runtime
from prodsupport.pagerduty.webhook import verify_signature
from prodsupport_local.cli import main as cli
from prodsupport_local.emulator.aws import LocalSecrets
from prodsupport_local.emulator.replay import (
    ScenarioError,
    Step,
    build_request,
    format_effect,
    parse_scenario,
    run_scenario,
)
from prodsupport_local.emulator.stack import LocalStack

SCENARIO_DIR = Path(__file__).parent
SCENARIOS = sorted(p for p in SCENARIO_DIR.glob("*.jsonl") if not p.name.endswith(".expected.jsonl"))
SECRETS = LocalSecrets()
AT = "2026-11-27T14:05:00Z"


def golden_path(scenario: Path) -> Path:
    return scenario.with_name(f"{scenario.stem}.expected.jsonl")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda path: path.stem)
def test_scenario_output_matches_its_expected_file(scenario: Path, stack: LocalStack) -> None:
    effects = run_scenario(scenario.read_text(encoding="utf-8").splitlines(), stack=stack)
    actual = "".join(format_effect(effect) + "\n" for effect in effects)
    expected = golden_path(scenario)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected.write_text(actual, encoding="utf-8")
    assert not stack.failures, "a handler failed:\n" + "\n".join(f.traceback for f in stack.failures)
    assert expected.exists(), f"{expected.name} is missing; create it with: UPDATE_GOLDEN=1 pytest {scenario}"
    assert actual == expected.read_text(encoding="utf-8")


# -- input lines ----------------------------------------------------------------------------------------------


def step(**item: Any) -> Step:
    (parsed,) = parse_scenario([json.dumps({"at": AT, **item})]).steps
    return parsed


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["not json"], "line 1: not JSON"),
        (["[1]"], "line 1: expected a JSON object"),
        ([json.dumps({"tick": {}})], "line 1: missing 'at'"),
        ([json.dumps({"at": "2026-11-27T14:05:00", "tick": {}})], "line 1: at: .*no zone"),
        ([json.dumps({"at": AT})], "line 1: expected exactly one of"),
        ([json.dumps({"at": AT, "tick": {}, "pagerduty": {}})], "line 1: expected exactly one of"),
        ([json.dumps({"at": AT, "slack_event": {}, "extra": 1})], "line 1: unknown key 'extra'"),
        ([json.dumps({"at": AT, "slack_event": []})], "line 1: slack_event must be a JSON object"),
        ([json.dumps({"at": AT, "slack_command": {"text": ["a"]}})], "line 1: slack_command field 'text'"),
        ([json.dumps({"at": AT, "slack_event": {}, "headers": {"X": 1}})], "line 1: headers must map"),
        ([json.dumps({"at": AT, "tick": {}}), json.dumps({"config": {}})], "line 2: a config line must be"),
        ([json.dumps({"config": {"nonsense": 1}})], "line 1: unknown setting 'nonsense'"),
        ([json.dumps({"config": {"table_name": "x"}})], "line 1: 'table_name' is set by the local stack"),
        ([json.dumps({"config": {"teams_parameter": "/ps/teams"}})], "line 1: 'teams_parameter' names an SSM"),
        ([json.dumps({"at": AT, "fault": {"dependency": "dns"}})], "line 1: fault: `dependency` must be"),
        ([json.dumps({"at": AT, "fault": {"dependency": "ses"}, "headers": {}})], "line 1: a fault sends no request"),
        ([json.dumps({"config": {"outbox_queue_url": "x"}})], "line 1: 'outbox_queue_url' is set by the local stack"),
        ([json.dumps({"config": {"ses_configuration_set": "x"}})], "line 1: 'ses_configuration_set' is set by the"),
        ([json.dumps({"config": {"stakeholders": ["not-an-email"]}})], "line 1: 'not-an-email' is not an email"),
        (
            [json.dumps({"at": "2026-11-27T15:00:00Z", "tick": {}}), "", json.dumps({"at": AT, "tick": {}})],
            "line 3: at 2026-11-27T14:05:00Z is before",
        ),
    ],
)
def test_bad_lines_are_reported_with_their_line_number(lines: list[str], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(lines)


def test_config_line_is_optional_and_first() -> None:
    scenario = parse_scenario([json.dumps({"config": {"pm_user_id": "UPM"}}), json.dumps({"at": AT, "tick": {}})])
    assert scenario.config == {"pm_user_id": "UPM"}
    assert [s.action for s in scenario.steps] == ["tick"]


# -- requests as the senders make them ---------------------------------------------------------------------


def test_slack_event_is_signed_v0_at_the_virtual_time() -> None:
    method, path, headers, body = build_request(step(slack_event={"type": "url_verification"}), SECRETS)
    timestamp = headers["X-Slack-Request-Timestamp"]
    expected = SignatureVerifier("local-signing-secret").generate_signature(timestamp=timestamp, body=body)
    assert (method, path, timestamp) == ("POST", "/slack/events", "1795788300")
    assert headers["X-Slack-Signature"] == expected
    assert headers["Content-Type"] == "application/json"


def test_slack_command_is_a_form_post() -> None:
    _, path, headers, body = build_request(step(slack_command={"command": "/incident", "text": "list"}), SECRETS)
    assert (path, body) == ("/slack/commands", b"command=%2Fincident&text=list")
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_slack_interaction_is_a_payload_form_field() -> None:
    _, path, _, body = build_request(step(slack_interaction={"type": "block_actions"}), SECRETS)
    assert (path, body) == ("/slack/interactions", b"payload=%7B%22type%22%3A%22block_actions%22%7D")


def test_pagerduty_webhook_is_signed_v1_with_the_first_secret() -> None:
    _, path, headers, body = build_request(step(pagerduty={"event": {"id": "E1"}}), SECRETS)
    assert path == "/pagerduty/webhook"
    assert verify_signature(["local-pagerduty-secret"], headers["X-PagerDuty-Signature"], body)


def test_pagerduty_webhook_id_is_stable_per_line_and_distinct_between_lines() -> None:
    lines = [json.dumps({"at": AT, "pagerduty": {}}), json.dumps({"at": AT, "pagerduty": {}})]
    first, second = (build_request(s, SECRETS)[2]["X-Webhook-Id"] for s in parse_scenario(lines).steps)
    again = build_request(parse_scenario(lines).steps[0], SECRETS)[2]["X-Webhook-Id"]
    assert first == again
    assert first != second


def test_line_headers_replace_computed_ones_whatever_their_case() -> None:
    _, _, headers, _ = build_request(step(slack_event={}, headers={"x-slack-signature": "v0=bad"}), SECRETS)
    assert headers["x-slack-signature"] == "v0=bad"
    assert "X-Slack-Signature" not in headers


def test_a_null_line_header_removes_the_computed_one() -> None:
    _, _, headers, _ = build_request(step(slack_event={}, headers={"X-Slack-Signature": None}), SECRETS)
    assert "X-Slack-Signature" not in headers


# -- output ---------------------------------------------------------------------------------------------------


@pytest.fixture
def posting_handler(stack: LocalStack) -> Iterator[list[datetime]]:
    """The Slack events function replaced by one that posts twice, replies in a thread and sends an email."""
    seen: list[datetime] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        rt = runtime.current()
        seen.append(rt.clock())
        root = rt.slack.chat_postMessage(
            channel="C0PRODSUP",
            text="declared",
            metadata={"event_type": "incident_declared", "event_payload": {"a": 1}},
        )
        rt.slack.chat_postMessage(channel="C0PRODSUP", text="reply", thread_ts=root["ts"])
        rt.client("sesv2").send_email(
            FromEmailAddress="prodsupport@example.gov",
            Destination={"ToAddresses": ["pm@example.gov"]},
            Content={
                "Simple": {"Subject": {"Data": "S"}, "Body": {"Text": {"Data": "T"}, "Html": {"Data": "<b>H</b>"}}}
            },
        )
        return {"statusCode": 200, "body": ""}

    stack.lambdas.override("SlackEventsFunction", handler)
    yield seen
    stack.lambdas.override("SlackEventsFunction", None)


def test_each_step_prints_its_request_then_its_slack_calls_then_its_emails(
    stack: LocalStack, posting_handler: list[datetime]
) -> None:
    effects = run_scenario([json.dumps({"at": AT, "slack_event": {"type": "event_callback"}})], stack=stack)
    assert [next(k for k in effect if k != "at") for effect in effects] == ["http", "slack", "slack", "email"]
    assert effects[0] == {"at": AT, "http": {"route": "POST /slack/events", "status": 200}}
    assert effects[1]["slack"] == {
        "method": "chat.postMessage",
        "channel": "C0PRODSUP",
        "ts": "1795788300.000001",
        "thread_ts": None,
        "text": "declared",
        "metadata": {"event_type": "incident_declared", "event_payload": {"a": 1}},
    }
    assert (effects[2]["slack"]["thread_ts"], effects[2]["slack"]["metadata"]) == ("1795788300.000001", None)
    assert effects[3]["email"] == {
        "from": "prodsupport@example.gov",
        "to": ["pm@example.gov"],
        "subject": "S",
        "text": "T",
        "html": "<b>H</b>",
        "message_id": "local-message-000001",
    }


def test_handlers_see_the_line_time_as_now(stack: LocalStack, posting_handler: list[datetime]) -> None:
    run_scenario([json.dumps({"at": AT, "slack_event": {}})], stack=stack)
    assert posting_handler == [datetime(2026, 11, 27, 14, 5, tzinfo=UTC)]


def test_replaying_twice_prints_the_same_bytes(stack: LocalStack, posting_handler: list[datetime]) -> None:
    lines = [json.dumps({"at": AT, "slack_event": {}}), json.dumps({"at": "2026-11-27T14:06:00Z", "tick": {}})]
    first = [format_effect(effect) for effect in run_scenario(lines, stack=stack)]
    second = [format_effect(effect) for effect in run_scenario(lines, stack=stack)]
    assert first == second


def test_output_lines_have_sorted_keys_and_compact_separators() -> None:
    assert format_effect({"http": {"status": 200, "route": "R"}, "at": AT}) == (
        '{"at":"2026-11-27T14:05:00Z","http":{"route":"R","status":200}}'
    )


# -- command line ---------------------------------------------------------------------------------------------


def test_replay_command_exits_2_naming_the_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "bad.jsonl"
    scenario.write_text(json.dumps({"at": AT, "tick": {}}) + "\n{oops\n", encoding="utf-8")
    assert cli.main(["replay", str(scenario)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("line 2: not JSON")
    assert captured.out == ""


def test_replay_command_prints_one_json_line_per_effect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "routes.jsonl"
    scenario.write_text(json.dumps({"at": AT, "slack_event": {}, "headers": {"X-Slack-Signature": "v0=0"}}) + "\n")
    assert cli.main(["replay", str(scenario)]) == 0
    assert (
        capsys.readouterr().out == '{"at":"2026-11-27T14:05:00Z","http":{"route":"POST /slack/events","status":401}}\n'
    )


def test_cli_lists_replay_and_run(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "replay" in out
    assert "run" in out
