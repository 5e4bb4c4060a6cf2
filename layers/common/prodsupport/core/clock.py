"""The one place the wall clock is read.

Handlers take "now" from their event; where an event has no time (a signature's freshness window, a TTL),
they ask the runtime's clock, which the replay tool and the tests replace with a virtual one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)
