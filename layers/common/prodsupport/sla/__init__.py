"""The SLA checker: reminders and breaches of every clock, and the compliance report."""
