"""`prodsupport postmortem draft INC-…`: the post-mortem draft, rendered now from the incident in the table.

The same Markdown the bot uploads to the thread on resolve, with whatever the incident has learned since
(a summary set after the fact, a late PagerDuty link), so the author can start from it locally. It reads the
table through boto3: set AWS_ENDPOINT_URL to use a local emulation (`prodsupport run` prints its endpoint
and table), and the PRODSUPPORT_* settings of the deployment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prodsupport_local.cli.table import CliError, add_table_argument, load_incident


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    postmortem = subparsers.add_parser("postmortem", help="the post-mortem: print an incident's draft")
    commands = postmortem.add_subparsers(dest="postmortem_command", required=True, metavar="SUBCOMMAND")
    draft = commands.add_parser("draft", help="render an incident's post-mortem draft (Markdown) from the table")
    draft.add_argument("incident_id", metavar="INC-YYYY-NNNN")
    draft.add_argument(
        "--thread-link",
        default="",
        metavar="URL",
        help="the Slack thread's permalink to put under Documentation links (default: channel and ts)",
    )
    draft.add_argument("--out", type=Path, metavar="FILE", help="write the draft to FILE instead of stdout")
    add_table_argument(draft)
    draft.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Exit 0 with the draft, 2 for bad arguments or settings, 1 when the incident cannot be read."""
    from prodsupport.postmortem.model import render_draft, thread_reference

    try:
        rt, incident = load_incident(args.table, args.incident_id)
    except CliError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    link = args.thread_link or thread_reference(incident)
    draft = render_draft(incident, rt.policy.calendar, thread_link=link)
    if args.out:
        args.out.write_text(draft, encoding="utf-8")
    else:
        sys.stdout.write(draft)
    return 0
