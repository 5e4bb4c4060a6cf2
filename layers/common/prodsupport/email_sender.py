"""Send one queued email request through SES v2, exactly once, and say so where it was asked for.

SQS delivers at least once, so the request item in the table is the single source of truth. Its state
moves `queued` → `sending` → `sent` (or `rejected`) by conditional writes: only the delivery that wins the
`queued` → `sending` claim talks to SES, and a redelivered message for a sent request sends nothing.

- Throttling and transient SES errors give the claim back (`sending` → `queued`) and fail the record,
  so the queue retries it later; after five receives it goes to the dead-letter queue and its alarm.
- A permanent rejection (MessageRejected and the like) will not improve with retries: it is recorded,
  told in the thread, and the message is consumed.
- A delivery that finds `sending` fails too: another delivery is sending it right now, or one died mid-send.
  Sending again could email everyone twice, so it is left to the retries and then the dead-letter queue.

After SES accepts, the follow-up (the kind's callback, then `stakeholder_email_sent` in Slack) runs and
is marked done on the item; if it fails, the redelivery repeats only the follow-up, never the email.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from prodsupport.dynamo import ConditionFailed
from prodsupport.email_requests import EmailRequest
from prodsupport.incident import EmailRecord, Incident, Sla
from prodsupport.slack_api import SlackMessage, post
from prodsupport.slack_requests import escape_mrkdwn as esc
from prodsupport.store import IncidentNotFound
from prodsupport.timefmt import parse_iso, to_iso

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)

QUEUED, SENDING, SENT, REJECTED = "queued", "sending", "sent", "rejected"
PERMANENT_SES_ERRORS = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "AccountSuspendedException",
        "SendingPausedException",
        "BadRequestException",
        "NotFoundException",
        "InvalidParameterValue",
    }
)
LABEL = {"incident": "Stakeholder email", "release": "Release-day email", "postmortem_invite": "Post-mortem invitation"}
# `stakeholder_email_sent` (docs/design.md) is for incident and release emails; a calendar invitation to the
# post-mortem's attendees is another thing, so workflows watching the metadata can tell them apart.
SENT_EVENT = {"postmortem_invite": "postmortem_invitation_sent"}


class RetryLater(Exception):
    """This delivery must fail so the queue redelivers it; nothing was sent by it."""


class Rejected(Exception):
    """SES refused the message for a reason a retry cannot fix; `code` is SES's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class Outcome:
    """What became of a request: sent with SES's message id, or rejected with the reason."""

    state: str
    at: datetime
    message_id: str = ""
    error: str = ""


# --- kind-specific follow-up --------------------------------------------------------------------------


def _record_on_incident(rt: Runtime, request: EmailRequest, outcome: Outcome) -> None:
    """The incident keeps every email it asked for; the first one sent meets the 24-hour clock.

    The request names the incident's thread, its key, so the change is one read and one conditional write
    with no lookup of the id first.
    """

    def change(current: Incident) -> None:
        record = next((e for e in current.emails if e.request_id == request.request_id), None)
        if record is None:
            record = EmailRecord(request.request_id, request.requested_at, request.requested_by)
            current.emails.append(record)
        if record.state == outcome.state:
            return
        record.state = outcome.state
        record.message_id = outcome.message_id
        record.error = outcome.error
        if outcome.state == SENT:
            record.sent_at = outcome.at
            current.meet(Sla.STAKEHOLDER_EMAIL, outcome.at)
            current.note(outcome.at, "email_sent", request.requested_by, f"{request.subject} ({len(request.to)})")
        else:
            current.note(outcome.at, "email_rejected", "prodsupport", outcome.error)

    try:
        rt.store.mutate(request.channel_id, request.thread_ts, change)
    except IncidentNotFound:
        logger.warning("email sent for an incident that no longer exists", incident_id=request.ref)


AFTER_SEND: dict[str, Callable[[Runtime, EmailRequest, Outcome], None]] = {
    "incident": _record_on_incident,
}
"""Per kind, what else happens once SES has answered (sent or rejected); every kind is told in Slack."""


# --- Slack --------------------------------------------------------------------------------------------


def _ref_key(request: EmailRequest) -> str:
    return "release_id" if request.kind == "release" else "incident_id"


def sent_message(request: EmailRequest, message_id: str) -> SlackMessage:
    return SlackMessage(
        channel=request.channel_id,
        thread_ts=request.thread_ts or None,
        text=(
            f":email: {LABEL[request.kind]} sent to {len(request.to)} recipient(s): *{esc(request.subject)}* "
            f"(SES message id `{esc(message_id)}`)."
        ),
        event_type=SENT_EVENT.get(request.kind, "stakeholder_email_sent"),
        payload={
            _ref_key(request): request.ref,
            "message_id": message_id,
            "recipients": len(request.to),
            "subject": request.subject,
        },
    )


