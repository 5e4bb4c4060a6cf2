"""Commands reserved to admins (or to the PM and backup) are refused to everyone else, with an ephemeral
answer naming who may, and change nothing: no item written, nothing queued, nothing posted.

The .ics stakeholder import shared by a non-admin is covered in tests/functional/email/test_email_flow.py.
"""

from __future__ import annotations

import pytest
from builders import INC, SETTINGS, WEDNESDAY_10_ET, clock_of, command_answer, table_items

from prodsupport_local.emulator.stack import LocalStack

OUTSIDER = "U0EVE"
ADMIN_ONLY = {
    "name the pm": ("/prodsupport", "pm <@U0EVE>"),
    "name the backup": ("/prodsupport", "backup <@U0EVE>"),
    "pm out of office": ("/prodsupport", "ooo on"),
    "add a stakeholder": ("/prodsupport", "stakeholders add eve@example.com"),
    "remove a stakeholder": ("/prodsupport", "stakeholders remove weekly-sync@example.gov"),
    "list the stakeholders": ("/prodsupport", "stakeholders list"),
    "send the stakeholder email": ("/incident", f"{INC} email"),
    "ask for a post-mortem": ("/incident", f"{INC} postmortem needed"),
    "cancel someone else's release": ("/release", "cancel REL-2026-0001"),
}


@pytest.fixture
def deployment(stack: LocalStack) -> LocalStack:
    """An incident declared by the on-call and a release announced by the PM, with a stakeholder list."""
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    assert "Declared" in command_answer(stack, "major Kiosks down")["text"]
    command_answer(stack, "Check-In Experience 2026-12-30 Kiosk update", user="U0PM", name="/release")
    command_answer(stack, "stakeholders add weekly-sync@example.gov", user="U0ADMIN", name="/prodsupport")
    return stack


def snapshot(stack: LocalStack) -> tuple[list[dict[str, object]], int, int]:
    items = sorted(
        (item for item in table_items(stack) if not item["pk"]["S"].startswith("DEDUPE#")),
        key=lambda item: (item["pk"]["S"], item["sk"]["S"]),
    )
    return items, stack.queue_depth("EmailQueue"), len(stack.slack.posts())


@pytest.mark.parametrize(("name", "text"), ADMIN_ONLY.values(), ids=ADMIN_ONLY.keys())
def test_an_outsider_is_refused_and_nothing_changes(deployment: LocalStack, name: str, text: str) -> None:
    before = snapshot(deployment)

    answer = command_answer(deployment, text, user=OUTSIDER, name=name)

    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Only ")
    assert snapshot(deployment) == before


@pytest.mark.parametrize(("name", "text"), ADMIN_ONLY.values(), ids=ADMIN_ONLY.keys())
def test_an_admin_is_not_refused(deployment: LocalStack, name: str, text: str) -> None:
    answer = command_answer(deployment, text, user="U0ADMIN", name=name)

    assert not answer.get("text", "").startswith("Only ")
