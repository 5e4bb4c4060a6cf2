"""SES throttling the sender: the request stays queued, nothing is sent twice, and it goes out once SES recovers.

SES v2 is reached by the real boto3 client through the local stack's SES fault gate; moto has no throttling,
so a fault queued on the gate answers as throttled SES does (HTTP 429, TooManyRequestsException). Related cases
proven elsewhere (tests/functional/email/test_email_flow.py): SES unreachable (connection refused) then recovering
sends once; SES unreachable five times leaves the request in the dead-letter queue; a permanent MessageRejected
(unverified sender, moto's own check) is recorded, told in the thread and not retried.
"""

from __future__ import annotations

import pytest
from builders import SETTINGS, WEDNESDAY_10_ET, answer_text, clock_of, posts_of, slack_command

from prodsupport import runtime
from prodsupport.incident.model import Sla
from prodsupport_local.emulator.stack import LocalStack
from prodsupport_local.fakes.base import Fault
from prodsupport_local.fakes.ses_gate import SEND_EMAIL_PATH

INC = "INC-2026-0001"


@pytest.fixture
def queued_email(stack: LocalStack) -> LocalStack:
    """A critical incident whose PM has asked for the stakeholder email; the request is on the queue."""
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    assert "Declared" in answer_text(slack_command(stack, "critical Kiosks cannot check Veterans in"))
    assert answer_text(slack_command(stack, f"{INC} email", user="U0PM"))
    assert stack.queue_depth("EmailQueue") == 1
    return stack


def request_state() -> str:
    item = runtime.current().table.get(f"EMAIL#{INC}-1", "REQUEST")
    assert item is not None
    return str(item["state"])


def throttle(stack: LocalStack, times: int) -> None:
    """The next ``times`` SendEmail calls are refused as SES refuses a sender over its sending rate."""
    stack.ses_gate.add_fault(SEND_EMAIL_PATH, Fault(status=429, error="TooManyRequestsException", remaining=times))


def ses_calls(stack: LocalStack) -> int:
    return len(stack.ses_gate.calls_to(SEND_EMAIL_PATH))


def test_a_throttled_email_stays_in_the_queue_unsent_and_unclaimed(queued_email: LocalStack) -> None:
    throttle(queued_email, times=1)

    queued_email.drain()

    assert ses_calls(queued_email) == 1
    assert queued_email.queue_depth("EmailQueue") == 1
    assert queued_email.queue_depth("EmailDeadLetterQueue") == 0
    assert request_state() == "queued"
    assert queued_email.sent_emails() == []
    assert posts_of(queued_email.slack, "stakeholder_email_sent") == []


def test_a_throttled_email_is_sent_once_when_ses_recovers(queued_email: LocalStack) -> None:
    throttle(queued_email, times=2)
    queued_email.drain()
    queued_email.drain()

    queued_email.drain()
    queued_email.drain()

    assert len(queued_email.sent_emails()) == 1
    assert len(posts_of(queued_email.slack, "stakeholder_email_sent")) == 1
    incident = runtime.current().store.get_by_id(INC)
    assert incident is not None and not incident.deadlines[Sla.STAKEHOLDER_EMAIL].pending
    assert incident.emails[0].state == "sent"  # the incident's record finishes an incident email sent in full


def test_an_email_throttled_on_every_receive_ends_in_the_dead_letter_queue_unsent(queued_email: LocalStack) -> None:
    throttle(queued_email, times=6)

    for _ in range(6):  # the sixth receive finds it past maxReceiveCount (5) and moves it
        queued_email.drain()

    assert ses_calls(queued_email) == 5
    assert (queued_email.queue_depth("EmailQueue"), queued_email.queue_depth("EmailDeadLetterQueue")) == (0, 1)
    assert request_state() == "queued"
    assert queued_email.sent_emails() == []
