"""The email sender's record on the incident (`IncidentStore.record_email_outcome`) on emulated DynamoDB: one
conditional write that returns the incident, the same incident the model's transition makes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from prodsupport import runtime
from prodsupport.incident.model import EmailRecord, EmailState, Incident, Severity, Sla, Source
from prodsupport.incident.store import IncidentNotFound, IncidentStore
from prodsupport_local.emulator.stack import LocalStack

OPENED = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
ASKED = OPENED + timedelta(minutes=20)
SENT = OPENED + timedelta(minutes=21)
THREAD = "1795788300.000100"


def store_with_email(severity: Severity) -> tuple[IncidentStore, EmailRecord]:
    """An incident that asked for one stakeholder email, still queued."""
    rt = runtime.current()
    incident = rt.policy.new_incident(
        sequence=1,
        title="Kiosk errors",
        severity=severity,
        source=Source.SLASH_COMMAND,
        channel_id=rt.settings.channel_id,
        thread_ts=THREAD,
        opened_at=OPENED,
        declared_by="U0ONCALL",
        applications=["Check-In Experience"],
        owner="U0PM",
    )
    rt.store.create(incident)
    _, record = rt.store.mutate(incident.channel_id, THREAD, lambda current: current.request_email(ASKED, "U0PM"))
    return rt.store, record


def stored(store: IncidentStore) -> Incident:
    incident = store.get(runtime.current().settings.channel_id, THREAD)
    assert incident is not None
    return incident


def record_sent(store: IncidentStore, record: EmailRecord, *, clock: bool) -> Incident:
    return store.record_email_outcome(
        runtime.current().settings.channel_id,
        THREAD,
        record,
        EmailState.SENT,
        SENT,
        message_id="m-1",
        sent_note="Outage (2)",
        clock=clock,
    )


@contextmanager
def dynamodb_calls(calls: list[str]) -> Iterator[None]:
    """The DynamoDB operations made meanwhile, by name, as botocore is about to send them."""
    client = runtime.current().client("dynamodb")

    def before_call(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb", before_call, unique_id="test-email-record-calls")
    try:
        yield
    finally:
        client.meta.events.unregister("before-call.dynamodb", unique_id="test-email-record-calls")


def test_a_sent_email_is_recorded_in_one_write_and_no_read(stack: LocalStack) -> None:
    store, record = store_with_email(Severity.CRITICAL)
    calls: list[str] = []

    with dynamodb_calls(calls):
        record_sent(store, record, clock=True)

    assert calls == ["UpdateItem"]


@pytest.mark.parametrize(
    ("outcome", "message_id", "error"),
    [
        (EmailState.SENT, "m-1", ""),
        (EmailState.REJECTED, "", "MessageRejected: Email address is not verified."),
        (EmailState.UNKNOWN, "", "the connection to SES broke after the request was sent: ReadTimeoutError"),
    ],
)
def test_the_one_write_leaves_the_incident_as_the_model_transition_would(
    stack: LocalStack, outcome: EmailState, message_id: str, error: str
) -> None:
    store, record = store_with_email(Severity.CRITICAL)
    expected = stored(store)
    expected.record_email_outcome(record, outcome, SENT, message_id=message_id, error=error, sent_note="Outage (2)")
    expected.version += 1
    calls: list[str] = []

    with dynamodb_calls(calls):
        recorded = store.record_email_outcome(
            stack.settings["channel_id"],
            THREAD,
            record,
            outcome,
            SENT,
            message_id=message_id,
            error=error,
            sent_note="Outage (2)",
            clock=True,
        )

    assert calls == ["UpdateItem"]
    assert recorded.to_record() == expected.to_record()
    assert stored(store).to_record() == expected.to_record()


def test_a_sent_email_meets_the_stakeholder_email_clock(stack: LocalStack) -> None:
    store, record = store_with_email(Severity.CRITICAL)

    recorded = record_sent(store, record, clock=True)

    assert recorded.deadlines[Sla.STAKEHOLDER_EMAIL].met_at == SENT


def test_an_incident_without_the_clock_is_recorded_in_one_write(stack: LocalStack) -> None:
    store, record = store_with_email(Severity.MAJOR)
    calls: list[str] = []

    with dynamodb_calls(calls):
        recorded = record_sent(store, record, clock=False)

    assert calls == ["UpdateItem"]
    assert (recorded.emails[0].state, Sla.STAKEHOLDER_EMAIL in recorded.deadlines) == (EmailState.SENT, False)


def test_a_clock_started_after_the_request_is_still_met_without_a_read(stack: LocalStack) -> None:
    store, record = store_with_email(Severity.CRITICAL)
    calls: list[str] = []

    with dynamodb_calls(calls):
        recorded = record_sent(store, record, clock=False)

    assert calls == ["UpdateItem", "PutItem"]
    assert recorded.deadlines[Sla.STAKEHOLDER_EMAIL].met_at == SENT


def test_an_outcome_already_recorded_changes_nothing(stack: LocalStack) -> None:
    store, record = store_with_email(Severity.CRITICAL)
    first = record_sent(store, record, clock=True)

    again = record_sent(store, record, clock=True)

    assert again.version == first.version
    assert [entry.kind for entry in stored(store).timeline].count("email_sent") == 1


def test_the_recorded_incident_is_told_to_whoever_keeps_the_card_live(stack: LocalStack) -> None:
    _, record = store_with_email(Severity.CRITICAL)
    rt = runtime.current()
    heard: list[Incident] = []
    store = IncidentStore(rt.table, rt.policy, on_saved=lambda incident, _replaced: heard.append(incident))

    recorded = record_sent(store, record, clock=True)

    assert [incident.version for incident in heard] == [recorded.version]


def test_an_outcome_already_recorded_is_not_told_again(stack: LocalStack) -> None:
    _, record = store_with_email(Severity.CRITICAL)
    rt = runtime.current()
    record_sent(rt.store, record, clock=True)
    heard: list[Incident] = []
    store = IncidentStore(rt.table, rt.policy, on_saved=lambda incident, _replaced: heard.append(incident))

    record_sent(store, record, clock=True)

    assert heard == []


def test_a_thread_without_an_incident_is_not_found(stack: LocalStack) -> None:
    record = EmailRecord("INC-2026-0009-1", ASKED, "U0PM")

    with pytest.raises(IncidentNotFound):
        record_sent(runtime.current().store, record, clock=True)
