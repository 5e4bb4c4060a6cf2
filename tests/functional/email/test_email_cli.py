"""`prodsupport email preview` and `prodsupport stakeholders import`, against the local stack's table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from prodsupport import runtime
from prodsupport.incident.model import Severity, Source
from prodsupport_local.cli import main as cli
from prodsupport_local.emulator.stack import LocalStack

OPENED = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)  # Sun 11/22/2026 11:30 PM EST
INVITE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Calendar//EN\r\nBEGIN:VEVENT\r\nUID:weekly-sync\r\n"
    "DTSTAMP:20261101T120000Z\r\nORGANIZER;CN=Pat:mailto:pat.pm@va.gov\r\n"
    "ATTENDEE;CN=Alex:mailto:alex@example.gov\r\nATTENDEE;CN=Room;CUTYPE=ROOM:mailto:room@va.gov\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def incident_id(stack: LocalStack) -> str:
    """One critical incident in the stack's table, stored the way the Slack handler stores it."""
    rt = runtime.current()
    incident = rt.policy.new_incident(
        sequence=rt.store.next_sequence("INC", 2026),
        title="Kiosks cannot check <Veterans> in",
        severity=Severity.CRITICAL,
        source=Source.SLASH_COMMAND,
        channel_id=rt.settings.channel_id,
        thread_ts="1795408200.000001",
        opened_at=OPENED,
        declared_by="U0ONCALL",
        applications=["Pre-Check-In"],
        owner="U0PM",
    )
    rt.store.create(incident)
    return incident.id


@pytest.fixture
def invite(tmp_path: Path) -> Path:
    path = tmp_path / "weekly-sync.ics"
    path.write_text(INVITE, encoding="utf-8")
    return path


def test_preview_prints_the_subject_recipients_and_both_bodies(
    incident_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["email", "preview", incident_id, "--at", "2026-11-23T05:00:00Z"])

    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith("Subject: Pre-Check-In Production Outage 11-22-2026\nTo: (the stakeholder list is empty")
    assert "Incident Summary: Kiosks cannot check <Veterans> in\n" in out
    assert "Current Status:            Mon 11/23/2026 12:00 AM EST: Investigating." in out
    assert "Kiosks cannot check &lt;Veterans&gt; in" in out


def test_preview_writes_the_html_to_a_file_for_a_browser(
    incident_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "preview.html"

    assert cli.main(["email", "preview", incident_id, "--part", "text", "--html-out", str(target)]) == 0

    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "<!DOCTYPE html>" not in capsys.readouterr().out


def test_preview_of_an_unknown_incident_exits_1_naming_it(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["email", "preview", "INC-2026-0404"]) == 1
    assert "there is no incident INC-2026-0404" in capsys.readouterr().err


def test_import_adds_the_invites_people_to_the_stakeholder_list(
    stack: LocalStack, invite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["stakeholders", "import", str(invite)]) == 0

    assert runtime.current().roster.load().stakeholders == ("pat.pm@va.gov", "alex@example.gov")
    assert capsys.readouterr().out.startswith("2 address(es) on the invite, 2 new; the stakeholder list now has 2.")


def test_import_twice_adds_nobody_the_second_time(
    stack: LocalStack, invite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["stakeholders", "import", str(invite)])

    assert cli.main(["stakeholders", "import", str(invite)]) == 0

    assert "2 address(es) on the invite, 0 new" in capsys.readouterr().out.splitlines()[-1]


def test_import_dry_run_prints_the_addresses_and_changes_nothing(
    stack: LocalStack, invite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["stakeholders", "import", "--dry-run", str(invite)]) == 0

    assert capsys.readouterr().out == "pat.pm@va.gov\nalex@example.gov\n"
    assert runtime.current().roster.load().stakeholders == ()


def test_import_of_a_file_that_is_not_an_invite_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.ics"
    path.write_text("just some notes", encoding="utf-8")

    assert cli.main(["stakeholders", "import", "--dry-run", str(path)]) == 2
    assert "not an iCalendar (.ics) file" in capsys.readouterr().err
