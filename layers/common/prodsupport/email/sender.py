"""Send one queued email request through SES v2, at most once per recipient, and say so where it was asked for.

SQS delivers at least once, so the request item in the table is the single source of truth. Its state
moves `queued` → `sending` → `sent` (or `rejected`, or `unknown`) by conditional writes: only the delivery
that holds the `sending` claim talks to SES, and a redelivered message for a finished request sends nothing.

At the SES boundary the choice is at-most-once. SES has no idempotency key, so once a send's outcome is
unknown (SES may have accepted it, then the connection dropped or timed out) sending again can mail the whole
invite list twice in the middle of an incident; a missing email is noticed and fixed by one person, a
duplicate cannot be taken back. So:

- A list longer than SES's 50 recipients a message goes out in batches (`EmailRequest.batches`), each with its
  own state in the item (`batches.N.state`): a batch is marked `sending` before its SES call and `sent` after,
  so a redelivery sends only the batches still `queued`, and each batch is sent at most once.
- SES answering "not accepted" (throttling, a 5xx, no connection made at all) gives the batch and the claim
  back, and the queue retries them later; after five receives the request goes to the dead-letter queue.
- A permanent refusal (the sandbox's unverified recipient, AccessDenied, a rejected message) will not improve
  with retries: the batch is `rejected` and the thread says why, at once, instead of five retries.
- A send whose outcome is unknown (the connection dropped or timed out after the request went out) leaves
  its batch `unknown` and is never resent: the thread says so and how to send the email again.
- A claim older than CLAIM_EXPIRY belongs to a sender that died (Lambda ended it at its timeout): the next
  delivery takes it over, marks the batch that sender left `sending` as `unknown`, and sends only the rest.
  A younger claim is another delivery at work right now: this one fails, and the queue retries it.

After the last batch, the follow-up (the kind's callback, then one line in Slack for the whole request) runs;
if it fails, the redelivery repeats only the follow-up, never the email. Each part of it can tell that it was
done without a mark of its own: the incident's record holds the outcome once (a repeat changes nothing), and
the thread line carries an effect id that a repeat looks for before posting. Only a line posted in the
channel, which has no thread to look in, is marked done on the item after it.

An incident email sent in full is finished by one write, the incident's record of it (which returns the
incident its card is painted from), instead of a second write to the request item: its request keeps the last
batch `sending`. A delivery that would take such a batch for a dead sender's asks the incident first
(`_sent_per_incident`, a read on that rare path only) and, finding the email recorded `sent`, finishes the
request from that record and repeats the follow-up, sending nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from copy import replace
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError

from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.settings import TeamUnavailable
from prodsupport.core.timefmt import parse_iso, to_iso
from prodsupport.email.requests import BATCH_SIZE, EmailRequest
from prodsupport.incident.model import EmailRecord, EmailState
from prodsupport.incident.store import IncidentNotFound
from prodsupport.infra import metrics, outbox
from prodsupport.infra.dynamo import ConditionFailed
from prodsupport.infra.slack_api import post
from prodsupport.infra.slack_message import SlackMessage

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)

# The email sender's Timeout is 30 s (template.yaml; a test holds the two together): a claim twice as old
# belongs to a delivery that Lambda has already ended.
CLAIM_EXPIRY = timedelta(seconds=60)
PERMANENT_SES_ERRORS = frozenset(
    {
        "MessageRejected",
        "AccessDenied",
        "AccessDeniedException",
        "MailFromDomainNotVerifiedException",
        "AccountSuspendedException",
        "SendingPausedException",
        "BadRequestException",
        "NotFoundException",
        "InvalidParameterValue",
    }
)
SANDBOX_ERRORS = ("MessageRejected", "AccessDenied")
LABEL = {
    "incident": "Stakeholder email",
    "release": "Release-day email",
    "postmortem_invite": "Post-mortem invitation",
    "outlook": "Monthly outlook email",
}
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


class OutcomeUnknown(Exception):
    """The request reached (or may have reached) SES and its answer was lost: it may have been sent."""


@dataclass(frozen=True)
class Outcome:
    """What became of a whole request, summed over its batches."""

    state: EmailState
    at: datetime
    message_ids: tuple[str, ...] = ()
    error: str = ""
    sent: int = 0
    unknown: int = 0

    @property
    def message_id(self) -> str:
        return ", ".join(self.message_ids)


# --- kind-specific follow-up --------------------------------------------------------------------------


def _record_on_incident(rt: Runtime, request: EmailRequest, outcome: Outcome) -> None:
    """The incident keeps every email it asked for; the first one sent meets the 24-hour clock.

    The request names the incident's thread, its key, so the record is one conditional write that returns the
    incident (`IncidentStore.record_email_outcome`): no read, and the card is painted from what was written.
    A redelivery repeating the follow-up finds the outcome recorded and changes nothing.
    """
    try:
        rt.store.record_email_outcome(
            request.channel_id,
            request.thread_ts,
            EmailRecord(request.request_id, request.requested_at, request.requested_by),
            outcome.state,
            outcome.at,
            message_id=outcome.message_id,
            error=outcome.error,
            sent_note=f"{request.subject} ({len(request.to)})",
            clock=request.owes_clock,
        )
    except IncidentNotFound:
        logger.warning("email sent for an incident that no longer exists", incident_id=request.ref)


AFTER_SEND: dict[str, Callable[[Runtime, EmailRequest, Outcome], None]] = {
    "incident": _record_on_incident,
}
"""Per kind, what else happens once every batch has an outcome; every kind is told in Slack."""


# --- Slack --------------------------------------------------------------------------------------------


REF_KEY = {"release": "release_id", "outlook": "month"}
"""What a request's `ref` names in the sent/failed metadata; an incident's id unless the kind says otherwise."""


def _ref_key(request: EmailRequest) -> str:
    return REF_KEY.get(request.kind, "incident_id")


def _how_to_resend(request: EmailRequest) -> str:
    if request.kind == "incident":
        return f"with `/incident {request.ref} email`"
    return "the way it was asked for"


def sent_message(request: EmailRequest, outcome: Outcome) -> SlackMessage:
    """One line for the whole request, however many batches it took: the thread counts people, not messages."""
    payload: dict[str, Any] = {
        _ref_key(request): request.ref,
        "message_id": outcome.message_ids[0],
        "recipients": len(request.to),
        "subject": request.subject,
    }
    ids = ", ".join(f"`{esc(message_id)}`" for message_id in outcome.message_ids)
    if len(outcome.message_ids) == 1:
        how = f"(SES message id {ids})"
    else:
        how = f"in {len(outcome.message_ids)} messages of at most {BATCH_SIZE} (SES message ids {ids})"
        payload["message_ids"] = list(outcome.message_ids)
    return SlackMessage(
        channel=request.channel_id,
        thread_ts=request.thread_ts or None,
        text=f":email: {LABEL[request.kind]} sent to {len(request.to)} recipient(s): *{esc(request.subject)}* {how}.",
        event_type=SENT_EVENT.get(request.kind, "stakeholder_email_sent"),
        payload=payload,
    )


def rejected_message(request: EmailRequest, outcome: Outcome) -> SlackMessage:
    """`stakeholder_email_failed` extends docs/design.md#message-metadata, as a permanent failure needs a person."""
    total = len(request.to)
    refused = total - outcome.sent
    whom = (
        f"{refused} recipient(s)" if outcome.sent == 0 else f"{refused} of {total} recipient(s) ({outcome.sent} got it)"
    )
    sandbox = (
        " While SES is in the sandbox it sends only to verified addresses: see docs/deploy.md, “SES sandbox”."
        if any(code in outcome.error for code in SANDBOX_ERRORS)
        else ""
    )
    return SlackMessage(
        channel=request.channel_id,
        thread_ts=request.thread_ts or None,
        text=(
            f":warning: {LABEL[request.kind]} *{esc(request.subject)}* was rejected by SES and was not sent to "
            f"{whom}: {esc(outcome.error)}. It will not be retried; fix the cause and send it again "
            f"{_how_to_resend(request)}.{sandbox}"
        ),
        event_type="stakeholder_email_failed",
        payload={
            _ref_key(request): request.ref,
            "request_id": request.request_id,
            "error": outcome.error,
            "recipients_sent": outcome.sent,
        },
    )


