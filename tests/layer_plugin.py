"""pytest plugin of `make test-layer`: the suite runs against the built layer, as Lambda's /opt/python.

The layer's directory is first on sys.path (pytest's `pythonpath` and PYTHONPATH, so spawned processes inherit
it), and at the end this plugin fails the run if any module of a package the layer ships was imported from
anywhere else, so a pruned module shows up as a failure instead of being quietly found in the dev venv.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

LAYER = Path(os.environ["PRODSUPPORT_LAYER_UNDER_TEST"]).resolve()


def _shipped_top_level_names() -> set[str]:
    return {entry.name.removesuffix(".py") for entry in LAYER.iterdir() if not entry.name.endswith(".dist-info")}


def _imported_from_elsewhere() -> list[str]:
    shipped = _shipped_top_level_names()
    strays = []
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if name.partition(".")[0] in shipped and origin and not Path(origin).resolve().is_relative_to(LAYER):
            strays.append(f"{name} from {origin}")
    return sorted(strays)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import prodsupport

    strays = _imported_from_elsewhere()
    if not Path(prodsupport.__file__).resolve().is_relative_to(LAYER):
        strays.append(f"prodsupport itself from {prodsupport.__file__}")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"layer under test: {LAYER} ({len(_shipped_top_level_names())} top-level names)")
        for stray in strays:
            reporter.write_line(f"NOT FROM THE LAYER: {stray}", red=True)
    if strays:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
