"""The weekly sync's .ics invite as a stakeholder list: organizer and attendees, people only, each once."""

from __future__ import annotations

import pytest

from prodsupport.roster.invite import InviteError, addresses

WEEKLY_SYNC = (
    b"BEGIN:VCALENDAR\r\n"
    b"VERSION:2.0\r\n"
    b"PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n"
    b"METHOD:REQUEST\r\n"
    b"BEGIN:VEVENT\r\n"
    b"UID:tcp-va-gov-migration-weekly-sync\r\n"
    b"DTSTAMP:20261101T120000Z\r\n"
    b"DTSTART;TZID=America/New_York:20261103T110000\r\n"
    b"SUMMARY:TCP to VA.gov Migration Weekly Sync\r\n"
    b'ORGANIZER;CN="Pat PM":mailto:pat.pm@va.gov\r\n'
    b"ATTENDEE;CN=Alex Analyst;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:Alex.Analyst@ex\r\n"
    b" ample.gov\r\n"
    b"ATTENDEE;CN=Conference Room 5;CUTYPE=ROOM:mailto:room-5@va.gov\r\n"
    b"ATTENDEE;CN=Sam:MAILTO:sam@example.com\r\n"
    b"ATTENDEE;CN=Pat again:mailto:PAT.PM@va.gov\r\n"
    b"END:VEVENT\r\n"
    b"END:VCALENDAR\r\n"
)


def test_the_organizer_and_attendees_are_read_organizer_first() -> None:
    assert addresses(WEEKLY_SYNC) == ("pat.pm@va.gov", "Alex.Analyst@example.gov", "sam@example.com")


def test_rooms_are_not_stakeholders() -> None:
    assert "room-5@va.gov" not in addresses(WEEKLY_SYNC)


def test_an_address_listed_twice_in_another_case_is_kept_once() -> None:
    assert [a.lower() for a in addresses(WEEKLY_SYNC)].count("pat.pm@va.gov") == 1


def test_a_file_that_is_not_icalendar_is_refused_with_the_reason() -> None:
    with pytest.raises(InviteError, match=r"not an iCalendar \(.ics\) file"):
        addresses(b"Subject: weekly sync\n\nsee you there")


def test_an_invite_without_people_is_refused() -> None:
    empty = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    with pytest.raises(InviteError, match="no organizer or attendee"):
        addresses(empty)
