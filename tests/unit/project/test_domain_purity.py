"""The domain imports no slack_sdk and no boto3 (docs/design.md#architecture): adapters are passed in, so it runs alone.

Each module is imported in a fresh interpreter, because in this one the SDKs were loaded long ago by
other tests and the import of a module already imported proves nothing.
"""

import json
import os
import subprocess
import sys

import pytest

DOMAIN = [
    "incident.model",
    "core.calendar",
    "incident.policy",
    "slack.commands",
    "incident.messages",
    "sla.messages",
    "pagerduty.messages",
    "sla.compliance",
    "release.model",
    "postmortem.model",
    "email.stakeholder",
    "roster.invite",
    "core.timefmt",
    "incident.alerts",
    "core.inbound_json",
    "core.settings",
]
ADAPTER_SDKS = {"slack_sdk", "boto3", "botocore"}
PROBE = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"


@pytest.mark.parametrize("module", DOMAIN)
def test_given_a_domain_module_when_imported_alone_then_no_adapter_sdk_is_loaded(module: str) -> None:
    # GIVEN a fresh interpreter WHEN it imports only the domain module
    result = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", PROBE, f"prodsupport.{module}"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    loaded = {name.partition(".")[0] for name in json.loads(result.stdout)}

    # THEN neither the Slack SDK nor the AWS SDK came with it
    assert not loaded & ADAPTER_SDKS, f"prodsupport.{module} pulls in {sorted(loaded & ADAPTER_SDKS)}"
