"""A promised next update, as the status command's trailing `next …` and as a form's "Next update" field."""

from datetime import time, timedelta

import pytest

from prodsupport.core.errors import UserError
from prodsupport.incident.next_update import FIELD_USAGE, NextUpdate, parse_next_update, parse_next_update_field


def test_a_form_field_takes_the_same_durations_and_times_as_the_command() -> None:
    assert parse_next_update_field("2h") == parse_next_update("x next 2h")[1] == NextUpdate(after=timedelta(hours=2))
    assert parse_next_update_field(" 14:00 ") == NextUpdate(at_local=time(14, 0))


def test_an_empty_form_field_promises_nothing() -> None:
    assert parse_next_update_field("  ") is None


def test_a_form_field_that_is_no_promise_says_what_the_field_takes() -> None:
    with pytest.raises(UserError, match=FIELD_USAGE.replace("(", r"\(").replace(")", r"\)")):
        parse_next_update_field("tomorrow")


def test_a_form_field_beyond_seven_days_is_refused_as_the_command_refuses_it() -> None:
    with pytest.raises(UserError, match="at most 7 days"):
        parse_next_update_field("200h")
