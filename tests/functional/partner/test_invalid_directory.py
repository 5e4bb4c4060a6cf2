"""A `partners` setting with a bad entry: only the partner commands are affected, and they say why.

The directory is read at every cold start of every function; were a bad entry to raise there, every Slack and
PagerDuty request would fail and the SLA checker would stop.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import INC, command_answer, declare_by_alert, deploy, posts_of, stored

from prodsupport_local.emulator.stack import LocalStack

BAD_PARTNERS: list[dict[str, Any]] = [
    {"name": "VEText", "slack_usergroup_id": "S0VETEXT"},
    {"name": "CHIP", "slack_user_ids": "U0CHIP1"},  # a string where a list of user ids is expected
]


@pytest.fixture
def deployment(stack: LocalStack) -> str:
    """An alert-declared incident on a deployment whose partner directory is invalid; its thread's ts."""
    return declare_by_alert(deploy(stack, partners=BAD_PARTNERS))


def test_an_invalid_directory_leaves_incidents_working(deployment: str, stack: LocalStack) -> None:
    answer = command_answer(stack, f"{INC} status Investigating next 30m")

    assert stored(deployment).current_status == "Investigating"
    assert answer["text"] == f"Status of {INC} posted in the thread."


def test_an_invalid_directory_is_counted_at_cold_start(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    declare_by_alert(deploy(stack, partners=BAD_PARTNERS))

    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [blob["PartnerDirectoryInvalid"] for blob in metrics if "PartnerDirectoryInvalid" in blob] == [[1.0]]


def test_partners_answers_with_the_configuration_error_naming_the_field(deployment: str, stack: LocalStack) -> None:
    answer = command_answer(stack, "partners")

    assert answer["text"].startswith("The partner directory is misconfigured, so no partner can be tagged: partners[1]")
    assert "slack_user_ids" in answer["text"]


def test_a_tag_answers_with_the_configuration_error_and_tags_nothing(deployment: str, stack: LocalStack) -> None:
    answer = command_answer(stack, f"{INC} partner VEText")

    assert answer["text"].startswith("The partner directory is misconfigured")
    assert stored(deployment).partners == [] and not posts_of(stack.slack, "partner_tagged")
