"""What a tag says: the partner's mentions, the incident's essentials and the `partner_tagged` metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from prodsupport.incident.model import Incident, PagerDutyLink, Severity, Source
from prodsupport.partner import messages
from prodsupport.partner.model import Partner, PartnerDirectory

AT = datetime(2026, 11, 27, 14, 8, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")
VETEXT = Partner("VEText", slack_usergroup_id="S0VETEXT", pagerduty_escalation_policy_id="PEP0VTX")


def incident() -> Incident:
    found = Incident(
        id="INC-2026-0001",
        title="Kiosks <down>",
        severity=Severity.CRITICAL,
        source=Source.SLASH_COMMAND,
        channel_id="C0PRODSUP",
        thread_ts="1.000001",
        opened_at=AT,
        window="business",
        business_impact="Veterans wait",
        current_status="Rolling back",
    )
    found.pagerduty = PagerDutyLink("Q0PD", "https://x.pagerduty.com/incidents/Q0PD")
    return found


def test_a_tag_pings_the_partner_with_the_incidents_essentials() -> None:
    message = messages.tagged(incident(), VETEXT, "U0ENG", AT, paged=True, page_error="", zone=ZONE)

    assert message.text.startswith(":wave: <!subteam^S0VETEXT> — <@U0ENG> tagged VEText")
    for essential in ("critical", "Kiosks &lt;down&gt;", "Veterans wait", "Rolling back", "<https://x.pagerduty.com"):
        assert essential in message.text
    assert message.thread_ts == "1.000001"


def test_a_tag_carries_the_partner_tagged_metadata() -> None:
    message = messages.tagged(incident(), VETEXT, "U0ENG", AT, paged=False, page_error="", zone=ZONE)

    assert message.event_type == "partner_tagged"
    assert message.payload == {
        "incident_id": "INC-2026-0001",
        "partner": "VEText",
        "at": "2026-11-27T14:08:00Z",
        "paged": False,
    }


def test_a_failed_page_is_said_in_the_tag() -> None:
    message = messages.tagged(
        incident(), VETEXT, "U0ENG", AT, paged=False, page_error="PagerDuty answered HTTP 500", zone=ZONE
    )

    assert "Paging VEText in PagerDuty failed: PagerDuty answered HTTP 500. The tag stands." in message.text


def test_an_unknown_partner_is_answered_with_the_directorys_names() -> None:
    partners = PartnerDirectory((VETEXT, Partner("CHIP")))

    assert messages.unknown(("VistA",), partners) == (
        "I know no partner called VistA. The directory has: VEText, CHIP. Nothing was tagged."
    )


def test_the_suggestion_offers_one_tag_button_per_partner() -> None:
    message = messages.suggested(incident(), (VETEXT, Partner("CHIP")))

    buttons = message.blocks[1]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("incident_partner_tag_VEText", "INC-2026-0001"),
        ("incident_partner_tag_CHIP", "INC-2026-0001"),
    ]
    assert message.payload == {"incident_id": "INC-2026-0001", "partners": ["VEText", "CHIP"]}
