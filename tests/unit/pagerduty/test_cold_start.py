"""The PagerDuty function's init loads no Slack SDK and no incident model: a delivery that posts nothing (an
ignored event type, a duplicate, a bad signature) never pays for them, and one that opens an incident and posts
loads them with its first use. What a trigger loads defines no dataclass it does not need, since each one
compiles its methods as its module loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# Each probe runs in a fresh interpreter after loading the handler module as the Lambda runtime does.
_LOAD = """
import importlib, importlib.util, sys
spec = importlib.util.spec_from_file_location("pagerduty_app", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
"""


def _after_load(probe: str, *args: str) -> str:
    """What `probe` prints in a fresh interpreter once the PagerDuty handler module is loaded."""
    result = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", _LOAD + probe, str(REPO / "functions" / "pagerduty_webhook" / "app.py"), *args],
        capture_output=True,
        check=True,
        text=True,
        env={"PYTHONPATH": str(REPO / "layers" / "common")},
    )
    return result.stdout.strip()


def _loaded_by_init(*modules: str) -> str:
    """Which of `modules` a fresh interpreter has imported once it has loaded the handler module."""
    return _after_load(
        "print(sorted(name for name in sys.argv[2].split(',') if name in sys.modules))", ",".join(modules)
    )


def test_given_a_fresh_container_when_the_pagerduty_handler_is_loaded_then_slack_sdk_is_not_imported() -> None:
    assert _loaded_by_init("slack_sdk", "jinja2", "icalendar", "prodsupport.postmortem.flows") == "[]"


def test_given_a_fresh_container_when_the_pagerduty_handler_is_loaded_then_the_incident_model_is_not_imported() -> None:
    assert _loaded_by_init("prodsupport.incident.model", "prodsupport.github.model") == "[]"


def test_given_a_fresh_container_when_the_pagerduty_handler_is_loaded_then_no_thread_is_started() -> None:
    """The pool that makes a post's client ahead (infra/ahead.py) starts with the first delivery: a thread
    started at load would be captured in the SnapStart snapshot."""
    assert _after_load("import threading; print(threading.active_count())") == "1"


_DATACLASSES = """
import dataclasses
# What the first trigger loads: the use cases, and what the runtime loads with its first use.
for name in ("pagerduty.flows", "incident.policy", "incident.store", "roster.store", "incident.card_updates"):
    importlib.import_module("prodsupport." + name)
print("\\n".join(sorted(
    f"{name}.{value.__name__}"
    for name, module in list(sys.modules.items()) if name.startswith("prodsupport")
    for value in vars(module).values()
    if isinstance(value, type) and value.__module__ == name and dataclasses.is_dataclass(value)
)))
"""
# Mutable records (the incident and its parts, the roster's per-container store), a value that validates itself
# on construction (the calendar) and values with default factories (the policy's calendar, a message's blocks).
KEPT_AS_DATACLASSES = {
    "prodsupport.core.calendar.CalendarConfig",
    "prodsupport.incident.model.Deadline",
    "prodsupport.incident.model.EmailRecord",
    "prodsupport.incident.model.Incident",
    "prodsupport.incident.model.PagerDutyLink",
    "prodsupport.incident.model.PartnerTag",
    "prodsupport.incident.model.Postmortem",
    "prodsupport.incident.policy.SlaPolicy",
    "prodsupport.infra.slack_message.SlackMessage",
    "prodsupport.roster.store.RosterStore",
}


def test_given_a_cold_trigger_when_its_modules_load_then_its_immutable_values_are_not_dataclasses() -> None:
    """A dataclass compiles its methods when its module loads (0.3 to 3 ms each on a cold start); a NamedTuple
    compiles one small constructor. Immutable values on this path are NamedTuples (docs/performance.md)."""
    assert set(_after_load(_DATACLASSES).split()) == KEPT_AS_DATACLASSES
