"""The partner use cases: tag partners on an incident (and page them), and suggest them once.

State first: a tag is recorded in the incident's conditional save before anyone is pinged, and only the
save that added a partner pings it, so two people tagging the same partner at once, or a partner tagged
twice, ping once. The ping is handed to the Slack outbox when Slack cannot take it in time (it carries an
`effect_id`), so a tag once recorded is not left unannounced. A duplicate delivery of the same request is
stopped before it gets here (the Slack surface's dedupe). Paging is best effort: a failed PagerDuty call
leaves the tag standing and the thread says the page did not go out, instead of failing the request.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from prodsupport.core.errors import UserError
from prodsupport.incident.model import Incident
from prodsupport.infra.outbox import deliver
from prodsupport.partner import messages as msg
from prodsupport.partner.model import Partner, UnknownPartners
from prodsupport.partner.paging import PageFailed, request_responder

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)


def resolve(rt: Runtime, text: str) -> tuple[Partner, ...]:
    """The partners a person named, or the answer listing the directory's names."""
    if rt.partners.error:
        raise UserError(msg.invalid(rt.partners))
    if not rt.partners.partners:
        raise UserError(msg.EMPTY_DIRECTORY)
    try:
        found = rt.partners.resolve(text)
    except UnknownPartners as exc:
        raise UserError(msg.unknown(exc.words, rt.partners)) from None
    if not found:
        raise UserError(f"Which partner? The directory has: {', '.join(rt.partners.names)}.")
    return found


def tag(
    rt: Runtime, incident: Incident, partners: tuple[Partner, ...], user: str, at: datetime
) -> tuple[Incident, list[str], list[str]]:
    """Tag each partner not tagged yet: record it, page it when it can be, and ping it in the thread.

    Returns the incident as saved, the names tagged now, and those tagged before (so not pinged again).
    """

    def change(current: Incident) -> list[Partner]:
        return [partner for partner in partners if current.tag_partner(partner.name, at, user) is not None]

    saved, added = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
    for partner in added:
        saved = _announce(rt, saved, partner, user, at)
    again = [partner.name for partner in partners if partner not in added]
    return saved, [partner.name for partner in added], again


def tag_answer(rt: Runtime, incident: Incident, text: str, user: str, at: datetime) -> str:
    """`/incident <id> partner <name…>`: the ephemeral answer to the person who tagged."""
    saved, tagged, again = tag(rt, incident, resolve(rt, text), user, at)
    parts = [f"Tagged {', '.join(tagged)} on {incident.id} in its thread."] if tagged else []
    if again:
        parts.append(msg.already_tagged(saved, again, rt.zone))
    return " ".join(parts)


def _announce(rt: Runtime, incident: Incident, partner: Partner, user: str, at: datetime) -> Incident:
    paged, error = False, ""
    if partner.pageable and incident.pagerduty is not None:
        try:
            request_responder(rt, incident.pagerduty.incident_id, partner, msg.responder_message(incident, partner))
            paged = True
        except PageFailed as exc:
            error = str(exc)
            logger.warning("paging a partner failed; the tag stands", partner=partner.name, reason=error)
    if paged or error:

        def record(current: Incident) -> None:
            found = current.partner(partner.name)
            if found is not None:
                found.paged, found.page_error = paged, error
            kind = "partner_paged" if paged else "partner_page_failed"
            current.note(at, kind, user, partner.name if paged else f"{partner.name}: {error}")

        incident, _ = rt.store.mutate(incident.channel_id, incident.thread_ts, record)
    deliver(rt, msg.tagged(incident, partner, user, at, paged=paged, page_error=error, zone=rt.zone))
    return incident


def suggest(rt: Runtime, incident: Incident) -> None:
    """Once per incident: the partners supporting its applications (not tagged yet), with a tag button each."""
    candidates = tuple(
        partner for partner in rt.partners.supporting(incident.applications) if incident.partner(partner.name) is None
    )
    if not candidates:
        return

    def mark(current: Incident) -> bool:
        first = not current.partners_suggested
        current.partners_suggested = True
        return first

    saved, first = rt.store.mutate(incident.channel_id, incident.thread_ts, mark)
    if first:
        deliver(rt, msg.suggested(saved, candidates))
