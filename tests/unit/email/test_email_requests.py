"""The email request: what may be queued, how it is stored, and the MIME message SES receives."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from prodsupport.email.requests import (
    MAX_RECIPIENTS,
    Attachment,
    EmailRequest,
    queue_body,
    request_id_from_body,
)

AT = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
INVITE = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:pm-1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
REQUEST = EmailRequest(
    request_id="INC-2026-0001-postmortem-invite-0",
    kind="postmortem_invite",
    ref="INC-2026-0001",
    channel_id="C0PRODSUP",
    thread_ts="1795788300.000001",
    to=("alex@example.gov", "sam@example.gov"),
    subject="Post-mortem: Pre-check-in outage — Tue 12/01",
    text="Please join.\n",
    html="<p>Please join.</p>\n",
    requested_at=AT,
    requested_by="U0PM",
    attachments=(Attachment("invite.ics", "text/calendar; method=REQUEST", INVITE),),
)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_request_survives_the_round_trip_through_its_table_item() -> None:
    assert EmailRequest.from_item(REQUEST.to_item()) == REQUEST


def test_a_new_request_item_is_queued_under_its_request_id() -> None:
    item = REQUEST.to_item()
    assert (item["pk"], item["sk"], item["state"]) == ("EMAIL#INC-2026-0001-postmortem-invite-0", "REQUEST", "queued")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"subject": "Outage\r\nBcc: attacker@example.com"}, "subject must be one line"),
        ({"to": ("alex@example.gov", "x@y.com\r\nBcc: attacker@example.com")}, "not email addresses"),
        ({"to": ()}, "at least one recipient"),
        ({"to": tuple(f"p{n}@example.gov" for n in range(MAX_RECIPIENTS + 1))}, "at most 500"),
        ({"kind": "newsletter"}, "email kind must be one of"),
        ({"request_id": ""}, "request id"),
    ],
)
def test_a_request_that_could_not_be_sent_as_asked_is_refused(change: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        replace(REQUEST, **change)  # type: ignore[arg-type]


def test_an_attachment_content_type_cannot_carry_a_header() -> None:
    with pytest.raises(ValueError, match="one line"):
        Attachment("invite.ics", "text/calendar\r\nBcc: attacker@example.com", INVITE)


def test_the_mime_message_has_text_and_html_alternatives_then_the_attachment() -> None:
    message = parse(REQUEST.to_mime("prodsupport@example.gov"))

    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert [part.get_content_type() for part in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content() == INVITE


def test_the_mime_message_carries_sender_recipients_subject_and_the_request_time() -> None:
    message = parse(REQUEST.to_mime("prodsupport@example.gov"))

    assert message["From"] == "prodsupport@example.gov"
    assert message["To"] == "alex@example.gov, sam@example.gov"
    assert message["Subject"] == "Post-mortem: Pre-check-in outage — Tue 12/01"
    assert message["Date"].datetime == AT


def test_the_mime_message_is_seven_bit_as_ses_asks_of_raw_messages() -> None:
    raw = replace(REQUEST, text="Café — résumé\n").to_mime("prodsupport@example.gov")

    assert raw.isascii()
    assert parse(raw).get_body(("plain",)).get_content() == "Café — résumé\r\n"  # type: ignore[union-attr]


def test_a_queue_message_names_its_request_id() -> None:
    assert request_id_from_body(queue_body("release-REL-2026-0004")) == "release-REL-2026-0004"


@pytest.mark.parametrize("body", ["not json", "[]", '{"request_id": ""}', '{"id": "x"}'])
def test_a_malformed_queue_message_is_refused(body: str) -> None:
    with pytest.raises(ValueError, match="email queue message"):
        request_id_from_body(body)


def test_a_long_subject_is_read_back_exactly_as_sent() -> None:
    long_subject = "Check-In Experience Cc: attacker@example.com Production Outage 11-24-2026"

    message = parse(replace(REQUEST, subject=long_subject).to_mime("prodsupport@example.gov"))

    assert message["Subject"] == long_subject
