"""Blanco's HTTP API (DESIGN §4, "HTTP API"): the front door for dealer platforms, Twilio,
SendGrid and salespeople. It talks only to Temporal and keeps no state of its own."""
