"""What the bot posts: docs/design.md's metadata on every incident message, people's text escaped."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from builders import new_incident

from prodsupport.incident import messages as msg
from prodsupport.incident.model import Incident, Sla

ET = ZoneInfo("America/New_York")

OPENED = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def incident(title: str = "Kiosk errors") -> Incident:
    return new_incident(OPENED, sequence=3, title=title)


def test_the_card_carries_incident_declared_metadata() -> None:
    card = msg.incident_card(incident(), thread_ts="1764000000.000100", zone=ET)
    assert card.event_type == "incident_declared"
    assert card.payload == {
        "incident_id": "INC-2026-0003",
        "severity": "critical",
        "opened_at": "2026-11-24T15:00:00Z",
        "window": "business",
        "ack_due": "2026-11-24T15:15:00Z",
    }


def test_the_card_shows_times_in_et_with_the_zone() -> None:
    card = msg.incident_card(incident(), thread_ts=None, zone=ET)
    assert "Tue 11/24/2026 10:15 AM EST" in card.text


def test_a_title_cannot_inject_mentions_or_links() -> None:
    card = msg.incident_card(incident("<!channel> <https://evil|click>"), thread_ts=None, zone=ET)
    assert "<!channel>" not in card.text and "&lt;!channel&gt;" in card.text


def test_a_late_ack_is_reported_as_not_met() -> None:
    subject = incident()
    deadline = subject.deadlines[Sla.SLACK_ACK]
    deadline.met_at = deadline.due + timedelta(minutes=1)
    message = msg.acknowledged(subject, Sla.SLACK_ACK, deadline, "U0ENG", zone=ET)
    assert message.event_type == "incident_acknowledged"
    assert message.payload == {
        "incident_id": "INC-2026-0003",
        "sla": "slack_ack",
        "at": "2026-11-24T15:16:00Z",
        "due": "2026-11-24T15:15:00Z",
        "met": False,
    }


def test_the_reaction_note_is_a_slack_ack_reminder() -> None:
    note = msg.reaction_does_not_count(incident(), "U0ENG", zone=ET)
    assert (note.event_type, note.payload["sla"]) == ("sla_reminder", "slack_ack")
    assert "reaction" in note.text


def test_a_directory_over_slacks_100_options_offers_the_first_100() -> None:
    names = tuple(f"Partner {n:03}" for n in range(120))

    [block] = msg.partner_select(names)

    assert [option["value"] for option in block["elements"][0]["options"]] == list(names[:100])
