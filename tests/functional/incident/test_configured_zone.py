"""People read times in the configured zone (`timezone`), on every surface: Slack, the checker, PagerDuty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import (
    PD_ID,
    PD_URL,
    SETTINGS,
    alert,
    checker_run,
    clock_of,
    deliver_pagerduty,
    pagerduty_event,
    slack_command,
    slack_event,
)

from prodsupport_local.emulator.stack import LocalStack
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

# Wed 11/25/2026 10:00 AM PST: business hours on the west coast.
WEDNESDAY_10_PT = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


@pytest.fixture
def pacific(stack: LocalStack) -> LocalStack:
    stack.configure({**SETTINGS, "timezone": "America/Los_Angeles"})
    return stack


def posted_texts(slack: RecordingSlackApi) -> list[str]:
    return [str(c.args.get("text") or "") for c in slack.calls_to("chat.postMessage") if c.ok]


def test_a_declared_incident_card_shows_its_times_in_the_configured_zone(pacific: LocalStack) -> None:
    clock_of(pacific).set(WEDNESDAY_10_PT)
    assert slack_command(pacific, "major Kiosk check-in down").status == 200

    card = posted_texts(pacific.slack)[0]
    assert "acknowledge by Wed 11/25/2026 10:15 AM PST" in card


def test_the_checker_says_when_a_clock_is_due_in_the_configured_zone(pacific: LocalStack) -> None:
    clock_of(pacific).set(WEDNESDAY_10_PT)
    assert slack_event(pacific, alert(WEDNESDAY_10_PT), "Ev0ZONE").status == 200

    checker_run(pacific, WEDNESDAY_10_PT + timedelta(minutes=10))

    reminder = next(t for t in posted_texts(pacific.slack) if t.startswith(":alarm_clock:"))
    assert "due by Wed 11/25/2026 10:15 AM PST" in reminder


def test_a_pagerduty_status_update_is_stamped_in_the_configured_zone(pacific: LocalStack) -> None:
    deliver_pagerduty(pacific, pagerduty_event("incident.triggered", WEDNESDAY_10_PT))
    status_update = {
        "id": "PSTU0001",
        "type": "incident_status_update",
        "message": "Rolled back the deploy",
        "incident": {"id": PD_ID, "type": "incident_reference", "html_url": PD_URL},
    }
    update_at = WEDNESDAY_10_PT + timedelta(minutes=20)
    deliver_pagerduty(pacific, pagerduty_event("incident.status_update_published", update_at, data=status_update))

    status = next(t for t in posted_texts(pacific.slack) if t.startswith(":memo:"))
    assert "at Wed 11/25/2026 10:20 AM PST" in status
