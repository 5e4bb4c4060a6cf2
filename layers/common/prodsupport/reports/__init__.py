"""Reports people look at: the weekly compliance report with its chart, the HTML page, the monthly outlook.

Its own package because it is the only one that draws (matplotlib, from the charts layer): the Slack,
PagerDuty, email and SLA-checker functions never load it, so their cold start does not pay for plotting.
"""
