"""The PM's Slack status read as out of office, so the backup owns the stakeholder email."""

from __future__ import annotations

import pytest

from prodsupport.roster.out_of_office import status_says_out


@pytest.mark.parametrize(
    "profile",
    [
        {"status_emoji": ":palm_tree:", "status_text": ""},
        {"status_emoji": ":palm_tree:", "status_text": "Vacationing"},
        {"status_emoji": "", "status_text": "Out of office until Monday"},
        {"status_emoji": ":airplane:", "status_text": "OOO"},
        {"status_emoji": "", "status_text": "out-of-office"},
        {"status_emoji": "", "status_text": "On PTO this week"},
        {"status_emoji": "", "status_text": "on leave"},
    ],
)
def test_an_out_of_office_status_says_out(profile: dict[str, str]) -> None:
    assert status_says_out(profile)


@pytest.mark.parametrize(
    "profile",
    [
        {},
        {"status_emoji": ":spiral_calendar_pad:", "status_text": "In a meeting"},
        {"status_emoji": ":house_with_garden:", "status_text": "Working remotely"},
        {"status_emoji": "", "status_text": "Looking at the outage"},
    ],
)
def test_a_working_status_does_not(profile: dict[str, str]) -> None:
    assert not status_says_out(profile)
