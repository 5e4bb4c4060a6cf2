"""The replay's additions for partners: `answer` on a Slack request line, and `partners` checked on the config line."""

from __future__ import annotations

import json

import pytest

from prodsupport_local.emulator.replay import ScenarioError, parse_scenario

AT = "2026-11-27T14:05:00Z"
COMMAND = {"command": "/incident", "text": "partners", "user_id": "U0ENG", "channel_id": "C0PRODSUP"}


def test_a_command_line_may_ask_for_its_answer() -> None:
    (step,) = parse_scenario([json.dumps({"at": AT, "slack_command": COMMAND, "answer": True})]).steps

    assert step.show_answer


def test_an_answer_on_a_pagerduty_line_is_a_bad_line() -> None:
    with pytest.raises(ScenarioError, match="line 1: answer is true or false, on a slack_command"):
        parse_scenario([json.dumps({"at": AT, "pagerduty": {"event": {}}, "answer": True})])


def test_a_bad_partner_directory_is_a_bad_first_line_naming_the_field() -> None:
    config = {"config": {"partners": [{"name": "VEText", "aliases": "vetext"}]}}

    with pytest.raises(ScenarioError, match=r"line 1: partners\[0\]\.aliases: expected a list of non-empty strings"):
        parse_scenario([json.dumps(config)])
