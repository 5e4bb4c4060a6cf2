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


def test_us_holidays_are_the_same_with_only_the_en_us_translations_the_layer_keeps(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    import holidays

    trimmed = tmp_path / "holidays"
    shutil.copytree(Path(holidays.__file__).parent, trimmed)
    for locale in (trimmed / "locale").iterdir():
        if locale.name != "en_US":
            shutil.rmtree(locale)
    script = (
        "import holidays, json; from holidays.constants import GOVERNMENT, PUBLIC; "
        "print(json.dumps({str(d): n for d, n in sorted(holidays.country_holidays("
        "'US', years=(2026, 2027), categories=(PUBLIC, GOVERNMENT)).items())}))"
    )
    trimmed_first = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {script}"

    full = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, check=True)  # noqa: S603
    kept = subprocess.run([sys.executable, "-I", "-c", trimmed_first], capture_output=True, text=True, check=True)  # noqa: S603

    assert kept.stdout == full.stdout
    assert "Thanksgiving" in kept.stdout
