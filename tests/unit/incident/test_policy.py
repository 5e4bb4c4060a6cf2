"""The SLA policy's clocks on real dates: when reminders and breaches are owed, and when to look again."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from builders import new_incident

from prodsupport.incident.model import Incident, PendingNotice, Severity, Sla, Source
from prodsupport.incident.policy import NOTICE_LEASE, SlaAction, SlaPolicy

ET = ZoneInfo("America/New_York")


def et(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ET).astimezone(UTC)


def alert(
    policy: SlaPolicy,
    opened_at: datetime,
    *,
    severity: Severity = Severity.MAJOR,
    source: Source = Source.ALERT_MESSAGE,
) -> Incident:
    """An incident nobody has acknowledged yet: an alert opened it, not a person."""
    return new_incident(opened_at, title="Check-in fails at the kiosk", severity=severity, source=source, policy=policy)


@pytest.fixture
def policy() -> SlaPolicy:
    return SlaPolicy()


WEDNESDAY_10_ET = et(2026, 5, 13, 10)  # an ordinary business-hours morning (EDT)


# --- the ack window ------------------------------------------------------------------------------------


def test_given_an_alert_in_business_hours_when_opened_then_the_ack_is_due_in_15_minutes(policy: SlaPolicy) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)

    assert incident.deadlines[Sla.SLACK_ACK].due == et(2026, 5, 13, 10, 15)


def test_given_an_alert_on_a_saturday_morning_when_opened_then_the_ack_is_due_in_60_minutes(
    policy: SlaPolicy,
) -> None:
    incident = alert(policy, et(2026, 11, 28, 10))

    assert incident.deadlines[Sla.SLACK_ACK].due == et(2026, 11, 28, 11)


def test_given_an_alert_on_thanksgiving_morning_when_opened_then_the_ack_is_due_in_60_minutes(
    policy: SlaPolicy,
) -> None:
    incident = alert(policy, et(2026, 11, 26, 10))

    assert incident.deadlines[Sla.SLACK_ACK].due == et(2026, 11, 26, 11)


@pytest.mark.parametrize(
    ("hour", "minute", "window"),
    [(19, 59, timedelta(minutes=15)), (20, 0, timedelta(minutes=60))],
    ids=["19:59-still-business", "20:00-after-hours"],
)
def test_given_an_alert_at_the_end_of_the_business_day_when_opened_then_the_window_follows_the_opening_minute(
    policy: SlaPolicy, hour: int, minute: int, window: timedelta
) -> None:
    opened = et(2026, 5, 13, hour, minute)

    incident = alert(policy, opened)

    assert incident.deadlines[Sla.SLACK_ACK].due == opened + window


def test_given_a_critical_incident_before_spring_forward_when_opened_then_the_email_is_due_24_real_hours_later(
    policy: SlaPolicy,
) -> None:
    opened = et(2026, 3, 7, 12)  # Saturday 12:00 EST; clocks jump to EDT at 2:00 on Sunday

    incident = alert(policy, opened, severity=Severity.CRITICAL)

    due = incident.deadlines[Sla.STAKEHOLDER_EMAIL].due
    assert due - opened == timedelta(hours=24)
    assert due.astimezone(ET).hour == 13  # 13:00 EDT on the wall clock


# --- due_actions ---------------------------------------------------------------------------------------


def test_given_an_unacknowledged_alert_when_six_minutes_before_the_due_then_nothing_is_owed(
    policy: SlaPolicy,
) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)

    assert policy.due_actions(incident, et(2026, 5, 13, 10, 9)) == []


def test_given_an_unacknowledged_alert_when_five_minutes_before_the_due_then_the_ack_reminder_is_owed(
    policy: SlaPolicy,
) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)

    actions = policy.due_actions(incident, et(2026, 5, 13, 10, 10))

    assert actions == [SlaAction("reminder", Sla.SLACK_ACK, et(2026, 5, 13, 10, 15), 5)]


def test_given_a_reminder_already_applied_when_checked_again_at_the_same_minute_then_nothing_is_owed(
    policy: SlaPolicy,
) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)
    now = et(2026, 5, 13, 10, 10)
    for action in policy.due_actions(incident, now):
        policy.apply(incident, action, now)

    assert policy.due_actions(incident, now) == []


def test_given_an_unacknowledged_alert_when_the_due_minute_comes_then_the_breach_is_owed(policy: SlaPolicy) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)

    actions = policy.due_actions(incident, et(2026, 5, 13, 10, 15))

    assert actions == [SlaAction("breach", Sla.SLACK_ACK, et(2026, 5, 13, 10, 15))]


def test_given_a_breach_applied_when_checked_again_then_nothing_more_is_owed(policy: SlaPolicy) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)
    now = et(2026, 5, 13, 10, 15)
    policy.apply(incident, policy.due_actions(incident, now)[0], now)

    assert policy.due_actions(incident, now + timedelta(hours=1)) == []


def test_given_an_ack_met_late_when_checked_after_the_due_then_no_breach_is_owed(policy: SlaPolicy) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)
    incident.meet(Sla.SLACK_ACK, et(2026, 5, 13, 10, 16))

    assert policy.due_actions(incident, et(2026, 5, 13, 10, 17)) == []


def test_given_a_saturday_alert_when_15_minutes_have_passed_then_it_is_not_breached(policy: SlaPolicy) -> None:
    incident = alert(policy, et(2026, 11, 28, 10))

    assert policy.due_actions(incident, et(2026, 11, 28, 10, 15)) == []


def test_given_a_checker_down_past_both_email_leads_when_it_runs_then_only_the_latest_reminder_is_owed(
    policy: SlaPolicy,
) -> None:
    incident = alert(policy, WEDNESDAY_10_ET, severity=Severity.CRITICAL)
    incident.meet(Sla.SLACK_ACK, et(2026, 5, 13, 10, 5))
    email_due = et(2026, 5, 14, 10)

    actions = policy.due_actions(incident, email_due - timedelta(minutes=30))

    assert actions == [SlaAction("reminder", Sla.STAKEHOLDER_EMAIL, email_due, 60)]


def test_given_a_pagerduty_alert_acknowledged_in_slack_only_when_the_due_passes_then_the_pagerduty_ack_is_breached(
    policy: SlaPolicy,
) -> None:
    incident = alert(policy, WEDNESDAY_10_ET, source=Source.PAGERDUTY)
    incident.meet(Sla.SLACK_ACK, et(2026, 5, 13, 10, 3))

    actions = policy.due_actions(incident, et(2026, 5, 13, 10, 15))

    assert actions == [SlaAction("breach", Sla.PAGERDUTY_ACK, et(2026, 5, 13, 10, 15))]


# --- next_check ----------------------------------------------------------------------------------------


def test_given_a_new_unacknowledged_alert_when_asked_then_the_next_check_is_the_reminder_minute(
    policy: SlaPolicy,
) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)

    assert policy.next_check(incident) == et(2026, 5, 13, 10, 10)


def test_given_the_reminder_sent_when_asked_then_the_next_check_is_the_due_minute(policy: SlaPolicy) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)
    now = et(2026, 5, 13, 10, 10)
    policy.apply(incident, policy.due_actions(incident, now)[0], now)

    assert policy.next_check(incident) == et(2026, 5, 13, 10, 15)


def test_given_the_only_deadline_met_when_asked_then_there_is_no_next_check(policy: SlaPolicy) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)
    incident.meet(Sla.SLACK_ACK, et(2026, 5, 13, 10, 2))

    assert policy.next_check(incident) is None


def test_given_a_pending_notice_on_an_incident_with_nothing_else_owed_then_it_is_checked_when_its_lease_ends(
    policy: SlaPolicy,
) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)
    breach_at = et(2026, 5, 13, 10, 15)
    policy.apply(incident, policy.due_actions(incident, breach_at)[0], breach_at)
    incident.pending_notices.append(PendingNotice(Sla.SLACK_ACK, "breach", breach_at, 0, breach_at))

    assert policy.next_check(incident) == breach_at + NOTICE_LEASE


def test_given_a_pending_notice_cleared_then_the_incident_leaves_the_due_index(policy: SlaPolicy) -> None:
    incident = alert(policy, WEDNESDAY_10_ET)
    breach_at = et(2026, 5, 13, 10, 15)
    policy.apply(incident, policy.due_actions(incident, breach_at)[0], breach_at)
    incident.pending_notices.append(PendingNotice(Sla.SLACK_ACK, "breach", breach_at, 0, breach_at))

    incident.pending_notices.clear()

    assert policy.next_check(incident) is None


def test_given_a_critical_incident_acknowledged_when_asked_then_the_next_check_is_four_hours_before_the_email(
    policy: SlaPolicy,
) -> None:
    incident = alert(policy, WEDNESDAY_10_ET, severity=Severity.CRITICAL)
    incident.meet(Sla.SLACK_ACK, et(2026, 5, 13, 10, 2))

    assert policy.next_check(incident) == et(2026, 5, 14, 6)


def test_given_the_default_leads_when_asked_then_the_largest_lead_is_the_post_mortem_day(policy: SlaPolicy) -> None:
    assert policy.largest_lead == timedelta(days=1)
