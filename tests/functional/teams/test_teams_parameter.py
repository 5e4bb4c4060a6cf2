"""The teams read from an SSM parameter (emulated AWS) instead of the environment, whose 4 KB a score of
teams outgrows."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from prodsupport.core.settings import Settings, SettingsError
from prodsupport_local.emulator.stack import LocalStack

TEAMS = [
    {"id": f"team-{n}", "id_prefix": "T" + "ABCDEFGHIJKLMNOPQRSTU"[n] * 2, "channel_id": f"C0TEAM{n:02}"}
    for n in range(20)
]


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PRODSUPPORT_TEAMS"}
    return {**env, **extra}


def test_twenty_teams_too_many_for_the_environment_load_from_the_parameter(stack: LocalStack) -> None:
    text = json.dumps([{**team, "applications": ["An application with a long name"] * 4} for team in TEAMS])
    assert len(text) > 4096
    boto3.client("ssm").put_parameter(Name="/prodsupport/teams", Value=text, Type="String", Tier="Advanced")

    settings = Settings.from_env(environment(PRODSUPPORT_TEAMS_PARAMETER="/prodsupport/teams"), lenient_teams=True)

    assert [team.id for team in settings.teams] == [team["id"] for team in TEAMS]
    assert settings.teams[19].settings.channel_id == "C0TEAM19"


def test_a_missing_teams_parameter_names_the_variable(stack: LocalStack) -> None:
    with pytest.raises(SettingsError, match="PRODSUPPORT_TEAMS_PARAMETER: cannot read '/prodsupport/none'"):
        Settings.from_env(environment(PRODSUPPORT_TEAMS_PARAMETER="/prodsupport/none"))


def test_teams_in_both_the_variable_and_the_parameter_are_refused(stack: LocalStack) -> None:
    env = environment(PRODSUPPORT_TEAMS="[]", PRODSUPPORT_TEAMS_PARAMETER="/prodsupport/teams")
    with pytest.raises(SettingsError, match="both set"):
        Settings.from_env(env)
