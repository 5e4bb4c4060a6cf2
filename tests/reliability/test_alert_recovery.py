"""Issue 13, finding 10: an alert integration's recovery message is noted in the open incident's thread
instead of opening a new incident."""

from __future__ import annotations

from datetime import timedelta

from builders import SETTINGS, WEDNESDAY_10_ET, alert, clock_of, posts_of, slack_event, state, stored

from prodsupport import runtime
from prodsupport_local.emulator.stack import LocalStack

FIRED = "Triggered: check-in API 5xx rate above 5%"
RECOVERED = "[Recovered] check-in API 5xx rate above 5%"


def fire_then(stack: LocalStack, text: str) -> str:
    """The alert fires at 10:00 and opens an incident; `text` arrives from the same bot at 10:20."""
    fired = alert(WEDNESDAY_10_ET, FIRED)
    assert slack_event(stack, fired, "Ev0FIRED").status == 200
    later = WEDNESDAY_10_ET + timedelta(minutes=20)
    clock_of(stack).set(later)
    assert slack_event(stack, alert(later, text), "Ev0LATER").status == 200
    return str(fired["ts"])


def test_a_recovery_message_is_noted_in_the_open_incidents_thread(configured: LocalStack) -> None:
    thread_ts = fire_then(configured, RECOVERED)

    # THEN one incident, its thread told of the recovery, its timeline holding it, still open
    assert [i.id for i in runtime.current().store.open_incidents()] == ["INC-2026-0001"]
    notes = [call for call in posts_of(configured.slack, "incident_updated")]
    assert [call.args["thread_ts"] for call in notes] == [thread_ts]
    assert "reports recovery" in notes[0].args["text"]
    assert [e.kind for e in stored(thread_ts).timeline if e.kind == "alert_recovered"] == ["alert_recovered"]


def test_a_recovery_opens_no_new_incident(configured: LocalStack) -> None:
    fire_then(configured, "RESOLVED: check-in API 5xx rate above 5%")

    assert posts_of(configured.slack, "incident_declared")[1:] == []


def test_a_recovery_with_no_open_incident_does_nothing(configured: LocalStack) -> None:
    before = state(configured)

    response = slack_event(configured, alert(WEDNESDAY_10_ET, RECOVERED), "Ev0ORPHAN")

    assert response.status == 200
    assert state(configured) == before
    assert configured.slack.posts() == []


def test_the_recovery_patterns_come_from_the_alert_recovery_patterns_setting(configured: LocalStack) -> None:
    configured.configure({**SETTINGS, "alert_recovery_patterns": ["CLEARED -"]})

    thread_ts = fire_then(configured, "CLEARED - check-in API 5xx rate above 5%")

    assert [e.kind for e in stored(thread_ts).timeline if e.kind == "alert_recovered"] == ["alert_recovered"]
    assert len(runtime.current().store.open_incidents()) == 1
