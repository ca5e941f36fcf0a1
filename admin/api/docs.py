"""GET /api/v1/docs: the OpenAPI document as a plain server-rendered page (routes, fields,
examples), with nothing loaded from elsewhere."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).parent / "templates"


def inline_markdown(text: str) -> Markup:
    """The little Markdown the document uses: **bold**, `code`, paragraphs."""
    html = str(escape(text))
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    paragraphs = [p.replace("\n", " ") for p in html.split("\n\n") if p.strip()]
    # Safe: the text was escaped above; only our own tags were added.
    return Markup("".join(f"<p>{p}</p>" for p in paragraphs))  # noqa: S704


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type_of(option) for option in schema["anyOf"])
    if "oneOf" in schema:
        return " or ".join(_type_of(option) for option in schema["oneOf"])
    if schema.get("type") == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    if "enum" in schema:
        return "one of " + ", ".join(str(value) for value in schema["enum"])
    kind = str(schema.get("type", "any"))
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _constraints(schema: dict[str, Any]) -> str:
    parts = []
    for option in schema.get("anyOf", [schema]):
        for key, label in (
            ("minLength", "min length"),
            ("maxLength", "max length"),
            ("minItems", "min items"),
            ("maxItems", "max items"),
            ("minimum", "minimum"),
            ("pattern", "pattern"),
        ):
            if key in option:
                parts.append(f"{label} {option[key]}")
    return ", ".join(parts)


def schema_rows(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, str]]:
    """One row per property: name, type, required, constraints, description."""
    if "$ref" in schema:
        schema = components[str(schema["$ref"]).rsplit("/", 1)[-1]]
    if "enum" in schema:
        return [
            {
                "name": str(value),
                "type": "value",
                "required": "",
                "constraints": "",
                "description": "",
            }
            for value in schema["enum"]
        ]
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        description = prop.get("description", "")
        if not description and "$ref" in prop:
            description = components.get(prop["$ref"].rsplit("/", 1)[-1], {}).get("description", "")
        rows.append(
            {
                "name": name,
                "type": _type_of(prop),
                "required": "yes" if name in required else "no",
                "constraints": _constraints(prop),
                "description": description,
            }
        )
    return rows


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["markdown"] = inline_markdown
    environment.filters["pretty"] = lambda value: json.dumps(value, ensure_ascii=False, indent=2)
    return environment


def render_docs(document: dict[str, Any]) -> str:
    components = document["components"]["schemas"]
    operations = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "operation": operation,
                    "anchor": operation["operationId"],
                    "body": body,
                    "body_type": _type_of(body["schema"]) if body else "",
                }
            )
    schemas = [
        {"name": name, "schema": schema, "rows": schema_rows(schema, components)}
        for name, schema in sorted(components.items())
    ]
    return (
        _environment()
        .get_template("docs.html")
        .render(document=document, operations=operations, schemas=schemas)
    )
