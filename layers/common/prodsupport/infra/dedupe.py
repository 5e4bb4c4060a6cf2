"""Exactly-once effects for at-least-once deliveries (Slack retries, PagerDuty re-sends, scheduler repeats).

A delivery claims its id with one conditional write that expires by TTL and carries a short lease
(`in_flight_until`): while the lease runs, the first delivery may still be working and may still fail. If
handling fails, the claim is released so the sender's next retry is processed rather than dropped.

Slack and PagerDuty retry only what they were told failed, and stop at the first success. A repeat that
arrives during the lease therefore must not be answered "done": if the first delivery then failed, that
answer would have lost the event. Such a repeat gets `DeliveryInFlight` (the handlers answer 503, which both
senders retry); after the lease, a repeat is a plain duplicate. The happy path stays one write: nothing marks
a delivery finished, the lease simply runs out.

A delivery handled with `fold=True` does not spend a request of its own on the claim: the claim waits on the
table (`Table.pending`) and is written with the delivery's first write, in the same transaction, or before
its first effect outside the table (a Slack post, a queued message, an email), or at the end if it has
neither. Nothing a repeat could do twice happens before the claim is made, and until then the delivery has
only read, so a repeat found at that point (`DuplicateDelivery`) is stopped with nothing to undo.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from prodsupport.infra.dynamo import ConditionFailed, Table, serialize, values

# Longer than the Slack and PagerDuty functions' Timeout (10 s in template.yaml), so a delivery that is still
# running is never taken for one that finished; short enough that Slack's one-minute retry finds it over.
DEFAULT_LEASE = timedelta(seconds=15)


class Claim(Enum):
    FIRST = "first"
    DUPLICATE = "duplicate"
    IN_FLIGHT = "in_flight"


class DeliveryInFlight(Exception):
    """An earlier delivery of this id is within its lease: the sender should retry later."""


class DuplicateDelivery(Exception):
    """This delivery was handled before: found when its folded claim was written, before any effect."""


CLAIM_CONDITION = "attribute_not_exists(pk) OR expires_at < :now"


class DeliveryClaim:
    """A claim waiting on the table to be written with the delivery's first write (`Table.pending`)."""

    def __init__(self, dedupe: Deduplicator, source: str, delivery_id: str, received_at: datetime) -> None:
        self.dedupe = dedupe
        self.source = source
        self.delivery_id = delivery_id
        self.key = f"DEDUPE#{source}#{delivery_id}"
        self.received_at = received_at
        self.now = int(received_at.timestamp())
        self.expires = int((received_at + dedupe.ttl).timestamp())
        self.lease_until = int((received_at + dedupe.lease).timestamp())
        self.made = False  # written (or maybe: its answer was lost): on a failure it is given back
        # This attempt's mark on the claim item, so a give-back never deletes a claim another delivery made.
        self.attempt = uuid.uuid4().hex

    def transact_item(self, table_name: str) -> dict[str, Any]:
        """The claim as one Put of a TransactWriteItems, with its own condition and values."""
        return {
            "Put": {
                "TableName": table_name,
                "Item": serialize(
                    {
                        "pk": self.key,
                        "sk": "DEDUPE",
                        "expires_at": self.expires,
                        "in_flight_until": self.lease_until,
                        "attempt": self.attempt,
                    }
                ),
                "ConditionExpression": CLAIM_CONDITION,
                "ExpressionAttributeValues": values({":now": self.now}),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def write(self) -> None:
        """The claim on its own, when the delivery's first write cannot carry it (or it has none)."""
        self.made = True  # until known otherwise: an answer lost after the write is given back, to be safe
        claim = self.dedupe.claim(self.source, self.delivery_id, self.received_at, attempt=self.attempt)
        self.made = claim is Claim.FIRST
        if claim is Claim.IN_FLIGHT:
            raise self.refused(None)
        if claim is Claim.DUPLICATE:
            raise self.refused({})

    def mark(self) -> dict[str, Any]:
        """The claim as an attribute of the item the delivery changes: its one write is then also the claim."""
        return {"key": self.key, "in_flight_until": self.lease_until}

    def carried(self, mark: object) -> Exception | None:
        """`DeliveryInFlight` when `mark` is this delivery's, made by a first delivery still in its lease; after
        the lease the change it made is found done, and what is left to do is the caller's to decide."""
        if isinstance(mark, dict) and mark.get("key") == self.key:
            found = self.refused(mark)
            return found if isinstance(found, DeliveryInFlight) else None
        return None

    def refused(self, found: Mapping[str, Any] | None) -> Exception:
        """What a claim found taken becomes: the first delivery still in its lease (or writing the claim right
        now: `found` None), or done."""
        until = None if found is None else found.get("in_flight_until")
        if found is None or (isinstance(until, int) and until > self.now):
            return DeliveryInFlight(f"{self.source} delivery {self.delivery_id} is still being processed; retry later")
        return DuplicateDelivery(f"{self.source} delivery {self.delivery_id} was handled already")


class Deduplicator:
    def __init__(self, table: Table, ttl: timedelta, lease: timedelta = DEFAULT_LEASE) -> None:
        self.table = table
        self.ttl = ttl
        self.lease = lease

    def claim(self, source: str, delivery_id: str, received_at: datetime, *, attempt: str = "") -> Claim:
        """`received_at` is when this delivery arrived (the runtime clock), never the event's own time: a
        retry repeats the event's time, so a lease measured from it would never run out. `attempt` marks the
        claim as this attempt's, for a give-back that must not delete another's (`give_back(attempt=...)`)."""
        now = int(received_at.timestamp())
        try:
            self.table.update(
                f"DEDUPE#{source}#{delivery_id}",
                "DEDUPE",
                "SET expires_at = :expires, in_flight_until = :lease, attempt = :attempt",
                condition=CLAIM_CONDITION,
                vals={
                    ":expires": int((received_at + self.ttl).timestamp()),
                    ":lease": int((received_at + self.lease).timestamp()),
                    ":now": now,
                    ":attempt": attempt,
                },
            )
        except ConditionFailed as lost:
            until = (lost.item or {}).get("in_flight_until")
            return Claim.IN_FLIGHT if isinstance(until, int) and until > now else Claim.DUPLICATE
        return Claim.FIRST

    def give_back(self, source: str, delivery_id: str, *, attempt: str | None = None) -> None:
        """`attempt`: only the claim that attempt made (one whose write failed without a word may not exist, and
        another delivery's must stay)."""
        if attempt is None:
            self.table.delete(f"DEDUPE#{source}#{delivery_id}", "DEDUPE")
            return
        with suppress(ConditionFailed):
            self.table.delete(
                f"DEDUPE#{source}#{delivery_id}", "DEDUPE", condition="attempt = :attempt", vals={":attempt": attempt}
            )

    @contextmanager
    def once(
        self,
        source: str,
        delivery_id: str,
        received_at: datetime,
        *,
        refuse_in_flight: bool = False,
        fold: bool = False,
    ) -> Iterator[bool]:
        """Yield whether to process; on an exception the claim is given back and the exception re-raised.

        `refuse_in_flight` is for senders that retry only failures (Slack, PagerDuty): a repeat within the
        first delivery's lease raises `DeliveryInFlight` instead of yielding False. A scheduler repeat needs
        no such care, because a failed run is retried by the scheduler itself.

        `fold` (with `refuse_in_flight`): the claim is made with the first write or before the first effect
        (see the module docstring), so this yields True at once, and a repeat raises `DuplicateDelivery` or
        `DeliveryInFlight` from whichever write or effect found it.
        """
        if fold:
            with self._folded(source, delivery_id, received_at):
                yield True
            return
        claim = self.claim(source, delivery_id, received_at)
        if claim is Claim.IN_FLIGHT and refuse_in_flight:
            raise DeliveryInFlight(f"{source} delivery {delivery_id} is still being processed; retry later")
        first = claim is Claim.FIRST
        try:
            yield first
        except BaseException:
            if first:
                self.give_back(source, delivery_id)
            raise

    @contextmanager
    def _folded(self, source: str, delivery_id: str, received_at: datetime) -> Iterator[None]:
        claim = DeliveryClaim(self, source, delivery_id, received_at)
        self.table.pending = claim
        try:
            yield
            if self.table.pending is claim:  # nothing written and no effect: the claim alone marks it handled
                self.table.pending = None
                # Refused as an eager claim would have been: a repeat made while the first may still fail is told
                # to retry (what it read may be that first delivery's partial work), a later one is a duplicate.
                claim.write()
        except BaseException:
            if self.table.pending is claim:
                self.table.pending = None
            if claim.made:  # or maybe made: a write whose answer was lost is given back, to be safe
                self.give_back(source, delivery_id, attempt=claim.attempt)
            raise
