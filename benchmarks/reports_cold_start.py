"""What the reports function's cold start costs, and what drawing its first chart costs on top.

The reports function carries the charts layer (matplotlib); no other function does, so this is the one cold
start that pays for plotting. Each sample is a fresh interpreter with the layers' code on PYTHONPATH, timed
from inside, against the same baseline as cold_init.py (`import boto3; boto3.client("dynamodb")`):

- init: load functions/reports/app.py as the Lambda runtime does (the handler imports no plotting code);
- first chart, new container: import the weekly job (matplotlib with it) and draw a week's chart, with an
  empty MPLCONFIGDIR, so matplotlib builds its font cache as it does in a new Lambda container (/tmp is empty);
- first chart, cache kept: the same in an interpreter whose MPLCONFIGDIR already holds the cache (a new
  interpreter in a container that has run before, or a later cold start on the same /tmp).

    .venv/bin/python benchmarks/reports_cold_start.py [--samples 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import time, json, sys
start = time.perf_counter()
if sys.argv[1] == "baseline":
    import boto3
    boto3.client("dynamodb")
    print(json.dumps({"ms": (time.perf_counter() - start) * 1000}))
    raise SystemExit
import importlib.util
spec = importlib.util.spec_from_file_location("reports_app", "functions/reports/app.py")
module = importlib.util.module_from_spec(spec)
sys.modules["reports_app"] = module
spec.loader.exec_module(module)
init = time.perf_counter()
from datetime import date, datetime, UTC
from prodsupport.reports import charts, weekly
from prodsupport.reports.history import AckBar, WeekPoint
from prodsupport.incident.model import Sla
from prodsupport.sla.compliance import Outcome
bars = [AckBar("INC-2026-0001", 20.0, 15.0, Outcome.LATE)]
trend = tuple(WeekPoint(date(2026, 9, 7), {Sla.SLACK_ACK: 100.0}) for _ in range(12))
png = charts.compliance_png("Playbook compliance", bars, trend)
done = time.perf_counter()
print(json.dumps({"init_ms": (init - start) * 1000, "chart_ms": (done - init) * 1000, "bytes": len(png)}))
"""


def probe(mode: str, config_dir: str) -> dict[str, float]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "layers" / "common"),
        "MPLCONFIGDIR": config_dir,
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "prodsupport",
        "POWERTOOLS_METRICS_NAMESPACE": "Prodsupport/bench",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=7)
    samples = max(3, parser.parse_args().samples)
    baseline, init, new_container, kept = [], [], [], []
    with tempfile.TemporaryDirectory() as warm:
        probe("reports", warm)  # warm-up: .pyc files exist, and `warm` holds the font cache
        for _ in range(samples):
            baseline.append(probe("baseline", warm)["ms"])
            with tempfile.TemporaryDirectory() as empty:
                fresh = probe("reports", empty)
            init.append(fresh["init_ms"])
            new_container.append(fresh["chart_ms"])
            kept.append(probe("reports", warm)["chart_ms"])
            png_bytes = fresh["bytes"]
    median = statistics.median
    print(f"reports function, fresh interpreter, median of {samples} interleaved samples, ms")
    print(f"  baseline import boto3; boto3.client('dynamodb')   {median(baseline):7.0f}")
    ratio = median(init) / median(baseline)
    print(f"  init (handler module loaded)                      {median(init):7.0f}  {ratio:.2f}x baseline")
    print(f"  first chart, new container (font cache built)     {median(new_container):7.0f}")
    print(f"  first chart, font cache kept                      {median(kept):7.0f}")
    print(f"  chart size                                        {png_bytes:7d} bytes")


if __name__ == "__main__":
    main()
