"""The incident's transitions: each is one method on the model, pure, and says what it changed."""

from datetime import UTC, datetime, timedelta

from builders import new_incident

from prodsupport.incident.model import EmailRecord, EmailState, Incident, PagerDutyLink, Severity, Sla, Status
from prodsupport.incident.policy import SlaPolicy

POLICY = SlaPolicy()
OPENED = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday 10:00 ET
LATER = OPENED + timedelta(hours=1)


def incident(severity: Severity = Severity.MAJOR) -> Incident:
    return new_incident(OPENED, severity=severity, policy=POLICY)


def resolved() -> Incident:
    found = incident()
    found.resolve(LATER, "Rolled back", "U0ENG")
    return found


def email_request(found: Incident) -> EmailRecord:
    return EmailRecord(f"{found.id}-1", OPENED, "U0PM")


# --- acknowledgements ---------------------------------------------------------------------------------


def test_the_first_message_in_the_thread_is_the_slack_ack() -> None:
    found = incident()
    met = found.acknowledge(LATER, "U0ENG", "on it")
    assert met is not None and met.met_at == LATER
    assert (found.timeline[-1].kind, found.timeline[-1].actor) == ("acknowledged", "U0ENG")


def test_a_later_message_is_no_second_slack_ack() -> None:
    found = incident()
    found.acknowledge(LATER, "U0ENG", "on it")
    assert found.acknowledge(LATER + timedelta(minutes=1), "U0OTHER", "me too") is None
    assert [e.kind for e in found.timeline].count("acknowledged") == 1


def test_linking_pagerduty_tracks_its_ack_with_the_slack_acks_due_time() -> None:
    found = incident()
    found.link_pagerduty(PagerDutyLink("Q0PD1"), LATER, "U0ENG")
    assert found.deadlines[Sla.PAGERDUTY_ACK].due == found.deadlines[Sla.SLACK_ACK].due
    assert (found.timeline[-1].kind, found.timeline[-1].text) == ("pagerduty_linked", "Q0PD1")


def test_the_first_pagerduty_ack_meets_its_clock_and_names_who() -> None:
    found = incident()
    found.link_pagerduty(PagerDutyLink("Q0PD1"), OPENED, "U0ENG")
    met = found.acknowledge_in_pagerduty(LATER, "Ana Oncall")
    assert met is not None and met.met_at == LATER
    assert found.pagerduty is not None and found.pagerduty.acknowledged_by == "Ana Oncall"


def test_a_pagerduty_ack_after_the_first_is_noted_but_meets_nothing() -> None:
    found = incident()
    found.link_pagerduty(PagerDutyLink("Q0PD1"), OPENED, "U0ENG")
    found.acknowledge_in_pagerduty(LATER, "Ana Oncall")
    assert found.acknowledge_in_pagerduty(LATER + timedelta(minutes=9), "Ben Backup") is None
    assert found.pagerduty is not None and found.pagerduty.acknowledged_by == "Ana Oncall"
    assert [e.kind for e in found.timeline].count("pagerduty_acknowledged") == 2


# --- resolve ------------------------------------------------------------------------------------------


def test_resolving_records_the_end_and_the_resolution() -> None:
    found = resolved()
    assert (found.status, found.ended_at, found.resolution) == (Status.RESOLVED, LATER, "Rolled back")


def test_resolving_goes_on_the_timeline_as_the_person_who_resolved() -> None:
    entry = resolved().timeline[-1]
    assert (entry.kind, entry.actor, entry.text) == ("resolved", "U0ENG", "Rolled back")


def test_resolving_drops_the_promised_update_and_its_clock() -> None:
    found = incident()
    found.update_status(OPENED, "Investigating", LATER)
    found.resolve(LATER, "Rolled back", "U0ENG")
    assert found.next_update_at is None
    assert Sla.STATUS_UPDATE not in found.deadlines


def test_resolving_twice_changes_nothing_the_second_time() -> None:
    found = resolved()
    before = found.to_record()
    assert found.resolve(LATER + timedelta(minutes=5), "Again", "U0OTHER") is False
    assert found.to_record() == before


# --- reopen -------------------------------------------------------------------------------------------


def test_reopening_clears_the_end_and_the_resolution() -> None:
    found = resolved()
    assert found.reopen() is True
    assert (found.status, found.ended_at, found.resolution) == (Status.OPEN, None, "")


def test_reopening_keeps_the_old_resolution_on_the_timeline() -> None:
    found = resolved()
    found.reopen()
    assert [e.text for e in found.timeline if e.kind == "resolved"] == ["Rolled back"]


def test_reopening_an_open_incident_changes_nothing() -> None:
    found = incident()
    before = found.to_record()
    assert found.reopen() is False
    assert found.to_record() == before


# --- status update ------------------------------------------------------------------------------------


def test_a_status_update_becomes_the_current_status() -> None:
    found = incident()
    found.update_status(LATER, "Investigating")
    assert (found.current_status, found.status_at) == ("Investigating", LATER)


def test_a_promised_next_update_gets_its_own_clock() -> None:
    found = incident()
    promised = LATER + timedelta(hours=2)
    found.update_status(LATER, "Investigating", promised)
    assert (found.next_update_at, found.deadlines[Sla.STATUS_UPDATE].due) == (promised, promised)


def test_a_status_update_meets_the_promised_one() -> None:
    found = incident()
    found.update_status(OPENED, "Investigating", LATER)
    met = found.update_status(LATER - timedelta(minutes=5), "Fix deployed")
    assert met is not None and met.met_at == LATER - timedelta(minutes=5)


