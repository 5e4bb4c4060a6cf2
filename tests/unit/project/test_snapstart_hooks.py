"""SnapStart's runtime hooks (prodsupport/snapstart.py): the snapshot holds code, never a client, a connection
or a random state that every restored container would then share."""

from __future__ import annotations

import random
import sys

import snapshot_restore_py

from prodsupport import runtime, snapstart


def test_given_a_snapshot_when_the_hook_runs_then_the_preloaded_modules_are_imported_and_no_client_is_kept() -> None:
    sys.modules.pop("prodsupport.pagerduty.flows", None)
    runtime._boto3_clients["dynamodb"] = object()  # a client built during init, with its open connections

    snapstart.before_snapshot(("prodsupport.pagerduty.flows",))

    assert "prodsupport.pagerduty.flows" in sys.modules
    assert runtime._boto3_clients == {}
    assert runtime._runtime is None


def test_given_a_restored_container_when_the_hook_runs_then_its_random_state_is_not_the_snapshots() -> None:
    random.seed(18)
    snapshot_draws = [random.random() for _ in range(3)]  # noqa: S311 - the jitter's generator
    random.seed(18)  # the state every container restored from the snapshot starts with

    snapstart.after_restore()

    assert [random.random() for _ in range(3)] != snapshot_draws  # noqa: S311 - the jitter's generator


def test_given_a_restored_container_when_the_hook_runs_then_the_runtime_is_rebuilt_on_first_use() -> None:
    runtime._boto3_clients["dynamodb"] = object()

    snapstart.after_restore()

    assert runtime._boto3_clients == {}


def test_register_hands_both_hooks_to_the_runtime_library() -> None:
    snapstart.register("prodsupport.core.calendar")

    assert (
        snapstart.before_snapshot,
        (("prodsupport.core.calendar",),),
        {},
    ) in snapshot_restore_py.get_before_snapshot()
    assert (snapstart.after_restore, (), {}) in snapshot_restore_py.get_after_restore()
