"""A partner is pulled into an incident once: on the timeline, kept in the item, never re-tagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prodsupport.incident.model import Incident, Severity, Source

AT = datetime(2026, 11, 27, 14, 8, tzinfo=UTC)


def incident() -> Incident:
    return Incident("INC-2026-0001", "t", Severity.MAJOR, Source.SLASH_COMMAND, "C1", "1.1", AT, "business")


def test_a_tag_goes_on_the_timeline_with_who_and_when() -> None:
    tagged = incident()

    tag = tagged.tag_partner("VEText", AT, "U0ENG")

    assert tag is not None and (tag.name, tag.at, tag.by, tag.paged) == ("VEText", AT, "U0ENG", False)
    assert [(e.kind, e.actor, e.text) for e in tagged.timeline] == [("partner_tagged", "U0ENG", "VEText")]


def test_a_partner_tagged_again_in_any_case_is_not_tagged_twice() -> None:
    tagged = incident()
    tagged.tag_partner("VEText", AT, "U0ENG")

    assert tagged.tag_partner("vetext", AT + timedelta(minutes=1), "U0OTHER") is None
    assert len(tagged.partners) == len(tagged.timeline) == 1


def test_tags_survive_the_item_round_trip() -> None:
    tagged = incident()
    tagged.tag_partner("VEText", AT, "U0ENG")
    tagged.partners[0].paged = True
    tagged.partners_suggested = True

    again = Incident.from_record(tagged.to_record())

    assert again.partners == tagged.partners and again.partners_suggested


def test_an_incident_without_partners_keeps_its_item_shape() -> None:
    record = incident().to_record()

    assert "partners" not in record and "partners_suggested" not in record
