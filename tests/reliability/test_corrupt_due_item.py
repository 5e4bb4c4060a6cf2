"""One unreadable item on the due index does not stop the SLA checker: it is logged with its key, counted as a
failure, and every other incident is still checked."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from builders import SETTINGS, WEDNESDAY_10_ET, alert, checker_run, clock_of, posts_of, slack_event

from prodsupport.core.timefmt import to_iso
from prodsupport_local.emulator.stack import LocalStack

CORRUPT_PK = "THREAD#C0PRODSUP#1795000000.000100"


@pytest.fixture
def with_corrupt_item(stack: LocalStack) -> LocalStack:
    """An alert owed its reminder at 10:10 ET, and before it on the due index an item that is no incident."""
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    assert slack_event(stack, alert(WEDNESDAY_10_ET), "Ev0ALERT").status == 200
    stack.aws.client("dynamodb").put_item(
        TableName=stack.aws.table_name("IncidentsTable"),
        Item={
            "pk": {"S": CORRUPT_PK},
            "sk": {"S": "INCIDENT"},
            "due_shard": {"S": "DUE"},
            "next_check": {"S": to_iso(WEDNESDAY_10_ET - timedelta(days=1))},
            "severity": {"S": "catastrophic"},
        },
    )
    return stack


def test_the_other_incidents_are_still_checked(with_corrupt_item: LocalStack) -> None:
    result = checker_run(with_corrupt_item, WEDNESDAY_10_ET + timedelta(minutes=10))

    assert result["reminders"] == 1
    assert len(posts_of(with_corrupt_item.slack, "sla_reminder")) == 1


def test_the_corrupt_item_is_counted_as_a_failure(with_corrupt_item: LocalStack) -> None:
    result = checker_run(with_corrupt_item, WEDNESDAY_10_ET + timedelta(minutes=10))

    assert (result["checked"], result["failures"]) == (1, 1)
    assert with_corrupt_item.failures == []


def test_the_corrupt_item_is_logged_with_its_key(
    with_corrupt_item: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    checker_run(with_corrupt_item, WEDNESDAY_10_ET + timedelta(minutes=10))

    [logged] = [r for r in caplog.records if r.getMessage().startswith("skipped an item on the due index")]
    assert logged.levelno == logging.ERROR
    assert getattr(logged, "key", None) == f"{CORRUPT_PK}/INCIDENT"
