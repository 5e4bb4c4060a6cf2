"""The runtime's team views: which team a channel, a PagerDuty service or an item belongs to, and what the
views share."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from prodsupport.core.settings import Settings, TeamUnavailable
from prodsupport.runtime import Runtime, TeamJobsFailed
from prodsupport.slack import events
from prodsupport.slack.requests import SlashCommand

AT = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
BASE = {"PRODSUPPORT_TABLE_NAME": "t", "PRODSUPPORT_CHANNEL_ID": "C0PRODSUP"}
CHECKIN = {"id": "checkin", "id_prefix": "CHK", "channel_id": "C0CHECKIN", "pagerduty_service_ids": ["PSVC0CHK"]}
PHARMACY = {
    "id": "pharmacy",
    "id_prefix": "PHM",
    "channel_id": "C0PHARMACY",
    "command_channel_ids": ["C0PHARMOPS"],
    "timezone": "America/Los_Angeles",
}


def runtime_of(*teams: dict[str, Any]) -> Runtime:
    env = {**BASE, "PRODSUPPORT_TEAMS": json.dumps(list(teams))} if teams else BASE
    return Runtime(Settings.from_env(env, lenient_teams=True), lambda: AT)


def typed(command: str, text: str, *, in_channel: str) -> SlashCommand:
    return SlashCommand(command=command, text=text, user_id="U1", channel_id=in_channel, trigger_id="t", at=AT)


def test_a_channel_is_handled_by_the_team_that_owns_it() -> None:
    rt = runtime_of(CHECKIN, PHARMACY)
    assert rt.for_channel("C0CHECKIN").team_id == "checkin"  # type: ignore[union-attr]
    assert rt.for_channel("C0PHARMOPS").team_id == "pharmacy"  # type: ignore[union-attr]
    assert rt.for_channel("C0PRODSUP") is rt


def test_a_channel_no_team_owns_has_no_team_when_there_are_several() -> None:
    assert runtime_of(CHECKIN).for_channel("C0RANDOM") is None


def test_a_single_team_deployment_owns_every_channel_as_before() -> None:
    rt = runtime_of()
    assert rt.for_channel("C0RANDOM") is rt


def test_a_pagerduty_service_is_the_team_that_lists_it() -> None:
    assert runtime_of(CHECKIN).for_service("PSVC0CHK").team_id == "checkin"  # type: ignore[union-attr]


def test_a_service_no_team_lists_is_nobodys_when_there_are_several() -> None:
    assert runtime_of(CHECKIN).for_service("PSVC0OTHER") is None


def test_a_service_the_default_team_lists_is_the_default_teams() -> None:
    env = {**BASE, "PRODSUPPORT_PAGERDUTY_SERVICE_IDS": "PSVC0DEF", "PRODSUPPORT_TEAMS": json.dumps([CHECKIN])}
    rt = Runtime(Settings.from_env(env, lenient_teams=True), lambda: AT)
    assert rt.for_service("PSVC0DEF") is rt


def test_a_single_team_deployment_takes_every_service_as_before() -> None:
    rt = runtime_of()
    assert rt.for_service("PSVC0OTHER") is rt


def test_a_team_view_reads_times_in_its_own_zone_and_numbers_in_its_own_sequence() -> None:
    view = runtime_of(CHECKIN, PHARMACY).for_team("pharmacy")
    assert (str(view.zone), view.id_prefix, view.settings.channel_id) == ("America/Los_Angeles", "PHM", "C0PHARMACY")
    assert view.policy.window(AT) == "business"  # 5:30 PM in Los Angeles
    assert view.root.policy.window(AT) == "after_hours"  # 8:30 PM in New York, the same instant


def test_team_views_share_the_deployments_caches_and_budget_and_are_built_once() -> None:
    rt = runtime_of(CHECKIN)
    view = rt.for_team("checkin")
    assert view.channel_members is rt.channel_members
    assert view.budget is rt.budget
    assert rt.for_team("checkin") is view
    assert view.for_team("default") is rt


def test_an_item_without_a_team_is_the_default_teams() -> None:
    rt = runtime_of(CHECKIN)
    assert rt.for_team("") is rt


def test_a_team_no_longer_configured_cannot_be_served() -> None:
    with pytest.raises(TeamUnavailable, match="'gone' is not configured"):
        runtime_of(CHECKIN).for_team("gone")


def test_a_team_with_a_bad_configuration_cannot_be_served_and_the_others_can() -> None:
    rt = runtime_of({**CHECKIN, "business_day_start": "7am"}, PHARMACY)
    with pytest.raises(TeamUnavailable, match=re.escape("teams[0].business_day_start: expected HH:MM")):
        rt.for_team("checkin")
    views = dict(rt.all_teams())
    assert isinstance(views["checkin"], TeamUnavailable)
    assert views["pharmacy"] is rt.for_team("pharmacy")
    assert views["default"] is rt


def test_a_command_in_the_channel_of_a_team_with_a_bad_configuration_is_told_why() -> None:
    rt = runtime_of({**CHECKIN, "business_day_start": "7am"})
    command = SlashCommand(
        command="/incident", text="list", user_id="U1", channel_id="C0CHECKIN", trigger_id="t", at=AT
    )

    answer = events.routes().on_command(rt, command)

    assert answer is not None
    assert answer["response_type"] == "ephemeral"
    assert "teams[0].business_day_start: expected HH:MM" in answer["text"]


def test_a_command_in_a_channel_no_team_owns_is_told_so() -> None:
    answer = events.routes().on_command(runtime_of(CHECKIN), typed("/release", "list", in_channel="C0RANDOM"))

    assert answer is not None
    assert "No team runs its playbook in <#C0RANDOM>" in answer["text"]


def test_a_scheduled_job_runs_for_every_team_after_one_failed_and_then_fails_the_run() -> None:
    ran: list[str] = []

    def job(view: Runtime) -> None:
        ran.append(view.team_id)
        if view.team_id == "checkin":
            raise RuntimeError("Slack is down")

    with pytest.raises(TeamJobsFailed, match=re.escape("compliance_report failed for team(s) checkin (Slack is down)")):
        runtime_of(CHECKIN, PHARMACY).each_team("compliance_report", job)
    assert ran == ["default", "checkin", "pharmacy"]


def team_config_errors(run: Callable[[], object]) -> list[float]:
    """The `TeamConfigErrors` counted while `run` runs, from the metric set every function handler flushes as
    EMF (under its own dimensions: `service`, and `job` for a scheduled job)."""
    Metrics().clear_metrics()
    with contextlib.suppress(TeamJobsFailed):
        run()
    counted = Metrics().metric_set.get("TeamConfigErrors", {}).get("Value", [])
    Metrics().clear_metrics()
    return list(counted)


def test_a_scheduled_job_counts_a_team_that_cannot_be_served() -> None:
    rt = runtime_of({**CHECKIN, "business_day_start": "7am"}, PHARMACY)

    assert team_config_errors(lambda: rt.each_team("release_digest", lambda view: None)) == [1.0]


def test_a_slack_event_in_the_channel_of_a_team_that_cannot_be_served_is_counted() -> None:
    rt = runtime_of({**CHECKIN, "business_day_start": "7am"})
    event = {"type": "message", "channel": "C0CHECKIN", "user": "U1", "text": "hello", "ts": "1796088600.000100"}

    assert team_config_errors(lambda: events.ROUTER.on_event(rt, event)) == [1.0]
