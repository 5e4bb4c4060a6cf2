"""PagerDuty webhooks V3 as pure functions: the signature, the envelope, and what a priority means here.

Nothing here talks to the network or the table, so the rules PagerDuty fixes (how a delivery is signed, what
an event looks like) and the rules this deployment fixes (which priorities are critical) are tested alone.
The shapes follow PagerDuty's developer documentation: one event per delivery, `{"event": {id, event_type,
resource_type, occurred_at, agent, client, data}}`, signed in `X-PagerDuty-Signature` as comma-separated
`v1=<hex HMAC-SHA256 of the raw body>`, one value per subscription secret while a secret is being rotated.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from copy import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from prodsupport.core import inbound_json
from prodsupport.core.mrkdwn import URL_RE
from prodsupport.core.timefmt import parse_iso

if TYPE_CHECKING:
    from prodsupport.incident.model import Severity

SIGNATURE_HEADER = "x-pagerduty-signature"
WEBHOOK_ID_HEADER = "x-webhook-id"
SIGNATURE_VERSION = "v1"
MAX_BODY_BYTES = 256 * 1024  # PagerDuty drops any webhook larger than this, so a larger body is not theirs
# An event happened now: a time outside these years is not PagerDuty's, and the deadlines computed from it
# (plus minutes, hours, a day) must stay inside what a datetime can hold.
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_EVENT = datetime(2100, 1, 1, tzinfo=UTC)

TRIGGERED = "incident.triggered"
ACKNOWLEDGED = "incident.acknowledged"
UNACKNOWLEDGED = "incident.unacknowledged"
REASSIGNED = "incident.reassigned"
ESCALATED = "incident.escalated"
PRIORITY_UPDATED = "incident.priority_updated"
RESOLVED = "incident.resolved"
REOPENED = "incident.reopened"
STATUS_UPDATE_PUBLISHED = "incident.status_update_published"
RESPONDER_ADDED = "incident.responder.added"
RESPONDER_REPLIED = "incident.responder.replied"
HANDLED_EVENT_TYPES = frozenset(
    {
        RESPONDER_ADDED,
        RESPONDER_REPLIED,
        TRIGGERED,
        ACKNOWLEDGED,
        UNACKNOWLEDGED,
        REASSIGNED,
        ESCALATED,
        PRIORITY_UPDATED,
        RESOLVED,
        REOPENED,
        STATUS_UPDATE_PUBLISHED,
    }
)


class BadWebhook(ValueError):
    """The body is not a V3 webhook this service can read; the message says what was expected."""


def sign(secret: str, body: bytes) -> str:
    """The `v1=` signature PagerDuty sends for `body` under one subscription secret."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify_signature(secrets: Iterable[str], header: str | None, body: bytes) -> bool:
    """True when any `v1=` value matches the body signed with any configured secret.

    Every pair is compared in constant time and none is skipped, so the time taken says nothing about
    which value or secret came close. Several secrets are accepted so a rotation needs no downtime.
    """
    if not header:
        return False
    offered = [part.strip() for part in header.split(",") if part.strip().startswith(f"{SIGNATURE_VERSION}=")]
    expected = [sign(secret, body) for secret in secrets if secret]
    matched = False
    for candidate in offered:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate.encode("utf-8"), wanted.encode("utf-8"))
    return matched


class Reference(NamedTuple):
    """A PagerDuty object reference (user, service, escalation policy): enough to name and link it."""

    id: str
    summary: str = ""
    html_url: str = ""
    type: str = ""


class PagerDutyIncident(NamedTuple):
    """The incident an event is about, as far as that event tells it.

    A status update carries only a reference to its incident, so its title comes from the reference's
    summary and the fields an `incident` object has stay empty.
    """

    id: str
    title: str = ""
    html_url: str = ""
    number: int | None = None
    status: str = ""
    urgency: str = ""
    priority: str = ""
    service: Reference | None = None
    assignees: tuple[Reference, ...] = ()
    escalation_policy: Reference | None = None

    @property
    def label(self) -> str:
        """How people refer to it: `#1234` when PagerDuty numbered it, else its id."""
        return f"#{self.number}" if self.number is not None else self.id


class WebhookEvent(NamedTuple):
    id: str
    event_type: str
    resource_type: str
    occurred_at: datetime
    agent: Reference | None
    client: str
    incident: PagerDutyIncident | None
    message: str = ""
    responder: Reference | None = None  # a responder event's user asked to help
    state: str = ""  # a responder event's answer: pending, joined or declined

    @property
    def handled(self) -> bool:
        return self.event_type in HANDLED_EVENT_TYPES

    @property
    def agent_name(self) -> str:
        return (self.agent.summary or self.agent.id) if self.agent else "PagerDuty"


def parse_event(body: bytes) -> WebhookEvent:
    """The V3 envelope of one delivery. An event type this service does not handle is parsed no further."""
    try:
        payload = inbound_json.loads(body)
    except inbound_json.BadJson as exc:
        raise BadWebhook(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), dict):
        raise BadWebhook('expected a PagerDuty V3 webhook: a JSON object {"event": {...}}')
    event: dict[str, Any] = payload["event"]
    event_id = _required_text(event, "id", "event")
    event_type = _required_text(event, "event_type", "event")
    occurred_at = _time(_required_text(event, "occurred_at", "event"), "event.occurred_at")
    client = event.get("client")
    parsed = WebhookEvent(
        id=event_id,
        event_type=event_type,
        resource_type=_text(event.get("resource_type")),
        occurred_at=occurred_at,
        agent=_reference(event.get("agent")),
        client=_text(client.get("name")) if isinstance(client, dict) else "",
        incident=None,
    )
    if not parsed.handled:
        return parsed
    data = event.get("data")
    if not isinstance(data, dict):
        raise BadWebhook(f"event.data must be an object for {event_type}")
    if event_type == STATUS_UPDATE_PUBLISHED:
        return _status_update(parsed, data)
    if event_type in (RESPONDER_ADDED, RESPONDER_REPLIED):
        return _responder(parsed, data)
    return replace(parsed, incident=_incident(data))


