"""`prodsupport email preview INC-…` and `prodsupport stakeholders import invite.ics`.

The preview renders the stakeholder email exactly as `/incident <id> email` would send it now, from the
incident in the table, so the PM can review the wording before anyone receives it. The import reads the
weekly sync's calendar invite and adds its organizer and attendees to the stakeholder list (`--dry-run`
only prints them). Both read the table through boto3: set AWS_ENDPOINT_URL to use a local emulation
(`prodsupport run` prints its endpoint and table), and the PRODSUPPORT_* settings of the deployment.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from prodsupport_local.cli.table import CliError, add_table_argument, instant, load_incident, table_runtime

PARTS = ("both", "text", "html")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    email = subparsers.add_parser("email", help="the stakeholder email: preview it before sending")
    email_commands = email.add_subparsers(dest="email_command", required=True, metavar="SUBCOMMAND")
    preview = email_commands.add_parser(
        "preview", help="render an incident's stakeholder email (text and HTML) without sending it"
    )
    preview.add_argument("incident_id", metavar="INC-YYYY-NNNN")
    preview.add_argument("--part", choices=PARTS, default="both", help="which body to print (default: both)")
    preview.add_argument("--html-out", type=Path, metavar="FILE", help="also write the HTML body to FILE")
    preview.add_argument(
        "--at", type=instant, default=None, metavar="ISO", help="render as if sent at this instant (default: now)"
    )
    add_table_argument(preview)
    preview.set_defaults(func=preview_main)

    stakeholders = subparsers.add_parser("stakeholders", help="the stakeholder list (the weekly-sync invite list)")
    stakeholder_commands = stakeholders.add_subparsers(dest="stakeholders_command", required=True, metavar="SUBCOMMAND")
    imports = stakeholder_commands.add_parser(
        "import", help="add the organizer and attendees of the weekly sync's .ics invite to the stakeholder list"
    )
    imports.add_argument("invite", type=Path, metavar="INVITE.ics")
    imports.add_argument("--dry-run", action="store_true", help="print the addresses; change nothing")
    add_table_argument(imports)
    imports.set_defaults(func=import_main)


def preview_main(args: argparse.Namespace) -> int:
    """Exit 0 with the email on stdout, 2 for bad arguments or settings, 1 when it cannot be read."""

    from prodsupport.email.stakeholder import render

    try:
        rt, incident = load_incident(args.table, args.incident_id)
    except CliError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    email = render(incident, args.at or datetime.now(UTC), rt.zone, rt.settings.email_subject)
    roster = rt.roster.load()
    print(f"Subject: {email.subject}")
    print(f"To: {', '.join(roster.stakeholders) or '(the stakeholder list is empty: nothing would be sent)'}")
    if args.part in ("both", "text"):
        print(f"\n{email.text}", end="")
    if args.part in ("both", "html"):
        print(f"\n{email.html}", end="")
    if args.html_out:
        args.html_out.write_text(email.html, encoding="utf-8")
    return 0


def import_main(args: argparse.Namespace) -> int:
    """Exit 0 with what was imported, 2 for an unreadable invite or bad settings, 1 when the table fails."""
    from botocore.exceptions import BotoCoreError, ClientError

    from prodsupport.core.errors import UserError
    from prodsupport.email.flows import import_invite
    from prodsupport.roster.invite import InviteError, addresses

    try:
        data = args.invite.read_bytes()
        found = addresses(data)
    except OSError as exc:
        print(f"{args.invite}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except InviteError as exc:
        print(f"{args.invite}: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print("\n".join(found))
        return 0
    try:
        _, added, total = import_invite(table_runtime(args.table), data)
    except CliError as exc:
        print(f"{exc} (or use --dry-run)" if not args.table else exc, file=sys.stderr)
        return exc.exit_code
    except (BotoCoreError, ClientError, UserError) as exc:
        print(f"cannot update the stakeholder list in {args.table}: {exc}", file=sys.stderr)
        return 1
    print(f"{len(found)} address(es) on the invite, {len(added)} new; the stakeholder list now has {total}.")
    for address in added:
        print(f"+ {address}")
    return 0
