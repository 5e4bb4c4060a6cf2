"""`prodsupport report`: the playbook compliance report for any period, read from the incidents table.

The same report the weekly job posts to the channel, for the incidents opened in [--from, --to) (ET
midnights; --to is exclusive, so a Monday-to-Monday range is one week). It reads the table through boto3:
set AWS_ENDPOINT_URL to read a local emulation instead of AWS. `--format html` writes one self-contained
page with the weekly post's chart (the trend over the 12 weeks before --to) and the same tables. With several
teams (`PRODSUPPORT_TEAMS`), `--team ID` reports one team's incidents in its zone; without it, every team's.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta

from prodsupport.core.settings import TeamUnavailable
from prodsupport.sla import compliance
from prodsupport_local.cli.table import CliError, add_table_argument, instant, table_runtime

HTML = "html"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; expected YYYY-MM-DD") from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="print the playbook compliance report for a period (md, csv or json)",
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
    )
    parser.add_argument(
        "--from", dest="start", type=_day, required=True, metavar="DATE", help="first day, YYYY-MM-DD (ET)"
    )
    parser.add_argument(
        "--to", dest="stop", type=_day, required=True, metavar="DATE", help="day after the last, YYYY-MM-DD (ET)"
    )
    parser.add_argument("--format", choices=(*compliance.FORMATS, HTML), default="md", help="default: md")
    add_table_argument(parser)
    parser.add_argument(
        "--team",
        default=None,
        metavar="ID",
        help="only this team's incidents, days in its zone (`default`: the top-level team)",
    )
    parser.add_argument(
        "--as-of",
        type=instant,
        default=None,
        metavar="ISO",
        help="judge clocks still running as of this instant (default: now), e.g. to reproduce a weekly post",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Exit 0 with the report on stdout, 2 for bad arguments, 1 when the table cannot be read."""
    if args.stop <= args.start:
        print(f"--to ({args.stop}) must be after --from ({args.start}); --to is exclusive", file=sys.stderr)
        return 2
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        rt = table_runtime(args.table)
        if args.team is not None:
            rt = rt.for_team(args.team)
    except CliError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    except TeamUnavailable as exc:
        print(f"--team: {exc}", file=sys.stderr)
        return 2
    calendar = rt.policy.calendar
    start, end = compliance.local_days(calendar, args.start, args.stop)
    as_of = args.as_of or datetime.now(UTC)
    if args.format == HTML:
        from prodsupport.reports import history, page  # matplotlib: loaded only for the page

        last_week = args.stop - timedelta(weeks=1)
        start = min(start, compliance.local_days(calendar, history.history_start(last_week), args.stop)[0])
    try:
        incidents = rt.store.opened_between(start, end)
        if args.team is not None:
            incidents = [incident for incident in incidents if incident.team == rt.team_id]
    except (BotoCoreError, ClientError) as exc:
        print(f"cannot read table {args.table}: {exc}", file=sys.stderr)
        return 1
    report = compliance.build(incidents, *compliance.local_days(calendar, args.start, args.stop), as_of, rt.zone)
    if args.format == HTML:
        trend = history.weekly_history(incidents, last_week, calendar, as_of)
        sys.stdout.write(page.render_html(report, trend))
    else:
        sys.stdout.write(compliance.render(report, args.format))
    return 0
