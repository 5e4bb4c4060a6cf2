"""The pure parts of post-mortems in GitHub: the action command, the signature check, the report's table."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from prodsupport.core.errors import UserError
from prodsupport.github.model import ActionItem
from prodsupport.incident.model import Incident, Severity, Source
from prodsupport.postmortem import github_report as report
from prodsupport.postmortem.github_messages import no_mention
from prodsupport.postmortem.github_webhook import verify_signature
from prodsupport.postmortem.model import AddActionItem
from prodsupport.slack.commands import parse_incident

AT = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
BODY = b'{"action":"closed"}'


def signature(secret: str, body: bytes = BODY) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def item(key: str = "A1", **fields: object) -> ActionItem:
    values: dict[str, object] = {"description": "Add a probe", "filed_by": "U1", "filed_at": AT, **fields}
    return ActionItem(key=key, **values)  # type: ignore[arg-type]


# --- the command ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("action Add a probe", AddActionItem("INC-2026-0001", "Add a probe")),
        ("action Add a probe type detect", AddActionItem("INC-2026-0001", "Add a probe", "detect")),
        (
            "action Add a probe type Prevent team Check-In Experience",
            AddActionItem("INC-2026-0001", "Add a probe", "prevent", "Check-In Experience"),
        ),
        ("action Add a probe team VSP type process", AddActionItem("INC-2026-0001", "Add a probe", "process", "VSP")),
    ],
)
def test_action_command_takes_a_description_then_optional_type_and_team(text: str, expected: AddActionItem) -> None:
    assert parse_incident(f"INC-2026-0001 {text}") == expected


def test_action_command_refuses_a_type_outside_the_four() -> None:
    with pytest.raises(UserError, match="`fix` is not an action item type"):
        parse_incident("INC-2026-0001 action Add a probe type fix")


def test_action_command_needs_a_description() -> None:
    with pytest.raises(UserError, match="description is missing"):
        parse_incident("INC-2026-0001 action type detect")


# --- the signature --------------------------------------------------------------------------------------


def test_a_body_signed_with_any_configured_secret_is_accepted() -> None:
    assert verify_signature(["old", "new"], signature("new"), BODY)
    assert verify_signature(["old", "new"], signature("old"), BODY)


@pytest.mark.parametrize(
    "given",
    ["", "sha256=", signature("retired"), signature("new").replace("sha256", "sha1"), signature("new", b"{}")],
    ids=["missing", "empty", "retired-secret", "sha1-scheme", "other-body"],
)
def test_anything_else_is_refused(given: str) -> None:
    assert not verify_signature(["new"], given, BODY)


def test_no_secret_configured_accepts_nothing() -> None:
    assert not verify_signature([], signature(""), BODY)


# --- the report -----------------------------------------------------------------------------------------


def incident(title: str = "Pre-check-in fails | at every clinic!") -> Incident:
    opened = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 9 PM EST on the 25th
    return Incident("INC-2026-0001", title, Severity.CRITICAL, Source.SLASH_COMMAND, "C1", "1.1", opened, "after_hours")


def test_the_file_is_named_by_the_eastern_date_and_the_first_words_of_the_title() -> None:
    slug = "2026-11-25-pre-check-in-fails-at-every"
    assert report.filename(incident(), ZoneInfo("America/New_York")) == f"{slug}.md"


def test_a_row_keeps_a_pipe_in_its_description_inside_its_cell() -> None:
    [_, _, row] = report.action_rows("INC-2026-0001", [item(description="a | b", type="detect")])
    assert row.startswith("| a \\| b | detect |")


def test_rewriting_the_table_keeps_what_people_wrote_around_it() -> None:
    text = "# T\n\n## Action Items\n| old |\n| --- |\n| row |\n\nPeople's notes.\n"
    rewritten = report.with_action_items(text, "INC-2026-0001", [item(issue_number=2, issue_url="https://x/2")])
    assert rewritten.splitlines()[3:6] == [
        "| Description | Type | Owning Team | Issue # |",
        "| ----------- | ---- | ----------- | ------- |",
        "| Add a probe | _prevent, detect, mitigate or process_ | _Who?_ | [#2](https://x/2) |",
    ]
    assert rewritten.endswith("\nPeople's notes.\n")


def test_a_report_without_the_section_gets_it_at_the_end() -> None:
    rewritten = report.with_action_items("# T\n", "INC-2026-0001", [item()])
    assert rewritten.startswith("# T\n\n## Action Items\n| Description")


def test_text_people_typed_cannot_mention_anyone_in_an_issue() -> None:
    assert no_mention("team @department-of-veterans-affairs/everyone") == (
        "team @\u200bdepartment-of-veterans-affairs/everyone"
    )
