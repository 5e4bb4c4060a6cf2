"""What the GitHub path adds to a cold start: the import of `prodsupport.postmortem.github_pr`, timed in a fresh
interpreter after everything a resolve already loads (the Slack function, the flows, boto3 and botocore's urllib3).

    .venv/bin/python benchmarks/github_import.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import sys, time
sys.path[:0] = [{layer!r}, {function!r}]
import app
import boto3, botocore.httpsession
from prodsupport.incident import flows as incident_flow
from prodsupport.postmortem import flows as postmortem_flow
from prodsupport.incident import store
start = time.perf_counter()
import prodsupport.postmortem.github_pr
print((time.perf_counter() - start) * 1000)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    code = PROBE.format(layer=str(ROOT / "layers/common"), function=str(ROOT / "functions/slack_events"))
    samples = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(runs)
    ]
    print(f"GitHub path import on top of a resolve: median {statistics.median(samples):.1f} ms over {runs} runs")


if __name__ == "__main__":
    main()