def unknown_message(request: EmailRequest, outcome: Outcome) -> SlackMessage:
    """The at-most-once choice made visible: nobody is emailed twice, and a person decides about a resend."""
    return SlackMessage(
        channel=request.channel_id,
        thread_ts=request.thread_ts or None,
        text=(
            f":question: {LABEL[request.kind]} *{esc(request.subject)}*: SES may or may not have sent it to "
            f"{outcome.unknown} of {len(request.to)} recipient(s) ({esc(outcome.error)}). It was not sent again, "
            f"so nobody gets it twice. Ask one of them whether it arrived; if it did not, send it again "
            f"{_how_to_resend(request)}."
        ),
        event_type="stakeholder_email_unknown",
        payload={
            _ref_key(request): request.ref,
            "request_id": request.request_id,
            "error": outcome.error,
            "recipients_sent": outcome.sent,
            "recipients_unknown": outcome.unknown,
        },
    )


MESSAGES: dict[EmailState, Callable[[EmailRequest, Outcome], SlackMessage]] = {
    EmailState.SENT: sent_message,
    EmailState.REJECTED: rejected_message,
    EmailState.UNKNOWN: unknown_message,
}


# --- SES ----------------------------------------------------------------------------------------------


def _send_raw(rt: Runtime, request: EmailRequest, number: int, to: tuple[str, ...]) -> str:
    """One batch through SES v2 as a raw MIME message; botocore's errors are sorted by what SES knows.

    No connection made (or refused, or an answer of "not now") means nothing was sent: RetryLater. A
    connection that broke or timed out once the request was on the wire may hide an accepted message:
    OutcomeUnknown. The client makes exactly one attempt (runtime.CLIENT_CONFIG), so botocore never
    resends behind this decision.
    """
    # No Destination: SES takes a raw message's recipients from its To header, which is the batch, so the
    # two can never disagree (and SES counts each address once against its 50).
    params: dict[str, Any] = {
        "FromEmailAddress": rt.settings.email_sender,
        "Content": {"Raw": {"Data": request.to_mime(rt.settings.email_sender, to)}},
        "EmailTags": [{"Name": "request_id", "Value": _tag(f"{request.request_id}.{number}")}],
    }
    if rt.settings.ses_configuration_set:
        params["ConfigurationSetName"] = rt.settings.ses_configuration_set
    try:
        response = rt.client("sesv2").send_email(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in PERMANENT_SES_ERRORS:
            raise Rejected(code, str(error.get("Message", ""))) from exc
        raise RetryLater(f"SES {code or 'error'}") from exc
    except HTTPClientError as exc:
        raise OutcomeUnknown(f"the connection to SES broke after the request was sent: {type(exc).__name__}") from exc
    except BotoCoreError as exc:
        raise RetryLater(f"SES unreachable: {type(exc).__name__}") from exc
    return str(response["MessageId"])


def _tag(value: str) -> str:
    """SES message tag values allow only ASCII letters, digits, `_`, `-`, `.` and `@`."""
    return re.sub(r"[^A-Za-z0-9_.@-]", "_", value)[:256]


# --- the request item ---------------------------------------------------------------------------------


def _key(request_id: str) -> tuple[str, str]:
    return f"EMAIL#{request_id}", "REQUEST"


def _claim(rt: Runtime, request_id: str, now: datetime) -> tuple[dict[str, Any], bool]:
    """Take the request, and True when the same write marked its first batch `sending` (the usual case: a
    request never sent from), so that batch goes to SES without a mark of its own. Anything else, a request
    partly sent before, a legacy one or a dead sender's, is taken without the mark (`_take`)."""
    try:
        item = rt.table.update(
            *_key(request_id),
            "SET #s = :sending, claimed_at = :now, batches.#one = :batch",
            condition="#s = :queued AND batches.#one.#s = :queued",
            names={"#s": "state", "#one": "1"},
            vals={
                ":queued": EmailState.QUEUED,
                ":sending": EmailState.SENDING,
                ":now": to_iso(now),
                ":batch": {"state": EmailState.SENDING},
            },
        )
    except ConditionFailed as lost:
        if not lost.item or lost.item.get("state") not in (EmailState.QUEUED, EmailState.SENDING):
            raise
        return _take(rt, request_id, now), False
    return item, True


def _take(rt: Runtime, request_id: str, now: datetime) -> dict[str, Any]:
    """Take the request: a queued one, else one whose claim a dead sender left behind.

    A request queued by the version before batches had at most 50 recipients and no `batches`: it is one
    batch, in the state the request itself was in, so a legacy request a sender died on is not resent either.
    """
    claim = "SET #s = :sending, claimed_at = :now, batches = if_not_exists(batches, :legacy)"
    names = {"#s": "state"}
    try:
        return rt.table.update(
            *_key(request_id),
            claim,
            condition="#s = :queued",
            names=names,
            vals={
                ":queued": EmailState.QUEUED,
                ":sending": EmailState.SENDING,
                ":now": to_iso(now),
                ":legacy": {"1": {"state": EmailState.QUEUED}},
            },
        )
    except ConditionFailed as lost:
        if not lost.item or lost.item.get("state") != EmailState.SENDING:
            raise
    return rt.table.update(
        *_key(request_id),
        claim,
        condition="#s = :sending AND claimed_at < :expired",
        names=names,
        vals={
            ":sending": EmailState.SENDING,
            ":now": to_iso(now),
            ":expired": to_iso(now - CLAIM_EXPIRY),
            ":legacy": {"1": {"state": EmailState.SENDING}},
        },
    )


def _give_back(rt: Runtime, request_id: str, mine: str) -> None:
    rt.table.update(
        *_key(request_id),
        "SET #s = :queued REMOVE claimed_at",
        condition="#s = :sending AND claimed_at = :mine",
        names={"#s": "state"},
        vals={":queued": EmailState.QUEUED, ":sending": EmailState.SENDING, ":mine": mine},
    )


def _mark_batch(
    rt: Runtime, request_id: str, number: int, record: dict[str, str], expect: EmailState, mine: str
) -> None:
    """Move one batch on, only while this delivery still holds the claim."""
    rt.table.update(
        *_key(request_id),
        "SET batches.#n = :record",
        condition="batches.#n.#s = :expect AND #state = :sending AND claimed_at = :mine",
        names={"#n": str(number), "#s": "state", "#state": "state"},
        vals={":record": record, ":expect": expect, ":sending": EmailState.SENDING, ":mine": mine},
    )


def _finish(rt: Runtime, request_id: str, outcome: Outcome, mine: str, last: tuple[int, dict[str, str]] | None) -> None:
    """`last` is the batch just sent and its record, when this delivery sent the last batch: recorded in the
    same write, which stands for its own mark, so a sender that dies before it leaves the batch `sending`
    (never resent) exactly as one dying right after SES answered would."""
    update = (
        "SET #s = :state, message_ids = :message_ids, #e = :error, finished_at = :at, "
        "recipients_sent = :sent, recipients_unknown = :unknown"
    )
    condition = "#s = :sending AND claimed_at = :mine"
    names = {"#s": "state", "#e": "error"}
    batch: dict[str, Any] = {}
    if last is not None:
        update += ", batches.#n = :record"
        condition += " AND batches.#n.#s = :sending"
        names["#n"] = str(last[0])
        batch[":record"] = last[1]
    rt.table.update(
        *_key(request_id),
        update,
        condition=condition,
        names=names,
        vals={
            **batch,
            ":sending": EmailState.SENDING,
            ":mine": mine,
            ":state": outcome.state,
            ":message_ids": list(outcome.message_ids),
            ":error": outcome.error,
            ":at": to_iso(outcome.at),
            ":sent": outcome.sent,
            ":unknown": outcome.unknown,
        },
    )


def _finish_after_failed_follow_up(
    rt: Runtime, request_id: str, outcome: Outcome, mine: str, last: tuple[int, dict[str, str]] | None
) -> None:
    """Best effort, on the failure path only: the follow-up's own error is the one the queue must see."""
    try:
        _finish(rt, request_id, outcome, mine, last)
    except Exception:
        logger.exception("could not finish the request after its follow-up failed", request_id=request_id)


def _outcome(item: dict[str, Any]) -> Outcome:
    return Outcome(
        state=EmailState(item["state"]),
        at=parse_iso(str(item["finished_at"])),
        message_ids=tuple(str(m) for m in item.get("message_ids") or ()),
        error=str(item.get("error") or ""),
        sent=int(item.get("recipients_sent") or 0),
        unknown=int(item.get("recipients_unknown") or 0),
    )


def _summary(request: EmailRequest, records: list[dict[str, str]], at: datetime) -> Outcome:
    """Every batch sent is `sent`; any batch unknown makes the whole `unknown`; else some were rejected."""
    sizes = [len(batch) for batch in request.batches]
    states = [record["state"] for record in records]
    errors = sorted({record["error"] for record in records if record.get("error")})
    if all(state == EmailState.SENT for state in states):
        state = EmailState.SENT
    elif EmailState.UNKNOWN in states:
        state = EmailState.UNKNOWN
    else:
        state = EmailState.REJECTED
    return Outcome(
        state=state,
        at=at,
        message_ids=tuple(record["message_id"] for record in records if record["state"] == EmailState.SENT),
        error="; ".join(errors),
        sent=sum(size for size, s in zip(sizes, states, strict=True) if s == EmailState.SENT),
        unknown=sum(size for size, s in zip(sizes, states, strict=True) if s == EmailState.UNKNOWN),
    )


# --- the use case -------------------------------------------------------------------------------------


def _team_of(rt: Runtime, request: EmailRequest) -> Runtime:
    """The team whose channel the request came from (the email sender runs as the default team). A team that
    cannot be served raises, never falls back to another team's view: the queue retries the record, then
    dead-letters it, and a fixed configuration sends it as its own team."""
    try:
        return rt.for_channel(request.channel_id) or rt
    except TeamUnavailable as exc:
        logger.error("an email request of a team that cannot be served", request_id=request.request_id, error=str(exc))
        metrics.count("TeamConfigErrors")
        raise


def _follow_up(rt: Runtime, request: EmailRequest, outcome: Outcome, *, again: bool = False) -> None:
    """The kind's callback, then one line in Slack for the whole request, by the request's team.

    A line in a thread carries an effect id, and a follow-up repeated by a redelivery (`again`) looks for it
    in the thread before posting: the thread itself records that the line was posted, so the usual delivery
    writes no mark after it, and a crash before the line posts it on redelivery, once. Slack unable to take
    it now hands it to the Slack outbox, which looks for it the same way, so a slow Slack never makes the
    queue deliver a sent request again. A line in the channel (a release day, the outlook) has no thread to
    look in: it is marked on the item once posted, and a redelivery repeats it only while that mark is missing.
    """
    callback = AFTER_SEND.get(request.kind)
    if callback is not None:
        callback(rt, request, outcome)
    message = MESSAGES[outcome.state](request, outcome)
    if request.thread_ts:
        effect = replace(message, effect_id=f"{request.request_id}/email_{outcome.state}")
        outbox.deliver(rt, effect, look_first=again)
        return
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


def _sent_per_incident(rt: Runtime, request: EmailRequest, batches: dict[str, Any]) -> tuple[int, Outcome] | None:
    """An incident email whose every batch was sent is finished by one write, the incident's record of it,
    which also returns the incident the card is painted from; its request item keeps its last batch `sending`.
    So a delivery that takes over a request with a batch left `sending` asks the incident first (one read, on
    this rare path only): a record saying `sent` means that batch went out and the request is done, and the
    request is finished from it (the last batch's number, and the whole outcome); anything else is a sender
    that died at SES, whose batch is not resent."""
    left = [int(number) for number, batch in batches.items() if (batch or {}).get("state") == EmailState.SENDING]
    if request.kind != "incident" or left != [len(request.batches)]:
        return None
    incident = rt.store.get(request.channel_id, request.thread_ts)
    record = next((e for e in incident.emails if e.request_id == request.request_id), None) if incident else None
    if record is None or record.state is not EmailState.SENT or record.sent_at is None:
        return None
    outcome = Outcome(
        state=EmailState.SENT,
        at=record.sent_at,
        message_ids=tuple(record.message_id.split(", ")),
        sent=len(request.to),
    )
    return left[0], outcome


def _redelivered(rt: Runtime, request_id: str, item: dict[str, Any] | None) -> None:
    """A delivery that lost the claim: finish an interrupted follow-up, or wait, or drop an unknown id."""
    if item is None:
        logger.error("no such email request; the message is dropped", request_id=request_id)
        return
    state = item.get("state")
    if state == EmailState.SENDING:
        raise RetryLater(f"email request {request_id} is being sent by another delivery")
    if item.get("followed_up_at"):
        logger.info("redelivered email request already done; nothing sent", request_id=request_id, state=state)
        return
    request = EmailRequest.from_item(item)
    _follow_up(_team_of(rt, request), request, _outcome(item), again=True)


def _send_batch(
    rt: Runtime,
    request: EmailRequest,
    number: int,
    to: tuple[str, ...],
    mine: str,
    *,
    mark_before: bool,
    mark_after: bool,
) -> dict[str, str]:
    """Mark the batch `sending`, send it, record what SES said; give it back only when SES surely has not.
    `mark_before=False`: the claim marked it already; `mark_after=False` leaves the record of what SES said
    to the caller's next write (`_finish`)."""
    request_id = request.request_id
    if mark_before:
        _mark_batch(rt, request_id, number, {"state": EmailState.SENDING}, EmailState.QUEUED, mine)
    try:
        message_id = _send_raw(rt, request, number, to)
    except RetryLater:
        _mark_batch(rt, request_id, number, {"state": EmailState.QUEUED}, EmailState.SENDING, mine)
        _give_back(rt, request_id, mine)
        raise
    except Rejected as rejected:
        logger.warning("SES rejected an email", request_id=request_id, batch=number, code=rejected.code)
        record = {"state": EmailState.REJECTED, "error": str(rejected)}
    except OutcomeUnknown as unknown:
        logger.error("SES outcome unknown; not resent", request_id=request_id, batch=number, error=str(unknown))
        record = {"state": EmailState.UNKNOWN, "error": str(unknown)}
    else:
        record = {"state": EmailState.SENT, "message_id": message_id}
    if mark_after:
        _mark_batch(rt, request_id, number, record, EmailState.SENDING, mine)
    return record


def deliver(rt: Runtime, request_id: str, now: datetime) -> None:
    """Handle one delivery of a queued request; raises RetryLater when the queue should redeliver it, and
    TeamUnavailable (nothing sent) when its team cannot be served."""
    try:
        item, first_marked = _claim(rt, request_id, now)
    except ConditionFailed as lost:
        _redelivered(rt, request_id, lost.item)
        return
    mine = to_iso(now)
    request = EmailRequest.from_item(item)
    try:
        team = _team_of(rt, request)
    except TeamUnavailable:
        if first_marked:
            _mark_batch(rt, request_id, 1, {"state": EmailState.QUEUED}, EmailState.SENDING, mine)
        _give_back(rt, request_id, mine)  # nothing sent: queued again for the record's retry
        raise
    stored: dict[str, Any] = item.get("batches") or {}
    if not first_marked and (done := _sent_per_incident(team, request, stored)) is not None:
        number, outcome = done
        _finish(
            rt, request_id, outcome, mine, (number, {"state": EmailState.SENT, "message_id": outcome.message_ids[-1]})
        )
        _follow_up(team, request, outcome, again=True)
        return
    records: list[dict[str, str]] = []
    last: tuple[int, dict[str, str]] | None = None
    for number, to in enumerate(request.batches, start=1):
        record = {str(k): str(v) for k, v in (stored.get(str(number)) or {"state": EmailState.QUEUED}).items()}
        marked = first_marked and number == 1
        if record["state"] == EmailState.SENDING and not marked:
            logger.error("a sender died mid-send; that batch is not resent", request_id=request_id, batch=number)
            record = {"state": EmailState.UNKNOWN, "error": "the sender stopped while SES was being asked to send it"}
            _mark_batch(rt, request_id, number, record, EmailState.SENDING, mine)
        elif record["state"] == EmailState.QUEUED or marked:
            is_last = number == len(request.batches)
            record = _send_batch(rt, request, number, to, mine, mark_before=not marked, mark_after=not is_last)
            if is_last:
                last = (number, record)
        records.append(record)
    outcome = _summary(request, records, now)
    # An incident email sent in full is finished by the incident's record of it (the follow-up's first write):
    # see `_sent_per_incident`, which a redelivery consults before taking a batch left `sending` for a dead
    # sender's. Should the follow-up fail, the request is finished after all, so what SES said is never lost.
    finished_by_record = request.kind == "incident" and outcome.state is EmailState.SENT and last is not None
    if not finished_by_record:
        _finish(rt, request_id, outcome, mine, last)
    try:
        _follow_up(team, request, outcome)
    except BaseException:
        if finished_by_record:
            _finish_after_failed_follow_up(rt, request_id, outcome, mine, last)
        raise
