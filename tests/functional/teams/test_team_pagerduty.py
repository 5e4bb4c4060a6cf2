"""PagerDuty with several teams: a trigger opens its incident in the team that owns the PagerDuty service."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from builders import pagerduty_event, payloads_of

from prodsupport.core.settings import Settings
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
