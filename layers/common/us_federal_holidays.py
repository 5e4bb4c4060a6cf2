"""Writes prodsupport/core/us_federal_holidays.json, the US federal holidays the playbook calendar reads.

The `holidays` package computes them; it runs here, at development time, and not in Lambda, because loading it
costs ~65 ms on the first business-hours decision (its package imports every country's module) and ~4 MB of the
layer. tests/unit/core/test_us_federal_holidays.py fails whenever the committed table and the pinned `holidays`
disagree, so upgrading `holidays` means running `make holidays-table`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import holidays
from holidays.constants import GOVERNMENT, PUBLIC

FIRST_YEAR = 2000
LAST_YEAR = 2099
TABLE = Path(__file__).parent / "prodsupport" / "core" / "us_federal_holidays.json"


def table(first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> dict[str, dict[str, str]]:
    """{year: {"MM-DD": name}}: each year with the days falling in it, observed days included.

    The following year is loaded too, because an observed day can land in the year before its holiday
    (Fri 2027-12-31 is New Year's Day 2028 observed).
    """
    loaded = holidays.country_holidays("US", years=range(first_year, last_year + 2), categories=(PUBLIC, GOVERNMENT))
    years: dict[str, dict[str, str]] = {str(year): {} for year in range(first_year, last_year + 1)}
    for day, name in sorted(loaded.items()):
        if first_year <= day.year <= last_year:
            years[str(day.year)][day.strftime("%m-%d")] = name
    return years


def render() -> str:
    return json.dumps(table(), indent=0, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    TABLE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {TABLE} ({FIRST_YEAR}-{LAST_YEAR})\n")
