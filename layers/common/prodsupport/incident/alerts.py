"""An alert integration's recovery message, and which open incident it is about, as pure functions.

Integrations post the same alert twice: once when it fires (`[Triggered] Kiosk API 5xx`, `ALARM: …`,
`[FIRING:1] …`) and once when it clears (`[Recovered] Kiosk API 5xx`, `OK: …`, `RESOLVED: …`). The second
is news for the incident the first opened, not a new incident. Incidents do not store which bot declared
them, so the match is by title: the recovery's title with its recovery prefix removed must equal the
incident's title, with or without the incident's own leading status tag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prodsupport.incident.model import Incident, Source, Status

# A leading status tag on the firing side: `[Triggered]`, `[FIRING:1]`, `ALARM:`, `PROBLEM:`, `Triggered:`.
STATUS_TAG_RE = re.compile(r"^\s*(?:\[[^\]]{1,30}\]|[A-Za-z]{2,20}(?::\d+)?:)\s*")


def recovered_title(title: str, patterns: Iterable[str]) -> str | None:
    """The alert's title without its recovery prefix, or None when the message is not a recovery."""
    for pattern in patterns:
        match = re.match(rf"\s*(?:{pattern})\s*", title, re.IGNORECASE)
        if match and title[match.end() :].strip():
            return title[match.end() :].strip()
    return None


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _is_about(incident: Incident, base: str) -> bool:
    wanted = _normal(base)
    return wanted in (_normal(incident.title), _normal(STATUS_TAG_RE.sub("", incident.title, count=1)))


def recovering_incident(open_incidents: Iterable[Incident], base: str, max_title: int) -> Incident | None:
    """The most recently opened incident, still open and declared from an alert, whose title is `base`."""
    matches = [
        incident
        for incident in open_incidents
        if incident.status is Status.OPEN
        and incident.source is Source.ALERT_MESSAGE
        and _is_about(incident, base[:max_title])
    ]
    return max(matches, key=lambda incident: incident.opened_at, default=None)