def _status_update(parsed: WebhookEvent, data: dict[str, Any]) -> WebhookEvent:
    reference = data.get("incident")
    if not isinstance(reference, dict) or not _text(reference.get("id")):
        raise BadWebhook("event.data.incident.id is required for incident.status_update_published")
    incident = PagerDutyIncident(
        id=_text(reference["id"]),
        title=_text(reference.get("summary")),
        html_url=_url(reference.get("html_url")),
    )
    return replace(parsed, incident=incident, message=_text(data.get("message")))


def _responder(parsed: WebhookEvent, data: dict[str, Any]) -> WebhookEvent:
    """`data` is an `incident_responder`: the incident's reference, the user asked (or the escalation policy
    they were asked through), the request's message and the answer's state."""
    reference = data.get("incident")
    if not isinstance(reference, dict) or not _text(reference.get("id")):
        raise BadWebhook(f"event.data.incident.id is required for {parsed.event_type}")
    incident = PagerDutyIncident(
        id=_text(reference["id"]),
        title=_text(reference.get("summary")),
        html_url=_url(reference.get("html_url")),
    )
    responder = _reference(data.get("user")) or _reference(data.get("escalation_policy"))
    return replace(
        parsed,
        incident=incident,
        message=_text(data.get("message")),
        responder=responder,
        state=_text(data.get("state")),
    )


def _incident(data: dict[str, Any]) -> PagerDutyIncident:
    incident_id = _required_text(data, "id", "event.data")
    number = data.get("number")
    priority = data.get("priority")
    assignees = data.get("assignees")
    return PagerDutyIncident(
        id=incident_id,
        title=_text(data.get("title")) or _text(data.get("summary")) or f"PagerDuty incident {incident_id}",
        html_url=_url(data.get("html_url")),
        number=number if isinstance(number, int) and not isinstance(number, bool) else None,
        status=_text(data.get("status")),
        urgency=_text(data.get("urgency")),
        priority=_text(priority.get("summary")) if isinstance(priority, dict) else "",
        service=_reference(data.get("service")),
        assignees=tuple(ref for ref in map(_reference, assignees) if ref) if isinstance(assignees, list) else (),
        escalation_policy=_reference(data.get("escalation_policy")),
    )


def severity_for(
    incident: PagerDutyIncident, *, critical_priorities: Iterable[str], critical_urgencies: Iterable[str]
) -> Severity:
    """Critical when the priority is one this deployment calls critical; the urgency decides only when the
    incident has no priority. Every service's urgency is high by default, so urgency alone made a staging
    page critical and started the 24-hour email clock; the priority is what a responder sets on purpose.

    PagerDuty spells priorities as each account named them (`P1`, `SEV-1`), so the comparison ignores case.
    """
    # Loaded by a delivery that opens an incident, not at init: an ignored, duplicate or badly signed one never
    # needs the incident model (cold start).
    from prodsupport.incident.model import Severity  # noqa: PLC0415

    if incident.priority:
        return (
            Severity.CRITICAL
            if incident.priority.casefold() in {p.casefold() for p in critical_priorities}
            else Severity.MAJOR
        )
    urgencies = {u.casefold() for u in critical_urgencies}
    return Severity.CRITICAL if incident.urgency.casefold() in urgencies and incident.urgency else Severity.MAJOR


def opens_incidents(incident: PagerDutyIncident, service_ids: Iterable[str]) -> bool:
    """Only the configured services open incidents (a staging service pages too); none configured means
    every service, so a deployment from before the setting keeps working."""
    wanted = set(service_ids)
    return not wanted or (incident.service is not None and incident.service.id in wanted)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name in any case: API Gateway lower-cases them, `sam local` and tests may not."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _url(value: Any) -> str:
    """A link PagerDuty sent, or nothing: it goes into Slack's `<url|label>`, which `|`, `<`, `>` would break."""
    url = _text(value)
    return url if URL_RE.match(url) else ""


def _required_text(obj: dict[str, Any], key: str, where: str) -> str:
    value = _text(obj.get(key))
    if not value:
        raise BadWebhook(f"{where}.{key} is required and must be a non-empty string")
    return value


def _time(value: str, where: str) -> datetime:
    try:
        at = parse_iso(value)
    except ValueError:
        raise BadWebhook(f"{where} must be an ISO 8601 time with a zone, got {value[:40]!r}") from None
    if not EARLIEST_EVENT <= at < LATEST_EVENT:
        raise BadWebhook(f"{where} must fall in the years 2000-2099, got {value[:40]!r}")
    return at


def _reference(value: Any) -> Reference | None:
    if not isinstance(value, dict) or not _text(value.get("id")):
        return None
    return Reference(
        id=_text(value["id"]),
        summary=_text(value.get("summary")),
        html_url=_url(value.get("html_url")),
        type=_text(value.get("type")),
    )