def test_a_status_update_without_a_promise_owes_no_next_one() -> None:
    found = incident()
    found.update_status(OPENED, "Investigating", LATER)
    found.update_status(LATER, "Fix deployed")
    assert found.next_update_at is None
    assert not found.deadlines[Sla.STATUS_UPDATE].pending


# --- severity -----------------------------------------------------------------------------------------


def test_becoming_critical_starts_the_email_clock_at_the_given_due_time() -> None:
    found = incident()
    due = POLICY.email_due(found.opened_at)
    assert found.change_severity(Severity.CRITICAL, due) is True
    assert found.deadlines[Sla.STAKEHOLDER_EMAIL].due == due


def test_setting_the_same_severity_is_no_change() -> None:
    found = incident()
    assert found.change_severity(Severity.MAJOR, LATER) is False


def test_stepping_down_from_critical_owes_no_email() -> None:
    found = incident(Severity.CRITICAL)
    found.change_severity(Severity.MINOR, LATER)
    assert Sla.STAKEHOLDER_EMAIL not in found.deadlines


def test_becoming_major_starts_the_email_clock_where_the_team_owes_it_for_major() -> None:
    found = incident(Severity.MINOR)
    due = POLICY.email_due(found.opened_at)
    found.change_severity(Severity.MAJOR, due, frozenset({Severity.CRITICAL, Severity.MAJOR}))
    assert found.deadlines[Sla.STAKEHOLDER_EMAIL].due == due


def test_stepping_down_to_a_severity_the_team_owes_no_email_for_drops_the_pending_clock() -> None:
    found = incident(Severity.MINOR)
    owes = frozenset({Severity.CRITICAL, Severity.MAJOR})
    found.change_severity(Severity.MAJOR, LATER, owes)
    found.change_severity(Severity.MINOR, LATER, owes)
    assert Sla.STAKEHOLDER_EMAIL not in found.deadlines


def test_becoming_critical_again_keeps_an_email_clock_already_met() -> None:
    found = incident(Severity.CRITICAL)
    found.meet(Sla.STAKEHOLDER_EMAIL, LATER)
    found.change_severity(Severity.MAJOR, LATER)
    found.change_severity(Severity.CRITICAL, LATER + timedelta(days=3))
    assert found.deadlines[Sla.STAKEHOLDER_EMAIL].met_at == LATER


# --- SLA marks ----------------------------------------------------------------------------------------


def test_a_breach_stops_the_clock_and_goes_on_the_timeline() -> None:
    found = incident()
    found.mark_breached(Sla.SLACK_ACK, LATER)
    assert not found.deadlines[Sla.SLACK_ACK].pending
    assert found.timeline[-1].kind == "sla_breached"


def test_marking_reminders_returns_only_the_leads_not_marked_before() -> None:
    found = incident()
    found.mark_reminded(Sla.SLACK_ACK, [5])
    assert found.mark_reminded(Sla.SLACK_ACK, [10, 5]) == (10,)


def test_unmarking_a_breach_owes_it_again_and_removes_its_note() -> None:
    found = incident()
    found.mark_breached(Sla.SLACK_ACK, LATER)
    found.unmark(Sla.SLACK_ACK, (), breach=True)
    assert found.deadlines[Sla.SLACK_ACK].pending
    assert all(e.kind != "sla_breached" for e in found.timeline)


def test_unmarking_gives_back_only_the_given_reminder_leads() -> None:
    found = incident()
    found.mark_reminded(Sla.SLACK_ACK, [10, 5])
    found.unmark(Sla.SLACK_ACK, (5,), breach=False)
    assert found.deadlines[Sla.SLACK_ACK].reminded == [10]


# --- email records ------------------------------------------------------------------------------------


def test_an_email_request_is_queued_and_numbered_from_one() -> None:
    found = incident()
    record = found.request_email(LATER, "U0PM")
    assert (record.request_id, record.state) == (f"{found.id}-1", EmailState.QUEUED)


def test_an_email_the_queue_refused_has_failed() -> None:
    found = incident()
    record = found.request_email(LATER, "U0PM")
    found.email_not_queued(record.request_id, "Throttled")
    assert (record.state, record.error) == (EmailState.FAILED, "not queued: Throttled")


def test_the_first_email_sent_meets_the_stakeholder_email_clock() -> None:
    found = incident(Severity.CRITICAL)
    found.request_email(OPENED, "U0PM")
    found.record_email_outcome(email_request(found), EmailState.SENT, LATER, message_id="m-1")
    assert found.deadlines[Sla.STAKEHOLDER_EMAIL].met_at == LATER
    assert (found.emails[0].state, found.emails[0].sent_at) == (EmailState.SENT, LATER)


def test_an_email_outcome_already_recorded_is_not_recorded_twice() -> None:
    found = incident()
    found.record_email_outcome(email_request(found), EmailState.REJECTED, LATER, error="MessageRejected")
    assert found.record_email_outcome(email_request(found), EmailState.REJECTED, LATER) is False
    assert [e.kind for e in found.timeline].count("email_rejected") == 1


def test_an_email_outcome_for_a_request_the_incident_lost_is_recorded_with_it() -> None:
    found = incident()
    found.record_email_outcome(email_request(found), EmailState.UNKNOWN, LATER, error="timed out")
    assert [(e.request_id, e.state) for e in found.emails] == [(f"{found.id}-1", EmailState.UNKNOWN)]


def test_the_email_state_is_stored_as_its_plain_value() -> None:
    found = incident()
    found.request_email(LATER, "U0PM")
    record = found.to_record()
    assert record["emails"][0]["state"] == "queued"
    assert Incident.from_record(record) == found
