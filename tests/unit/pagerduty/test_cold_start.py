"""The PagerDuty function's init loads no Slack SDK and no incident model: a delivery that posts nothing (an
ignored event type, a duplicate, a bad signature) never pays for them, and one that opens an incident and posts
loads them with its first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
_PROBE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("pagerduty_app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
heavy = sys.argv[2].split(",")
print(sorted(name for name in heavy if name in sys.modules))
"""


def _loaded_by_init(*modules: str) -> str:
    """Which of `modules` a fresh interpreter has imported once it has loaded the handler module."""
    result = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", _PROBE, str(REPO / "functions" / "pagerduty_webhook" / "app.py"), ",".join(modules)],
        capture_output=True,
        check=True,
        text=True,
        env={"PYTHONPATH": str(REPO / "layers" / "common")},
    )
    return result.stdout.strip()


def test_given_a_fresh_container_when_the_pagerduty_handler_is_loaded_then_slack_sdk_is_not_imported() -> None:
    assert _loaded_by_init("slack_sdk", "jinja2", "icalendar", "prodsupport.postmortem.flows") == "[]"


def test_given_a_fresh_container_when_the_pagerduty_handler_is_loaded_then_the_incident_model_is_not_imported() -> None:
    assert _loaded_by_init("prodsupport.incident.model", "prodsupport.github.model") == "[]"


_THREADS = """
import importlib.util, sys, threading
spec = importlib.util.spec_from_file_location("pagerduty_app", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(threading.active_count())
"""


def test_given_a_fresh_container_when_the_pagerduty_handler_is_loaded_then_no_thread_is_started() -> None:
    """The pool that makes a post's client ahead (infra/ahead.py) starts with the first delivery: a thread
    started at load would be captured in the SnapStart snapshot."""
    result = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", _THREADS, str(REPO / "functions" / "pagerduty_webhook" / "app.py")],
        capture_output=True,
        check=True,
        text=True,
        env={"PYTHONPATH": str(REPO / "layers" / "common")},
    )
    assert result.stdout.strip() == "1"
