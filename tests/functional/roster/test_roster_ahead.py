"""The roster read ahead (a PagerDuty trigger's owner, infra/ahead.py): the next use takes it instead of reading
again, a fresh copy starts no read, and a read that failed ahead is made again where the roster is used."""

from __future__ import annotations

from typing import Any

import pytest

from prodsupport import runtime
from prodsupport.infra.dynamo import Table
from prodsupport.roster.store import RosterStore
from prodsupport_local.emulator.stack import LocalStack


class CountingTable(Table):
    """The real table adapter, counting its reads, and failing the first `failures` of them."""

    def __init__(self, table: Table, failures: int = 0) -> None:
        super().__init__(table.client, table.name)
        self.reads = 0
        self.failures = failures

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
        self.reads += 1
        if self.reads <= self.failures:
            raise ConnectionError("the table did not answer")
        return super().get(pk, sk, consistent=consistent)


@pytest.fixture
def table(stack: LocalStack) -> Table:
    return runtime.current().table


def roster_store(table: CountingTable) -> RosterStore:
    return RosterStore(table, runtime.current().settings)


def test_a_roster_read_ahead_is_what_the_next_use_returns_without_a_second_read(table: Table) -> None:
    table.put({"pk": "CONFIG", "sk": "ROSTER", "pm_user_id": "U0PM", "version": 3})
    counting = CountingTable(table)
    store = roster_store(counting)

    store.read_ahead()
    current = store.current()

    assert (current.pm_user_id, current.version) == ("U0PM", 3)
    assert counting.reads == 1


def test_a_fresh_roster_starts_no_read_ahead(table: Table) -> None:
    counting = CountingTable(table)
    store = roster_store(counting)
    store.current()

    store.read_ahead()
    store.current()

    assert counting.reads == 1


def test_a_read_ahead_that_failed_is_made_again_where_the_roster_is_used(table: Table) -> None:
    counting = CountingTable(table, failures=1)
    store = roster_store(counting)

    store.read_ahead()
    store.current()

    assert counting.reads == 2


def test_when_the_read_where_the_roster_is_used_fails_too_its_error_is_raised(table: Table) -> None:
    store = roster_store(CountingTable(table, failures=2))

    store.read_ahead()
    with pytest.raises(ConnectionError):
        store.current()
