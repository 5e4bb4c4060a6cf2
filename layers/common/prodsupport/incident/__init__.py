"""Incidents: the model and its transitions, the SLA policy, the store, the card and its use cases."""
