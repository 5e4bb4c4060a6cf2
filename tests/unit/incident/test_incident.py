"""Opening an incident starts the playbook's clocks; the record round-trips unchanged."""

from datetime import UTC, datetime, timedelta

from builders import new_incident

from prodsupport.incident.model import Incident, PendingNotice, Severity, Sla, Source
from prodsupport.incident.policy import SlaPolicy

POLICY = SlaPolicy()
TUESDAY_10_ET = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
TUESDAY_22_ET = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def open_incident(
    source: Source,
    *,
    at: datetime = TUESDAY_10_ET,
    severity: Severity = Severity.MAJOR,
    declared_by: str = "U0ENG",
    sequence: int = 1,
) -> Incident:
    return new_incident(at, sequence=sequence, severity=severity, source=source, declared_by=declared_by, policy=POLICY)


def test_the_id_is_the_et_year_and_a_four_digit_sequence() -> None:
    new_years_eve_et = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)  # still 2026-12-31 22:00 in ET
    assert open_incident(Source.SLASH_COMMAND, at=new_years_eve_et, sequence=7).id == "INC-2026-0007"


def test_in_business_hours_the_ack_is_due_in_15_minutes() -> None:
    incident = open_incident(Source.ALERT_MESSAGE, declared_by="")
    assert incident.window == "business"
    assert incident.deadlines[Sla.SLACK_ACK].due == TUESDAY_10_ET + timedelta(minutes=15)


def test_after_hours_the_ack_is_due_in_60_minutes() -> None:
    incident = open_incident(Source.ALERT_MESSAGE, at=TUESDAY_22_ET, declared_by="")
    assert incident.window == "after_hours"
    assert incident.deadlines[Sla.SLACK_ACK].due == TUESDAY_22_ET + timedelta(minutes=60)


def test_a_human_declaration_is_the_slack_acknowledgement() -> None:
    incident = open_incident(Source.SLASH_COMMAND)
    assert incident.deadlines[Sla.SLACK_ACK].met_at == TUESDAY_10_ET


def test_an_alert_waits_for_a_human_reply() -> None:
    assert open_incident(Source.ALERT_MESSAGE, declared_by="").deadlines[Sla.SLACK_ACK].pending


def test_a_pagerduty_incident_also_tracks_the_pagerduty_ack() -> None:
    incident = open_incident(Source.PAGERDUTY, declared_by="")
    assert incident.deadlines[Sla.PAGERDUTY_ACK].due == incident.deadlines[Sla.SLACK_ACK].due


def test_a_critical_incident_owes_the_stakeholder_email_within_24_hours() -> None:
    incident = open_incident(Source.SLASH_COMMAND, severity=Severity.CRITICAL)
    assert incident.deadlines[Sla.STAKEHOLDER_EMAIL].due == TUESDAY_10_ET + timedelta(hours=24)


def test_becoming_critical_starts_the_email_clock_from_the_original_opening() -> None:
    incident = open_incident(Source.SLASH_COMMAND)
    incident.change_severity(Severity.CRITICAL, POLICY.email_due(incident.opened_at))
    assert incident.deadlines[Sla.STAKEHOLDER_EMAIL].due == TUESDAY_10_ET + timedelta(hours=24)


def test_only_the_first_fulfilment_of_a_clock_counts() -> None:
    incident = open_incident(Source.ALERT_MESSAGE, declared_by="")
    first = TUESDAY_10_ET + timedelta(minutes=3)
    incident.meet(Sla.SLACK_ACK, first)
    assert incident.meet(Sla.SLACK_ACK, first + timedelta(minutes=1)) is None
    assert incident.deadlines[Sla.SLACK_ACK].met_at == first


def test_the_record_round_trips() -> None:
    incident = open_incident(Source.PAGERDUTY, severity=Severity.CRITICAL, declared_by="")
    incident.note(TUESDAY_10_ET + timedelta(minutes=1), "status", "U0ENG", "Investigating")
    assert Incident.from_record(incident.to_record()) == incident


def test_a_pending_notice_round_trips_with_the_record() -> None:
    incident = open_incident(Source.ALERT_MESSAGE, declared_by="")
    due = incident.deadlines[Sla.SLACK_ACK].due
    incident.pending_notices.append(PendingNotice(Sla.SLACK_ACK, "reminder", due, 5, due - timedelta(minutes=5)))
    assert Incident.from_record(incident.to_record()) == incident


def test_an_item_stored_before_pending_notices_existed_reads_as_none_pending() -> None:
    record = open_incident(Source.ALERT_MESSAGE, declared_by="").to_record()
    del record["pending_notices"]
    assert Incident.from_record(record).pending_notices == []


def test_stepping_down_from_critical_drops_a_pending_email_clock() -> None:
    incident = open_incident(Source.SLASH_COMMAND, severity=Severity.CRITICAL)
    incident.change_severity(Severity.MAJOR, POLICY.email_due(incident.opened_at))
    assert Sla.STAKEHOLDER_EMAIL not in incident.deadlines


def test_stepping_down_keeps_an_email_clock_already_met() -> None:
    incident = open_incident(Source.SLASH_COMMAND, severity=Severity.CRITICAL)
    incident.meet(Sla.STAKEHOLDER_EMAIL, TUESDAY_10_ET + timedelta(hours=2))
    incident.change_severity(Severity.MAJOR, POLICY.email_due(incident.opened_at))
    assert incident.deadlines[Sla.STAKEHOLDER_EMAIL].met_at is not None
