"""The pool work ahead runs on (infra/ahead.py): work an earlier invocation left behind never holds up new work."""

from __future__ import annotations

import threading

from prodsupport.infra import ahead


def test_work_dropped_before_it_began_never_runs() -> None:
    release = threading.Event()
    ran: list[str] = []
    blockers = [ahead.start(release.wait) for _ in range(ahead.WORKERS)]  # every worker busy
    queued = ahead.start(lambda: ran.append("queued"))

    ahead.drop(queued)
    release.set()
    for blocker in blockers:
        blocker.result(timeout=5)

    assert queued.cancelled()
    assert ran == []


def test_work_still_running_when_dropped_leaves_its_pool_and_new_work_runs_at_once() -> None:
    """As when Lambda froze the container with a read in flight: the read keeps its thread until it ends."""
    release = threading.Event()
    stuck = [ahead.start(release.wait) for _ in range(ahead.WORKERS)]
    try:
        for work in stuck:
            ahead.drop(work)

        assert ahead.start(lambda: "new").result(timeout=5) == "new"
    finally:
        release.set()
