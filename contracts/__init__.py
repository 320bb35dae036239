"""What crosses a process or worker boundary, in one place: the names and payloads that the
API, the starter, the workers and operators agree on (docs/temporal-interface.md).

- `contracts.workflows`: workflow names, their inputs and results, and the signal, update and
  query payloads (the payload models are the domain's own, from `leads.models`);
- `contracts.activities`: activity names, requests and results;
- `contracts.errors`: the error type names a failure carries across the boundary;
- `contracts.search_attributes` and `contracts.memo`: what operators filter and read on;
- `contracts.ids`: the formats of lead, task, touch and opt-out ids (written once, in
  `leads.identity`);
- `contracts.touches`: how a touch's request is built and its answer read, the same on both
  sides of the opening local activity.

The layers (tests/unit/test_layers.py): `leads` imports nothing of the project, `contracts`
only `leads`, and workflows only `contracts` and `leads`.
"""
