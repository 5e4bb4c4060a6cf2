"""Where each clock stands: met, late, breached or pending, judged one way for the card, the list and the report."""

from datetime import UTC, datetime, timedelta

from prodsupport.incident.clocks import ClockOutcome, clock_outcome, clocks, next_due
from prodsupport.incident.model import Deadline, Incident, Severity, Sla, Source
from prodsupport.incident.policy import SlaPolicy
from prodsupport.sla.compliance import Outcome, outcome

DUE = datetime(2026, 11, 25, 15, 15, tzinfo=UTC)


def incident(severity: Severity = Severity.CRITICAL, source: Source = Source.PAGERDUTY) -> Incident:
    return SlaPolicy().new_incident(
        sequence=1,
        title="Kiosks down",
        severity=severity,
        source=source,
        channel_id="C0",
        thread_ts="1795788300.000100",
        opened_at=DUE - timedelta(minutes=15),
        declared_by="",
        applications=[],
        owner="U0PM",
    )


def test_a_clock_met_by_its_due_time_is_met() -> None:
    assert clock_outcome(Deadline(due=DUE, met_at=DUE), DUE + timedelta(hours=1)) is ClockOutcome.MET


def test_a_clock_met_after_its_due_time_is_late_even_when_the_checker_had_called_it_breached() -> None:
    deadline = Deadline(due=DUE, met_at=DUE + timedelta(minutes=3), breached_at=DUE)

    assert clock_outcome(deadline, DUE + timedelta(hours=1)) is ClockOutcome.LATE


def test_a_passed_unmet_clock_is_breached_before_the_checker_has_said_so() -> None:
    assert clock_outcome(Deadline(due=DUE), DUE) is ClockOutcome.BREACHED


def test_a_clock_before_its_due_time_is_pending() -> None:
    assert clock_outcome(Deadline(due=DUE), DUE - timedelta(seconds=1)) is ClockOutcome.PENDING


def test_the_compliance_report_judges_a_clock_as_the_card_does() -> None:
    now = DUE + timedelta(minutes=1)
    cases = {
        Outcome.IN_TIME: Deadline(due=DUE, met_at=DUE),
        Outcome.LATE: Deadline(due=DUE, met_at=now),
        Outcome.MISSED: Deadline(due=DUE),
        Outcome.OPEN: Deadline(due=now + timedelta(hours=1)),
    }

    assert {expected: outcome(deadline, now) for expected, deadline in cases.items()} == {o: o for o in cases}


def test_clocks_come_in_the_playbooks_order_whatever_order_they_were_started_in() -> None:
    opened = incident()
    opened.deadlines[Sla.STATUS_UPDATE] = Deadline(due=DUE + timedelta(hours=1))

    assert [clock.sla for clock in clocks(opened, DUE)] == [
        Sla.SLACK_ACK,
        Sla.PAGERDUTY_ACK,
        Sla.STATUS_UPDATE,
        Sla.STAKEHOLDER_EMAIL,
    ]


def test_the_next_due_clock_is_the_earliest_pending_one() -> None:
    opened = incident()
    opened.meet(Sla.SLACK_ACK, DUE - timedelta(minutes=5))
    opened.meet(Sla.PAGERDUTY_ACK, DUE - timedelta(minutes=5))

    upcoming = next_due(opened, DUE)

    assert upcoming is not None
    assert (upcoming.sla, upcoming.due) == (Sla.STAKEHOLDER_EMAIL, opened.opened_at + timedelta(hours=24))


def test_nothing_is_next_when_every_clock_is_met_or_breached() -> None:
    opened = incident(Severity.MAJOR, Source.ALERT_MESSAGE)
    opened.meet(Sla.SLACK_ACK, DUE)

    assert next_due(opened, DUE) is None
