"""PagerDuty: webhook parsing and signatures, incident links, lifecycle events and messages."""
