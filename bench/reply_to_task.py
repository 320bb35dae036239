"""Reply → engaged and → listed task, over HTTP, against a running stack (acceptance 4).

    TWILIO_AUTH_TOKEN=demo-twilio-token make run           # terminal 1
    .venv/bin/python bench/reply_to_task.py --leads 20     # terminal 2

Each round posts a signed lead (SMS preferred) through the API, waits for its first touch,
then posts a Twilio-signed inbound SMS from the customer's number and polls the salesperson
API until the lead is `engaged` and its reply task is in `GET /v1/tasks`. Figures include the
polling (every 10 ms), so they are an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook
from twilio.request_validator import RequestValidator

DEMO_SECRET = "whsec_ZGVtby1zZWNyZXQtb25seS1mb3ItbG9jYWwtZGV2"  # blanco.toml's demo dealer
DEMO_NUMBER = "+3197010000000"
JAN = {"Authorization": "Bearer jan-demo-token"}


async def post_sms_lead(
    http: httpx.AsyncClient, phone: str, dealer: str = "autohuis-west", secret: str = DEMO_SECRET
) -> str:
    """A test-drive lead that prefers SMS, signed as a dealer platform signs it: its lead id."""
    lead = {
        "source": "website",
        "external_id": f"bench-{uuid.uuid4().hex[:10]}",
        "kind": "test_drive",
        "customer": {"name": "Bench", "phone": phone, "preferred_channel": "sms"},
    }
    body = json.dumps(lead)
    msg_id, at = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
        "content-type": "application/json",
    }
    answer = await http.post(f"/v1/dealers/{dealer}/leads", content=body, headers=headers)
    answer.raise_for_status()
    lead_id: str = answer.json()["lead_id"]
    return lead_id


async def signed_lead(http: httpx.AsyncClient, phone: str) -> str:
    lead_id = await post_sms_lead(http, phone)
    while not (await http.get(f"/v1/leads/{lead_id}", headers=JAN)).json().get("touches"):
        await asyncio.sleep(0.05)  # polling a running stack for the first touch
    return lead_id


async def one_round(http: httpx.AsyncClient, base: str, token: str) -> tuple[float, float]:
    phone = f"+3161{uuid.uuid4().int % 10**7:07d}"
    lead_id = await signed_lead(http, phone)
    params = {
        "From": phone,
        "To": DEMO_NUMBER,
        "Body": "Ja graag",
        "MessageSid": f"SM{uuid.uuid4().hex}",
    }
    path = "/v1/inbound/twilio/messages"
    signature = RequestValidator(token).compute_signature(base + path, params)
    start = time.perf_counter()
    sent = await http.post(path, data=params, headers={"X-Twilio-Signature": signature})
    sent.raise_for_status()
    engaged: float | None = None
    listed: float | None = None
    while engaged is None or listed is None:
        # Each time taken when the answer is back: an upper bound, never an underestimate.
        if engaged is None:
            state = (await http.get(f"/v1/leads/{lead_id}", headers=JAN)).json()
            if state["status"] == "engaged":
                engaged = time.perf_counter() - start
        if listed is None:
            tasks = (await http.get("/v1/tasks", headers=JAN)).json()["tasks"]
            if any(t["lead_id"] == lead_id for t in tasks):
                listed = time.perf_counter() - start
        await asyncio.sleep(0.01)
    return engaged * 1000, listed * 1000


async def run(leads: int, base: str, token: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        rounds = [await one_round(http, base, token) for _ in range(leads)]
    for index, name in enumerate(("reply → engaged", "reply → task listed")):
        values = sorted(r[index] for r in rounds)
        print(
            f"{name:22} p50 {statistics.median(values):5.0f} ms   "
            f"max {values[-1]:5.0f} ms   (n={len(values)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20)
    parser.add_argument("--base-url", default="http://localhost:8000")
    parser.add_argument("--twilio-token", default="demo-twilio-token")
    args = parser.parse_args()
    asyncio.run(run(args.leads, args.base_url, args.twilio_token))


if __name__ == "__main__":
    main()
