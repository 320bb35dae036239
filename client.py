"""The one place that talks to Temporal from outside a workflow: connection, data converter,
search attribute registration, and starting (or joining) a lead's workflow."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import SignalWithStartWorkflowExecutionResponse
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    SerializationContext,
)
from temporalio.envconfig import ClientConfigProfile, ClientConnectConfig
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from codec import EncryptionCodec, Keyring
from contracts import search_attributes as sa
from leads.config import Config, Dealer
from leads.identity import contact_identifiers, contact_keys, lead_id
from leads.models import CustomerReplied, IntakeResult, Lead
from workflows.lead_follow_up import LeadFollowUp

DEFAULT_ADDRESS = "localhost:7233"


class PayloadConverter(PydanticPayloadConverter):
    """The SDK's pydantic converter, one per process, kept whole for every serialization
    context. The SDK builds a data converter (and, from this class, a payload converter with
    an empty cache of pydantic type adapters) for every activation, and again for each
    context: each payload built its adapter again, and building the converters was another
    3 % of the worker's CPU per lead (docs/benchmarks.md). It holds no state but that cache,
    and nothing here reads the context, so one instance serves them all."""

    _shared: ClassVar[PayloadConverter | None] = None

    def __new__(cls) -> PayloadConverter:
        if cls._shared is None:
            shared = super().__new__(cls)
            PydanticPayloadConverter.__init__(shared)
            cls._shared = shared
        return cls._shared

    def __init__(self) -> None:
        pass  # built once, in __new__

    def with_context(self, context: SerializationContext) -> PayloadConverter:
        return self


def data_converter(keys: Keyring) -> DataConverter:
    """Pydantic models in, encrypted payloads out; failure messages and stack traces are
    encoded too (they can quote a customer's data)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=PayloadConverter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def connect_settings(env: Mapping[str, str] | None = None) -> ClientConnectConfig:
    """Where and how to reach Temporal, read by the SDK's own environment configuration
    (`temporalio.envconfig`), so a self-hosted server and Temporal Cloud are configured the
    way the `temporal` CLI is: `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`
    (TLS on), or mTLS with `TEMPORAL_TLS_CLIENT_CERT_PATH` / `TEMPORAL_TLS_CLIENT_KEY_PATH`
    (and `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_SERVER_NAME`), or a profile of a
    TOML file (`TEMPORAL_CONFIG_FILE`, `TEMPORAL_PROFILE`). `env`: instead of os.environ."""
    settings = ClientConfigProfile.load(override_env_vars=env).to_client_connect_config()
    settings.setdefault("target_host", DEFAULT_ADDRESS)
    settings.setdefault("namespace", "default")
    return settings


async def connect(
    address: str | None = None,
    namespace: str | None = None,
    lazy: bool = False,
    keys: Keyring | None = None,
    runtime: Runtime | None = None,
) -> Client:
    """`lazy`: connect on first use, so a service (the API) starts while Temporal is down
    and answers 503 until it is back. `keys`: default from the environment (codec.py);
    raises CodecKeyError when there is none. Everything else: `connect_settings`."""
    settings = connect_settings()
    if address:
        settings["target_host"] = address
    if namespace:
        settings["namespace"] = namespace
    return await Client.connect(
        **settings,
        data_converter=data_converter(keys or Keyring.from_env()),
        lazy=lazy,
        runtime=runtime,
    )


def search_attribute_registrations(
    keys: tuple[SearchAttributeKey, ...] = sa.ALL,  # type: ignore[type-arg]
) -> dict[str, IndexedValueType.ValueType]:
    return {key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in keys}


async def register_search_attributes(client: Client) -> list[str]:
    """Add the search attributes the server lacks; return the names that were added."""
    wanted = search_attribute_registrations()
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        known = set(listed.custom_attributes)
    except RPCError as error:
        if error.status is not RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server
            raise
        known = set()
    missing = {name: kind for name, kind in wanted.items() if name not in known}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)


def static_summary(lead: Lead) -> str:
    """What the Temporal UI lists for the workflow: 'Offer · marktplaats · Volkswagen Golf'."""
    parts = [lead.kind.value.replace("_", " ").capitalize(), lead.source]
    if lead.vehicle and lead.vehicle.label():
        parts.append(lead.vehicle.label())
    return " · ".join(parts)


