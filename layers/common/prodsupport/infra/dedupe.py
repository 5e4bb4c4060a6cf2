"""Exactly-once effects for at-least-once deliveries (Slack retries, PagerDuty re-sends, scheduler repeats).

A delivery claims its id with one conditional write that expires by TTL and carries a short lease
(`in_flight_until`): while the lease runs, the first delivery may still be working and may still fail. If
handling fails, the claim is released so the sender's next retry is processed rather than dropped.

Slack and PagerDuty retry only what they were told failed, and stop at the first success. A repeat that
arrives during the lease therefore must not be answered "done": if the first delivery then failed, that
answer would have lost the event. Such a repeat gets `DeliveryInFlight` (the handlers answer 503, which both
senders retry); after the lease, a repeat is a plain duplicate. The happy path stays one write: nothing marks
a delivery finished, the lease simply runs out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import Enum

from prodsupport.infra.dynamo import ConditionFailed, Table

# Longer than the Slack and PagerDuty functions' Timeout (10 s in template.yaml), so a delivery that is still
# running is never taken for one that finished; short enough that Slack's one-minute retry finds it over.
DEFAULT_LEASE = timedelta(seconds=15)


class Claim(Enum):
    FIRST = "first"
    DUPLICATE = "duplicate"
    IN_FLIGHT = "in_flight"


class DeliveryInFlight(Exception):
    """An earlier delivery of this id is within its lease: the sender should retry later."""


class Deduplicator:
    def __init__(self, table: Table, ttl: timedelta, lease: timedelta = DEFAULT_LEASE) -> None:
        self.table = table
        self.ttl = ttl
        self.lease = lease

    def claim(self, source: str, delivery_id: str, received_at: datetime) -> Claim:
        """`received_at` is when this delivery arrived (the runtime clock), never the event's own time: a
        retry repeats the event's time, so a lease measured from it would never run out."""
        now = int(received_at.timestamp())
        try:
            self.table.update(
                f"DEDUPE#{source}#{delivery_id}",
                "DEDUPE",
                "SET expires_at = :expires, in_flight_until = :lease",
                condition="attribute_not_exists(pk) OR expires_at < :now",
                vals={
                    ":expires": int((received_at + self.ttl).timestamp()),
                    ":lease": int((received_at + self.lease).timestamp()),
                    ":now": now,
                },
            )
        except ConditionFailed as lost:
            until = (lost.item or {}).get("in_flight_until")
            return Claim.IN_FLIGHT if isinstance(until, int) and until > now else Claim.DUPLICATE
        return Claim.FIRST

    def release(self, source: str, delivery_id: str) -> None:
        self.table.delete(f"DEDUPE#{source}#{delivery_id}", "DEDUPE")

    @contextmanager
    def once(
        self, source: str, delivery_id: str, received_at: datetime, *, refuse_in_flight: bool = False
    ) -> Iterator[bool]:
        """Yield whether to process; on an exception the claim is released and the exception re-raised.

        `refuse_in_flight` is for senders that retry only failures (Slack, PagerDuty): a repeat within the
        first delivery's lease raises `DeliveryInFlight` instead of yielding False. A scheduler repeat needs
        no such care, because a failed run is retried by the scheduler itself.
        """
        claim = self.claim(source, delivery_id, received_at)
        if claim is Claim.IN_FLIGHT and refuse_in_flight:
            raise DeliveryInFlight(f"{source} delivery {delivery_id} is still being processed; retry later")
        first = claim is Claim.FIRST
        try:
            yield first
        except BaseException:
            if first:
                self.release(source, delivery_id)
            raise
