"""prodsupport: the Check-In Experience production-support playbook as software.

The package is the Lambda layer shared by every function. Modules are kept import-light on purpose: a
handler pays at cold start for what it imports, so heavy dependencies (Jinja2, holidays, icalendar) are
imported inside the functions that use them.
"""
