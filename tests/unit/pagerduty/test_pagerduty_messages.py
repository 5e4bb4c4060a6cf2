"""What the bot says about PagerDuty: docs/design.md's metadata, both clocks named, PagerDuty's text escaped."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from builders import new_incident

from prodsupport.incident.model import Incident, PagerDutyLink, Sla, Source
from prodsupport.pagerduty import messages as pd_msg
from prodsupport.pagerduty.webhook import PagerDutyIncident, Reference

OPENED = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
PD = PagerDutyIncident(
    id="Q0PD1",
    title="Kiosk check-in failing",
    html_url="https://acme.pagerduty.com/incidents/Q0PD1",
    number=7,
    urgency="high",
    priority="P1",
    assignees=(Reference("PUSR1", "<!channel> Mallory"),),
)

ET = ZoneInfo("America/New_York")


def pagerduty_incident() -> Incident:
    incident = new_incident(OPENED, title=PD.title, source=Source.PAGERDUTY)
    incident.pagerduty = PagerDutyLink(PD.id, PD.html_url)
    return incident


def test_the_thread_root_declares_the_incident_with_the_pagerduty_ack_due() -> None:
    root = pd_msg.thread_root(pagerduty_incident(), PD, "U0ANA", zone=ET)
    assert root.event_type == "incident_declared"
    assert root.payload["source"] == "pagerduty"
    assert root.payload["pagerduty_ack_due"] == root.payload["ack_due"] == "2026-03-10T14:15:00Z"


def test_the_thread_root_names_the_oncall_and_escapes_pagerduty_names() -> None:
    text = str(pd_msg.thread_root(pagerduty_incident(), PD, "U0ANA", zone=ET).blocks)
    assert "<@U0ANA>" in text
    assert "&lt;!channel&gt; Mallory" in text
    assert "<!channel>" not in text


def test_a_late_pagerduty_ack_is_not_met() -> None:
    incident = pagerduty_incident()
    deadline = incident.deadlines[Sla.PAGERDUTY_ACK]
    deadline.met_at = OPENED + timedelta(minutes=16)
    message = pd_msg.acknowledged(incident, deadline, "Ana Oncall", zone=ET)
    assert message.payload == {
        "incident_id": "INC-2026-0001",
        "sla": "pagerduty_ack",
        "at": "2026-03-10T14:16:00Z",
        "due": "2026-03-10T14:15:00Z",
        "met": False,
    }


def test_without_a_url_the_link_is_the_plain_label() -> None:
    assert pd_msg.pagerduty_link("Q0PD1", "", "#7") == "#7"
