"""Settings are validated at cold start, and a bad value names its variable."""

from datetime import date, time

import pytest

from prodsupport.core.settings import Settings, SettingsError, env_from_config

BASE = {"PRODSUPPORT_TABLE_NAME": "t", "PRODSUPPORT_CHANNEL_ID": "C1"}


def test_defaults_are_the_playbooks_numbers() -> None:
    settings = Settings.from_env(BASE)
    assert (settings.ack_minutes_business, settings.ack_minutes_after_hours, settings.email_hours) == (15, 60, 24)
    assert (settings.business_day_start, settings.business_day_end) == (time(7), time(20))
    assert settings.timezone == "America/New_York"


def test_a_missing_required_setting_names_itself() -> None:
    with pytest.raises(SettingsError, match="PRODSUPPORT_TABLE_NAME is required"):
        Settings.from_env({"PRODSUPPORT_CHANNEL_ID": "C1"})


@pytest.mark.parametrize(
    ("var", "value", "complaint"),
    [
        ("PRODSUPPORT_ACK_MINUTES_BUSINESS", "fifteen", "PRODSUPPORT_ACK_MINUTES_BUSINESS is malformed"),
        ("PRODSUPPORT_PM_OUT_OF_OFFICE", "perhaps", "PRODSUPPORT_PM_OUT_OF_OFFICE is malformed"),
        ("PRODSUPPORT_EXTRA_HOLIDAYS", "2026-13-01", "PRODSUPPORT_EXTRA_HOLIDAYS is malformed"),
        ("PRODSUPPORT_BUSINESS_DAY_START", "7am", "PRODSUPPORT_BUSINESS_DAY_START is malformed"),
        ("PRODSUPPORT_STAKEHOLDERS", "not-an-address", "not an email address"),
        ("PRODSUPPORT_LEADERSHIP_EMAILS", "octo-lead", "PRODSUPPORT_LEADERSHIP_EMAILS: .octo-lead. is not an email"),
        ("PRODSUPPORT_ALERT_RECOVERY_PATTERNS", '["[Recovered"]', "PRODSUPPORT_ALERT_RECOVERY_PATTERNS"),
    ],
)
def test_a_malformed_setting_names_itself(var: str, value: str, complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        Settings.from_env({**BASE, var: value})


def test_lists_come_comma_separated_or_as_json() -> None:
    comma = Settings.from_env({**BASE, "PRODSUPPORT_ADMIN_USER_IDS": "U1, U2"})
    as_json = Settings.from_env({**BASE, "PRODSUPPORT_ADMIN_USER_IDS": '["U1", "U2"]'})
    assert comma.admin_user_ids == as_json.admin_user_ids == ("U1", "U2")


def test_a_replay_config_line_becomes_the_same_settings() -> None:
    env = env_from_config({"pm_out_of_office": True, "extra_holidays": ["2026-11-27"], "ack_minutes_business": 10})
    settings = Settings.from_env({**BASE, **env})
    assert settings.pm_out_of_office is True
    assert settings.extra_holidays == (date(2026, 11, 27),)
    assert settings.ack_minutes_business == 10


def test_an_empty_cloudformation_parameter_means_unset() -> None:
    assert Settings.from_env({**BASE, "PRODSUPPORT_APPLICATIONS": ""}).applications == ("Check-In Experience",)


@pytest.mark.parametrize("value", ["[]", " , "], ids=["empty-json-list", "only-commas"])
def test_given_an_empty_application_list_then_the_cold_start_fails_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="PRODSUPPORT_APPLICATIONS must name at least one application"):
        Settings.from_env({**BASE, "PRODSUPPORT_APPLICATIONS": value})
