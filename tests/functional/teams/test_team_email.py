"""The email sender with several teams: a request of a team that cannot be served is never sent or followed up
as another team; it goes back to the queue, to be retried and then dead-lettered."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from builders import clock_of

from prodsupport.core.rendering import RenderedEmail
from prodsupport.core.settings import Settings, TeamUnavailable
from prodsupport.email import sender
from prodsupport.email.requests import enqueue_channel_email
from prodsupport.runtime import Runtime
from prodsupport_local.emulator.stack import LocalStack
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

REQUESTED_AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
PHARMACY = {"id": "pharmacy", "id_prefix": "PHM", "channel_id": "C0PHARMACY", "timezone": "America/Los_Angeles"}


@pytest.fixture
def pharmacy_request(stack: LocalStack) -> str:
    """A release-day email the pharmacy team queued while its configuration was good."""
    stack.configure({"teams": [PHARMACY]})
    clock_of(stack).set(REQUESTED_AT)
    rt = Runtime(Settings.from_env(os.environ), stack.clock).for_team("pharmacy")
    mail = RenderedEmail(subject="Release today", text="Release today.", html="<p>Release today.</p>")
    assert enqueue_channel_email(
        rt,
        mail,
        request_id="REQ-PHM-1",
        kind="release",
        ref="REL-2026-0001",
        to=("pharmacy-stakeholders@example.gov",),
        requested_at=REQUESTED_AT,
        requested_by="U0PHMPM",
    )
    return "REQ-PHM-1"


def test_a_request_of_a_team_that_cannot_be_served_is_not_sent_and_goes_back_to_the_queue(
    pharmacy_request: str, stack: LocalStack, slack: RecordingSlackApi
) -> None:
    env = {**os.environ, "PRODSUPPORT_TEAMS": json.dumps([{**PHARMACY, "business_day_start": "7am"}])}
    rt = Runtime(Settings.from_env(env, lenient_teams=True), stack.clock)

    with pytest.raises(TeamUnavailable):
        sender.deliver(rt, pharmacy_request, REQUESTED_AT)

    assert stack.sent_emails() == []
    assert slack.posts() == []
    item = rt.table.get(f"EMAIL#{pharmacy_request}", "REQUEST")
    assert item is not None
    assert (item["state"], item["batches"]["1"]["state"]) == ("queued", "queued")
