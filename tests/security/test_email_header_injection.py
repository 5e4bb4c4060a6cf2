"""Email headers can never carry CR/LF: whatever a person types into a title or an application name, the
message SES sends has exactly the headers the service writes, each on one line.

Property-based on the one gate every email passes (EmailRequest and its MIME), then once end to end from a
multi-line Slack command to the raw message moto's SES accepted. The flattening rule itself is unit-tested
in tests/unit/email/test_email_requests.py and tests/unit/email/test_stakeholder_email.py.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from builders import INC, SETTINGS, WEDNESDAY_10_ET, clock_of, command_answer
from hypothesis import given, settings
from hypothesis import strategies as st

from prodsupport.core.rendering import one_line
from prodsupport.email.requests import EmailRequest
from prodsupport_local.emulator.stack import LocalStack

HEADERS = ["Content-Type", "Date", "From", "MIME-Version", "Subject", "To"]
INJECTION = st.lists(
    st.sampled_from(["\r\n", "\n", "\r", "\x85", "\u2028", "\x00", "Bcc: attacker@example.com", ": "])
    | st.text(max_size=20),
    max_size=8,
).map("".join)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def request(subject: str) -> EmailRequest:
    return EmailRequest(
        request_id=f"{INC}-1",
        kind="incident",
        ref=INC,
        channel_id="C0PRODSUP",
        thread_ts="1795618800.000001",
        to=("weekly-sync@example.gov",),
        subject=subject,
        text="Incident Summary:\n",
        html="<p>Incident Summary:</p>\n",
        requested_at=datetime(2026, 11, 25, 15, 0, tzinfo=UTC),
        requested_by="U0PM",
    )


@settings(derandomize=True)
@given(typed=INJECTION)
def test_a_subject_from_any_typed_text_is_one_header_line(typed: str) -> None:
    subject = one_line(f"{typed} Production Outage 11-25-2026")

    message = parse(request(subject).to_mime("prodsupport@example.gov"))

    assert sorted(message.keys()) == HEADERS
    assert message["Subject"] == subject
    assert not any(char in str(message["Subject"]) for char in "\r\n")


@settings(derandomize=True)
@given(typed=INJECTION.filter(lambda text: text != one_line(text)))
def test_a_subject_that_still_holds_a_line_break_is_refused_before_it_is_queued(typed: str) -> None:
    with pytest.raises(ValueError, match="subject must be one line"):
        request(typed)


def test_a_multi_line_application_name_from_slack_reaches_ses_as_one_subject_line(stack: LocalStack) -> None:
    # GIVEN a critical incident whose application was set with a line break and a Bcc header after it
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    command_answer(stack, "critical Kiosks down")
    command_answer(stack, f"{INC} apps Check-In\nBcc: attacker@example.com")

    # WHEN the PM sends the stakeholder email
    command_answer(stack, f"{INC} email", user="U0PM")
    stack.drain()

    # THEN SES got one message with only the service's headers, to the stakeholders only
    [sent] = stack.sent_emails()
    assert sent.raw is not None
    message = parse(sent.raw.encode())
    assert sorted(message.keys()) == HEADERS
    assert message["Subject"] == "Check-In Bcc: attacker@example.com Production Outage 11-25-2026"
    assert list(sent.to) == ["weekly-sync@example.gov"]
