"""PagerDuty webhooks V3, pure: the signature, the envelope, and which priorities are critical."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from prodsupport.incident.model import Severity
from prodsupport.pagerduty import webhook as pagerduty
from prodsupport.pagerduty.webhook import (
    BadWebhook,
    PagerDutyIncident,
    Reference,
    opens_incidents,
    parse_event,
    severity_for,
    verify_signature,
)

EVENTS = Path(__file__).resolve().parents[3] / "events"
BODY = b'{"event":{"id":"E1","event_type":"incident.triggered"}}'


def sample_body(name: str) -> bytes:
    """The V3 body inside one of the `sam local invoke` samples."""
    return str(json.loads((EVENTS / name).read_text())["body"]).encode()


def envelope(event_type: str = "incident.acknowledged", **event: Any) -> bytes:
    body = {
        "event": {
            "id": "01EVT1",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-03-10T14:07:30.123Z",
            "agent": {"id": "PUSR1", "type": "user_reference", "summary": "Ana Oncall"},
            "client": {"name": "PagerDuty"},
            "data": {
                "id": "Q0PD1",
                "type": "incident",
                "html_url": "https://acme.pagerduty.com/incidents/Q0PD1",
                "number": 7,
                "title": "Kiosk check-in failing",
                "status": "acknowledged",
                "urgency": "low",
                "priority": {"id": "PP1", "type": "priority_reference", "summary": "P3"},
                "assignees": [{"id": "PUSR1", "type": "user_reference", "summary": "Ana Oncall"}],
            },
            **event,
        }
    }
    return json.dumps(body).encode()


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- signature ----------------------------------------------------------------------------------------


def test_a_body_signed_with_the_secret_verifies() -> None:
    assert verify_signature(["s3cret"], f"v1={hex_hmac('s3cret', BODY)}", BODY)


def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    assert pagerduty.sign("s3cret", BODY) == f"v1={hex_hmac('s3cret', BODY)}"


def test_any_of_several_signatures_verifies_during_a_rotation() -> None:
    header = f"v1={hex_hmac('old', BODY)},v1={hex_hmac('new', BODY)}"
    assert verify_signature(["new"], header, BODY)


def test_any_of_several_configured_secrets_verifies_during_a_rotation() -> None:
    assert verify_signature(["new", "old"], f"v1={hex_hmac('old', BODY)}", BODY)


def test_a_signature_made_with_another_secret_is_refused() -> None:
    assert not verify_signature(["s3cret"], f"v1={hex_hmac('guess', BODY)}", BODY)


def test_a_changed_body_is_refused() -> None:
    assert not verify_signature(["s3cret"], f"v1={hex_hmac('s3cret', BODY)}", BODY + b" ")


def test_a_missing_header_is_refused() -> None:
    assert not verify_signature(["s3cret"], None, BODY)


def test_a_signature_of_another_version_is_refused() -> None:
    assert not verify_signature(["s3cret"], f"v0={hex_hmac('s3cret', BODY)}", BODY)


def test_with_no_secret_configured_nothing_verifies() -> None:
    assert not verify_signature([""], f"v1={hex_hmac('', BODY)}", BODY)


def test_the_header_is_found_in_any_case() -> None:
    assert pagerduty.header({"X-PagerDuty-Signature": "v1=ab"}, pagerduty.SIGNATURE_HEADER) == "v1=ab"


# --- the envelope -------------------------------------------------------------------------------------


def test_the_envelope_gives_id_type_time_and_agent() -> None:
    event = parse_event(envelope())
    assert (event.id, event.event_type, event.resource_type) == ("01EVT1", "incident.acknowledged", "incident")
    assert event.occurred_at == datetime(2026, 3, 10, 14, 7, 30, 123000, tzinfo=UTC)
    assert event.agent_name == "Ana Oncall"
    assert event.client == "PagerDuty"


def test_the_incident_comes_from_event_data() -> None:
    incident = parse_event(envelope()).incident
    assert incident is not None
    assert (incident.id, incident.number, incident.label) == ("Q0PD1", 7, "#7")
    assert (incident.title, incident.status, incident.urgency, incident.priority) == (
        "Kiosk check-in failing",
        "acknowledged",
        "low",
        "P3",
    )
    assert [a.summary for a in incident.assignees] == ["Ana Oncall"]


def test_a_status_update_names_its_incident_by_reference() -> None:
    data = {
        "id": "PSTU1",
        "type": "incident_status_update",
        "message": "Rolled back",
        "incident": {"id": "Q0PD1", "type": "incident_reference", "summary": "Kiosk check-in failing"},
    }
    event = parse_event(envelope("incident.status_update_published", data=data))
    assert event.incident is not None
    assert (event.incident.id, event.incident.title) == ("Q0PD1", "Kiosk check-in failing")
    assert event.message == "Rolled back"


def test_an_event_without_an_agent_is_attributed_to_pagerduty() -> None:
    assert parse_event(envelope(agent=None)).agent_name == "PagerDuty"


def test_an_unhandled_event_type_is_parsed_without_its_data() -> None:
    event = parse_event(envelope("service.updated", data={"id": "PSVC", "type": "service"}))
    assert not event.handled
    assert event.incident is None


def test_the_triggered_sample_is_a_handled_incident_event() -> None:
    event = parse_event(sample_body("pagerduty_incident_triggered.json"))
    assert event.handled
    assert event.incident is not None
    assert event.incident.priority == "P1"


def test_a_url_that_would_break_a_slack_link_is_dropped() -> None:
    data = {"id": "Q0PD1", "type": "incident", "html_url": "https://x.pagerduty.com/incidents/Q0PD1|click>"}
    incident = parse_event(envelope(data=data)).incident
    assert incident is not None
    assert incident.html_url == ""


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", '{"event": {...}}'),
        (b'{"messages": []}', '{"event": {...}}'),
        (json.dumps({"event": {"event_type": "x", "occurred_at": "2026-03-10T14:00:00Z"}}), "event.id"),
        (json.dumps({"event": {"id": "E", "occurred_at": "2026-03-10T14:00:00Z"}}), "event.event_type"),
        (json.dumps({"event": {"id": "E", "event_type": "incident.triggered"}}), "event.occurred_at"),
        (
            json.dumps({"event": {"id": "E", "event_type": "x", "occurred_at": "2026-03-10 14:00"}}),
            "ISO 8601 time with a zone",
        ),
    ],
)
def test_a_malformed_body_says_what_is_wrong(body: bytes | str, says: str) -> None:
    with pytest.raises(BadWebhook) as raised:
        parse_event(body.encode() if isinstance(body, str) else body)
    assert says in str(raised.value)


def test_a_handled_event_without_data_says_so() -> None:
    with pytest.raises(BadWebhook, match=r"event\.data must be an object"):
        parse_event(envelope(data=None))


def test_a_handled_event_without_an_incident_id_says_so() -> None:
    with pytest.raises(BadWebhook, match=r"event\.data\.id is required"):
        parse_event(envelope(data={"type": "incident"}))


# --- severity -----------------------------------------------------------------------------------------


def pd_incident(priority: str = "", urgency: str = "") -> PagerDutyIncident:
    return PagerDutyIncident(id="Q0PD1", priority=priority, urgency=urgency)


def severity(incident: PagerDutyIncident, priorities: tuple[str, ...] = ("P1",)) -> Severity:
    return severity_for(incident, critical_priorities=priorities, critical_urgencies=("high",))


def test_p1_is_critical() -> None:
    assert severity(pd_incident(priority="P1", urgency="low")) is Severity.CRITICAL


def test_high_urgency_without_a_priority_is_critical() -> None:
    assert severity(pd_incident(urgency="high")) is Severity.CRITICAL


def test_a_priority_that_is_not_critical_outranks_high_urgency() -> None:
    # every service pages at high urgency by default; the priority is what a responder set on purpose
    assert severity(pd_incident(priority="P3", urgency="high")) is Severity.MAJOR


def test_low_urgency_p2_is_major() -> None:
    assert severity(pd_incident(priority="P2", urgency="low")) is Severity.MAJOR


def test_no_priority_and_low_urgency_is_major() -> None:
    assert severity(pd_incident(urgency="low")) is Severity.MAJOR


def test_the_critical_priorities_are_configurable_and_ignore_case() -> None:
    assert severity(pd_incident(priority="sev-1", urgency="low"), ("SEV-1", "SEV-2")) is Severity.CRITICAL


# --- which services open incidents ----------------------------------------------------------------------


def on_service(service_id: str | None) -> PagerDutyIncident:
    return PagerDutyIncident(id="Q0PD1", service=Reference(id=service_id) if service_id else None)


def test_with_no_services_configured_every_service_opens_incidents() -> None:
    assert opens_incidents(on_service("PSTAGING"), ())


def test_a_configured_service_opens_incidents() -> None:
    assert opens_incidents(on_service("PSVC0CHK"), ("PSVC0CHK",))


def test_a_service_not_configured_opens_none() -> None:
    assert not opens_incidents(on_service("PSTAGING"), ("PSVC0CHK",))


def test_an_incident_without_a_service_opens_none_once_services_are_configured() -> None:
    assert not opens_incidents(on_service(None), ("PSVC0CHK",))
