"""The SLA checker across teams: one query for every team's due items, each checked with its own team's
playbook, and a team that cannot be served never stops the others' run."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from builders import ALERT_BOT, alert, checker_run, clock_of, payloads_of, slack_event

from prodsupport import runtime
from prodsupport.core.settings import Settings
from prodsupport.runtime import Runtime
from prodsupport.sla import checker
from prodsupport_local.emulator.stack import LocalStack
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

MONDAY_EVENING = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 8:30 PM in New York, 5:30 PM in Los Angeles
CHECKIN = {"id": "checkin", "id_prefix": "CHK", "channel_id": "C0CHECKIN", "ack_minutes_after_hours": 10}
PHARMACY = {"id": "pharmacy", "id_prefix": "PHM", "channel_id": "C0PHARMACY", "timezone": "America/Los_Angeles"}
AFTER_BOTH_DEADLINES = MONDAY_EVENING + timedelta(minutes=16)


@pytest.fixture
def two_incidents(stack: LocalStack) -> LocalStack:
    """One unacknowledged alert in each team's channel, at the same instant."""
    stack.configure({"alert_bot_ids": [ALERT_BOT], "teams": [CHECKIN, PHARMACY]})
    clock_of(stack).set(MONDAY_EVENING)
    for number, channel in enumerate(("C0CHECKIN", "C0PHARMACY"), start=1):
        slack_event(stack, alert(MONDAY_EVENING, channel=channel, seq=number), f"Ev{number}")
    return stack


def test_one_run_checks_every_teams_incidents_each_by_its_own_playbook(
    two_incidents: LocalStack, slack: RecordingSlackApi
) -> None:
    result = checker_run(two_incidents, AFTER_BOTH_DEADLINES)

    breaches = {p["incident_id"]: (p["team"], p["due"]) for p in payloads_of(slack, "sla_breached")}
    assert breaches == {
        "CHK-2026-0001": ("checkin", "2026-12-01T01:40:00Z"),  # its own 10-minute after-hours window
        "PHM-2026-0001": ("pharmacy", "2026-12-01T01:45:00Z"),  # business hours in Los Angeles
    }
    assert result["failures"] == 0


def test_an_incident_of_a_team_no_longer_configured_is_skipped_and_the_others_are_checked(
    two_incidents: LocalStack, slack: RecordingSlackApi
) -> None:
    two_incidents.configure({"alert_bot_ids": [ALERT_BOT], "teams": [PHARMACY]})

    result = checker_run(two_incidents, AFTER_BOTH_DEADLINES)

    assert [p["incident_id"] for p in payloads_of(slack, "sla_breached")] == ["PHM-2026-0001"]
    assert result["failures"] == 1


def test_a_team_with_a_bad_configuration_does_not_stop_the_others_run(
    two_incidents: LocalStack, slack: RecordingSlackApi
) -> None:
    bad = [{**CHECKIN, "business_day_start": "7am"}, PHARMACY]
    env = {**os.environ, "PRODSUPPORT_TEAMS": json.dumps(bad)}
    rt = Runtime(Settings.from_env(env, lenient_teams=True), clock_of(two_incidents))

    report = checker.run(rt, AFTER_BOTH_DEADLINES)

    assert [p["incident_id"] for p in payloads_of(slack, "sla_breached")] == ["PHM-2026-0001"]
    assert (report.team_errors, report.failures) == (1, 1)


def test_a_team_dropped_for_its_bad_identity_is_counted_and_the_others_are_checked(
    two_incidents: LocalStack, slack: RecordingSlackApi
) -> None:
    env = {**os.environ, "PRODSUPPORT_TEAMS": json.dumps([CHECKIN, {**PHARMACY, "id_prefix": "phm"}])}
    rt = Runtime(Settings.from_env(env, lenient_teams=True), clock_of(two_incidents))

    report = checker.run(rt, AFTER_BOTH_DEADLINES)

    assert [p["incident_id"] for p in payloads_of(slack, "sla_breached")] == ["CHK-2026-0001"]
    assert report.team_errors == 2  # the dropped team, then its incident's team that nobody serves now


def test_a_channel_claimed_by_a_second_team_stays_with_the_first_and_its_events_are_handled(
    stack: LocalStack, slack: RecordingSlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.configure({"alert_bot_ids": [ALERT_BOT], "teams": [CHECKIN]})
    clock_of(stack).set(MONDAY_EVENING)
    monkeypatch.setenv("PRODSUPPORT_TEAMS", json.dumps([{**PHARMACY, "channel_id": "C0CHECKIN"}, CHECKIN]))
    runtime.reset()

    slack_event(stack, alert(MONDAY_EVENING, channel="C0CHECKIN", seq=1), "Ev1")

    assert [(p["incident_id"], p["team"]) for p in payloads_of(slack, "incident_declared")] == [
        ("PHM-2026-0001", "pharmacy")
    ]


def test_a_team_that_owes_the_email_for_major_incidents_is_reminded_of_it_for_a_major_alert(
    stack: LocalStack, slack: RecordingSlackApi
) -> None:
    stack.configure({"alert_bot_ids": [ALERT_BOT], "teams": [{**PHARMACY, "email_severities": ["critical", "major"]}]})
    clock_of(stack).set(MONDAY_EVENING)
    slack_event(stack, alert(MONDAY_EVENING, channel="C0PHARMACY"), "Ev1")

    checker_run(stack, MONDAY_EVENING + timedelta(hours=20))

    reminded = [(p["incident_id"], p["sla"]) for p in payloads_of(slack, "sla_reminder")]
    assert ("PHM-2026-0001", "stakeholder_email") in reminded
