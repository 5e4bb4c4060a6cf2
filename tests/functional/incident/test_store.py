"""The incident store on emulated DynamoDB: conditional writes and the sparse due index."""

from datetime import UTC, datetime, timedelta

import pytest

from prodsupport import runtime
from prodsupport.incident.model import Incident, Severity, Sla, Source, Status
from prodsupport.incident.store import Reply
from prodsupport.infra.dynamo import ConditionFailed
from prodsupport_local.emulator.stack import LocalStack

OPENED = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)


def new_incident(sequence: int, thread_ts: str, *, declared_by: str = "") -> Incident:
    rt = runtime.current()
    return rt.policy.new_incident(
        sequence=sequence,
        title="Kiosk errors",
        severity=Severity.MAJOR,
        source=Source.SLASH_COMMAND if declared_by else Source.ALERT_MESSAGE,
        channel_id=rt.settings.channel_id,
        thread_ts=thread_ts,
        opened_at=OPENED,
        declared_by=declared_by,
        applications=["Check-In Experience"],
        owner="U0PM",
    )


def test_a_stale_save_loses_instead_of_overwriting(stack: LocalStack) -> None:
    store = runtime.current().store
    store.create(new_incident(1, "1795788300.000100"))
    first = store.get(stack.settings["channel_id"], "1795788300.000100")
    second = store.get(stack.settings["channel_id"], "1795788300.000100")
    assert first is not None and second is not None
    first.summary = "from the first writer"
    store.save(first)
    second.summary = "from the second writer"
    with pytest.raises(ConditionFailed):
        store.save(second)
    stored = store.get(stack.settings["channel_id"], "1795788300.000100")
    assert stored is not None and stored.summary == "from the first writer"


def test_mutate_reapplies_a_change_that_lost_a_race(stack: LocalStack) -> None:
    store = runtime.current().store
    channel = stack.settings["channel_id"]
    store.create(new_incident(1, "1795788300.000100"))
    calls = []

    def change(current: Incident) -> None:
        calls.append(current.version)
        if len(calls) == 1:  # another writer lands between our read and our write
            store.mutate(channel, "1795788300.000100", lambda other: setattr(other, "business_impact", "Veterans wait"))
        current.summary = "Kiosks fail"

    saved, _ = store.mutate(channel, "1795788300.000100", change)
    assert (saved.summary, saved.business_impact) == ("Kiosks fail", "Veterans wait")
    assert calls == [1, 2]


def test_given_an_incident_read_meanwhile_changed_when_mutated_from_that_read_then_no_change_is_lost(
    stack: LocalStack,
) -> None:
    store = runtime.current().store
    channel = stack.settings["channel_id"]
    store.create(new_incident(1, "1795788300.000100"))
    read = store.get(channel, "1795788300.000100")
    assert read is not None
    store.mutate(channel, "1795788300.000100", lambda other: setattr(other, "business_impact", "Veterans wait"))

    saved, _ = store.mutate(channel, "1795788300.000100", lambda c: setattr(c, "summary", "Kiosks fail"), read=read)

    assert (saved.summary, saved.business_impact) == ("Kiosks fail", "Veterans wait")
    assert read.summary != "Kiosks fail"  # the caller's copy is left as it was read


def test_a_second_declaration_of_the_same_thread_is_refused(stack: LocalStack) -> None:
    store = runtime.current().store
    store.create(new_incident(1, "1795788300.000100"))
    with pytest.raises(ConditionFailed):
        store.create(new_incident(2, "1795788300.000100"))


def test_the_due_index_holds_only_incidents_with_pending_deadlines(stack: LocalStack) -> None:
    store = runtime.current().store
    channel = stack.settings["channel_id"]
    store.create(new_incident(1, "1795788300.000100"))
    store.create(new_incident(2, "1795788300.000200", declared_by="U0ENG"))  # acked at declaration
    resolved = new_incident(3, "1795788300.000300")
    resolved.meet(Sla.SLACK_ACK, OPENED)
    resolved.status = Status.RESOLVED
    store.create(resolved)
    due = [incident.id for incident in store.due(OPENED + timedelta(hours=1))]
    assert due == ["INC-2026-0001"]
    assert [i.id for i in store.open_incidents()] == ["INC-2026-0001", "INC-2026-0002"]
    assert store.get(channel, "1795788300.000300") is not None


def test_the_due_index_is_asked_only_up_to_the_given_time(stack: LocalStack) -> None:
    store = runtime.current().store
    store.create(new_incident(1, "1795788300.000100"))
    reminder_at = OPENED + timedelta(minutes=10)  # 5 minutes before the 15-minute ack
    assert list(store.due(reminder_at - timedelta(seconds=1))) == []
    assert [i.id for i in store.due(reminder_at)] == ["INC-2026-0001"]


