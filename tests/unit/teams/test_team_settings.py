"""Several teams in one deployment: the `teams` setting is read by the settings' own parser, and a bad team
object names its field."""

from __future__ import annotations

import json
import re
from datetime import time
from typing import Any

import pytest

from prodsupport.core.settings import DEFAULT_TEAM_ID, TEAM_SCOPED, Settings, SettingsError

BASE = {
    "PRODSUPPORT_TABLE_NAME": "t",
    "PRODSUPPORT_CHANNEL_ID": "C0PRODSUP",
    "PRODSUPPORT_ADMIN_USER_IDS": "U0ADMIN",
    "PRODSUPPORT_PAGERDUTY_SERVICE_IDS": "PSVC0DEF",
}
CHECKIN = {"id": "checkin", "id_prefix": "CHK", "channel_id": "C0CHECKIN"}
PHARMACY = {"id": "pharmacy", "id_prefix": "PHM", "channel_id": "C0PHARMACY", "timezone": "America/Los_Angeles"}
# What a deployment keeps for itself, shared by every team: where things are, not how a team works.
DEPLOYMENT_KEYS = {
    "table_name",
    "email_queue_url",
    "outbox_queue_url",
    "outbox_delay_seconds",
    "email_sender",
    "ses_configuration_set",
    "member_cache_seconds",
    "dedupe_ttl_hours",
    "slack_secret_name",
    "slack_api_url",
    "slack_retry_backoff_seconds",
    "pagerduty_secret_name",
    "pagerduty_api_url",
    "github_secret_name",
    "github_api_url",
    "github_retry_budget_seconds",
    "oncall_cache_seconds",
    "secrets_max_age_seconds",
    "teams",
    "teams_parameter",
    "dropped_teams",
}


def with_teams(*teams: dict[str, Any], lenient: bool = False) -> Settings:
    return Settings.from_env({**BASE, "PRODSUPPORT_TEAMS": json.dumps(list(teams))}, lenient_teams=lenient)


def test_every_setting_is_either_a_teams_or_the_deployments() -> None:
    names = set(Settings._fields)
    assert names - TEAM_SCOPED - DEPLOYMENT_KEYS == set()
    assert set() == TEAM_SCOPED & DEPLOYMENT_KEYS


def test_a_deployment_without_teams_is_the_default_team_alone() -> None:
    assert Settings.from_env(BASE).teams == ()


def test_a_team_is_the_default_settings_with_its_own_values() -> None:
    (team,) = with_teams({**PHARMACY, "business_day_start": "08:30", "admin_user_ids": ["U0PHM"]}).teams
    assert (team.id, team.id_prefix, team.settings.channel_id) == ("pharmacy", "PHM", "C0PHARMACY")
    assert (team.settings.timezone, team.settings.business_day_start) == ("America/Los_Angeles", time(8, 30))
    assert team.settings.admin_user_ids == ("U0PHM",)
    assert team.settings.ack_minutes_business == 15  # not set by the team: the default team's


def test_a_team_owns_no_pagerduty_service_it_does_not_name() -> None:
    (team,) = with_teams(CHECKIN).teams
    assert team.settings.pagerduty_service_ids == ()


@pytest.mark.parametrize(
    ("team", "complaint"),
    [
        ({**CHECKIN, "business_day_start": "7am"}, "teams[1].business_day_start: expected HH:MM, got '7am'"),
        ({**CHECKIN, "ack_minutes_business": "soon"}, "teams[1].ack_minutes_business: expected a whole number"),
        ({**CHECKIN, "timezone": "Mars/Olympus"}, "teams[1].timezone: 'Mars/Olympus' is not an IANA time zone"),
        ({**CHECKIN, "stakeholders": ["nobody"]}, "'nobody' is not an email address (teams[1].stakeholders)"),
        ({**CHECKIN, "leadership_emails": ["boss"]}, "teams[1].leadership_emails: 'boss' is not an email address"),
        ({**CHECKIN, "business_day_end": "06:00"}, "teams[1].business_day_start must be before teams[1].busi"),
        ({**CHECKIN, "table_name": "other"}, "teams[1].table_name: not a team setting"),
        ({**CHECKIN, "colour": "blue"}, "teams[1].colour: not a team setting"),
        ({**CHECKIN, "id_prefix": "chk"}, "teams[1].id_prefix: expected 2 to 6 capital letters"),
        ({**CHECKIN, "id_prefix": "INC"}, "teams[1].id_prefix: expected 2 to 6 capital letters other than INC"),
        ({**CHECKIN, "id": DEFAULT_TEAM_ID}, "teams[1].id: expected lowercase letters"),
        ({**CHECKIN, "id": "pharmacy"}, "teams[1].id: 'pharmacy' already belongs to another team"),
        ({**CHECKIN, "id_prefix": "PHM"}, "teams[1].id_prefix: 'PHM' already belongs to another team"),
        ({**CHECKIN, "channel_id": "C0PHARMACY"}, "teams[1].channel_id: 'C0PHARMACY' already belongs"),
        ({**CHECKIN, "channel_id": "C0PRODSUP"}, "teams[1].channel_id: 'C0PRODSUP' already belongs"),
        ({**CHECKIN, "pagerduty_service_ids": ["PSVC0DEF"]}, "teams[1].pagerduty_service_ids: 'PSVC0DEF' already"),
        ({"id": "x", "id_prefix": "XX"}, "teams[1].channel_id: every team needs its channel"),
    ],
)
def test_a_bad_team_object_names_its_field(team: dict[str, Any], complaint: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(complaint)):
        with_teams(PHARMACY, team)