def rejected_message(request: EmailRequest, error: str) -> SlackMessage:
    """`stakeholder_email_failed` extends docs/design.md#message-metadata, as a permanent failure needs a person."""
    return SlackMessage(
        channel=request.channel_id,
        thread_ts=request.thread_ts or None,
        text=(
            f":warning: {LABEL[request.kind]} *{esc(request.subject)}* was rejected by SES and was not sent: "
            f"{esc(error)}. It will not be retried; fix the cause and send it again."
        ),
        event_type="stakeholder_email_failed",
        payload={_ref_key(request): request.ref, "request_id": request.request_id, "error": error},
    )


# --- SES ----------------------------------------------------------------------------------------------


def _send_raw(rt: Runtime, request: EmailRequest) -> str:
    """SES v2 with the raw MIME message; botocore's errors become RetryLater or Rejected here."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = rt.client("sesv2").send_email(
            FromEmailAddress=rt.settings.email_sender,
            Destination={"ToAddresses": list(request.to)},
            Content={"Raw": {"Data": request.to_mime(rt.settings.email_sender)}},
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in PERMANENT_SES_ERRORS:
            raise Rejected(code, str(error.get("Message", ""))) from exc
        raise RetryLater(f"SES {code or 'error'}") from exc
    except BotoCoreError as exc:
        raise RetryLater(f"SES unreachable: {type(exc).__name__}") from exc
    return str(response["MessageId"])


# --- the use case -------------------------------------------------------------------------------------


def _key(request_id: str) -> tuple[str, str]:
    return f"EMAIL#{request_id}", "REQUEST"


def _claim(rt: Runtime, request_id: str, now: datetime) -> dict[str, Any]:
    return rt.table.update(
        *_key(request_id),
        "SET #s = :sending, claimed_at = :now",
        condition="#s = :queued",
        names={"#s": "state"},
        vals={":queued": QUEUED, ":sending": SENDING, ":now": to_iso(now)},
    )


def _release(rt: Runtime, request_id: str) -> None:
    rt.table.update(
        *_key(request_id),
        "SET #s = :queued REMOVE claimed_at",
        condition="#s = :sending",
        names={"#s": "state"},
        vals={":queued": QUEUED, ":sending": SENDING},
    )


def _finish(rt: Runtime, request_id: str, outcome: Outcome) -> None:
    rt.table.update(
        *_key(request_id),
        "SET #s = :state, message_id = :message_id, #e = :error, finished_at = :at",
        condition="#s = :sending",
        names={"#s": "state", "#e": "error"},
        vals={
            ":sending": SENDING,
            ":state": outcome.state,
            ":message_id": outcome.message_id,
            ":error": outcome.error,
            ":at": to_iso(outcome.at),
        },
    )


def _outcome(item: dict[str, Any]) -> Outcome:
    return Outcome(
        state=str(item["state"]),
        at=parse_iso(str(item["finished_at"])),
        message_id=str(item.get("message_id") or ""),
        error=str(item.get("error") or ""),
    )


def _follow_up(rt: Runtime, request: EmailRequest, outcome: Outcome) -> None:
    """The kind's callback, then the Slack post, then the mark that both are done."""
    callback = AFTER_SEND.get(request.kind)
    if callback is not None:
        callback(rt, request, outcome)
    message = (
        sent_message(request, outcome.message_id) if outcome.state == SENT else rejected_message(request, outcome.error)
    )
    post(rt.slack, message)
    try:
        rt.table.update(
            *_key(request.request_id),
            "SET followed_up_at = :at",
            condition="attribute_not_exists(followed_up_at)",
            vals={":at": to_iso(outcome.at)},
        )
    except ConditionFailed:
        logger.info("follow-up already marked by another delivery", request_id=request.request_id)


def _redelivered(rt: Runtime, request_id: str, item: dict[str, Any] | None) -> None:
    """A delivery that lost the claim: finish an interrupted follow-up, or wait, or drop an unknown id."""
    if item is None:
        logger.error("no such email request; the message is dropped", request_id=request_id)
        return
    state = item.get("state")
    if state == SENDING:
        raise RetryLater(f"email request {request_id} is being sent by another delivery")
    if item.get("followed_up_at"):
        logger.info("redelivered email request already done; nothing sent", request_id=request_id, state=state)
        return
    _follow_up(rt, EmailRequest.from_item(item), _outcome(item))


def deliver(rt: Runtime, request_id: str, now: datetime) -> None:
    """Handle one delivery of a queued request; raises RetryLater when the queue should redeliver it."""
    try:
        item = _claim(rt, request_id, now)
    except ConditionFailed as lost:
        _redelivered(rt, request_id, lost.item)
        return
    request = EmailRequest.from_item(item)
    try:
        message_id = _send_raw(rt, request)
    except RetryLater:
        _release(rt, request_id)
        raise
    except Rejected as rejected:
        logger.warning("SES rejected an email", request_id=request_id, code=rejected.code)
        outcome = Outcome(REJECTED, now, error=str(rejected))
    else:
        outcome = Outcome(SENT, now, message_id=message_id)
    _finish(rt, request_id, outcome)
    _follow_up(rt, request, outcome)