def test_only_the_first_human_reply_acknowledges(stack: LocalStack) -> None:
    store = runtime.current().store
    channel = stack.settings["channel_id"]
    store.create(new_incident(1, "1795788300.000100"))
    first = Reply(channel, "1795788300.000100", OPENED + timedelta(minutes=3), "U0ONCALL", "on it")
    second = Reply(channel, "1795788300.000100", OPENED + timedelta(minutes=4), "U0PM", "thanks")
    incident, acknowledged = store.record_reply(first)
    assert acknowledged and incident is not None
    assert incident.deadlines[Sla.SLACK_ACK].met_at == first.at
    again, acknowledged_again = store.record_reply(second)
    assert not acknowledged_again and again is not None and again.id == "INC-2026-0001"
    assert store.record_reply(Reply(channel, "1795788300.999999", first.at, "U0X", "hi")) == (None, False)


def test_ids_count_per_year(stack: LocalStack) -> None:
    store = runtime.current().store
    assert [store.next_sequence("INC", 2026) for _ in range(3)] == [1, 2, 3]
    assert store.next_sequence("INC", 2027) == 1


MESSAGE_TS = "1795788300.000100"
CLAIM_HOLD = timedelta(minutes=10)


def test_a_message_claimed_by_one_declaration_stays_with_it(stack: LocalStack) -> None:
    # GIVEN the alert's declaration has claimed its message
    store = runtime.current().store
    channel = stack.settings["channel_id"]
    store.claim_message(channel, MESSAGE_TS, "alert_message:", OPENED, CLAIM_HOLD)
    later = OPENED + timedelta(seconds=30)

    # WHEN a person's declaration of the message, then the alert's retry, claim it
    person = store.claim_message(channel, MESSAGE_TS, "message_shortcut:U0ENG", later, CLAIM_HOLD)
    retry = store.claim_message(channel, MESSAGE_TS, "alert_message:", later, CLAIM_HOLD)

    # THEN both learn the alert's declaration holds it, and the alert's retry that it held it already
    assert (person.holder, retry.holder) == ("alert_message:", "alert_message:")
    assert (person.again, retry.again) == (False, True)


def test_a_claim_never_turned_into_an_incident_can_be_taken_over_after_its_hold(stack: LocalStack) -> None:
    # GIVEN a declaration claimed the message and then failed for good
    store = runtime.current().store
    channel = stack.settings["channel_id"]
    store.claim_message(channel, MESSAGE_TS, "alert_message:", OPENED, CLAIM_HOLD)

    # WHEN a person declares it after the hold
    holder, _, _ = store.claim_message(
        channel, MESSAGE_TS, "message_shortcut:U0ENG", OPENED + timedelta(minutes=11), CLAIM_HOLD
    )

    # THEN the person's declaration holds the claim
    assert holder == "message_shortcut:U0ENG"


def test_a_claim_taken_over_says_a_card_may_already_hang_under_the_message(stack: LocalStack) -> None:
    store = runtime.current().store
    channel = stack.settings["channel_id"]
    store.claim_message(channel, MESSAGE_TS, "alert_message:", OPENED, CLAIM_HOLD)

    taken = store.claim_message(
        channel, MESSAGE_TS, "message_shortcut:U0ENG", OPENED + timedelta(minutes=11), CLAIM_HOLD
    )

    assert (taken.holder, taken.declared, taken.again) == ("message_shortcut:U0ENG", None, True)


def test_a_message_already_declared_is_not_claimed_and_its_incident_comes_back(stack: LocalStack) -> None:
    # GIVEN the alert's declaration claimed its message and stored its incident
    store = runtime.current().store
    channel = stack.settings["channel_id"]
    store.claim_message(channel, MESSAGE_TS, "alert_message:", OPENED, CLAIM_HOLD)
    store.create(new_incident(1, MESSAGE_TS))

    # WHEN a person's message shortcut, then the alert's retry, claim the message
    person = store.claim_message(channel, MESSAGE_TS, "message_shortcut:U0ENG", OPENED, CLAIM_HOLD)
    retry = store.claim_message(channel, MESSAGE_TS, "alert_message:", OPENED, CLAIM_HOLD)

    # THEN each learns who holds the claim and which incident is declared, from the refused claim alone
    assert [(owner, incident.id if incident else None) for owner, incident, _ in (person, retry)] == [
        ("alert_message:", "INC-2026-0001"),
        ("alert_message:", "INC-2026-0001"),
    ]
