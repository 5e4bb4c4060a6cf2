"""The App Home tab: `app_home_opened` on the home tab publishes that person's home (`views.publish`).

Slack sends the event each time someone opens the tab, so the view is rebuilt from the table then: it is only
ever as old as the person's last look. Its buttons are the card's and the post-mortem's own action ids, so they
reach the same handlers through the router, with the same membership check, as on the card.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from prodsupport.slack.router import Router

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

# Post-mortems and action items are looked for among incidents opened this long ago or later (and every open one):
# a post-mortem is shared within ten business days, and an action item older than this is the weekly report's.
LOOKBACK = timedelta(days=90)
RELEASE_WINDOW = timedelta(weeks=4)

logger = Logger(child=True)


def _home_opened(rt: Runtime, event: dict[str, Any]) -> None:
    from prodsupport.release.model import ReleaseStatus
    from prodsupport.release.store import ReleaseStore
    from prodsupport.roster.oncall import oncall_user
    from prodsupport.sla import compliance
    from prodsupport.slack.home import HomeData, home_view, no_team_view

    user = str(event.get("user") or "")
    if event.get("tab") != "home" or not user:
        return
    teams = viewer_teams(rt, user)
    if not teams:
        rt.slack.views_publish(user_id=user, view=no_team_view())
        return
    rt = teams[0]  # the first team's zone, calendar and on-call head the page
    ids = {team.team_id for team in teams}
    now = rt.clock()
    calendar = rt.policy.calendar
    open_incidents = sorted(
        (incident for incident in rt.store.open_incidents() if incident.team in ids),
        key=lambda incident: incident.opened_at,
    )
    lately = [i for i in rt.store.opened_between(now - LOOKBACK, now + timedelta(seconds=1)) if i.team in ids]
    recent = {incident.id: incident for incident in [*lately, *open_incidents]}
    today = calendar.local(now).date()
    last_day = calendar.local(now + RELEASE_WINDOW).date()
    releases = sorted(
        (
            release
            for team in teams
            for release in ReleaseStore(rt.table, team.team_id).dated(today, last_day)
            if release.status is ReleaseStatus.SCHEDULED
        ),
        key=lambda release: (release.date, release.id),
    )
    start, end = compliance.reported_week(now, calendar)
    data = HomeData(
        user=user,
        oncall=oncall_user(rt, now),
        now=now,
        open_incidents=open_incidents,
        recent=sorted(recent.values(), key=lambda incident: incident.opened_at),
        releases=releases,
        last_week=compliance.build(recent.values(), start, end, now, rt.zone),
    )
    rt.slack.views_publish(user_id=user, view=home_view(data, rt.zone))


def viewer_teams(rt: Runtime, user: str) -> list[Runtime]:
    """The teams whose incident channel the person is in (Slack's member list, cached), the default team
    first; none for someone in no team's channel. A single-team deployment shows everyone its home. A
    channel Slack will not list (archived, the bot removed) leaves that team out, not the whole home."""
    from slack_sdk.errors import SlackApiError

    if not rt.several_teams:
        return [rt]
    mine: list[Runtime] = []
    for team_id, view in rt.all_teams():
        if isinstance(view, Exception):
            continue
        try:
            if rt.channel_members.includes(view.settings.channel_id, user):
                mine.append(view)
        except SlackApiError as exc:
            logger.warning("a team's channel members could not be read", team=team_id, error=exc.response.get("error"))
    return mine


def register_events(router: Router) -> None:
    router.event("app_home_opened", _home_opened, personal=True)
