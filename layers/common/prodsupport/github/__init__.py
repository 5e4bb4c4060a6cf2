"""GitHub's REST API (`client`) and the values the app keeps of its pull requests and issues (`model`).

The post-mortem's GitHub work (the pull request with the report, action items as issues, the webhooks back)
is the post-mortem domain's: `postmortem/github_*.py`. This package imports no domain, so the incident's
record can hold a pull request without importing the post-mortem.
"""
