"""Outbound email as a stored request: written to the table, queued on SQS, sent once by the email sender.

Every email the bot sends (the stakeholder email, the release-day email, a post-mortem invitation, the
monthly outlook) takes this one path, so the sender's exactly-once guarantee covers them all. The request id
is derived from what is being sent, so a retried request finds its own earlier item instead of queueing a
second email.
The request carries the finished subject and bodies: what is sent is what the person asked to send, even
if the incident changes while the message waits in the queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage, Message
from email.policy import SMTP
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from prodsupport.core.rendering import RenderedEmail, one_line
from prodsupport.core.settings import EMAIL_RE
from prodsupport.core.timefmt import parse_iso, to_iso
from prodsupport.incident.model import EmailState
from prodsupport.infra.dynamo import ConditionFailed

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

KINDS = ("incident", "release", "postmortem_invite", "outlook")
BATCH_SIZE = 50  # SES v2 refuses a message with more To+Cc+Bcc addresses than this
# A longer list is sent in batches of BATCH_SIZE within one delivery; ten batches stay well inside the
# sender's time budget even when SES is slow, and an invite list past this is a mailing list's job.
MAX_RECIPIENTS = 500
MAX_LINE = 998  # RFC 5322 section 2.1.1: no line longer than this
SORT_KEY = "REQUEST"


def _require_one_line(name: str, value: str) -> None:
    if value != one_line(value):
        raise ValueError(f"email {name} must be one line without control characters: {value!r}")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    content: str

    def __post_init__(self) -> None:
        _require_one_line("attachment filename", self.filename)
        _require_one_line("attachment content type", self.content_type)


@dataclass(frozen=True)
class EmailRequest:
    request_id: str
    kind: str
    ref: str
    channel_id: str
    thread_ts: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    requested_at: datetime
    requested_by: str
    attachments: tuple[Attachment, ...] = ()
    # An incident's email: whether the incident owed the stakeholder email when it was asked for (its clock
    # existed then), so the sender records the outcome in the one write that fits; a severity changed since
    # costs that record one more write, nothing else.
    owes_clock: bool = False

    def __post_init__(self) -> None:
        """Refuse a request that could not be sent as asked, before anything is stored or queued."""
        if self.kind not in KINDS:
            raise ValueError(f"email kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not self.request_id or self.request_id != one_line(self.request_id):
            raise ValueError(f"email request id must be a non-empty single line, got {self.request_id!r}")
        if not self.to:
            raise ValueError("an email needs at least one recipient")
        if len(self.to) > MAX_RECIPIENTS:
            raise ValueError(f"an email goes to at most {MAX_RECIPIENTS} recipients; this one has {len(self.to)}")
        bad = [address for address in self.to if not EMAIL_RE.match(address)]
        if bad:
            raise ValueError(f"not email addresses: {', '.join(repr(address) for address in bad)}")
        _require_one_line("subject", self.subject)

    @property
    def key(self) -> tuple[str, str]:
        return f"EMAIL#{self.request_id}", SORT_KEY

    @property
    def batches(self) -> tuple[tuple[str, ...], ...]:
        """The recipients as SES takes them, at most BATCH_SIZE a message, in the request's order.

        The split is a pure function of `to`, so every delivery of the request sees the same batches and
        batch N's state in the item always speaks of the same addresses.
        """
        return tuple(self.to[start : start + BATCH_SIZE] for start in range(0, len(self.to), BATCH_SIZE))

    def to_item(self) -> dict[str, Any]:
        """The item as queued: the request and each of its batches start `queued`."""
        pk, sk = self.key
        return {
            "pk": pk,
            "sk": sk,
            "request_id": self.request_id,
            "kind": self.kind,
            "ref": self.ref,
            "channel_id": self.channel_id,
            "thread_ts": self.thread_ts,
            "to": list(self.to),
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "requested_at": to_iso(self.requested_at),
            "requested_by": self.requested_by,
            "attachments": [
                {"filename": a.filename, "content_type": a.content_type, "content": a.content} for a in self.attachments
            ],
            "owes_clock": self.owes_clock,
            "state": EmailState.QUEUED.value,
            "batches": {str(number): {"state": EmailState.QUEUED.value} for number in range(1, len(self.batches) + 1)},
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> EmailRequest:
        return cls(
            request_id=item["request_id"],
            kind=item["kind"],
            ref=item["ref"],
            channel_id=item.get("channel_id", ""),
            thread_ts=item.get("thread_ts", ""),
            to=tuple(item["to"]),
            subject=item["subject"],
            text=item["text"],
            html=item["html"],
            requested_at=parse_iso(item["requested_at"]),
            requested_by=item.get("requested_by", ""),
            attachments=tuple(
                Attachment(a["filename"], a["content_type"], a["content"]) for a in item.get("attachments") or []
            ),
            owes_clock=bool(item.get("owes_clock", False)),
        )

    def to_mime(self, sender: str, to: tuple[str, ...] | None = None) -> bytes:
        """The message as SES v2 sends it raw: multipart/alternative text + HTML, attachments after.

        Bodies are 7-bit (quoted-printable where needed), as SES asks of raw messages, and lines end in
        CRLF as RFC 5322 requires. Headers fold only at RFC 5322's hard limit: the 78-character fold can
        put a whole subject on a continuation line, which readers then show with a leading space. The Date
        is the request time: when the person asked to send it. `to` is the batch this message goes to
        (default: every recipient), so nobody is shown an address list their copy was not sent to.
        """
        _require_one_line("sender", sender)
        message = EmailMessage(policy=SMTP.clone(cte_type="7bit", max_line_length=MAX_LINE))
        message["From"] = sender
        message["To"] = ", ".join(self.to if to is None else to)
        message["Subject"] = self.subject
        message["Date"] = format_datetime(self.requested_at)
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        for attachment in self.attachments:
            _attach(message, attachment)
        return message.as_bytes()


def _attach(message: Any, attachment: Attachment) -> None:
    parsed = Message()
    parsed["Content-Type"] = attachment.content_type
    maintype, subtype = parsed.get_content_maintype(), parsed.get_content_subtype()
    params = dict((parsed.get_params() or [])[1:])
    if maintype == "text":
        message.add_attachment(attachment.content, subtype=subtype, filename=attachment.filename, params=params)
    else:
        message.add_attachment(
            attachment.content.encode(), maintype=maintype, subtype=subtype, filename=attachment.filename
        )


def queue_body(request_id: str) -> str:
    return json.dumps({"request_id": request_id})


def request_id_from_body(body: str) -> str:
    """The request id a queue message names; a malformed message raises ValueError."""
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"email queue message is not JSON: {exc}") from None
    request_id = parsed.get("request_id") if isinstance(parsed, dict) else None
    if not isinstance(request_id, str) or not request_id:
        raise ValueError('email queue message must be {"request_id": "<id>"}')
    return request_id


def enqueue(rt: Runtime, request: EmailRequest) -> bool:
    """Store the request (state `queued`), then queue its id; False when the id was already requested.

    The item is written first so the sender always finds what it is asked to send. If queueing fails,
    the item is removed again, so a retry of the same request id is queued rather than refused.
    """
    try:
        rt.table.put(request.to_item(), condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return False
    queue(rt, request)
    return True


def queue(rt: Runtime, request: EmailRequest) -> None:
    """Queue the id of a request already stored (by `enqueue`, or with the incident change that made it);
    if that fails the item is removed, so a retry of the same request id is queued rather than refused."""
    try:
        rt.client("sqs").send_message(QueueUrl=rt.settings.email_queue_url, MessageBody=queue_body(request.request_id))
    except BaseException:
        rt.table.delete(*request.key)
        raise


def enqueue_channel_email(
    rt: Runtime,
    mail: RenderedEmail,
    *,
    request_id: str,
    kind: str,
    ref: str,
    to: tuple[str, ...],
    requested_at: datetime,
    requested_by: str,
) -> bool:
    """Queue an email that belongs to no incident thread (a release day, the monthly outlook): the sender then
    reports its outcome in the channel itself."""
    return enqueue(
        rt,
        EmailRequest(
            request_id=request_id,
            kind=kind,
            ref=ref,
            channel_id=rt.settings.channel_id,
            thread_ts="",
            to=to,
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            requested_at=requested_at,
            requested_by=requested_by,
        ),
    )
