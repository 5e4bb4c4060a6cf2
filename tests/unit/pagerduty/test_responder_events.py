"""`incident.responder.added` and `incident.responder.replied` (V3): the incident, the responder and the answer."""

from __future__ import annotations

import json

import pytest

from prodsupport.pagerduty.webhook import RESPONDER_REPLIED, BadWebhook, parse_event

INCIDENT = {
    "id": "Q0PD",
    "type": "incident_reference",
    "summary": "[#1042] 5xx",
    "html_url": "https://x.pagerduty.com/incidents/Q0PD",
}
VIC = {"id": "PUSR0VIC", "type": "user_reference", "summary": "Vic VEText"}


def body(event_type: str, data: dict[str, object]) -> bytes:
    event = {"id": "E1", "event_type": event_type, "resource_type": "incident", "occurred_at": "2026-03-10T14:06:00Z"}
    return json.dumps({"event": {**event, "agent": VIC, "client": None, "data": data}}).encode()


def test_a_reply_names_the_responder_and_the_answer() -> None:
    data = {"incident": INCIDENT, "user": VIC, "message": "Help", "state": "joined", "type": "incident_responder"}

    event = parse_event(body(RESPONDER_REPLIED, data))

    assert event.handled and event.incident is not None and event.responder is not None
    assert (event.incident.id, event.responder.summary, event.state, event.message) == (
        "Q0PD",
        "Vic VEText",
        "joined",
        "Help",
    )


def test_a_responder_event_without_its_incident_is_a_bad_webhook() -> None:
    with pytest.raises(BadWebhook, match=r"event\.data\.incident\.id is required"):
        parse_event(body("incident.responder.added", {"user": VIC, "state": "pending"}))
