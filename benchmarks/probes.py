"""Fresh interpreters running cold_start_probe.py with a function's environment, against one local stack.

The stack (in this process) prepares what each event needs; the probe (another process, like a Lambda
container) loads the handler, builds its clients and handles the events, and reports its timings and
peak RSS. The stack's moto and recording Slack API answer the probe over loopback, as AWS and Slack
answer a Lambda function.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from traffic import CHECKER, EMAIL_SENDER, PAGERDUTY, REPO_ROOT, SLACK_EVENTS, Recipe, Traffic

from prodsupport.core.timefmt import to_iso
from prodsupport_local.emulator.stack import LocalStack

PROBE = Path(__file__).with_name("cold_start_probe.py")
LAYER = REPO_ROOT / "layers" / "common"
# What each function's first event builds besides the runtime: see cold_init.py.
BUILDS: dict[str, list[str]] = {
    SLACK_EVENTS: ["table", "secrets", "slack"],
    # Its handler no longer loads slack_sdk (prodsupport.infra.budget): the first post does, in the first event.
    PAGERDUTY: ["table", "secrets"],
    CHECKER: ["table", "secrets", "slack"],
    EMAIL_SENDER: ["table", "secrets", "sesv2", "slack"],
}
# The Powertools pieces each handler module builds at import (besides its Logger), for the library floor.
FLOOR: dict[str, list[str]] = {
    SLACK_EVENTS: ["http", "signature"],
    PAGERDUTY: ["http"],
    CHECKER: ["metrics"],
    EMAIL_SENDER: ["batch"],
}
MARKER = "PROBE "


def build_layer(machine: str = platform.machine()) -> Path:
    """The layer as `sam build` makes it (pruned, compiled), for `machine` (this one's by default, so that its
    compiled extensions load here; aarch64 is what template.yaml deploys); its python/ directory."""
    target = REPO_ROOT / ".aws-sam" / f"layer-bench-{machine}"
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(
        [
            "make", "-s", "-C", str(LAYER), "build-CommonLayer", f"ARTIFACTS_DIR={target}",
            f"PYTHON={sys.executable}", f"LAMBDA_PLATFORM=manylinux2014_{machine}",
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return target / "python"


def unzipped_bytes(layer: Path) -> int:
    """What Lambda counts against a layer's unzipped size: the bytes of every file under /opt."""
    return sum(path.stat().st_size for path in layer.parent.rglob("*") if path.is_file())


class Prober:
    """Runs fresh interpreters against one local stack; the stack prepares what their events need."""

    def __init__(self, stack: LocalStack, layer: Path | None = None) -> None:
        """`layer`: a built layer's python/ directory (build_layer) instead of the source tree."""
        self.stack = stack
        self.traffic = Traffic(stack)
        self.layer = layer

    def spec(self, function: str) -> dict[str, Any]:
        fn = self.stack.template.function(function)
        return {
            "module": str(Path(self.stack.template.root, fn.code_uri, fn.module_file)),
            "name": f"prodsupport_fn_{function}",
            "handler": fn.handler_name,
            "function": function,
            "builds": BUILDS[function],
            "floor": FLOOR[function],
        }

    def environment(self, function: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PRODSUPPORT_", "AWS_"))}
        env.update(self.stack.aws.function_environment(function, self.stack.settings))
        env.update(self.stack.env)
        env["AWS_LAMBDA_FUNCTION_NAME"] = function  # Lambda sets it in every function's environment
        env["PYTHONPATH"] = str(self.layer or LAYER)
        if self.layer is not None:
            # Lambda's /opt is read-only: a built layer is timed with the bytecode it ships, and nothing else.
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def baseline(self) -> dict[str, Any]:
        """`import boto3; boto3.client("dynamodb")` in the same environment."""
        return self._probe(["baseline"], self.environment(SLACK_EVENTS))

    def floor_response(self, function: str) -> dict[str, Any]:
        """The baseline, then one PutItem and one POST: the floor of a whole first response."""
        return self._probe(["floor_response"], self.environment(function))

    def floor(self, function: str) -> dict[str, Any]:
        return self._probe(["floor", json.dumps(self.spec(function))], self.environment(function))

    def prepare(self, recipes: tuple[Recipe, ...]) -> list[dict[str, Any]]:
        """Make what each event needs on the stack, here; the events for the probe, each with its moment."""
        prepared = []
        for recipe in recipes:
            invocation = recipe(self.traffic)
            prepared.append({"at": to_iso(invocation.at), "event": invocation.event})
        return prepared

    def run(self, function: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """One fresh interpreter: the function's init, then each event in turn."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8", delete=False) as handle:
            json.dump(events, handle)
        try:
            return self._probe(["events", json.dumps(self.spec(function)), handle.name], self.environment(function))
        finally:
            Path(handle.name).unlink()

    def _probe(self, args: list[str], env: dict[str, str]) -> dict[str, Any]:
        # Linux carries a process's peak RSS across exec, so a probe started straight from this process
        # (which holds moto) would report this process's peak. A shell that forks the probe gives it its own.
        command = ["/bin/sh", "-c", '"$@"; exit $?', "probe", sys.executable, str(PROBE), *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=120)
        lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"probe {args[0]} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr}")
        result: dict[str, Any] = json.loads(lines[-1].removeprefix(MARKER))
        return result
