"""Who the SLA checker names, and the metadata every reminder and breach carries."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from builders import new_incident

from prodsupport.incident.model import Incident, PagerDutyLink, Sla, Source
from prodsupport.incident.policy import SlaAction
from prodsupport.sla import messages as sla_messages
from prodsupport.sla.messages import Escalation

OPENED = datetime(2026, 5, 13, 14, tzinfo=UTC)  # Wed 10:00 EDT
THREAD_TS = "1778680800.000001"
ACK_DUE = OPENED + timedelta(minutes=15)
PEOPLE = Escalation(oncall="UONCALL", pm="UPM")
ET = ZoneInfo("America/New_York")


def incident(title: str = "Check-in fails at the kiosk", owner: str = "UOWNER") -> Incident:
    return new_incident(OPENED, sequence=7, title=title, source=Source.PAGERDUTY, thread_ts=THREAD_TS, owner=owner)


def test_given_an_ack_reminder_when_built_then_it_mentions_the_oncall_in_the_thread_and_no_dm() -> None:
    action = SlaAction("reminder", Sla.SLACK_ACK, ACK_DUE, 5)
    notice = sla_messages.reminder(incident(), action, PEOPLE, ACK_DUE, zone=ET)

    assert notice.thread.thread_ts == "1778680800.000001"
    assert "<@UONCALL>" in notice.thread.text
    assert notice.direct_to == ""


def test_given_a_reminder_when_built_then_its_metadata_is_exactly_incident_sla_and_due() -> None:
    action = SlaAction("reminder", Sla.SLACK_ACK, ACK_DUE, 5)

    notice = sla_messages.reminder(incident(), action, PEOPLE, ACK_DUE - timedelta(minutes=5), zone=ET)

    assert (notice.thread.event_type, notice.thread.payload) == (
        "sla_reminder",
        {"incident_id": "INC-2026-0007", "sla": "slack_ack", "due": "2026-05-13T14:15:00Z"},
    )


def test_given_a_reminder_run_late_when_built_then_it_says_the_time_actually_left() -> None:
    action = SlaAction("reminder", Sla.SLACK_ACK, ACK_DUE, 5)

    notice = sla_messages.reminder(incident(), action, PEOPLE, ACK_DUE - timedelta(minutes=3), zone=ET)

    assert "(in 3 min)" in notice.thread.text


def test_given_a_stakeholder_email_reminder_when_built_then_the_pm_gets_it_in_the_thread_and_directly() -> None:
    due = OPENED + timedelta(hours=24)
    action = SlaAction("reminder", Sla.STAKEHOLDER_EMAIL, due, 240)

    notice = sla_messages.reminder(incident(), action, PEOPLE, due - timedelta(hours=4), zone=ET)

    assert "<@UPM>" in notice.thread.text
    assert "(in 4 h)" in notice.thread.text
    assert notice.direct_to == "UPM"
    direct = notice.direct("D0PM")
    assert (direct.channel, direct.thread_ts, direct.event_type, direct.payload) == (
        "D0PM",
        None,
        "sla_reminder",
        notice.thread.payload,
    )


def test_given_a_postmortem_reminder_when_built_then_it_names_the_incident_owner() -> None:
    due = OPENED + timedelta(days=3)
    action = SlaAction("reminder", Sla.POSTMORTEM_SCHEDULED, due, 1440)

    notice = sla_messages.reminder(incident(), action, PEOPLE, due - timedelta(days=1), zone=ET)

    assert "<@UOWNER>" in notice.thread.text
    assert "postmortem scheduled" in notice.thread.text


def test_given_an_ack_breach_when_built_then_it_names_the_oncall_and_copies_the_pm() -> None:
    notice = sla_messages.breach(incident(), SlaAction("breach", Sla.SLACK_ACK, ACK_DUE), PEOPLE, ACK_DUE, zone=ET)

    assert notice.thread.event_type == "sla_breached"
    assert "<@UONCALL>, please post a message in this thread" in notice.thread.text
    assert "cc <@UPM> (PM)" in notice.thread.text
    assert "(business-hours window)" in notice.thread.text


def test_given_a_pagerduty_breach_with_a_linked_incident_when_built_then_it_links_the_page() -> None:
    linked = incident()
    linked.pagerduty = PagerDutyLink("Q1ABC", "https://example.pagerduty.com/incidents/Q1ABC")

    notice = sla_messages.breach(linked, SlaAction("breach", Sla.PAGERDUTY_ACK, ACK_DUE), PEOPLE, ACK_DUE, zone=ET)

    assert "<https://example.pagerduty.com/incidents/Q1ABC|Q1ABC>" in notice.thread.text


@pytest.mark.parametrize("url", ["", "javascript:alert(1)", "PGR0VU2"])
def test_given_a_pagerduty_link_without_a_web_url_when_a_reminder_is_built_then_it_names_the_id_plainly(
    url: str,
) -> None:
    # GIVEN an incident linked by bare id (`/incident … pagerduty PGR0VU2`) or with a URL that is no web link
    linked = incident()
    linked.pagerduty = PagerDutyLink("PGR0VU2", url)

    notice = sla_messages.reminder(linked, SlaAction("remind", Sla.PAGERDUTY_ACK, ACK_DUE), PEOPLE, OPENED, zone=ET)

    assert "acknowledge the incident in PagerDuty PGR0VU2" in notice.thread.text
    assert "<|" not in notice.thread.text
    assert f"<{url}|" not in notice.thread.text


def test_given_the_oncall_is_also_the_pm_when_a_breach_is_built_then_they_are_mentioned_once() -> None:
    same = Escalation(oncall="UPM", pm="UPM")

    notice = sla_messages.breach(incident(), SlaAction("breach", Sla.SLACK_ACK, ACK_DUE), same, ACK_DUE, zone=ET)

    assert notice.thread.text.count("<@UPM>") == 1


def test_given_nobody_on_call_configured_when_a_breach_is_built_then_it_addresses_the_role() -> None:
    nobody = Escalation(oncall="", pm="")

    notice = sla_messages.breach(incident(), SlaAction("breach", Sla.SLACK_ACK, ACK_DUE), nobody, ACK_DUE, zone=ET)

    assert "the on-call engineer, please" in notice.thread.text
    assert "cc" not in notice.thread.text


def test_given_a_breach_announced_late_when_built_then_it_says_how_long_ago_it_was_due() -> None:
    action = SlaAction("breach", Sla.SLACK_ACK, ACK_DUE)

    notice = sla_messages.breach(incident(), action, PEOPLE, ACK_DUE + timedelta(hours=1, minutes=2), zone=ET)

    assert "(business-hours window), 1 h 2 min ago and has not happened." in notice.thread.text


def test_given_a_title_with_slack_controls_when_a_reminder_is_built_then_the_title_is_escaped() -> None:
    action = SlaAction("reminder", Sla.SLACK_ACK, ACK_DUE, 5)

    notice = sla_messages.reminder(incident(title="<!here> down & out"), action, PEOPLE, ACK_DUE, zone=ET)

    assert "&lt;!here&gt; down &amp; out" in notice.thread.text
    assert "<!here>" not in notice.thread.text


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(seconds=0), "0 min"),
        (timedelta(seconds=61), "2 min"),
        (timedelta(hours=4), "4 h"),
        (timedelta(days=1, minutes=5), "1 day 5 min"),
        (timedelta(days=2, hours=3), "2 days 3 h"),
    ],
)
def test_given_a_span_when_written_for_people_then_it_rounds_up_to_the_minute(span: timedelta, text: str) -> None:
    assert sla_messages.duration_text(span) == text
