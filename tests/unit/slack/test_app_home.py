"""The App Home view: the person's own incidents first, then everyone's, escaped, within Slack's limits."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from builders import new_incident

from prodsupport.incident.model import Incident, Severity, Source
from prodsupport.release.model import Release
from prodsupport.sla.compliance import build
from prodsupport.slack import events
from prodsupport.slack.home import HomeData, home_view

ET = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 25, 15, 5, tzinfo=UTC)
MANIFEST = Path(__file__).parents[3] / "slack" / "manifest.yaml"


def incident(sequence: int, *, title: str = "Kiosk errors", owner: str = "U0PM", declared_by: str = "") -> Incident:
    return new_incident(
        NOW - timedelta(minutes=sequence),
        sequence=sequence,
        title=title,
        severity=Severity.MAJOR,
        source=Source.SLASH_COMMAND if declared_by else Source.ALERT_MESSAGE,
        declared_by=declared_by,
        applications=(),
        owner=owner,
    )


def view_for(user: str, incidents: list[Incident], *, oncall: str = "U0ONCALL", **more: Any) -> dict[str, Any]:
    data = HomeData(
        user=user,
        oncall=oncall,
        now=NOW,
        open_incidents=incidents,
        recent=more.get("recent", incidents),
        releases=more.get("releases", []),
        last_week=build(incidents, NOW - timedelta(days=7), NOW, NOW, ET),
    )
    return home_view(data, ET)


def texts(view: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in view["blocks"] if block["type"] == "section"]


def section_after(view: dict[str, Any], title: str) -> list[str]:
    """The section texts between the title `title` and the next divider."""
    blocks = view["blocks"]
    start = next(i for i, b in enumerate(blocks) if b["type"] == "section" and b["text"]["text"] == f"*{title}*")
    found = []
    for block in blocks[start + 1 :]:
        if block["type"] == "divider":
            break
        if block["type"] == "section":
            found.append(block["text"]["text"])
    return found


def test_the_on_call_sees_every_open_incident_as_theirs() -> None:
    view = view_for("U0ONCALL", [incident(1), incident(2)])

    assert [t.split(" · ")[0] for t in section_after(view, "Your open incidents")] == [
        ":large_orange_circle: *INC-2026-0001*",
        ":large_orange_circle: *INC-2026-0002*",
    ]
    assert section_after(view, "Every other open incident") == ["_No other incident is open._"]


def test_a_bystander_sees_nothing_as_theirs_and_everything_under_every_other_incident() -> None:
    view = view_for("U0BYSTANDER", [incident(1)])

    assert section_after(view, "Your open incidents") == ["_Nothing open is yours._"]
    assert section_after(view, "Every other open incident")[0].startswith(":large_orange_circle: *INC-2026-0001*")


def test_an_incident_the_person_owns_or_declared_is_theirs() -> None:
    owned, declared, other = incident(1, owner="U0ME"), incident(2, declared_by="U0ME"), incident(3)

    view = view_for("U0ME", [owned, declared, other])

    mine = section_after(view, "Your open incidents")
    assert [t.split("*")[1] for t in mine] == ["INC-2026-0001", "INC-2026-0002"]


def test_each_open_incident_carries_the_cards_buttons() -> None:
    view = view_for("U0ONCALL", [incident(1)])

    [row] = [block for block in view["blocks"] if block["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in row["elements"]] == [
        ("incident_status", "INC-2026-0001"),
        ("incident_details", "INC-2026-0001"),
        ("incident_email", "INC-2026-0001"),
        ("incident_resolve", "INC-2026-0001"),
    ]


def test_typed_text_is_escaped() -> None:
    release = Release(
        id="REL-2026-0001",
        application="<!here>",
        date=dt.date(2026, 12, 10),
        summary="<https://evil|click>",
        announced_at=NOW,
        announced_by="U0PM",
    )

    shown = "\n".join(texts(view_for("U0ONCALL", [incident(1, title="<!channel> down")], releases=[release])))

    assert "<!channel>" not in shown and "<!here>" not in shown and "<https://evil" not in shown


def test_a_flood_of_incidents_stays_within_slacks_100_blocks_and_says_how_many_are_left_out() -> None:
    many = [incident(n) for n in range(1, 41)]

    view = view_for("U0BYSTANDER", many)

    assert len(view["blocks"]) <= 100
    assert "_…and 28 more: `/incident list` shows them all._" in texts(view)


def test_last_weeks_compliance_gives_the_on_time_share_per_clock() -> None:
    acked = incident(1, declared_by="U0ENG")  # a person's declaration meets the Slack ack

    compliance = texts(view_for("U0ONCALL", [acked]))[-1]

    assert "• Slack acknowledgement: *100%* on time (1 of 1)" in compliance


def test_the_home_tab_and_its_event_are_in_the_manifest_for_the_route_that_handles_it() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())

    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert events.ROUTER.handles_event("app_home_opened")


def test_a_week_with_no_clock_decided_says_so_under_its_dates() -> None:
    compliance = texts(view_for("U0ONCALL", []))[-1]

    assert compliance.endswith(", 0 incident(s)_\n_No clock was decided that week._")
