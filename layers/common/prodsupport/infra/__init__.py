"""Adapters to the outside world (DynamoDB, Slack Web API, delivery dedupe) and the per-container runtime."""
