"""Twilio: SMS and WhatsApp (see providers/__init__.py)."""
