"""The paint lease: how one change tells the next whether its card update may still reach Slack.

Slack has no conditional `chat.update`, so two processes changing one incident at once may paint its card in
either order, and the older state may land last. Rather than read the incident again after every paint (a
request on every change, to guard against a rare race), each save records a lease: the invocation that saved
it, and the time by which its card update will have landed or been given up (`PAINT_WINDOW` after the save).
A process paints directly only within that window (`SETTLE` kept back for a request Slack is still applying),
and otherwise hands the repaint to the outbox, whose consumer reads before and after it paints.

The burden of the race falls on the later writer, who alone can see it: a save that finds another
invocation's lease still running paints at once (the card is fresh) and also queues a repaint for when that
lease is over, which paints whatever is then the latest state over any late, older update. The uncontended
change, the usual case, costs one `chat.update` and nothing else.

Leases are judged on the runtime's clock, the wall clock in production (in tests and replays, the virtual one).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from prodsupport.core.timefmt import parse_iso, to_iso

# Longer than the Slack and PagerDuty functions' 10 s Timeout, so their paints are always direct; a longer job
# (the checker) hands the cards it changed early in its run to the outbox.
PAINT_WINDOW = timedelta(seconds=15)
# Kept back from the window for an update Slack received and is still applying when the client stops waiting.
SETTLE = timedelta(seconds=3)


class PaintLease(NamedTuple):
    by: str  # the invocation that saved the change (`Runtime.begin`)
    until: datetime

    def to_record(self) -> dict[str, Any]:
        return {"by": self.by, "until": to_iso(self.until)}

    @classmethod
    def from_record(cls, record: object) -> PaintLease | None:
        """None for an item from before leases, or the placeholder a first lease replaces (no `by`)."""
        if not isinstance(record, dict) or not record.get("by") or not record.get("until"):
            return None
        return cls(str(record["by"]), parse_iso(str(record["until"])))

    def holds_against(self, invocation: str, now: datetime) -> bool:
        """Whether another invocation's card update may still land after `now`."""
        return self.by != invocation and self.until > now
