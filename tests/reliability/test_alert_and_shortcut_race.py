"""An alert and a person's message-shortcut declaration of that same alert, each in its own process (two
Lambda containers): whichever interleaving they take, the message gets one incident, one card and the next
id in the sequence, and the person's declaration is its Slack acknowledgement.

Slack answers the card post slowly, so the second declaration can arrive while the first one has claimed
the message but not yet posted its card; the start offsets place it before, during and after that window.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from builders import CHANNEL, SETTINGS, WEDNESDAY_10_ET, alert, clock_of, event_body, posts_of, slack_headers

from prodsupport import runtime
from prodsupport.incident.model import Sla
from prodsupport_local.emulator.processes import Call, run_together
from prodsupport_local.emulator.stack import LocalStack

ALERT = alert(WEDNESDAY_10_ET)
ALERT_TS = str(ALERT["ts"])
DECLARED_AT = WEDNESDAY_10_ET + timedelta(minutes=1)
SLOW_SLACK_SECONDS = 1.5


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    stack.slack.admit("U0ENG")  # a channel member: only members attach a declaration to an existing incident
    return stack


def alert_delivery() -> Call:
    at = WEDNESDAY_10_ET + timedelta(seconds=1)
    body = event_body(ALERT, "Ev0ALERT", at)
    return Call("POST", "/slack/events", body, at, slack_headers(body, at))


def shortcut_declaration(start_after: float) -> Call:
    """The declare form, opened from the alert's message shortcut, submitted by U0ENG."""
    view = {
        "callback_id": "declare_incident",
        "private_metadata": json.dumps({"source": "message_shortcut", "message_ts": ALERT_TS}),
        "state": {
            "values": {
                "title": {"value": {"type": "plain_text_input", "value": "Check-in API failing"}},
                "severity": {"value": {"type": "static_select", "selected_option": {"value": "major"}}},
                "summary": {"value": {"type": "plain_text_input", "value": ""}},
            }
        },
    }
    payload = {"type": "view_submission", "team": {"id": "T0VA"}, "user": {"id": "U0ENG"}, "view": view}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return Call(
        "POST", "/slack/interactions", body, DECLARED_AT, slack_headers(body, DECLARED_AT), start_after=start_after
    )


@pytest.mark.parametrize("declaration_after", [0.0, 0.4, 0.9, 2.5], ids=["together", "early", "mid-post", "after"])
def test_an_alert_and_its_shortcut_declaration_racing_make_one_incident(
    configured: LocalStack, declaration_after: float
) -> None:
    # GIVEN Slack answers the card post slowly
    configured.slack.fail_next("chat.postMessage", hang_seconds=SLOW_SLACK_SECONDS)

    # WHEN the alert and a person's declaration of that alert are handled at once
    outcomes = run_together(configured, [alert_delivery(), shortcut_declaration(declaration_after)])

    # THEN one card, for the first id, and the person's declaration is the Slack ack, announced once
    assert [outcome.status for outcome in outcomes] == [200, 200], [o.error for o in outcomes]
    cards = posts_of(configured.slack, "incident_declared")
    assert [card.args["metadata"]["event_payload"]["incident_id"] for card in cards] == ["INC-2026-0001"]
    incident = runtime.current().store.get(CHANNEL, ALERT_TS)
    assert incident is not None
    assert incident.id == "INC-2026-0001"
    assert runtime.current().store.next_sequence("INC", 2026) == 2  # no number was taken and left unused
    assert incident.deadlines[Sla.SLACK_ACK].met_at == DECLARED_AT
    assert len(posts_of(configured.slack, "incident_acknowledged")) == 1
