"""Keeping the card live: once an invocation's changes are saved, each changed incident's card is painted
once, from the saved state, with `chat.update`.

The change is written before the card is touched, so a card that cannot be painted (Slack slow, throttled or
down) never loses or undoes it: the repaint goes to the Slack outbox, which renders the incident as it is
when the repaint runs, so a late retry can only paint a newer state, never an older one.

Two processes changing one incident at once may reach Slack in either order. The paint lease
(incident/painting.py) settles it without a read on the usual path: a direct paint lands within its save's
window or is handed to the outbox, and a save that replaced another invocation's running lease also queues a
repaint for when that lease is over. The outbox consumer reads the incident before it paints and again after,
painting anew while the version moves, so the last update Slack receives shows the latest state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from prodsupport.core.settings import TeamUnavailable
from prodsupport.core.timefmt import parse_iso, to_iso
from prodsupport.incident.card import live_card
from prodsupport.incident.model import Incident
from prodsupport.incident.painting import PAINT_WINDOW, SETTLE
from prodsupport.infra import metrics
from prodsupport.infra.outbox import enqueue
from prodsupport.infra.outbox import post_queued as post_queued_message
from prodsupport.infra.slack_api import CannotUpdate, Deferred, update

if TYPE_CHECKING:
    from prodsupport.runtime import ChangedCard, Runtime

logger = Logger(child=True)
# Beyond this many paints in one go the incident is changing faster than Slack can show it: the outbox
# takes the last paint, after its delay, when the burst is over.
MAX_PAINTS = 3
QUEUED_KIND = "card"


def refresh(rt: Runtime, changed: Iterable[ChangedCard]) -> None:
    """Paint the card of each incident this invocation saved (its last saved state), and queue the repaint a
    contended save owes; never raises, since the change itself is already saved and answered for."""
    for change in changed:
        incident = change.incident
        handed_over = False
        try:
            _paint_directly(rt, change)
        except CannotUpdate as refused:
            logger.warning("Slack refused the card update", incident_id=incident.id, error=str(refused))
        except Exception as failed:  # anything else may pass later: the outbox repaints from the latest state
            logger.warning("card update handed to the outbox", incident_id=incident.id, reason=str(failed))
            handed_over = _hand_over(rt, incident, change.repaint_after)
        if change.repaint_after is not None and not handed_over:
            logger.info("card update raced another change: a repaint is queued", incident_id=incident.id)
            _hand_over(rt, incident, change.repaint_after)


def _for_team(rt: Runtime, incident: Incident) -> Runtime:
    """The incident's team's view: its zone on the card, its team in the card's metadata."""
    try:
        return rt.for_team(incident.team)
    except TeamUnavailable as exc:
        raise CannotUpdate(str(exc)) from None


def _paint_directly(rt: Runtime, change: ChangedCard) -> None:
    """One update, no read: it must land within the save's paint window, or the outbox takes it."""
    incident = change.incident
    if not incident.card_ts:
        return
    rt = _for_team(rt, incident)
    with rt.budget.capped(change.saved_at + (PAINT_WINDOW - SETTLE).total_seconds()):
        update(rt.slack, incident.card_ts, live_card(incident, rt.clock(), zone=rt.zone, partners=rt.partners.names))


def _paint_and_check(rt: Runtime, incident: Incident) -> None:
    """The outbox's paint, which holds no lease: paint, read again, and paint anew while the version moved."""
    rt = _for_team(rt, incident)
    for _ in range(MAX_PAINTS):
        if not incident.card_ts:
            return
        update(rt.slack, incident.card_ts, live_card(incident, rt.clock(), zone=rt.zone, partners=rt.partners.names))
        latest = rt.store.get(incident.channel_id, incident.thread_ts)
        if latest is None or latest.version <= incident.version:
            return
        incident = latest
    raise Deferred(f"{incident.id} changed {MAX_PAINTS} times while its card was painted")


def _hand_over(rt: Runtime, incident: Incident, not_before: datetime | None = None) -> bool:
    """The change is saved and answered for: a queue that cannot take the repaint either leaves the card one
    change behind (the next change repaints it), which is counted and logged, never a failed request.
    `not_before`: the end of a lease whose older update may still land; the repaint waits for it."""
    target: dict[str, Any] = {"channel_id": incident.channel_id, "thread_ts": incident.thread_ts}
    if not_before is not None:
        target["not_before"] = to_iso(not_before)
    try:
        enqueue(rt, {QUEUED_KIND: target})
    except Exception:
        logger.exception("card update lost: the outbox refused it", incident_id=incident.id)
        metrics.count("CardUpdatesLost")
        return False
    return True


def post_queued(rt: Runtime, body: str) -> None:
    """The outbox consumer's side: a repaint reads the incident as it is now; anything else is a queued post.
    Raises while Slack still cannot be reached, or while the lease it waits for runs, so the queue delivers the
    record again."""
    record: Mapping[str, Any] = json.loads(body)
    target = record.get(QUEUED_KIND)
    if not isinstance(target, Mapping):
        post_queued_message(rt, body)
        return
    not_before = target.get("not_before")
    if isinstance(not_before, str) and rt.clock() < parse_iso(not_before):
        raise Deferred(f"another change's card update may land until {not_before}")
    incident = rt.store.get(str(target["channel_id"]), str(target["thread_ts"]))
    if incident is None:
        logger.warning("a queued card update names no incident", thread_ts=target["thread_ts"])
        return
    try:
        _paint_and_check(rt, incident)
    except CannotUpdate as refused:
        logger.warning("Slack refused the card update", incident_id=incident.id, error=str(refused))
