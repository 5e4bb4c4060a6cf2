"""What the table-reading subcommands share: the `--table` option, a runtime on it, one incident by id, and
the `--at`/`--as-of` instant.

They read through boto3 with the deployment's PRODSUPPORT_* settings; AWS_ENDPOINT_URL points them at a
local emulation (`prodsupport run` prints its endpoint and table).
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime

from prodsupport.core.clock import system_clock
from prodsupport.core.settings import PREFIX, Settings, SettingsError
from prodsupport.core.timefmt import parse_iso
from prodsupport.incident.model import Incident
from prodsupport.runtime import Runtime


class CliError(Exception):
    """A refusal the command prints on stderr, with the exit code it ends with (2 usage, 1 cannot read)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def instant(text: str) -> datetime:
    """An argparse type: an ISO 8601 instant with its zone."""
    try:
        return parse_iso(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not ISO 8601 with a zone, like 2026-11-30T14:00:00Z") from None


def add_table_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table",
        default=os.environ.get(f"{PREFIX}TABLE_NAME", ""),
        help=f"the incidents table (default: ${PREFIX}TABLE_NAME)",
    )


def table_runtime(table: str) -> Runtime:
    """The deployment's settings from the environment, with the table given on the command line."""
    if not table:
        raise CliError(f"no table: pass --table NAME or set {PREFIX}TABLE_NAME", 2)
    env = {**os.environ, f"{PREFIX}TABLE_NAME": table}
    env.setdefault(f"{PREFIX}CHANNEL_ID", "-")
    try:
        return Runtime(Settings.from_env(env), system_clock)
    except SettingsError as exc:
        raise CliError(str(exc), 2) from None


def load_incident(table: str, incident_id: str) -> tuple[Runtime, Incident]:
    from botocore.exceptions import BotoCoreError, ClientError

    rt = table_runtime(table)
    try:
        incident = rt.store.get_by_id(incident_id.upper())
    except (BotoCoreError, ClientError) as exc:
        raise CliError(f"cannot read table {table}: {exc}", 1) from None
    if incident is None:
        raise CliError(f"there is no incident {incident_id} in table {table}", 1)
    return rt, incident
