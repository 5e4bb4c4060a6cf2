"""Exactly-once effects for at-least-once deliveries (Slack retries, PagerDuty re-sends).

A delivery claims its id with one conditional put that expires by TTL. If handling then fails, the claim
is released so the sender's retry is processed rather than dropped: duplicates have one effect, and a
failure loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from prodsupport.dynamo import ConditionFailed, Table


class Deduplicator:
    def __init__(self, table: Table, ttl: timedelta) -> None:
        self.table = table
        self.ttl = ttl

    def claim(self, source: str, delivery_id: str, now: datetime) -> bool:
        """True for the first delivery of this id; False for a repeat."""
        try:
            self.table.put(
                {
                    "pk": f"DEDUPE#{source}#{delivery_id}",
                    "sk": "DEDUPE",
                    "expires_at": int((now + self.ttl).timestamp()),
                },
                condition="attribute_not_exists(pk) OR expires_at < :now",
                vals={":now": int(now.timestamp())},
            )
        except ConditionFailed:
            return False
        return True

    def release(self, source: str, delivery_id: str) -> None:
        self.table.delete(f"DEDUPE#{source}#{delivery_id}", "DEDUPE")

    @contextmanager
    def once(self, source: str, delivery_id: str, now: datetime) -> Iterator[bool]:
        """Yield whether to process; on an exception the claim is released and the exception re-raised."""
        first = self.claim(source, delivery_id, now)
        try:
            yield first
        except BaseException:
            if first:
                self.release(source, delivery_id)
            raise
