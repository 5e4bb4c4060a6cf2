"""The weekly sync's calendar invite as a stakeholder list: its organizer's and attendees' addresses.

The playbook's recipients are "everyone on the invite list to the weekly TCP to VA.gov Migration Weekly
Sync", so the invite itself is the best source. It is parsed with a real iCalendar library because
invites fold long lines, quote parameters and mix the case of `mailto:`, which line-matching gets wrong.
Rooms and equipment (CUTYPE=ROOM/RESOURCE) are attendees in calendar terms but nobody reads their mail.
"""

from __future__ import annotations

from typing import Any

from prodsupport.core.settings import EMAIL_RE

NOT_PEOPLE = frozenset({"ROOM", "RESOURCE"})
MAX_INVITE_BYTES = 1024 * 1024


class InviteError(ValueError):
    """The file is not a calendar invite we can read; the message says what was wrong."""


def _values(component: Any, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def addresses(data: bytes) -> tuple[str, ...]:
    """Every person's address on the invite's events, organizer first, each once (case-insensitively)."""
    if len(data) > MAX_INVITE_BYTES:
        raise InviteError(f"the file is larger than {MAX_INVITE_BYTES // 1024} KB; an invite is much smaller")
    from icalendar import Calendar  # noqa: PLC0415 - cold start: only a shared invite is read

    try:
        calendar = Calendar.from_ical(data)
    except ValueError as exc:
        raise InviteError(f"not an iCalendar (.ics) file: {exc}") from None
    found: dict[str, str] = {}
    for event in calendar.walk("VEVENT"):
        for value in (*_values(event, "ORGANIZER"), *_values(event, "ATTENDEE")):
            params = getattr(value, "params", {})
            if str(params.get("CUTYPE", "")).upper() in NOT_PEOPLE:
                continue
            text = str(value).strip()
            address = text[len("mailto:") :] if text.lower().startswith("mailto:") else text
            if EMAIL_RE.match(address):
                found.setdefault(address.lower(), address)
    if not found:
        raise InviteError("the invite has no organizer or attendee email addresses")
    return tuple(found.values())