def test_teams_that_are_not_a_json_list_are_refused() -> None:
    with pytest.raises(SettingsError, match="PRODSUPPORT_TEAMS must be a JSON list"):
        Settings.from_env({**BASE, "PRODSUPPORT_TEAMS": json.dumps(CHECKIN)})


def test_a_lenient_load_keeps_a_bad_team_with_its_error_and_the_others_whole() -> None:
    pharmacy, checkin = with_teams(PHARMACY, {**CHECKIN, "business_day_start": "7am"}, lenient=True).teams
    assert pharmacy.error == ""
    assert checkin.error == "teams[1].business_day_start: expected HH:MM, got '7am'"
    assert checkin.settings.channel_id == "C0CHECKIN"


def test_a_lenient_load_drops_a_team_with_a_bad_identity_and_keeps_the_others() -> None:
    settings = with_teams({**CHECKIN, "id_prefix": "chk"}, PHARMACY, lenient=True)
    assert [team.id for team in settings.teams] == ["pharmacy"]
    assert settings.dropped_teams == ("teams[0].id_prefix: expected 2 to 6 capital letters other than INC and REL",)


def test_a_lenient_load_drops_a_team_without_a_channel() -> None:
    settings = with_teams({"id": "x", "id_prefix": "XX"}, PHARMACY, lenient=True)
    assert [team.id for team in settings.teams] == ["pharmacy"]
    assert settings.dropped_teams == ("teams[0].channel_id: every team needs its channel",)


def test_a_lenient_load_leaves_a_channel_claimed_twice_to_the_first_team() -> None:
    settings = with_teams(PHARMACY, {**CHECKIN, "channel_id": "C0PHARMACY"}, lenient=True)
    ((team,), (error,)) = settings.teams, settings.dropped_teams
    assert (team.id, team.settings.channel_id) == ("pharmacy", "C0PHARMACY")
    assert error == "teams[1].channel_id: 'C0PHARMACY' already belongs to another team"


def test_a_dropped_team_leaves_its_other_names_free() -> None:
    settings = with_teams({**CHECKIN, "channel_id": "C0PRODSUP"}, {**CHECKIN, "channel_id": "C0OTHER"}, lenient=True)
    assert [(team.id, team.id_prefix) for team in settings.teams] == [("checkin", "CHK")]


def test_a_team_that_names_none_of_its_people_has_none_of_the_default_teams() -> None:
    people = {
        "PRODSUPPORT_PM_USER_ID": "U0PM",
        "PRODSUPPORT_STAKEHOLDERS": "boss@example.gov",
        "PRODSUPPORT_LEADERSHIP_EMAILS": "lead@example.gov",
        "PRODSUPPORT_PAGERDUTY_ESCALATION_POLICY_ID": "PEP0DEF",
    }
    env = {**BASE, **people, "PRODSUPPORT_TEAMS": json.dumps([CHECKIN])}
    (team,) = Settings.from_env(env).teams
    s = team.settings
    assert (s.admin_user_ids, s.pm_user_id, s.stakeholders, s.leadership_emails) == ((), "", (), ())
    assert s.pagerduty_escalation_policy_id == ""


def test_an_email_severity_that_is_no_severity_names_its_field() -> None:
    with pytest.raises(SettingsError, match=re.escape("teams[0].email_severities: 'sev1' is not one of critical")):
        with_teams({**CHECKIN, "email_severities": ["sev1"]})


@pytest.mark.parametrize("template", ["{app} down {date}", "{application!r} down", "{date:%Y}", "{application down"])
def test_an_email_subject_with_an_unknown_placeholder_names_its_field(template: str) -> None:
    with pytest.raises(SettingsError, match=re.escape("teams[0].email_subject: ")):
        with_teams({**CHECKIN, "email_subject": template})


def test_a_holiday_calendar_the_layer_does_not_ship_names_its_field() -> None:
    with pytest.raises(SettingsError, match=re.escape("teams[0].holiday_calendar: 'UK' is not one of US, none")):
        with_teams({**CHECKIN, "holiday_calendar": "UK"})
