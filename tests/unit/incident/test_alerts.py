"""Which alert messages are recoveries, and which open incident a recovery is about."""

from datetime import UTC, datetime, timedelta

import pytest
from builders import new_incident

from prodsupport.core.settings import Settings
from prodsupport.incident.alerts import recovered_title, recovering_incident
from prodsupport.incident.model import Incident, Severity, Source, Status

PATTERNS = Settings(table_name="t", channel_id="C0").alert_recovery_patterns
OPENED = datetime(2026, 11, 25, 15, tzinfo=UTC)


def incident(title: str, *, source: Source = Source.ALERT_MESSAGE, hours_later: int = 0, seq: int = 1) -> Incident:
    return new_incident(
        OPENED + timedelta(hours=hours_later),
        sequence=seq,
        title=title,
        severity=Severity.MAJOR,
        source=source,
        applications=(),
        owner="",
    )


@pytest.mark.parametrize(
    "title", ["[Recovered] Kiosk API 5xx", "Recovered: Kiosk API 5xx", "RESOLVED: Kiosk API 5xx", "OK: Kiosk API 5xx"]
)
def test_the_default_recovery_prefixes_are_recognised_and_stripped(title: str) -> None:
    assert recovered_title(title, PATTERNS) == "Kiosk API 5xx"


@pytest.mark.parametrize("title", ["[Triggered] Kiosk API 5xx", "Kiosk OK: fine", "OK:", "Okay: x"])
def test_a_firing_alert_is_no_recovery(title: str) -> None:
    assert recovered_title(title, PATTERNS) is None


def test_the_recovery_patterns_are_configurable() -> None:
    assert recovered_title("CLEARED - Kiosk API 5xx", [r"CLEARED -"]) == "Kiosk API 5xx"


@pytest.mark.parametrize("fired", ["[Triggered] Kiosk API 5xx", "ALARM: Kiosk API 5xx", "Kiosk API 5xx"])
def test_a_recovery_finds_the_incident_its_alert_opened_with_or_without_a_status_tag(fired: str) -> None:
    opened = incident(fired)

    assert recovering_incident([opened], "kiosk api  5XX", 150) is opened


def test_the_most_recently_opened_matching_incident_is_chosen() -> None:
    older, newer = incident("ALARM: Kiosk API 5xx", seq=1), incident("ALARM: Kiosk API 5xx", hours_later=2, seq=2)

    assert recovering_incident([newer, older], "Kiosk API 5xx", 150) is newer


def test_a_resolved_or_human_declared_incident_is_never_matched() -> None:
    resolved = incident("ALARM: Kiosk API 5xx")
    resolved.status = Status.RESOLVED
    declared = incident("Kiosk API 5xx", source=Source.SLASH_COMMAND, seq=2)

    assert recovering_incident([resolved, declared], "Kiosk API 5xx", 150) is None


def test_a_recovery_of_another_alert_matches_nothing() -> None:
    assert recovering_incident([incident("ALARM: Kiosk API 5xx")], "Travel Pay latency", 150) is None
