"""The live card as painted from the saved incident: its text fallback, its blocks and `incident_state`."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from builders import new_incident

from prodsupport.incident.card import live_card
from prodsupport.incident.model import EmailState, Incident, PagerDutyLink, Sla, Source

ET = ZoneInfo("America/New_York")
# Sunday 2026-11-01 is the day daylight saving time ends in the US: 1:30 AM happens twice.
BEFORE_FALL_BACK = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 1:30 AM EDT
OPENED = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tue 10:00 AM EST, business hours


def incident(title: str = "Kiosk errors", opened_at: datetime = OPENED) -> Incident:
    opened = new_incident(opened_at, sequence=7, title=title, source=Source.PAGERDUTY)
    opened.card_ts = opened.thread_ts
    opened.version = 4
    return opened


def text_of(blocks: list[dict[str, object]]) -> str:
    return "\n".join(str(block["text"]["text"]) for block in blocks if block["type"] == "section")  # type: ignore[index]


def test_the_fallback_text_names_the_id_severity_state_and_next_due_clock() -> None:
    card = live_card(incident(), OPENED, zone=ET)

    assert card.text == (
        "INC-2026-0007 (critical) open — Kiosk errors — next: Slack acknowledgement due Tue 11/24/2026 10:15 AM EST"
    )


def test_the_metadata_is_the_incident_state_with_every_clock() -> None:
    card = live_card(incident(), OPENED, zone=ET)

    assert card.event_type == "incident_state"
    assert card.payload == {
        "incident_id": "INC-2026-0007",
        "card_version": 4,
        "severity": "critical",
        "state": "open",
        "owner": "U0PM",
        "clocks": [
            {"sla": "slack_ack", "due": "2026-11-24T15:15:00Z", "outcome": "pending"},
            {"sla": "pagerduty_ack", "due": "2026-11-24T15:15:00Z", "outcome": "pending"},
            {"sla": "stakeholder_email", "due": "2026-11-25T15:00:00Z", "outcome": "pending"},
        ],
        "next_due": {"sla": "slack_ack", "due": "2026-11-24T15:15:00Z"},
    }


def test_a_missed_ack_shows_as_breached() -> None:
    missed = incident()
    missed.mark_breached(Sla.SLACK_ACK, OPENED + timedelta(minutes=15))

    card = live_card(missed, OPENED + timedelta(minutes=15), zone=ET)

    assert card.payload["clocks"][0] == {"sla": "slack_ack", "due": "2026-11-24T15:15:00Z", "outcome": "breached"}
    assert "Slack acknowledgement: due Tue 11/24/2026 10:15 AM EST — :x: *breached*" in text_of(card.blocks)


def test_a_late_ack_shows_when_it_was_met() -> None:
    late = incident()
    late.acknowledge(OPENED + timedelta(minutes=20), "U0ENG", "on it")

    card = live_card(late, OPENED + timedelta(minutes=21), zone=ET)

    assert "due Tue 11/24/2026 10:15 AM EST — :warning: met late (Tue 11/24/2026 10:20 AM EST)" in text_of(card.blocks)


def test_due_times_across_the_fall_back_carry_the_zone_they_fall_in() -> None:
    card = live_card(incident(opened_at=BEFORE_FALL_BACK), BEFORE_FALL_BACK, zone=ET)
    shown = text_of(card.blocks)

    assert "Opened:* Sun 11/01/2026 1:30 AM EDT (after-hours)" in shown
    # an hour after 1:30 AM EDT (after hours: a 60-minute window) is 1:30 AM again, now EST
    assert "Slack acknowledgement: due Sun 11/01/2026 1:30 AM EST" in shown
    # the email is due 24 hours later, which is 12:30 AM by the clock on the wall
    assert "Stakeholder email: due Mon 11/02/2026 12:30 AM EST" in shown


def test_status_owner_and_links_are_shown() -> None:
    worked = incident()
    worked.update_status(OPENED + timedelta(minutes=5), "Rolling back", OPENED + timedelta(minutes=35))
    worked.pagerduty = PagerDutyLink("P123", "https://example.pagerduty.com/incidents/P123")

    shown = text_of(live_card(worked, OPENED + timedelta(minutes=6), zone=ET).blocks)

    assert "*Owner:* <@U0PM>" in shown
    assert "*Status* (Tue 11/24/2026 10:05 AM EST): Rolling back" in shown
    assert "Promised status update: due Tue 11/24/2026 10:35 AM EST" in shown
    assert "*PagerDuty:* <https://example.pagerduty.com/incidents/P123|P123>" in shown


def test_a_resolved_card_says_so_and_offers_no_buttons() -> None:
    resolved = incident()
    resolved.resolve(OPENED + timedelta(hours=1), "Rolled back", "U0ENG")

    card = live_card(resolved, OPENED + timedelta(hours=1), zone=ET)

    assert card.payload["state"] == "resolved" and card.payload["ended_at"] == "2026-11-24T16:00:00Z"
    assert "resolved" in card.text
    assert "*Resolved* Tue 11/24/2026 11:00 AM EST: Rolled back" in text_of(card.blocks)
    assert not [block for block in card.blocks if block["type"] == "actions"]


def test_typed_text_cannot_inject_mentions() -> None:
    hostile = incident("<!channel> ping")
    hostile.update_status(OPENED, "<!here> <https://evil|click>")

    card = live_card(hostile, OPENED, zone=ET)

    assert "<!channel>" not in card.text and "<!here>" not in text_of(card.blocks)


def test_the_latest_stakeholder_email_and_its_outcome_are_shown() -> None:
    emailed = incident()
    request = emailed.request_email(OPENED + timedelta(minutes=20), "U0PM")
    emailed.record_email_outcome(request, EmailState.SENT, OPENED + timedelta(minutes=21), message_id="m-1")

    card = live_card(emailed, OPENED + timedelta(minutes=22), zone=ET)

    assert "*Stakeholder email:* sent Tue 11/24/2026 10:21 AM EST (1 asked for)" in text_of(card.blocks)
    assert card.payload["email_state"] == "sent"
    assert card.payload["clocks"][2]["outcome"] == "met"


def test_the_fallback_text_names_the_breached_clocks_before_the_next_pending_one() -> None:
    missed = incident()
    missed.mark_breached(Sla.SLACK_ACK, OPENED + timedelta(minutes=15))
    missed.mark_breached(Sla.PAGERDUTY_ACK, OPENED + timedelta(minutes=15))

    card = live_card(missed, OPENED + timedelta(minutes=15), zone=ET)

    assert card.text == (
        "INC-2026-0007 (critical) open — Kiosk errors — BREACHED: Slack acknowledgement, due Tue 11/24/2026 10:15 AM "
        "EST; PagerDuty acknowledgement, due Tue 11/24/2026 10:15 AM EST — next: stakeholder email due Wed "
        "11/25/2026 10:00 AM EST"
    )


def test_clock_labels_keep_the_case_of_the_names_in_them() -> None:
    card = live_card(incident(), OPENED, zone=ET)

    assert "• PagerDuty acknowledgement: due Tue 11/24/2026 10:15 AM EST" in text_of(card.blocks)


def test_the_card_says_how_to_acknowledge_while_the_slack_ack_is_owed() -> None:
    card = live_card(incident(), OPENED, zone=ET)

    assert "— post a message in this thread (a reaction does not count)" in text_of(card.blocks)


def test_the_ack_instruction_goes_once_the_slack_ack_is_made() -> None:
    acknowledged = incident()
    acknowledged.acknowledge(OPENED + timedelta(minutes=5), "U0ENG", "on it")

    card = live_card(acknowledged, OPENED + timedelta(minutes=6), zone=ET)

    assert "a reaction does not count" not in text_of(card.blocks)
