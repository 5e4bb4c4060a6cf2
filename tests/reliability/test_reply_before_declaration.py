"""A thread reply racing its alert's declaration: whichever lands second sees the first, so the reply is the
incident's Slack ack exactly once, whatever the interleaving.

Two Runtimes (two Lambda containers) on two threads; events hold each one at the exact step where the other
must run, so every run takes the interleaving named in the test. The sequential case (the reply's delivery
finishes before the alert's starts) is tests/functional/incident/test_slack_events.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from builders import SETTINGS, WEDNESDAY_10_ET, alert, clock_of, posts_of, reply, stored

from prodsupport.core.settings import Settings
from prodsupport.incident import flows as incident_flow
from prodsupport.incident.model import Incident, Severity, Sla, Source
from prodsupport.incident.store import IncidentStore, Reply
from prodsupport.infra.dynamo import ConditionFailed
from prodsupport.runtime import Runtime
from prodsupport_local.emulator.stack import LocalStack

WAIT = 10  # seconds; only reached if the code under test deadlocks
ALERT = alert(WEDNESDAY_10_ET)
REPLY_AT = WEDNESDAY_10_ET + timedelta(seconds=20)
REPLY = reply(str(ALERT["ts"]), REPLY_AT)


class PausingStore(IncidentStore):
    """Pauses once, just before the named step, until the other container has done its part."""

    def __init__(self, base: IncidentStore, step: str, reached: threading.Event, resume: threading.Event) -> None:
        super().__init__(base.table, base.policy)
        self.step, self.reached, self.resume = step, reached, resume

    def _pause(self, step: str) -> None:
        if step == self.step and not self.reached.is_set():
            self.reached.set()
            assert self.resume.wait(WAIT)

    def create(self, incident: Incident, **kwargs: Any) -> None:
        self._pause("create")
        super().create(incident, **kwargs)

    def note_early_reply(self, reply: Reply, ttl: timedelta) -> bool:
        self._pause("note_early_reply")
        return super().note_early_reply(reply, ttl)


def container(stack: LocalStack, pause_before: str | None = None) -> tuple[Runtime, threading.Event, threading.Event]:
    rt = Runtime(Settings.from_env(), stack.clock)
    reached, resume = threading.Event(), threading.Event()
    if pause_before:
        rt.__dict__["store"] = PausingStore(rt.store, pause_before, reached, resume)
    rt.slack.auth_test()  # the client and its secret, before the threads start
    return rt, reached, resume


def in_background(work: Callable[[], None]) -> Callable[[], None]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # re-raised in the test's thread by join()
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()

    def join() -> None:
        thread.join(WAIT)
        assert not thread.is_alive()
        if errors:
            raise errors[0]

    return join


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    clock_of(stack).set(REPLY_AT)
    return stack


def assert_acknowledged_once_by_the_reply(stack: LocalStack) -> None:
    incident = stored(str(ALERT["ts"]))
    assert incident.deadlines[Sla.SLACK_ACK].met_at == REPLY_AT
    assert [e.kind for e in incident.timeline].count("acknowledged") == 1
    assert len(posts_of(stack.slack, "incident_acknowledged")) == 1


def test_a_reply_noted_while_its_alert_is_being_declared_still_acknowledges_it(configured: LocalStack) -> None:
    # GIVEN the declaration has looked for an early reply (none yet) and is about to store the incident
    declarer, about_to_create, go_on = container(configured, pause_before="create")
    replier, _, _ = container(configured)
    join = in_background(lambda: incident_flow.on_message(declarer, ALERT))
    assert about_to_create.wait(WAIT)

    # WHEN the reply finds no incident and notes itself as early, and then the declaration stores the incident
    incident_flow.on_message(replier, REPLY)
    go_on.set()
    join()

    # THEN the declaration saw the noted reply: acknowledged once, at the reply's time
    assert_acknowledged_once_by_the_reply(configured)


def test_a_declaration_landing_between_a_replys_look_and_its_note_still_gets_the_ack(configured: LocalStack) -> None:
    # GIVEN the reply has found no incident and is about to note itself as early
    replier, about_to_note, go_on = container(configured, pause_before="note_early_reply")
    declarer, _, _ = container(configured)
    join = in_background(lambda: incident_flow.on_message(replier, REPLY))
    assert about_to_note.wait(WAIT)

    # WHEN the declaration stores the incident, and then the reply tries its note
    incident_flow.on_message(declarer, ALERT)
    go_on.set()
    join()

    # THEN the note failed on the incident now there, and the reply recorded the ack after all
    assert_acknowledged_once_by_the_reply(configured)


def test_an_early_reply_is_not_noted_once_the_thread_has_an_incident(configured: LocalStack) -> None:
    rt, _, _ = container(configured)
    incident_flow.on_message(rt, ALERT)

    noted = rt.store.note_early_reply(
        Reply("C0PRODSUP", str(ALERT["ts"]), REPLY_AT, "U0ONCALL", "on it"), rt.dedupe.ttl
    )

    assert noted is False
    assert rt.store.early_reply("C0PRODSUP", str(ALERT["ts"])) is None


def test_a_declaration_that_saw_no_early_reply_fails_if_one_was_noted_since(configured: LocalStack) -> None:
    rt, _, _ = container(configured)
    rt.store.note_early_reply(Reply("C0PRODSUP", str(ALERT["ts"]), REPLY_AT, "U0ONCALL", "on it"), rt.dedupe.ttl)
    incident = rt.policy.new_incident(
        sequence=1,
        title="5xx",
        severity=Severity.MAJOR,
        source=Source.ALERT_MESSAGE,
        channel_id="C0PRODSUP",
        thread_ts=str(ALERT["ts"]),
        opened_at=WEDNESDAY_10_ET,
        declared_by="",
        applications=["Check-In Experience"],
        owner="U0PM",
    )

    with pytest.raises(ConditionFailed):
        rt.store.create(incident, without_early_reply=True)
    assert rt.store.get("C0PRODSUP", str(ALERT["ts"])) is None
