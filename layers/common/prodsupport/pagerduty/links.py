"""The PagerDuty link item: which incident thread a PagerDuty incident belongs to.

`pk=PD#<PagerDuty incident id>, sk=LINK` (template.yaml) is written only when absent, so one PagerDuty
incident belongs to one incident whichever way it was linked first: its own `incident.triggered`, or a
person's `/incident <id> link`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prodsupport.core.timefmt import parse_iso, to_iso
from prodsupport.incident.model import Incident
from prodsupport.infra.dynamo import ConditionFailed, Table

SK = "LINK"
EARLY_ACK = "EARLY_ACK"


class AlreadyLinked(Exception):
    """The PagerDuty incident belongs to another incident; `incident_id` names it."""

    def __init__(self, pagerduty_id: str, incident_id: str) -> None:
        super().__init__(f"PagerDuty {pagerduty_id} is already linked to {incident_id}")
        self.incident_id = incident_id


def pk(pagerduty_id: str) -> str:
    return f"PD#{pagerduty_id}"


def item(incident: Incident, pagerduty_id: str) -> dict[str, Any]:
    """The item to write (with `attribute_not_exists(pk)`), alone or in the incident's creating transaction."""
    return {
        "pk": pk(pagerduty_id),
        "sk": SK,
        "channel_id": incident.channel_id,
        "thread_ts": incident.thread_ts,
        "incident_id": incident.id,
    }


def find(table: Table, pagerduty_id: str) -> dict[str, Any] | None:
    """A look that may carry the delivery's pending claim (`Table.look`): a trigger, whose PagerDuty incident
    is not linked yet, makes its claim and learns that in one request."""
    return table.look(pk(pagerduty_id), SK)


def claim(table: Table, incident: Incident, pagerduty_id: str) -> None:
    """Link an existing incident; refused when the PagerDuty incident already belongs to another one."""
    try:
        table.put(item(incident, pagerduty_id), condition="attribute_not_exists(pk)")
    except ConditionFailed:
        existing = find(table, pagerduty_id)
        owner = str(existing.get("incident_id", "")) if existing else ""
        if owner != incident.id:
            raise AlreadyLinked(pagerduty_id, owner or "another incident") from None


def give_back(table: Table, pagerduty_id: str) -> None:
    table.delete(pk(pagerduty_id), SK)


def note_early_ack(table: Table, pagerduty_id: str, at: datetime, agent: str, ttl: timedelta) -> bool:
    """An acknowledgement of a PagerDuty incident no thread knows yet (its trigger is still being handled or
    retried, or it is linked later): kept, earliest first, so the PagerDuty clock is met when the link arrives.

    Written only while the link is still absent (one transaction), so a link made between the caller's look
    and this note is never missed: the note fails and the caller applies the acknowledgement directly. False
    means exactly that; an earlier acknowledgement already noted leaves nothing to do, and is True.
    """
    try:
        table.put_all(
            [
                (
                    {
                        "pk": pk(pagerduty_id),
                        "sk": EARLY_ACK,
                        "at": to_iso(at),
                        "agent": agent,
                        "expires_at": int((at + ttl).timestamp()),
                    },
                    "attribute_not_exists(pk) OR #at > :at",
                )
            ],
            absent=[(pk(pagerduty_id), SK)],
            names={"#at": "at"},
            vals={":at": to_iso(at)},
        )
    except ConditionFailed:
        return find(table, pagerduty_id) is None
    return True


def early_ack_key(pagerduty_id: str) -> tuple[str, str]:
    """Where an acknowledgement noted before the link is kept: a link written on condition it is absent and a
    note written on condition the link is absent exclude each other, so neither needs to look again after."""
    return pk(pagerduty_id), EARLY_ACK


def early_ack(table: Table, pagerduty_id: str) -> tuple[datetime, str] | None:
    found = table.get(pk(pagerduty_id), EARLY_ACK)
    return (parse_iso(found["at"]), str(found.get("agent", ""))) if found else None
