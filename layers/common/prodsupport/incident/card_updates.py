"""Keeping the card live: once an invocation's changes are saved, each changed incident's card is painted
once, from the saved state, with `chat.update`.

The change is written before the card is touched, so a card that cannot be painted (Slack slow, throttled or
down) never loses or undoes it: the repaint goes to the Slack outbox, which renders the incident as it is
when the repaint runs, so a late retry can only paint a newer state, never an older one.

Two processes changing one incident at once may reach Slack in either order. Each reads the incident again
after its update has been answered and paints again if the version moved; so the last update Slack receives
was sent by a process whose later read saw no newer version, and shows the latest state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from prodsupport.core.settings import TeamUnavailable
from prodsupport.incident.card import live_card
from prodsupport.incident.model import Incident
from prodsupport.infra import metrics
from prodsupport.infra.outbox import enqueue
from prodsupport.infra.outbox import post_queued as post_queued_message
from prodsupport.infra.slack_api import CannotUpdate, Deferred, update

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
# Beyond this many paints in one go the incident is changing faster than Slack can show it: the outbox
# takes the last paint, after its delay, when the burst is over.
MAX_PAINTS = 3
QUEUED_KIND = "card"


def refresh(rt: Runtime, changed: Iterable[Incident]) -> None:
    """Paint the card of each incident this invocation saved (its last saved state); never raises, since the
    change itself is already saved and answered for."""
    for incident in changed:
        try:
            _paint(rt, incident)
        except CannotUpdate as refused:
            logger.warning("Slack refused the card update", incident_id=incident.id, error=str(refused))
        except Exception as failed:  # anything else may pass later: the outbox repaints from the latest state
            logger.warning("card update handed to the outbox", incident_id=incident.id, reason=str(failed))
            _hand_over(rt, incident)


def _paint(rt: Runtime, incident: Incident) -> None:
    """With the incident's team's view: its zone on the card, its team in the card's metadata."""
    try:
        rt = rt.for_team(incident.team)
    except TeamUnavailable as exc:
        raise CannotUpdate(str(exc)) from None
    for _ in range(MAX_PAINTS):
        if not incident.card_ts:
            return
        update(rt.slack, incident.card_ts, live_card(incident, rt.clock(), zone=rt.zone, partners=rt.partners.names))
        latest = rt.store.get(incident.channel_id, incident.thread_ts)
        if latest is None or latest.version <= incident.version:
            return
        incident = latest
    raise Deferred(f"{incident.id} changed {MAX_PAINTS} times while its card was painted")


def _hand_over(rt: Runtime, incident: Incident) -> None:
    """The change is saved and answered for: a queue that cannot take the repaint either leaves the card one
    change behind (the next change repaints it), which is counted and logged, never a failed request."""
    try:
        enqueue(rt, {QUEUED_KIND: {"channel_id": incident.channel_id, "thread_ts": incident.thread_ts}})
    except Exception:
        logger.exception("card update lost: the outbox refused it", incident_id=incident.id)
        metrics.count("CardUpdatesLost")


def post_queued(rt: Runtime, body: str) -> None:
    """The outbox consumer's side: a repaint reads the incident as it is now; anything else is a queued post.
    Raises while Slack still cannot be reached, so the queue delivers the record again."""
    record: Mapping[str, Any] = json.loads(body)
    target = record.get(QUEUED_KIND)
    if not isinstance(target, Mapping):
        post_queued_message(rt, body)
        return
    incident = rt.store.get(str(target["channel_id"]), str(target["thread_ts"]))
    if incident is None:
        logger.warning("a queued card update names no incident", thread_ts=target["thread_ts"])
        return
    try:
        _paint(rt, incident)
    except CannotUpdate as refused:
        logger.warning("Slack refused the card update", incident_id=incident.id, error=str(refused))
