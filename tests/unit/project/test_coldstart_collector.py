"""The collector is held while a Lambda container loads and released by its first response
(prodsupport/coldstart.py); a process outside Lambda keeps its own. Each case is a fresh interpreter, as a
container is, since the module acts when it is first imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
_PROBE = """
import gc, json
from prodsupport import coldstart
loaded = gc.isenabled()
coldstart.release()
first = (gc.isenabled(), gc.get_freeze_count() > 0)
gc.disable()
coldstart.release()
print(json.dumps({"while_loading": loaded, "after_first": first, "after_second": gc.isenabled()}))
"""


def _fresh_interpreter(**env: str) -> dict[str, object]:
    clean = {key: value for key, value in os.environ.items() if key != "AWS_LAMBDA_FUNCTION_NAME"}
    result = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        check=True,
        text=True,
        env={**clean, "PYTHONPATH": str(REPO / "layers" / "common"), **env},
    )
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_given_a_lambda_container_when_it_loads_then_the_collector_is_off_until_the_first_response() -> None:
    seen = _fresh_interpreter(AWS_LAMBDA_FUNCTION_NAME="prodsupport-SlackEventsFunction")

    assert seen["while_loading"] is False
    assert seen["after_first"] == [True, True]  # on again, with what the load made frozen


def test_given_a_lambda_container_when_later_invocations_end_then_the_collector_is_left_alone() -> None:
    seen = _fresh_interpreter(AWS_LAMBDA_FUNCTION_NAME="prodsupport-SlackEventsFunction")

    assert seen["after_second"] is False  # released once: what the process did since is its own


def test_given_a_process_outside_lambda_when_a_handler_loads_then_its_collector_is_untouched() -> None:
    seen = _fresh_interpreter()

    assert seen["while_loading"] is True
    assert seen["after_first"] == [True, False]
