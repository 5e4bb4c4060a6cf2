"""The partner directory: checked at load with the entry and field named, looked up by name or alias in any case."""

from __future__ import annotations

from typing import Any

import pytest

from prodsupport.core.settings import Settings, SettingsError, env_from_config
from prodsupport.partner.model import PartnerDirectory, UnknownPartners

VETEXT: dict[str, Any] = {
    "name": "VEText",
    "aliases": ["vetext-team", "text messaging"],
    "slack_usergroup_id": "S0VETEXT",
    "pagerduty_escalation_policy_id": "PEP0VTX",
    "applications": ["Pre-Check-In"],
}
CHIP: dict[str, Any] = {"name": "CHIP", "slack_user_ids": ["U0CHIP1", "U0CHIP2"], "applications": ["Check-In"]}
LIGHTHOUSE: dict[str, Any] = {"name": "Lighthouse APIs", "aliases": ["lighthouse"], "slack_usergroup_id": "S0LIGHT"}


def directory() -> PartnerDirectory:
    return PartnerDirectory.parse([VETEXT, CHIP, LIGHTHOUSE])


def test_a_partner_needs_a_name_and_someone_to_ping() -> None:
    (partner,) = PartnerDirectory.parse([{"name": "VistA", "slack_user_ids": ["U0VISTA"]}]).partners

    assert (partner.name, partner.aliases, partner.mentions, partner.pageable) == ("VistA", (), "<@U0VISTA>", False)


def test_a_partner_nobody_would_be_pinged_for_is_refused_naming_the_field() -> None:
    with pytest.raises(SettingsError, match=r"^partners\[1\]\.slack_usergroup_id: a partner needs a Slack user group"):
        PartnerDirectory.parse([VETEXT, {"name": "VistA", "slack_user_ids": []}])


def test_a_missing_name_is_refused_naming_the_entry() -> None:
    with pytest.raises(SettingsError, match=r"^partners\[1\]\.name: is required"):
        PartnerDirectory.parse([VETEXT, {"aliases": ["x"]}])


def test_aliases_that_are_not_a_list_of_strings_are_refused_naming_the_field() -> None:
    with pytest.raises(SettingsError, match=r"^partners\[2\]\.aliases: expected a list of non-empty strings"):
        PartnerDirectory.parse([VETEXT, CHIP, {**LIGHTHOUSE, "aliases": "lighthouse"}])


def test_an_unknown_field_is_refused_naming_it() -> None:
    with pytest.raises(SettingsError, match=r"^partners\[0\]\.slack_channel: not a partner field"):
        PartnerDirectory.parse([{**VETEXT, "slack_channel": "C1"}])


def test_a_slack_user_id_that_is_not_one_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"^partners\[0\]\.slack_user_ids: '@chip' is not a valid id"):
        PartnerDirectory.parse([{**CHIP, "slack_user_ids": ["@chip"]}])


def test_an_alias_naming_another_partner_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"^partners\[1\]\.aliases: 'vetext' already names 'VEText'"):
        PartnerDirectory.parse([VETEXT, {**CHIP, "aliases": ["vetext"]}])


def test_a_partner_is_found_by_name_or_alias_in_any_case() -> None:
    partners = directory()

    assert partners.get("vetext") == partners.get("TEXT MESSAGING") == partners.partners[0]
    assert partners.get("VistA") is None


def test_names_of_several_words_and_lists_resolve_to_each_partner_once() -> None:
    found = directory().resolve("Lighthouse APIs, chip vetext-team CHIP")

    assert [partner.name for partner in found] == ["Lighthouse APIs", "CHIP", "VEText"]


def test_words_naming_nobody_are_reported_together() -> None:
    with pytest.raises(UnknownPartners) as raised:
        directory().resolve("VistA chip MPI")

    assert raised.value.words == ("VistA", "MPI")


def test_the_partners_supporting_an_application_are_found_in_any_case() -> None:
    assert [partner.name for partner in directory().supporting(["pre-check-in"])] == ["VEText"]


def test_a_tag_mentions_the_user_group_and_each_person() -> None:
    partners = directory()

    assert partners.partners[0].mentions == "<!subteam^S0VETEXT>"
    assert partners.partners[1].mentions == "<@U0CHIP1> <@U0CHIP2>"


def test_the_setting_takes_the_directory_as_json_objects() -> None:
    env = env_from_config({"table_name": "t", "channel_id": "C1", "partners": [VETEXT, CHIP]})

    settings = Settings.from_env(env)

    assert PartnerDirectory.parse(settings.partners).names == ("VEText", "CHIP")


def test_a_setting_that_is_not_a_json_array_of_objects_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="PRODSUPPORT_PARTNERS is malformed: expected a JSON array of objects"):
        Settings.from_env(
            {"PRODSUPPORT_TABLE_NAME": "t", "PRODSUPPORT_CHANNEL_ID": "C1", "PRODSUPPORT_PARTNERS": '["VEText"]'}
        )
