"""Post-mortems in GitHub: the pull request with the report, action items as issues, and the webhooks back.

Nothing here imports the flows; the flows call in. The REST client is imported only on these paths, so the
cold start of a function that never talks to GitHub does not pay for it.
"""
