"""A PagerDuty acknowledgement racing its own `incident.triggered`, each in its own process (two Lambda
containers): whichever interleaving the two take, the acknowledgement meets the PagerDuty clock at
PagerDuty's time, and the checker posts no breach.

Slack answers the trigger's card post slowly, so the acknowledgement can arrive while the trigger has
looked for an early acknowledgement but has not yet linked the incident; the start offsets place the
acknowledgement before, during and after that window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from builders import (
    WEDNESDAY_10_ET,
    answer_text,
    checker_run,
    deliver_pagerduty,
    pagerduty_body,
    pagerduty_headers,
    posts_of,
    slack_command,
)

from prodsupport import runtime
from prodsupport.incident.model import Sla
from prodsupport.pagerduty import flows as pagerduty_flow
from prodsupport.pagerduty import links as pagerduty_links
from prodsupport_local.emulator.processes import Call, run_together
from prodsupport_local.emulator.stack import LocalStack

PD_ID = "Q0RACE01"
TRIGGERED_AT = WEDNESDAY_10_ET
ACKED_AT = WEDNESDAY_10_ET + timedelta(minutes=2)
SLOW_SLACK_SECONDS = 1.5
AFTER_THE_ACK_WINDOW = WEDNESDAY_10_ET + timedelta(minutes=20)


def webhook(event_type: str, at: datetime, *, start_after: float = 0.0) -> Call:
    """PagerDuty's delivery of an event that occurred at `at`, arriving a few seconds later."""
    body = pagerduty_body(event_type, at, event_id=f"EV-{event_type}", pd_id=PD_ID)
    return Call(
        "POST",
        "/pagerduty/webhook",
        body,
        at + timedelta(seconds=5),
        pagerduty_headers(body, f"WH-{event_type}"),
        start_after=start_after,
    )


@pytest.mark.parametrize("ack_starts_after", [0.0, 0.4, 0.9, 2.5], ids=["together", "early", "mid-post", "after"])
def test_an_acknowledgement_racing_its_trigger_meets_the_pagerduty_clock(
    configured: LocalStack, ack_starts_after: float
) -> None:
    # GIVEN Slack answers the trigger's card post slowly
    configured.slack.fail_next("chat.postMessage", hang_seconds=SLOW_SLACK_SECONDS)

    # WHEN PagerDuty delivers the trigger and, at some point of its handling, the acknowledgement
    outcomes = run_together(
        configured,
        [
            webhook("incident.triggered", TRIGGERED_AT),
            webhook("incident.acknowledged", ACKED_AT, start_after=ack_starts_after),
        ],
    )

    # THEN both are accepted, the PagerDuty clock is met at PagerDuty's time, said once in the thread,
    # and no breach is posted later
    assert [outcome.status for outcome in outcomes] == [202, 202], [o.error for o in outcomes]
    link = pagerduty_links.find(runtime.current().table, PD_ID)
    assert link is not None
    incident = runtime.current().store.get(str(link["channel_id"]), str(link["thread_ts"]))
    assert incident is not None
    assert incident.deadlines[Sla.PAGERDUTY_ACK].met_at == ACKED_AT
    assert len(posts_of(configured.slack, "incident_acknowledged")) == 1
    checker_run(configured, AFTER_THE_ACK_WINDOW)
    breached = [call.args["metadata"]["event_payload"]["sla"] for call in posts_of(configured.slack, "sla_breached")]
    assert Sla.PAGERDUTY_ACK.value not in breached


def test_an_acknowledgement_is_not_kept_as_early_once_its_incident_is_linked(configured: LocalStack) -> None:
    # GIVEN the trigger has opened and linked the incident
    body = pagerduty_body("incident.triggered", TRIGGERED_AT, event_id="EV-trigger", pd_id=PD_ID)
    assert deliver_pagerduty(configured, body, "WH-trigger").status == 202

    # WHEN an acknowledgement that found no link a moment ago tries to keep itself for later
    noted = pagerduty_links.note_early_ack(runtime.current().table, PD_ID, ACKED_AT, "Ana Oncall", timedelta(days=1))

    # THEN it is refused (its delivery then applies it directly) and nothing is kept
    assert noted is False
    assert pagerduty_links.early_ack(runtime.current().table, PD_ID) is None


def test_an_acknowledgement_arriving_while_a_person_links_the_incident_meets_the_pagerduty_clock(
    configured: LocalStack,
) -> None:
    # GIVEN a declared incident whose `/incident link` has claimed the PagerDuty link but not saved the clock yet
    assert "Declared" in answer_text(slack_command(configured, "critical Kiosks cannot check Veterans in"))
    rt = runtime.current()
    incident = rt.store.get_by_id("INC-2026-0001")
    assert incident is not None
    pagerduty_links.claim(rt.table, incident, PD_ID)

    # WHEN PagerDuty's acknowledgement arrives, and then the link command saves the link
    body = pagerduty_body("incident.acknowledged", ACKED_AT, event_id="EV-ack", pd_id=PD_ID)
    assert deliver_pagerduty(configured, body, "WH-ack").status == 202
    pagerduty_flow.link(rt, incident, PD_ID, "", "U0ONCALL", ACKED_AT + timedelta(seconds=30))

    # THEN the acknowledgement met the PagerDuty clock at PagerDuty's time
    linked = rt.store.get_by_id("INC-2026-0001")
    assert linked is not None
    assert linked.deadlines[Sla.PAGERDUTY_ACK].met_at == ACKED_AT