async def start_lead(
    client: Client,
    config: Config,
    dealer: Dealer,
    lead: Lead,
    rpc_timeout: timedelta | None = None,
    reply: CustomerReplied | None = None,
) -> IntakeResult:
    """Start the lead's workflow, or join the customer's running one: a plain start, and when
    the id runs already, signal-with-start (`new_inquiry`) with USE_EXISTING, so concurrent
    deliveries of one customer can never make two workflows (one that ended in between is
    started again, with the delivery as its signal). The answer comes as soon as Temporal
    has recorded the lead durably — it does not wait for a worker, so a busy or absent
    worker never slows or fails an intake. `duplicate` is false for exactly the one delivery
    that started the workflow.

    The id comes from the customer's best identifier (e-mail, else phone, …); a customer whose
    running conversation is keyed by another one (a portal that only passed the phone number)
    is found by `ContactKeys` and joined. `reply`: the lead is a customer's answer to a
    conversation that has ended — the new run starts engaged, with a reply task, instead of a
    cadence (rule 6)."""
    lead = lead.model_copy(
        update={"dealer_id": dealer.id, "received_at": lead.received_at or datetime.now(UTC)}
    )
    workflow_id = lead_id(dealer.id, dealer.webhook_secret, lead, dealer.country)
    keys = initial_contact_keys(dealer, lead)
    if reply is None:
        for other in await running_leads(client, dealer.id, keys, rpc_timeout=rpc_timeout):
            if other != workflow_id and await _signal_running(
                client, other, LeadFollowUp.new_inquiry, lead, rpc_timeout
            ):
                return IntakeResult(lead_id=other, duplicate=True)
    options: dict[str, Any] = {
        "id": workflow_id,
        "task_queue": config.temporal.task_queue,
        "static_summary": static_summary(lead),
        # How inbound replies find the lead; a merged inquiry's keys the workflow adds itself.
        "search_attributes": TypedSearchAttributes([SearchAttributePair(sa.CONTACT_KEYS, keys)]),
        "rpc_timeout": rpc_timeout,
    }
    if reply is None:
        # A new customer's lead is the workflow's input alone: a plain start records it once,
        # where signal-with-start would record it twice (input and signal). Only when the
        # customer's conversation runs already does the delivery become its signal.
        try:
            await client.start_workflow(
                LeadFollowUp.run,
                lead,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                **options,
            )
        except WorkflowAlreadyStartedError:
            pass
        else:
            return IntakeResult(lead_id=workflow_id, duplicate=False)
    handle = await client.start_workflow(
        LeadFollowUp.run,
        lead,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # The starting delivery's own signal is recognised by the workflow as its input.
        start_signal="customer_replied" if reply else "new_inquiry",
        start_signal_args=[reply or lead],
        **options,
    )
    return IntakeResult(lead_id=workflow_id, duplicate=not started(handle))


async def running_leads(
    client: Client,
    dealer_id: str,
    keys: list[str],
    limit: int = 10,
    rpc_timeout: timedelta | None = None,
    running: bool = True,
) -> list[str]:
    """Leads of the dealer whose `ContactKeys` hold any of `keys` (keyed hashes: hex only, so
    they are safe in the query), newest first; `running=False` includes ended ones."""
    if not keys:
        return []
    wanted = ", ".join(f"'{key}'" for key in keys)
    status = "AND ExecutionStatus = 'Running' " if running else ""
    query = (
        f"WorkflowType = 'LeadFollowUp' {status}"
        f"AND DealerId = '{dealer_id}' AND ContactKeys IN ({wanted})"
    )
    try:
        return [
            execution.id
            async for execution in client.list_workflows(
                query, limit=limit, rpc_timeout=rpc_timeout
            )
        ]
    except RPCError as error:
        if error.status is RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server
            return []
        raise


async def _signal_running(
    client: Client, workflow_id: str, signal: Any, arg: Any, rpc_timeout: timedelta | None
) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).signal(signal, arg, rpc_timeout=rpc_timeout)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:  # it ended in between
            return False
        raise
    return True


def started(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether this signal-with-start call started the workflow (the server's `started`).
    The SDK (pinned) keeps the response only privately; a version without it fails here, in
    the tests, rather than answering every delivery as new."""
    response = handle._start_workflow_response
    if not isinstance(response, SignalWithStartWorkflowExecutionResponse):
        raise TypeError("the Temporal SDK no longer exposes the signal-with-start response")
    return bool(response.started)


def initial_contact_keys(dealer: Dealer, lead: Lead) -> list[str]:
    identifiers = contact_identifiers(
        lead.customer, [(lead.source, lead.external_id)], dealer.country
    )
    return contact_keys(dealer.webhook_secret, identifiers)
