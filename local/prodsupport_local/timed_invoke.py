"""Invoke a function's real handler in its own process and kill it at the template's Timeout, as Lambda does.

In-process invocations cannot be cut short: a handler that sleeps a long Retry-After simply finishes late,
and a test never sees what Lambda's kill would have lost. Here the handler runs in a child process against
the same local stack (moto server, recording Slack, environment); the init phase (imports, handler load)
is not counted, like Lambda's own init, and the invocation is killed once the function's `Timeout` has
passed. The child runs on a clock fixed at the caller's virtual "now", so signatures and TTLs agree with
the test's clock.

    python -m prodsupport_local.timed_invoke REQUEST.json   (the child side; tests call `invoke_with_timeout`)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodsupport.core.timefmt import parse_iso, to_iso
from prodsupport.infra import runtime
from prodsupport_local.cfn import load_template
from prodsupport_local.lambdas import Lambdas

if TYPE_CHECKING:
    from prodsupport_local.stack import LocalStack

# Lambda gives a function's init phase up to 10 s, apart from its Timeout.
INIT_SECONDS = 10.0
_POLL_SECONDS = 0.01


@dataclass(frozen=True)
class TimedInvocation:
    """How one invocation ended: its result, or that it was killed at `timeout_seconds`."""

    function: str
    timeout_seconds: float
    elapsed_seconds: float
    killed: bool
    returncode: int
    result: Any
    log: str


def invoke_with_timeout(
    stack: LocalStack,
    logical_id: str,
    event: dict[str, Any],
    *,
    now: datetime,
    timeout_seconds: float | None = None,
) -> TimedInvocation:
    """Run the handler in a child process; kill it when the template's Timeout for the function runs out.

    `timeout_seconds` kills it sooner instead, as an out-of-memory or a crash would at any moment; the
    handler still believes it has its full Timeout.
    """
    function = stack.lambdas.functions[logical_id]
    timeout = timeout_seconds if timeout_seconds is not None else float(function.timeout or 3)
    with tempfile.TemporaryDirectory(prefix="timed-invoke-") as tmp:
        work = Path(tmp)
        request = work / "request.json"
        request.write_text(json.dumps({"function": logical_id, "event": event, "now": to_iso(now)}), "utf-8")
        log_path = work / "log.txt"
        with log_path.open("w", encoding="utf-8") as log:
            child = subprocess.Popen(  # noqa: S603 - our own module, with our own interpreter
                [sys.executable, "-m", "prodsupport_local.timed_invoke", str(request)],
                env={**os.environ, **stack.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            started = _wait_until_ready(child, work / "ready")
            try:
                child.wait(timeout=max(0.0, started + timeout - time.monotonic()))
                killed = False
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                killed = True
        elapsed = time.monotonic() - started
        result_path = work / "result.json"
        result = json.loads(result_path.read_text("utf-8")) if result_path.exists() and not killed else None
        return TimedInvocation(
            function=logical_id,
            timeout_seconds=timeout,
            elapsed_seconds=elapsed,
            killed=killed,
            returncode=child.returncode,
            result=result,
            log=log_path.read_text("utf-8"),
        )


def _wait_until_ready(child: subprocess.Popen[bytes], ready: Path) -> float:
    """The monotonic time the handler was loaded (the invocation's start); a slow init is killed too."""
    give_up = time.monotonic() + INIT_SECONDS
    while not ready.exists():
        if child.poll() is not None or time.monotonic() > give_up:
            child.kill()
            child.wait()
            raise RuntimeError(f"the function's init did not finish (exit {child.returncode})")
        time.sleep(_POLL_SECONDS)  # harness synchronisation with the child, not business time
    return time.monotonic()


def _child(request_path: Path) -> None:
    request = json.loads(request_path.read_text("utf-8"))
    now = parse_iso(request["now"])
    runtime.use_clock(lambda: now)
    logical_id = request["function"]
    lambdas = Lambdas(load_template())
    handler = lambdas.handler(logical_id)
    (request_path.parent / "ready").touch()
    result = handler(request["event"], lambdas.context(logical_id))
    (request_path.parent / "result.json").write_text(json.dumps(result), "utf-8")


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
