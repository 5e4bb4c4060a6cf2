"""The roster read ahead (a PagerDuty trigger's owner, infra/ahead.py): the next use takes it instead of reading
again, a fresh copy starts no read, its error is raised where the roster is used, a save since it started wins
over it, and one an earlier invocation never took is dropped."""

from __future__ import annotations

from typing import Any

import pytest

from prodsupport import runtime
from prodsupport.infra.dynamo import Table
from prodsupport.roster.store import Roster, RosterStore
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


def stored_pm(table: Table, user_id: str, version: int) -> None:
    """Another container's save: written straight to the table."""
    table.put({"pk": "CONFIG", "sk": "ROSTER", "pm_user_id": user_id, "version": version})


def test_a_roster_read_ahead_is_what_the_next_use_returns_without_a_second_read(table: Table) -> None:
    stored_pm(table, "U0PM", 3)
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


def test_a_read_ahead_that_failed_raises_its_error_where_the_roster_is_used_and_the_next_use_reads_again(
    table: Table,
) -> None:
    counting = CountingTable(table, failures=1)
    store = roster_store(counting)

    store.read_ahead()
    with pytest.raises(ConnectionError):
        store.current()
    store.current()

    assert counting.reads == 2


def test_a_save_made_after_a_read_ahead_started_wins_over_what_it_read(table: Table) -> None:
    stored_pm(table, "U0OLDPM", 1)
    store = roster_store(CountingTable(table))
    store.read_ahead()
    store._ahead[1].result()  # type: ignore[index]  # the read is done: what it read is the old roster

    store.save(Roster(pm_user_id="U0NEWPM", version=1))

    assert store.current().pm_user_id == "U0NEWPM"


def test_a_read_ahead_an_earlier_invocation_never_took_is_dropped_when_the_next_begins(table: Table) -> None:
    stored_pm(table, "U0OLDPM", 1)
    rt = runtime.current()
    rt.roster.read_ahead()
    rt.roster._ahead[1].result()  # type: ignore[index]  # what it read is the old roster
    stored_pm(table, "U0NEWPM", 2)  # meanwhile, while the container was frozen

    rt.begin(10_000)

    assert rt.roster.current().pm_user_id == "U0NEWPM"


def test_a_newer_copy_is_used_without_waiting_for_a_read_ahead_that_fails(table: Table) -> None:
    store = roster_store(CountingTable(table, failures=1))
    store.read_ahead()
    store._ahead[1].exception(timeout=5)  # type: ignore[index]  # the read ahead has failed

    store.save(Roster(pm_user_id="U0NEWPM"))

    assert store.current().pm_user_id == "U0NEWPM"
