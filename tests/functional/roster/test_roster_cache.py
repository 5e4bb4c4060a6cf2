"""The roster a container caches: owners and stakeholders are read at most once a minute on the hot paths, while
an edit always starts from the table and what this container saves is seen at once."""

from __future__ import annotations

from copy import replace

from prodsupport import runtime
from prodsupport_local.emulator.stack import LocalStack


def _stored_pm(stack: LocalStack, user_id: str) -> None:
    """Another container's save: written straight to the table, behind this container's back."""
    rt = runtime.current()
    rt.table.put({"pk": "CONFIG", "sk": "ROSTER", "pm_user_id": user_id, "version": 7})


def test_given_a_roster_read_a_moment_ago_when_needed_again_then_the_container_uses_its_copy(
    stack: LocalStack,
) -> None:
    store = runtime.current().roster
    first = store.current()
    _stored_pm(stack, "U0OTHERPM")

    assert store.current() == first


def test_given_an_edit_when_it_starts_then_it_reads_the_table(stack: LocalStack) -> None:
    store = runtime.current().roster
    store.current()
    _stored_pm(stack, "U0OTHERPM")

    assert store.load().pm_user_id == "U0OTHERPM"


def test_given_a_save_through_this_container_when_read_next_then_the_change_is_seen_at_once(
    stack: LocalStack,
) -> None:
    store = runtime.current().roster
    roster = store.load()

    store.save(replace(roster, pm_out_of_office=True))

    assert store.current().pm_out_of_office is True
