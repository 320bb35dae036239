"""Blanco's HTTP API (docs/api.md): the front door for dealer platforms, Twilio,
SendGrid and salespeople. It talks only to Temporal and keeps no state of its own."""
