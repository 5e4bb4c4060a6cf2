"""The time an invocation has left, apart from the Slack adapter so that building a runtime does not import
slack_sdk: a function whose event never posts (a PagerDuty delivery that is ignored, a duplicate, a bad
signature) never pays for loading it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

# Kept back from every call for handing the effect to the outbox (one SQS send) and answering.
RESERVE_SECONDS = 1.5


class Budget:
    """The time this invocation has left, on the monotonic clock (a budget, not a time of day).

    A runtime outlives its invocations, so each handler restarts the budget from its Lambda context;
    a budget never started (a script, a unit test) is unbounded.
    """

    def __init__(self) -> None:
        self._deadline: float | None = None
        self._started: float | None = None

    def start(self, remaining_millis: int) -> None:
        self._started = time.monotonic()
        self._deadline = self._started + remaining_millis / 1000

    def elapsed_seconds(self) -> float:
        """Since the handler was given the request: what a caller answering within a window (Slack's 3 s) has
        already spent of it."""
        return 0.0 if self._started is None else time.monotonic() - self._started

    def seconds_left(self) -> float:
        return float("inf") if self._deadline is None else self._deadline - time.monotonic()

    def usable_seconds(self) -> float:
        """What a call may spend and still leave the reserve for the hand-off."""
        return self.seconds_left() - RESERVE_SECONDS

    @contextmanager
    def capped(self, done_by: float) -> Iterator[None]:
        """Within the block, the budget ends at `done_by` (a `time.monotonic()` instant) if that is sooner: for an
        effect that must land within a window (a card update within its paint lease). No call starts, and no
        retry is made, that would not end by then; a call's timeout is whole seconds (at least one), so one that
        starts with under a second left may end up to a second late, which the lease's `SETTLE` allows for."""
        kept = self._deadline
        cap = done_by + RESERVE_SECONDS
        self._deadline = cap if kept is None else min(kept, cap)
        try:
            yield
        finally:
            self._deadline = kept
