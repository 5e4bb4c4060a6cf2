"""`prodsupport smoke`: the local mode passes end to end, and a stack that does not answer fails loudly.

The local mode starts its own local stack, so it runs in a separate process: moto's state is process-wide and
the test session's stack already uses it.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from prodsupport_local.cli.smoke import Target, run_checks

PRODSUPPORT = Path(sys.executable).with_name("prodsupport")


def test_the_local_smoke_passes_every_check_and_prints_what_it_checked() -> None:
    done = subprocess.run([PRODSUPPORT, "smoke", "--local"], capture_output=True, text=True, timeout=120, check=False)  # noqa: S603

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[1:] == [
        "  ok   signed Slack url_verification answered 200 with its challenge",
        "  ok   unsigned Slack request refused with 401",
        "  ok   signed PagerDuty ping answered 202",
        "  ok   SLA checker invoked once: checked 0 incident(s)",
        "  ok   alarms: not emulated locally (skipped)",
        "smoke: all checks passed",
    ]


def test_a_stack_that_does_not_answer_fails_the_smoke_at_the_first_check() -> None:
    out = io.StringIO()
    target = Target(
        name="gone",
        api_url="http://127.0.0.1:9",  # the discard port: nothing listens, the connection is refused
        slack_signing_secret="s",
        pagerduty_webhook_secret="p",
        invoke_checker=lambda event: {"job": "sla"},
        alarm_states=None,
    )

    assert run_checks(target, out) == 1
    assert out.getvalue().splitlines()[-1].startswith("  FAIL ")
