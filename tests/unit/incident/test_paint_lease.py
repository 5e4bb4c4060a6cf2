"""The paint lease: whether another invocation's card update may still land (incident/painting.py)."""

from datetime import UTC, datetime, timedelta

from prodsupport.incident.painting import PaintLease

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_another_invocations_running_lease_holds() -> None:
    assert PaintLease("other", NOW + timedelta(seconds=1)).holds_against("me", NOW)


def test_a_lease_of_this_very_invocation_never_holds_against_it() -> None:
    assert not PaintLease("me", NOW + timedelta(seconds=10)).holds_against("me", NOW)


def test_a_lease_that_ran_out_no_longer_holds() -> None:
    assert not PaintLease("other", NOW).holds_against("me", NOW)


def test_a_lease_survives_its_record() -> None:
    lease = PaintLease("other", NOW)

    assert PaintLease.from_record(lease.to_record()) == lease


def test_the_placeholder_a_first_lease_replaces_reads_as_no_lease() -> None:
    assert PaintLease.from_record({"by": "", "until": ""}) is None
    assert PaintLease.from_record(None) is None
