"""Lambda SnapStart's runtime hooks, for the functions template.yaml publishes with SnapStart (Slack, PagerDuty).

Lambda snapshots a version once, after its init, and every container of that version resumes from the same
memory. So the snapshot should hold what is slow and the same everywhere (imported code, including the use cases
a first request imports lazily), and nothing that must differ per container or goes stale while the snapshot
waits: the `random` state (botocore's and slack_sdk's retry jitter would be identical in every container, so
their retries would collide), open connections, clients, settings and cached secrets. The runtime builds those
on first use, so none exists at snapshot time; both hooks reset it anyway, so a later change that builds one
at import cannot leak it into the snapshot. `snapshot_restore_py` is part of Lambda's Python managed runtime;
the dev venv pins the same library, and a function without SnapStart never calls the hooks.
"""

from __future__ import annotations

import importlib
import random

from snapshot_restore_py import register_after_restore, register_before_snapshot

from prodsupport import runtime


def register(*preload: str) -> None:
    """`preload`: modules the function's first request would import, loaded into the snapshot instead."""
    register_before_snapshot(before_snapshot, preload)
    register_after_restore(after_restore)


def before_snapshot(preload: tuple[str, ...]) -> None:
    for module in preload:
        importlib.import_module(module)
    runtime.reset()


def after_restore() -> None:
    random.seed()  # from os.urandom: this container's own jitter, not the snapshot's
    runtime.reset()
