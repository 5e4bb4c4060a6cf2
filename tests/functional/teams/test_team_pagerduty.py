"""PagerDuty with several teams: a trigger opens its incident in the team that owns the PagerDuty service."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from builders import ALERT_BOT, PD_ID, alert, clock_of, pagerduty_event, payloads_of, post_slack, slack_event

from prodsupport.core.settings import Settings
from prodsupport.core.timefmt import format_local
from prodsupport.pagerduty.flows import handle_webhook
from prodsupport.runtime import Runtime
from prodsupport_local.emulator.stack import LocalStack
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

TRIGGERED_AT = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 8:30 PM in New York, 5:30 PM in Los Angeles
PHARMACY = {
    "id": "pharmacy",
    "id_prefix": "PHM",
    "channel_id": "C0PHARMACY",
    "timezone": "America/Los_Angeles",
    "pagerduty_service_ids": ["PSVC0CHK"],  # the builders' service
}


@pytest.fixture
def pharmacy_owns_the_service(stack: LocalStack) -> LocalStack:
    stack.configure({"teams": [PHARMACY]})
    return stack


def trigger() -> bytes:
    return json.dumps(pagerduty_event("incident.triggered", TRIGGERED_AT, event_id="EV-PHM-1")).encode()


def test_a_trigger_opens_its_incident_in_the_team_that_owns_the_service(
    pharmacy_owns_the_service: LocalStack, slack: RecordingSlackApi
) -> None:
    rt = Runtime(Settings.from_env(os.environ), pharmacy_owns_the_service.clock)

    status, _ = handle_webhook(rt, trigger(), {"X-Webhook-Id": "wh-1"})

    (declared,) = payloads_of(slack, "incident_declared")
    assert status == 202
    assert (declared["incident_id"], declared["team"], declared["window"]) == ("PHM-2026-0001", "pharmacy", "business")
    assert slack.posts()[0].args["channel"] == "C0PHARMACY"


def test_a_trigger_of_a_team_whose_configuration_is_bad_is_answered_and_opens_nothing(
    pharmacy_owns_the_service: LocalStack, slack: RecordingSlackApi
) -> None:
    env = {**os.environ, "PRODSUPPORT_TEAMS": json.dumps([{**PHARMACY, "business_day_start": "7am"}])}
    rt = Runtime(Settings.from_env(env, lenient_teams=True), pharmacy_owns_the_service.clock)

    status, answer = handle_webhook(rt, trigger(), {"X-Webhook-Id": "wh-1"})

    assert (status, json.loads(answer)["status"]) == (202, "ignored: its team cannot be served")
    assert slack.posts() == []


CHECKIN_IN_CHICAGO = {"id": "checkin", "id_prefix": "CHK", "channel_id": "C0CHECKIN", "timezone": "America/Chicago"}


@pytest.fixture
def checkin_lists_no_service(stack: LocalStack) -> LocalStack:
    """No team lists the builders' PagerDuty service: only a link ties its incident to a team."""
    stack.configure({"alert_bot_ids": [ALERT_BOT], "teams": [CHECKIN_IN_CHICAGO]})
    clock_of(stack).set(TRIGGERED_AT)
    return stack


def test_an_ack_of_an_incident_linked_by_a_team_is_judged_and_posted_as_that_team(
    checkin_lists_no_service: LocalStack, slack: RecordingSlackApi
) -> None:
    stack = checkin_lists_no_service
    slack_event(stack, alert(TRIGGERED_AT, channel="C0CHECKIN", seq=1), "Ev1")
    form = {
        "command": "/incident",
        "text": f"CHK-2026-0001 link {PD_ID}",
        "user_id": "U0ENG",
        "channel_id": "C0CHECKIN",
    }
    assert post_slack(stack, "/slack/commands", urlencode(form).encode()).status == 200
    acked_at = TRIGGERED_AT + timedelta(minutes=5)
    clock_of(stack).set(acked_at)
    rt = Runtime(Settings.from_env(os.environ), stack.clock)
    body = json.dumps(pagerduty_event("incident.acknowledged", acked_at, event_id="EV-ACK-1")).encode()

    handle_webhook(rt, body, {"X-Webhook-Id": "wh-2"})

    (acknowledged,) = payloads_of(slack, "incident_acknowledged")
    post = next(p for p in slack.posts() if p.args.get("text", "").startswith(":white_check_mark:"))
    assert (acknowledged["incident_id"], acknowledged["team"]) == ("CHK-2026-0001", "checkin")
    assert post.args["channel"] == "C0CHECKIN"
    assert format_local(acked_at, ZoneInfo("America/Chicago")) in post.args["text"]


def test_a_trigger_of_a_service_no_team_lists_is_ignored_with_several_teams(
    checkin_lists_no_service: LocalStack, slack: RecordingSlackApi
) -> None:
    rt = Runtime(Settings.from_env(os.environ), checkin_lists_no_service.clock)

    status, answer = handle_webhook(rt, trigger(), {"X-Webhook-Id": "wh-1"})

    assert (status, json.loads(answer)["status"]) == (202, "ignored: no team owns the service")
    assert slack.posts() == []
