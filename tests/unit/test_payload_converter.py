"""client.PayloadConverter: one pydantic converter per process, whatever the SDK builds around
it. The SDK makes a data converter for every activation and every serialization context; each
used to bring a new converter with an empty cache of type adapters (docs/benchmarks.md)."""

from __future__ import annotations

import dataclasses

from temporalio.converter import WorkflowSerializationContext

from client import PayloadConverter, data_converter
from codec import Keyring
from leads.models import Channel, CustomerReplied


def _inner(converter: object) -> object:
    # The SDK wraps the class's instance for its own transfer types.
    return getattr(converter, "_inner_payload_converter", converter)


def test_every_data_converter_the_sdk_builds_shares_one_payload_converter() -> None:
    base = data_converter(Keyring(b"k" * 32))
    context = WorkflowSerializationContext(namespace="default", workflow_id="lead-x")
    built = [base, dataclasses.replace(base), base.with_context(context)]
    assert {id(_inner(each.payload_converter)) for each in built} == {id(PayloadConverter())}


def test_the_shared_converter_still_converts() -> None:
    reply = CustomerReplied(channel=Channel.SMS, text="ja")
    converter = PayloadConverter()
    [payload] = converter.to_payloads([reply])
    assert converter.from_payloads([payload], [CustomerReplied]) == [reply]
