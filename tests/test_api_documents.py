"""The API's documents tell the truth: the OpenAPI document is valid and describes every route
and every answer the API gives, the docs page shows it, and schemathesis, generating requests
from the document, never gets a 5xx."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.api.openapi import openapi_document
from admin.api.schemas import ErrorBody, EventsAccepted, ServiceEventIn
from tests.api_fixtures import ApiSite, event, running_api
from tests.conftest import Seed


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[ApiSite]:
    async with running_api(session_factory) as running:
        yield running


async def fetch_document(site: ApiSite) -> dict[str, object]:
    async with site.anonymous().client.get("/api/v1/openapi.json") as reply:
        assert reply.status == 200
        document: dict[str, object] = await reply.json()
        return document


async def test_the_openapi_document_is_valid_openapi_3_1(site: ApiSite) -> None:
    document = await fetch_document(site)
    validate(document)  # raises on any problem
    assert document["openapi"] == "3.1.0"
    assert document == openapi_document(site.settings.public_url)


async def test_every_route_of_the_api_is_in_the_document(site: ApiSite) -> None:
    document = await fetch_document(site)
    paths = document["paths"]
    assert isinstance(paths, dict)
    documented = {(path, method.upper()) for path, item in paths.items() for method in item}
    [api] = [
        resource._app  # type: ignore[attr-defined]
        for resource in site.server.app.router.resources()
        if getattr(resource, "canonical", "") == "/api/v1"
    ]
    served = {
        (route.resource.canonical, route.method)
        for route in api.router.routes()
        if route.method != "HEAD"
    }
    assert served == documented


async def test_answers_match_the_documented_schemas(site: ApiSite) -> None:
    queue = await site.integration(["ALA"])
    accepted = await queue.post({"events": [event("d-1"), event("d-1x", channel="egov")]})
    refused = await queue.post(event("d-2", delivered_at="later"))
    EventsAccepted.model_validate(accepted.body)
    ErrorBody.model_validate(refused.body)
    post = openapi_document()["paths"]["/api/v1/service-events"]["post"]
    for status in (accepted.status, refused.status, 400, 401, 403, 409, 413, 415):
        assert str(status) in post["responses"]


async def test_the_documented_examples_are_accepted(site: ApiSite) -> None:
    body = openapi_document()["paths"]["/api/v1/service-events"]["post"]["requestBody"]
    for example in body["content"]["application/json"]["examples"].values():
        value = example["value"]
        for item in value.get("events", [value]):
            ServiceEventIn.model_validate(item)


async def test_the_docs_page_shows_every_route_and_field(site: ApiSite) -> None:
    async with site.anonymous().client.get("/api/v1/docs") as reply:
        assert reply.status == 200
        assert reply.content_type == "text/html"
        html = await reply.text()
    for path in ("/api/v1/service-events", "/api/v1/openapi.json", "/api/v1/docs"):
        assert f"<code>{path}</code>" in html
    for name in ServiceEventIn.model_fields:
        assert f"<code>{name}</code>" in html
    for status in ("201", "401", "403", "409", "413", "422"):
        assert f"<code>{status}</code>" in html
    assert "X-Qanagat-Signature" in html
    assert "<script" not in html


async def test_schemathesis_finds_no_server_error(site: ApiSite, tmp_path: Path) -> None:
    """Requests generated from the document (valid and invalid ones), bounded to about 50 per
    operation; any 5xx or an answer that contradicts the document fails the test."""
    queue = await site.integration(None)
    st = Path(sys.executable).with_name("st")
    process = await asyncio.create_subprocess_exec(
        str(st),
        "run",
        str(site.server.make_url("/api/v1/openapi.json")),
        "--url",
        str(site.server.make_url("/")),
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance",
        "--max-examples",
        "50",
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--header",
        f"Authorization: Bearer {queue.key}",
        "--suppress-health-check",
        "all",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(tmp_path / "junit.xml"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=110)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    report = (tmp_path / "junit.xml").read_text()
    tested = set(re.findall(r'testcase name="([^"]+)"', report))
    assert {"POST /api/v1/service-events", "GET /api/v1/docs"} <= tested, tested
