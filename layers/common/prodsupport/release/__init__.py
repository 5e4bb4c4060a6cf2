"""Releases: announcements, the weekly-sync digest and the release-day email."""
