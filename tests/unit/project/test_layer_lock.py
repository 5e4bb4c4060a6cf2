"""The layers' locks: every package SAM installs into a layer (common, charts) is pinned and hashed, and agrees
with the pins the code is developed and tested against (requirements.in, which the dev venv installs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

LAYERS = Path(__file__).parents[3] / "layers"
LAYER = LAYERS / "common"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)")


def pins(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


LOCK = (LAYER / "requirements.txt").read_text(encoding="utf-8")


def read(layer: str, name: str) -> str:
    return (LAYERS / layer / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("layer", ["common", "charts"])
def test_every_direct_dependency_is_locked_at_the_version_the_tests_use(layer: str) -> None:
    direct, locked = pins(read(layer, "requirements.in")), pins(read(layer, "requirements.txt"))
    assert direct
    assert {name: locked.get(name) for name in direct} == direct


@pytest.mark.parametrize("layer", ["common", "charts"])
def test_every_locked_package_is_pinned_exactly_and_hashed(layer: str) -> None:
    lock = read(layer, "requirements.txt")
    requirements = [block for block in re.split(r"\n(?=\S)", lock) if block.strip() and not block.startswith("#")]
    assert requirements
    for block in requirements:
        assert PIN.match(block), f"not pinned with ==: {block.splitlines()[0]}"
        assert "--hash=sha256:" in block, f"no hash: {block.splitlines()[0]}"


def test_the_lock_names_no_index_of_this_machine() -> None:
    assert not re.search(r"^--(extra-)?index-url|^--find-links", LOCK, flags=re.MULTILINE)


def test_the_lock_leaves_boto3_to_the_lambda_runtime() -> None:
    assert not {"boto3", "botocore"} & set(pins(LOCK))
