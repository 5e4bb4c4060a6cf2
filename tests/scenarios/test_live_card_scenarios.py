"""The live card scenarios read as a story: after each change the card's update, and its state, follow it.

The goldens hold the bytes; these tests say what those bytes must mean, so a regenerated golden that paints the
wrong state fails here, not only in review.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prodsupport_local.emulator.replay import run_scenario
from prodsupport_local.emulator.stack import LocalStack

HERE = Path(__file__).parent


def card_updates(name: str, stack: LocalStack) -> list[tuple[str, str, dict[str, Any]]]:
    """(at, text, incident_state) of each `chat.update` the scenario printed."""
    effects = run_scenario((HERE / f"{name}.jsonl").read_text().splitlines(), stack=stack)
    return [
        (effect["at"], effect["slack"]["text"], effect["slack"]["metadata"]["event_payload"])
        for effect in effects
        if "slack" in effect and effect["slack"]["method"] == "chat.update"
    ]


def outcomes(state: dict[str, Any]) -> dict[str, str]:
    return {clock["sla"]: clock["outcome"] for clock in state["clocks"]}


def test_each_change_from_declaration_to_resolve_is_one_card_update_showing_it(stack: LocalStack) -> None:
    updates = card_updates("card_live_declare_to_resolve", stack)

    # one update per change: declared, acked, status with next, severity, email asked for, sent, resolved; the
    # sender saved "sent" within the command's paint lease, so the outbox paints the latest state once more after
    # that lease (incident/painting.py), here at the next step
    assert [at[11:16] for at, _, _ in updates] == [
        "15:00",
        "15:06",
        "15:10",
        "15:12",
        "15:20",
        "15:20",
        "15:35",
        "15:35",
    ]
    declared, acked, status, severity, asked, sent, resolved, confirmed = (state for _, _, state in updates)
    assert confirmed == resolved
    assert outcomes(declared) == {"slack_ack": "pending"}
    assert outcomes(acked) == {"slack_ack": "met"}
    assert status["status_at"] == "2026-11-24T15:10:00Z" and status["next_due"]["sla"] == "status_update"
    assert severity["severity"] == "critical" and outcomes(severity)["stakeholder_email"] == "pending"
    assert asked["email_state"] == "queued" and sent["email_state"] == "sent"
    assert outcomes(sent)["stakeholder_email"] == "met"
    assert resolved["state"] == "resolved" and resolved["postmortem_state"] == "drafted"
    assert [state["card_version"] for _, _, state in updates[:-1]] == sorted({s["card_version"] for _, _, s in updates})
    assert all(text.startswith("INC-2026-0001 (") for _, text, _ in updates)
    assert " resolved — " in updates[-1][1] and "post-mortem session scheduling due" in updates[-1][1]


def test_a_missed_ack_is_painted_breached_then_late(stack: LocalStack) -> None:
    updates = card_updates("card_missed_ack_shows_breached", stack)

    assert [outcomes(state)["slack_ack"] for _, _, state in updates] == ["pending", "breached", "late"]
