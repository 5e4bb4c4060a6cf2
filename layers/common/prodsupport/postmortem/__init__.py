"""Post-mortems: drafting, business-day deadlines, scheduling and sharing."""
