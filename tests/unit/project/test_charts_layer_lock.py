"""The charts layer's lock: matplotlib in it, and nothing the common layer or the Lambda runtime already provides
shipped twice (tests/unit/project/test_layer_lock.py pins and hashes every layer's lock)."""

from __future__ import annotations

import re
from pathlib import Path

LAYERS = Path(__file__).parents[3] / "layers"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", re.MULTILINE)


def pins(path: Path) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in PIN.findall(path.read_text(encoding="utf-8"))}


def test_matplotlib_is_a_direct_dependency_of_the_charts_layer() -> None:
    assert "matplotlib" in pins(LAYERS / "charts" / "requirements.in")


def test_a_package_both_layers_lock_is_locked_at_the_same_version() -> None:
    charts = pins(LAYERS / "charts" / "requirements.txt")
    common = pins(LAYERS / "common" / "requirements.txt")
    assert {name: charts[name] for name in charts.keys() & common.keys()} == {
        name: common[name] for name in charts.keys() & common.keys()
    }
    assert not {"boto3", "botocore"} & charts.keys()
