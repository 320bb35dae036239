"""No import runs up the layers (docs/architecture.md): `leads` imports nothing of the
project, `contracts` only `leads`, workflows only `contracts` and `leads`, and activities
never a workflow. And a workflow module pulls in no I/O stack, even indirectly: the sandbox
and every replay import it, and a worker that runs only workflows needs no provider client
or database driver."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PROJECT = {
    "leads",
    "contracts",
    "providers",
    "workflows",
    "activities",
    "api",
    "results",
    "demo",
    "bench",
    "tests",
    "client",
    "codec",
    "config_file",
    "worker",
    "starter",
    "devstack",
    "processes",
    "logs",
}
# layer → the project packages its modules may import (their own included)
ALLOWED = {
    "leads": {"leads"},
    "contracts": {"contracts", "leads"},
    "providers": {"providers", "contracts", "leads"},
    "workflows": {"workflows", "contracts", "leads"},
    "activities": PROJECT
    - {"workflows", "api", "bench", "tests", "demo", "worker", "devstack", "processes"},
}
IO_STACKS = {"sqlalchemy", "sendgrid", "twilio", "httpx", "fastapi", "uvicorn", "alembic"}
# …nor the project's own I/O layers, nor the SDK's client (workflows reach Temporal only
# through the workflow API).
IO_MODULES = {"activities", "api", "providers", "temporalio.client"}


def project_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PROJECT


def modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_no_import_runs_up_the_layers(layer: str) -> None:
    assert modules(layer), layer
    wrong = {
        str(path.relative_to(ROOT)): sorted(project_imports(path) - ALLOWED[layer])
        for path in modules(layer)
    }
    assert {path: found for path, found in wrong.items() if found} == {}


def test_a_workflow_module_pulls_in_no_io_stack() -> None:
    names = [f"workflows.{path.stem}" for path in modules("workflows") if path.stem != "__init__"]
    probe = (
        "import importlib, json, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded_modules = set(json.loads(loaded.stdout))
    assert {m.split(".")[0] for m in loaded_modules} & IO_STACKS == set()
    assert {m for m in loaded_modules if m in IO_MODULES or m.split(".")[0] in IO_MODULES} == set()
