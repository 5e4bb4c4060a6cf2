"""The inbound Slack surface: request parsing, the command grammar, events and their dispatch."""
