"""End to end on the real dev server: `worker.py` and `starter.py` as subprocesses, exactly as
an operator runs them, and the `temporal` CLI for signals, updates and the query (the names
of docs/temporal-interface.md)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from processes import stop
from tests.conftest import DEV_SERVER, eventually
from tests.ports import free_port
from tests.prometheus import samples, value

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = "e2e-operator-token"


def wait_for_http(url: str, deadline: float = 30.0) -> None:
    """Poll until the process answers (a start-up, before any test runs)."""
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {deadline}s")


pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    address: str
    env: dict[str, str]
    outbox: Path
    api: str  # the API's base URL (its codec endpoint decodes for the CLI)

    @property
    def worker_metrics(self) -> str:
        return f"http://{self.env['BLANCO_WORKER_METRICS']}/metrics"

    def starter(self, lead: dict[str, Any], tmp: Path) -> dict[str, Any]:
        path = tmp / f"{lead['external_id']}.json"
        path.write_text(json.dumps(lead))
        (result,) = self.start_file(path)
        return result

    def start_file(self, path: Path) -> list[dict[str, Any]]:
        """`starter.py lead FILE` as an operator runs it: one JSON object per lead."""
        done = subprocess.run(
            [sys.executable, "starter.py", "lead", str(path)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The `temporal` CLI, decoding payloads through the API's codec endpoint."""
        codec = ["--codec-endpoint", f"{self.api}/v1/codec", "--codec-auth", f"Bearer {OPERATOR}"]
        return subprocess.run(
            [str(DEV_SERVER), *args, "--address", self.address, *codec],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    def lines(self) -> list[dict[str, Any]]:
        if not self.outbox.exists():
            return []
        return [json.loads(line) for line in self.outbox.read_text().splitlines()]


@pytest.fixture
def stack(dev_env: WorkflowEnvironment, tmp_path: Path) -> Iterator[Stack]:
    address = dev_env.client.service_client.config.target_host
    config = (
        (ROOT / "blanco.toml")
        .read_text()
        .replace('task_queue = "leads"', f'task_queue = "e2e-{tmp_path.name}"')
    )
    (tmp_path / "blanco.toml").write_text(config)
    env = {
        **os.environ,
        "BLANCO_CONFIG": str(tmp_path / "blanco.toml"),
        "TEMPORAL_ADDRESS": address,
        "BLANCO_OUTBOX": str(tmp_path / "outbox.jsonl"),
        "BLANCO_OPERATOR_TOKEN": OPERATOR,
        "BLANCO_WORKER_METRICS": f"127.0.0.1:{free_port()}",
    }
    for key in ("SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        env.pop(key, None)
    worker = subprocess.Popen(
        [sys.executable, "worker.py"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    port = free_port()
    api = subprocess.Popen(
        [sys.executable, "-m", "api", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz")
        yield Stack(address, env, tmp_path / "outbox.jsonl", base)
    finally:
        stop([worker, api])


LEAD = {
    "dealer_id": "autohuis-west",
    "source": "marktplaats",
    "external_id": "mp-1",
    "kind": "offer",
    "customer": {"name": "Pieter", "email": "pieter.e2e@example.nl", "phone": "0000000000"},
    "vehicle": {"make": "Volkswagen", "model": "Golf"},
    "offer_amount": 9500,
}
OTHER = {
    "dealer_id": "autohuis-west",
    "source": "website",
    "external_id": "web-2",
    "kind": "test_drive",
    "customer": {"name": "Sanne", "phone": "06 2849 1735", "preferred_channel": "whatsapp"},
}


async def test_two_leads_answered_then_a_cli_reply_engages(stack: Stack, tmp_path: Path) -> None:
    first = stack.starter(LEAD, tmp_path)
    second = stack.starter(OTHER, tmp_path)
    assert first["duplicate"] is False and second["duplicate"] is False
    assert first["lead_id"].startswith("lead-autohuis-west-") and first != second
    for personal in ("pieter", "example", "0000000000", "2849"):
        assert personal not in first["lead_id"] + second["lead_id"]

    lines = await eventually(
        lambda: asyncio.to_thread(stack.lines), lambda found: len(found) >= 2, deadline=20
    )
    channels = {line["lead_id"]: line["channel"] for line in lines}
    assert channels == {first["lead_id"]: "email", second["lead_id"]: "whatsapp"}

    again = stack.starter({**LEAD, "external_id": "mp-1"}, tmp_path)
    assert again == {"lead_id": first["lead_id"], "duplicate": True}
    other_portal = stack.starter(
        {**LEAD, "source": "autoscout24", "external_id": "as-9", "kind": "test_drive"}, tmp_path
    )
    assert other_portal == {"lead_id": first["lead_id"], "duplicate": True}

    refused = stack.cli(
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        first["lead_id"],
        "--name",
        "record_outcome",
        "--input",
        '{"outcome": "unreachable"}',
    )
    assert refused.returncode != 0 and "1 of 8 touches done" in refused.stdout + refused.stderr

    signalled = stack.cli(
        "workflow",
        "signal",
        "--workflow-id",
        first["lead_id"],
        "--name",
        "customer_replied",
        "--input",
        '{"channel": "email", "text": "Is hij er nog?"}',
    )
    assert signalled.returncode == 0, signalled.stderr

    def query() -> dict[str, Any]:
        done = stack.cli(
            "workflow",
            "query",
            "--workflow-id",
            first["lead_id"],
            "--name",
            "state",
            "--output",
            "json",
        )
        assert done.returncode == 0, done.stderr
        answer: dict[str, Any] = json.loads(done.stdout)
        state: dict[str, Any] = answer["queryResult"][0]
        return state

    state = await eventually(
        lambda: asyncio.to_thread(query), lambda s: s["status"] == "engaged", deadline=20
    )
    assert state["open_task_id"] == f"task-{first['lead_id']}-1"
    assert [i["source"] for i in state["inquiries"]] == ["marktplaats", "autoscout24"]

    paused = stack.cli(
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        second["lead_id"],
        "--name",
        "pause",
        "--input",
        "{}",
    )
    assert paused.returncode == 0, paused.stderr
    assert len([x for x in stack.lines() if x["lead_id"] == first["lead_id"]]) == 1


async def test_starter_reads_adf_with_several_prospects(stack: Stack) -> None:
    results = stack.start_file(ROOT / "examples" / "adf-two-prospects.xml")
    assert len(results) == 2 and len({r["lead_id"] for r in results}) == 2
    lines = await eventually(
        lambda: asyncio.to_thread(stack.lines), lambda found: len(found) >= 2, deadline=20
    )
    assert {line["lead_id"] for line in lines} == {r["lead_id"] for r in results}


async def test_the_worker_and_the_api_serve_prometheus_metrics(
    stack: Stack, tmp_path: Path
) -> None:
    stack.starter(
        {**LEAD, "external_id": "mp-metrics", "customer": {"email": "m@example.nl"}}, tmp_path
    )

    async def scrape(url: str) -> str:
        async with httpx.AsyncClient() as http:
            return (await http.get(url, timeout=5)).text

    text = await eventually(
        lambda: scrape(stack.worker_metrics),
        lambda t: "blanco_first_response_seconds_bucket{" in t,
        deadline=20,
    )
    assert "temporal_request" in text and 'task_queue="' in text
    sent = value(samples(text), "blanco_touches_sent_total", dealer="autohuis-west")
    assert sent >= 1 and "m@example.nl" not in text

    # The API process: its requests so far (the start-up's health checks among them).
    api = samples(await scrape(f"{stack.api}/metrics"))
    assert value(api, "blanco_http_requests_total", route="/healthz", status="200") >= 1
