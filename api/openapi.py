"""The OpenAPI document (`/openapi.json`): error answers on every route, and the schemas of
bodies the routes read raw (a signature is checked over the exact bytes before parsing)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.errors import ErrorBody

ERROR_STATUSES = {
    400: "bad input",
    401: "bad or missing signature or token",
    403: "another dealer's lead or task",
    404: "unknown dealer, lead or task",
    409: "refused by a rule (the reason says which)",
    413: "body too large",
    422: "invalid document",
    429: "Temporal is throttling; retry later",
    503: "Temporal is unreachable or did not answer in time; retry",
}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in ERROR_STATUSES.items()
}


def body_schema(content_type: str, model: str | None) -> dict[str, Any]:
    schema: dict[str, Any] = (
        {"$ref": f"#/components/schemas/{model}"} if model else {"type": "string"}
    )
    return {"requestBody": {"required": True, "content": {content_type: {"schema": schema}}}}


def form_schema(fields: dict[str, str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    properties = {name: {"type": "string", "description": text} for name, text in fields.items()}
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": schema}}}}


def install(app: FastAPI, raw_bodies: list[type[BaseModel]]) -> None:
    """Add the raw-read bodies' schemas to the document's components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, extra = models_json_schema(
            [(model, "validation") for model in raw_bodies],
            ref_template="#/components/schemas/{model}",
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in extra.get("$defs", {}).items():
            schemas.setdefault(name, schema)
        _closed(schemas, [model.__name__ for model in raw_bodies])
        _errors_as_json(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _closed(schemas: dict[str, Any], names: list[str]) -> None:
    """The bodies the API reads strictly (api.bodies.parse_json) refuse unknown fields, in
    nested objects too, although the models themselves are tolerant (leads.models.Payload):
    say so in their schemas and every schema they refer to."""
    pending, seen = list(names), set()
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        for node in _objects(schemas[name]):
            if "properties" in node:
                node["additionalProperties"] = False
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                pending.append(ref.rpartition("/")[2])


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every JSON object inside a schema, itself included."""
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _errors_as_json(document: dict[str, Any]) -> None:
    """FastAPI files a route's error models under the route's own media type (`text/html`
    for the unsubscribe page), but every error is JSON (api/errors.py): say so."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                if not (status.isdigit() and int(status) >= 400):
                    continue
                content = response.get("content", {})
                for media_type in [m for m in content if m != "application/json"]:
                    content.setdefault("application/json", content.pop(media_type))
