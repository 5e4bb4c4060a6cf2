"""The stakeholder email: requests, the playbook template, and the SES sender."""
