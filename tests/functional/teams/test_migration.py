"""Items written by the single-team version are the default team's once the deployment has teams.

`items_before_teams.json` is the table (delivery claims left out) as the code before teams (commit ce6f656)
left it in a local-stack run: an alert's incident INC-2026-0001 not yet acknowledged, a declared critical
INC-2026-0002, the id counter, and the roster after `/prodsupport pm <@U0NEWPM>`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from builders import ALERT_BOT, alert, checker_run, clock_of, payloads_of, slack_event

from prodsupport import runtime
from prodsupport_local.emulator.stack import LocalStack
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

ITEMS = json.loads((Path(__file__).parent / "items_before_teams.json").read_text(encoding="utf-8"))
ALERT_TS = "1795788300.000100"
CHECKIN = {"id": "checkin", "id_prefix": "CHK", "channel_id": "C0CHECKIN"}
SETTINGS = {"alert_bot_ids": [ALERT_BOT], "pm_user_id": "U0PM", "admin_user_ids": ["U0ADMIN"], "teams": [CHECKIN]}


@pytest.fixture
def upgraded(stack: LocalStack) -> LocalStack:
    """The table of a single-team deployment, and the same deployment redeployed with a second team."""
    client = stack.aws.client("dynamodb")
    for item in ITEMS:
        client.put_item(TableName=stack.aws.table_name("IncidentsTable"), Item=item)
    stack.configure(SETTINGS)
    clock_of(stack).set(datetime(2026, 11, 27, 14, 10, tzinfo=UTC))
    return stack


def test_the_items_were_written_without_a_team() -> None:
    assert not [item for item in ITEMS if "team" in item]


def test_an_incident_written_before_teams_is_the_default_teams(upgraded: LocalStack) -> None:
    incident = runtime.current().store.get_by_id("INC-2026-0001")

    assert incident is not None
    assert (incident.team, incident.channel_id) == ("default", "C0PRODSUP")


def test_the_default_teams_ids_continue_where_they_were(upgraded: LocalStack, slack: RecordingSlackApi) -> None:
    at = clock_of(upgraded)()
    slack_event(upgraded, alert(at, channel="C0PRODSUP", seq=900), "Ev1")
    slack_event(upgraded, alert(at, channel="C0CHECKIN", seq=900), "Ev2")

    assert [p["incident_id"] for p in payloads_of(slack, "incident_declared")] == ["INC-2026-0003", "CHK-2026-0001"]


def test_the_roster_written_before_teams_is_still_the_default_teams(upgraded: LocalStack) -> None:
    rt = runtime.current()

    assert rt.roster.load().pm_user_id == "U0NEWPM"
    assert rt.for_team("checkin").roster.load().pm_user_id == ""  # it names no PM: people are never inherited


def test_the_checker_checks_an_incident_written_before_teams_with_the_default_playbook(
    upgraded: LocalStack, slack: RecordingSlackApi
) -> None:
    checker_run(upgraded, datetime(2026, 11, 27, 14, 21, tzinfo=UTC))

    (breach,) = [p for p in payloads_of(slack, "sla_breached") if p["incident_id"] == "INC-2026-0001"]
    assert (breach["team"], breach["due"]) == ("default", "2026-11-27T14:20:00Z")


def test_a_reply_in_the_thread_of_an_incident_written_before_teams_acknowledges_it(
    upgraded: LocalStack, slack: RecordingSlackApi
) -> None:
    reply = {"type": "message", "channel": "C0PRODSUP", "user": "U0ONCALL", "text": "On it", "ts": "1795788600.000200"}
    slack_event(upgraded, {**reply, "thread_ts": ALERT_TS}, "Ev1")

    (ack,) = payloads_of(slack, "incident_acknowledged")
    assert (ack["incident_id"], ack["met"], ack["team"]) == ("INC-2026-0001", True, "default")
