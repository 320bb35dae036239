"""Each provider's vocabulary in one place: how Blanco sends through it, what its webhooks
post, and what its codes and statuses mean.

- `providers/twilio/`: SMS and WhatsApp — `messaging.py` (sending), `webhooks.py` (an inbound
  message's fields), `callbacks.py` (status callbacks), `errors.py` (the error-code table);
- `providers/sendgrid/`: e-mail — `mail.py` (sending), `webhooks.py` (Inbound Parse),
  `events.py` (the Event Webhook);
- `platform_chat.py` (a dealer platform's chat) and `outbox.py` (the embedded default: one
  JSON line per message), with `base.py`, what every sender shares.

The activities send through these, the API reads the webhooks with them; they import only
`leads/` and `contracts/`.
"""
