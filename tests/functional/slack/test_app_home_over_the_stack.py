"""The App Home over the local stack: opening the tab publishes that person's home, and its buttons are the
card's, checked for channel membership exactly as on the card."""

from __future__ import annotations

from typing import Any

import pytest
from builders import CHANNEL, INC, SETTINGS, WEDNESDAY_10_ET, clock_of, declare_by_alert, slack_event, slack_interaction

from prodsupport_local.emulator.stack import LocalStack

MEMBER, OUTSIDER = "U0ONCALL", "U0OUTSIDER"


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    stack.slack.set_members(CHANNEL, ["U0PM", MEMBER])
    return stack


def home_opened(user: str, tab: str = "home") -> dict[str, Any]:
    return {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": tab, "event_ts": "1795618900.000100"}


def home_click(user: str, action_id: str) -> dict[str, Any]:
    """A button on the home tab: Slack sends the view, and no channel, message or response_url."""
    return {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": "t.home",
        "view": {"type": "home", "id": f"VHOME{user}"},
        "actions": [{"action_id": action_id, "block_id": "incident_actions", "value": INC}],
    }


def test_opening_the_home_tab_publishes_that_persons_home(configured: LocalStack) -> None:
    declare_by_alert(configured)

    assert slack_event(configured, home_opened(MEMBER), "Ev0HOME").status == 200

    [published] = configured.slack.calls_to("views.publish")
    assert published.args["user_id"] == MEMBER
    assert published.args["view"]["type"] == "home"
    assert f"*{INC}*" in str(published.args["view"]["blocks"])


def test_opening_the_messages_tab_publishes_nothing(configured: LocalStack) -> None:
    assert slack_event(configured, home_opened(MEMBER, tab="messages"), "Ev0MSGS").status == 200

    assert configured.slack.calls_to("views.publish") == []


def test_a_member_clicking_post_status_on_the_home_tab_gets_the_cards_form(configured: LocalStack) -> None:
    declare_by_alert(configured)

    assert slack_interaction(configured, home_click(MEMBER, "incident_status")).status == 200

    [opened] = configured.slack.calls_to("views.open")
    assert (opened.args["view"]["callback_id"], opened.args["view"]["private_metadata"]) == ("incident_status", INC)


def test_a_non_member_clicking_resolve_on_the_home_tab_is_refused_and_no_form_opens(configured: LocalStack) -> None:
    declare_by_alert(configured)

    assert slack_interaction(configured, home_click(OUTSIDER, "incident_resolve")).status == 200

    assert configured.slack.calls_to("views.open") == []


def test_last_weeks_compliance_is_the_monday_to_monday_week_the_weekly_report_counts(configured: LocalStack) -> None:
    # WHEN the home is opened on a Wednesday
    assert slack_event(configured, home_opened(MEMBER), "Ev0HOME").status == 200

    # THEN its compliance covers the week the Monday report counted, not the seven days before today
    [published] = configured.slack.calls_to("views.publish")
    assert "_Mon 11/16/2026 12:00 AM EST to Mon 11/23/2026 12:00 AM EST, 0 incident(s)_" in str(
        published.args["view"]["blocks"]
    )
