"""What every domain stands on: the clock, the playbook calendar, settings, time formatting, Jinja rendering."""
