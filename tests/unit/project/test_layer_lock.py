"""The layer's lock: every package SAM installs into the layer is pinned and hashed, and agrees with the pins
the code is developed and tested against (requirements.in, which the dev venv installs)."""

from __future__ import annotations

import re
from pathlib import Path

LAYER = Path(__file__).parents[3] / "layers" / "common"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)")


def pins(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


LOCK = (LAYER / "requirements.txt").read_text(encoding="utf-8")
DIRECT = (LAYER / "requirements.in").read_text(encoding="utf-8")


def test_every_direct_dependency_is_locked_at_the_version_the_tests_use() -> None:
    locked = pins(LOCK)
    assert {name: locked.get(name) for name in pins(DIRECT)} == pins(DIRECT)


def test_every_locked_package_is_pinned_exactly_and_hashed() -> None:
    requirements = [block for block in re.split(r"\n(?=\S)", LOCK) if block.strip() and not block.startswith("#")]
    assert requirements
    for block in requirements:
        assert PIN.match(block), f"not pinned with ==: {block.splitlines()[0]}"
        assert "--hash=sha256:" in block, f"no hash: {block.splitlines()[0]}"


def test_the_lock_names_no_index_of_this_machine() -> None:
    assert not re.search(r"^--(extra-)?index-url|^--find-links", LOCK, flags=re.MULTILINE)


def test_the_lock_leaves_boto3_to_the_lambda_runtime() -> None:
    assert not {"boto3", "botocore"} & set(pins(LOCK))
