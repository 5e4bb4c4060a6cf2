"""Who is who: PM, backup, admins, stakeholders, out-of-office, the invite import and PagerDuty on-call."""
