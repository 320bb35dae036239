"""SendGrid: e-mail out, Inbound Parse and the Event Webhook in (see providers/__init__.py)."""
