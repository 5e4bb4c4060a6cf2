"""`prodsupport postmortem draft INC-…`: the post-mortem draft, rendered now from the incident in the table.

The same Markdown the bot uploads to the thread on resolve, with whatever the incident has learned since
(a summary set after the fact, a late PagerDuty link), so the author can start from it locally. It reads the
table through boto3: set AWS_ENDPOINT_URL to use a local emulation (`prodsupport run` prints its endpoint
and table), and the PRODSUPPORT_* settings of the deployment.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from prodsupport.clock import system_clock
from prodsupport.runtime import Runtime
from prodsupport.settings import PREFIX, Settings, SettingsError


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
    draft.add_argument(
        "--table",
        default=os.environ.get(f"{PREFIX}TABLE_NAME", ""),
        help=f"the incidents table (default: ${PREFIX}TABLE_NAME)",
    )
    draft.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Exit 0 with the draft, 2 for bad arguments or settings, 1 when the incident cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    from prodsupport.postmortem import render_draft, thread_reference

    if not args.table:
        print(f"no table: pass --table NAME or set {PREFIX}TABLE_NAME", file=sys.stderr)
        return 2
    try:
        env = {**os.environ, f"{PREFIX}TABLE_NAME": args.table}
        env.setdefault(f"{PREFIX}CHANNEL_ID", "-")
        rt = Runtime(Settings.from_env(env), system_clock)
        incident = rt.store.get_by_id(args.incident_id.upper())
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"cannot read table {args.table}: {exc}", file=sys.stderr)
        return 1
    if incident is None:
        print(f"there is no incident {args.incident_id} in table {args.table}", file=sys.stderr)
        return 1
    link = args.thread_link or thread_reference(incident)
    draft = render_draft(incident, rt.policy.calendar, thread_link=link)
    if args.out:
        args.out.write_text(draft, encoding="utf-8")
    else:
        sys.stdout.write(draft)
    return 0
