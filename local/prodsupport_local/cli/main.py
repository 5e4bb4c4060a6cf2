"""`prodsupport`: the local command line. Each subcommand lives in its own module with a `register`.

To add one (report, stakeholders import, email preview, ...): write a module with
`register(subparsers)` that adds its parser and sets `func=main` (a function taking the parsed arguments
and returning the exit status), and list the module in COMMANDS.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from types import ModuleType

from prodsupport_local.cli import email, postmortem, report, smoke
from prodsupport_local.emulator import replay, server

COMMANDS: tuple[ModuleType, ...] = (replay, server, report, email, postmortem, smoke)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prodsupport", description="prodsupport on this machine")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status
