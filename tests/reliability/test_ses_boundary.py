"""The SES boundary: at most once per recipient, batches of 50, permanent refusals told at once.

SES v2 is reached by the real boto3 client through the local stack's SES fault gate (the one fault mechanism
of every stand-in), in front of its moto server. Each SES call is forwarded to moto (which really records the
email) unless a queued fault says otherwise: dropped (the connection closes after SES has processed the
request and before any answer, as a network failure does), held with no answer (while the sender, a Lambda
process of its own, is killed as Lambda kills one at its timeout), throttled without forwarding, or refused as
IAM refuses a sender without permission. Nothing in boto3 is patched.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from builders import SETTINGS, WEDNESDAY_10_ET, answer_text, clock_of, posts_of, slack_command

from prodsupport import runtime
from prodsupport.core.timefmt import to_iso
from prodsupport.email.sender import CLAIM_EXPIRY
from prodsupport_local.emulator.processes import Invoke, start
from prodsupport_local.emulator.stack import LocalStack
from prodsupport_local.fakes.base import Fault
from prodsupport_local.fakes.ses_gate import SEND_EMAIL_PATH

INC = "INC-2026-0001"
REQUEST_ID = f"{INC}-1"
HOLD_SECONDS = 120.0  # longer than the sender's Timeout: the answer comes after the sender is gone


def fail_next_send(stack: LocalStack, fault: Fault) -> None:
    stack.ses_gate.add_fault(SEND_EMAIL_PATH, fault)


def ses_answers(stack: LocalStack) -> list[int]:
    """What SES did with each SendEmail call, in order (200 also for one whose answer never came back)."""
    return [call.status for call in stack.ses_gate.calls_to(SEND_EMAIL_PATH)]


def stakeholders(count: int) -> list[str]:
    return [f"sync-{n:03d}@example.gov" for n in range(count)]


def queue_email(stack: LocalStack, invite_list: list[str]) -> None:
    """A critical incident whose PM asked for the stakeholder email; the request is on the queue."""
    stack.configure({**SETTINGS, "stakeholders": invite_list})
    clock_of(stack).set(WEDNESDAY_10_ET)
    assert "Declared" in answer_text(slack_command(stack, "critical Kiosks cannot check Veterans in"))
    assert answer_text(slack_command(stack, f"{INC} email", user="U0PM"))
    assert stack.queue_depth("EmailQueue") == 1


def request_item() -> dict[str, Any]:
    item = runtime.current().table.get(f"EMAIL#{REQUEST_ID}", "REQUEST")
    assert item is not None
    return item


def received(stack: LocalStack) -> Counter[str]:
    return Counter(address for email in stack.sent_emails() for address in email.to)


def test_an_email_ses_accepted_before_the_connection_dropped_is_not_sent_again(stack: LocalStack) -> None:
    queue_email(stack, stakeholders(2))
    fail_next_send(stack, Fault(drop=True))

    stack.drain()
    stack.drain()

    assert ses_answers(stack) == [200]
    assert received(stack) == Counter(stakeholders(2))
    assert request_item()["state"] == "unknown"
    assert stack.queue_depth("EmailQueue") == 0


def test_an_email_whose_outcome_is_unknown_says_so_once_in_the_thread_with_how_to_resend(stack: LocalStack) -> None:
    queue_email(stack, stakeholders(2))
    fail_next_send(stack, Fault(drop=True))

    stack.drain()
    stack.drain()

    [notice] = posts_of(stack.slack, "stakeholder_email_unknown")
    assert "may or may not have sent it to 2 of 2" in notice.args["text"]
    assert f"/incident {INC} email" in notice.args["text"]
    assert posts_of(stack.slack, "stakeholder_email_sent") == []


def test_a_batch_a_dead_sender_left_sending_is_not_resent_and_the_rest_are_sent(stack: LocalStack) -> None:
    queue_email(stack, stakeholders(120))
    died_at = clock_of(stack).now()
    runtime.current().table.update(
        f"EMAIL#{REQUEST_ID}",
        "REQUEST",
        "SET #s = :sending, claimed_at = :at, batches.#one = :sending_batch",
        names={"#s": "state", "#one": "1"},
        vals={":sending": "sending", ":at": to_iso(died_at), ":sending_batch": {"state": "sending"}},
    )
    clock_of(stack).advance(CLAIM_EXPIRY + timedelta(seconds=1))

    stack.drain()

    assert received(stack) == Counter(stakeholders(120)[50:])
    assert [batch["state"] for _, batch in sorted(request_item()["batches"].items())] == ["unknown", "sent", "sent"]
    [notice] = posts_of(stack.slack, "stakeholder_email_unknown")
    assert "50 of 120" in notice.args["text"]


def test_a_sender_killed_after_ses_accepted_is_not_resent_and_the_thread_says_so(stack: LocalStack) -> None:
    queue_email(stack, stakeholders(2))
    fail_next_send(stack, Fault(answer_late_seconds=HOLD_SECONDS))
    delivery = Invoke("EmailSenderFunction", stack.next_batch("EmailQueue"), clock_of(stack).now())
    with start(stack, [delivery]) as sender:
        assert stack.ses_gate.wait_for_calls(1, timeout=60), "the sender never reached SES"
        sender.kill()  # as Lambda ends a function at its timeout: no cleanup runs
    [killed] = sender.outcomes()
    assert killed.killed
    clock_of(stack).advance(CLAIM_EXPIRY + timedelta(seconds=1))

    stack.drain()
    stack.drain()

    assert received(stack) == Counter(stakeholders(2))
    assert request_item()["state"] == "unknown"
    assert len(posts_of(stack.slack, "stakeholder_email_unknown")) == 1


def test_a_claim_younger_than_a_sender_timeout_is_left_to_its_sender(stack: LocalStack) -> None:
    queue_email(stack, stakeholders(2))
    runtime.current().table.update(
        f"EMAIL#{REQUEST_ID}",
        "REQUEST",
        "SET #s = :sending, claimed_at = :at",
        names={"#s": "state"},
        vals={":sending": "sending", ":at": to_iso(clock_of(stack).now())},
    )

    stack.drain()

    assert ses_answers(stack) == []
    assert stack.queue_depth("EmailQueue") == 1
    assert request_item()["state"] == "sending"


def test_120_stakeholders_each_receive_the_email_once_in_batches_of_at_most_50(stack: LocalStack) -> None:
    queue_email(stack, stakeholders(120))

    stack.drain()
    stack.drain()

    assert received(stack) == Counter(stakeholders(120))
    assert [len(email.to) for email in stack.sent_emails()] == [50, 50, 20]
    [sent] = posts_of(stack.slack, "stakeholder_email_sent")
    assert "sent to 120 recipient(s)" in sent.args["text"]
    assert sent.args["metadata"]["event_payload"]["recipients"] == 120


def test_a_throttled_batch_is_retried_on_its_own_and_no_address_gets_two(stack: LocalStack) -> None:
    queue_email(stack, stakeholders(120))
    fail_next_send(stack, Fault(status=429, error="TooManyRequestsException", after_calls=1))

    stack.drain()
    stack.drain()

    assert ses_answers(stack) == [200, 429, 200, 200]
    assert received(stack) == Counter(stakeholders(120))
    assert len(posts_of(stack.slack, "stakeholder_email_sent")) == 1


def test_a_sandbox_access_denied_is_told_in_the_thread_at_once_without_retries(stack: LocalStack) -> None:
    queue_email(stack, stakeholders(2))
    fail_next_send(stack, Fault(status=403, error="AccessDeniedException"))

    for _ in range(3):
        stack.drain()

    assert ses_answers(stack) == [403]
    assert (stack.queue_depth("EmailQueue"), stack.queue_depth("EmailDeadLetterQueue")) == (0, 0)
    [notice] = posts_of(stack.slack, "stakeholder_email_failed")
    assert "AccessDeniedException" in notice.args["text"]
    assert "sandbox" in notice.args["text"]


def forget_batches() -> None:
    """The request as the version before batches stored it: no `batches` attribute."""
    runtime.current().table.update(f"EMAIL#{REQUEST_ID}", "REQUEST", "REMOVE batches")


def test_a_request_queued_before_batches_existed_is_sent_once(stack: LocalStack) -> None:
    queue_email(stack, stakeholders(2))
    forget_batches()

    stack.drain()
    stack.drain()

    assert received(stack) == Counter(stakeholders(2))
    incident = runtime.current().store.get_by_id(INC)
    assert incident is not None and incident.emails[0].state == "sent"  # the incident's record finishes it


def test_a_request_from_before_batches_that_a_dead_sender_left_sending_is_not_resent(stack: LocalStack) -> None:
    queue_email(stack, stakeholders(2))
    forget_batches()
    runtime.current().table.update(
        f"EMAIL#{REQUEST_ID}",
        "REQUEST",
        "SET #s = :sending, claimed_at = :at",
        names={"#s": "state"},
        vals={":sending": "sending", ":at": to_iso(clock_of(stack).now())},
    )
    clock_of(stack).advance(CLAIM_EXPIRY + timedelta(seconds=1))

    stack.drain()

    assert ses_answers(stack) == []
    assert request_item()["state"] == "unknown"
    assert len(posts_of(stack.slack, "stakeholder_email_unknown")) == 1
