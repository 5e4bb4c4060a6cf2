"""The charts layer's lock: matplotlib at the version the tests draw with, every package pinned and hashed, and
nothing the common layer or the Lambda runtime already provides shipped twice."""

from __future__ import annotations

import re
from pathlib import Path

LAYERS = Path(__file__).parents[3] / "layers"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", re.MULTILINE)


def pins(path: Path) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in PIN.findall(path.read_text(encoding="utf-8"))}


def test_every_direct_dependency_is_locked_at_the_version_the_tests_use() -> None:
    direct = pins(LAYERS / "charts" / "requirements.in")
    locked = pins(LAYERS / "charts" / "requirements.txt")
    assert "matplotlib" in direct
    assert {name: locked.get(name) for name in direct} == direct


def test_every_locked_package_is_pinned_exactly_and_hashed() -> None:
    lock = (LAYERS / "charts" / "requirements.txt").read_text(encoding="utf-8")
    blocks = [block for block in re.split(r"\n(?=\S)", lock) if block.strip() and not block.startswith("#")]
    assert blocks
    for block in blocks:
        assert PIN.match(block), f"not pinned with ==: {block.splitlines()[0]}"
        assert "--hash=sha256:" in block, f"no hash: {block.splitlines()[0]}"


def test_a_package_both_layers_lock_is_locked_at_the_same_version() -> None:
    charts = pins(LAYERS / "charts" / "requirements.txt")
    common = pins(LAYERS / "common" / "requirements.txt")
    assert {name: charts[name] for name in charts.keys() & common.keys()} == {
        name: common[name] for name in charts.keys() & common.keys()
    }
    assert not {"boto3", "botocore"} & charts.keys()
