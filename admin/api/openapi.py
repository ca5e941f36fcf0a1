"""The OpenAPI 3.1 document of the integration API. Schemas come from the pydantic models
that validate requests (admin/api/schemas.py); paths, security and errors are written here."""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from pydantic.json_schema import models_json_schema

from admin.api.auth import SIGNATURE_HEADER, SIGNATURE_WINDOW_S, TIMESTAMP_HEADER
from admin.api.schemas import (
    DATETIME_EXAMPLE,
    MAX_BATCH,
    ErrorBody,
    EventsAccepted,
    ServiceEventBatch,
    ServiceEventIn,
)

REF = "#/components/schemas/{model}"

DESCRIPTION = f"""\
Service-delivery systems (service-centre queue systems, eGov, agencies' own front desks) report
each delivered public service. Qanagat answers with a single-use survey link for the citizen:
print it as a QR code on the receipt, or, when the citizen linked the Qanagat bot earlier (they
give their `/link` code, sent as `telegram_ref`), Qanagat also sends the invitation in Telegram.

**Authentication.** Every request carries an API key, as `Authorization: Bearer <key>` or
`X-Api-Key: <key>`. Keys are scoped to agencies; ask the operator for one
(`qanagat apikeys create`).

**Signatures.** A key created with a signing secret accepts only signed requests: send
`{TIMESTAMP_HEADER}` (Unix time, seconds) and `{SIGNATURE_HEADER}: sha256=<hex>` where `<hex>` is
HMAC-SHA256, keyed with the signing secret, of the timestamp, a dot and the exact body bytes.
The timestamp must be within {SIGNATURE_WINDOW_S // 60} minutes of the server's clock, and a
signature is accepted once: a repeated request must be signed again.

**Idempotency.** `external_id` identifies an event: sending it again (a retry after a timeout)
creates nothing and answers `duplicate` with the same link. A batch is all or nothing: one bad
event refuses the whole request, with the path and reason of every problem.
"""


def _error(description: str, example_error: str, example_message: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": REF.format(model="ErrorBody")},
                "example": {"error": example_error, "message": example_message, "problems": []},
            }
        },
    }


@cache
def openapi_document(server_url: str = "/") -> dict[str, Any]:
    """The document (built once; `server_url` is the public address of the app)."""
    _, top = models_json_schema(
        [
            (ServiceEventIn, "validation"),
            (ServiceEventBatch, "validation"),
            (EventsAccepted, "serialization"),
            (ErrorBody, "serialization"),
        ],
        ref_template=REF,
    )
    schemas = top["$defs"]
    example_event = cast(
        dict[str, Any],
        ServiceEventIn.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index]
    )
    accepted_example = {
        "events": [
            {
                "external_id": example_event["external_id"],
                "result": "created",
                "invitation": "issued",
                "survey_url": "https://qanagat.example.kz/s/3q2Xv0mJ8kq1b7LJfQ9w1A",
                "qr_payload": "https://qanagat.example.kz/s/3q2Xv0mJ8kq1b7LJfQ9w1A",
                "telegram_url": "https://t.me/QanagatBot?start=3q2Xv0mJ8kq1b7LJfQ9w1A",
                "expires_at": "2026-12-04T05:15:00+00:00",
                "telegram_ref": None,
            }
        ],
        "created": 1,
        "duplicates": 0,
    }
    accepted = {
        "content": {
            "application/json": {
                "schema": {"$ref": REF.format(model="EventsAccepted")},
                "example": accepted_example,
            }
        }
    }
    unauthorised = _error(
        "No key, an unknown or revoked key, or (for signing keys) a missing or wrong signature "
        "or a timestamp outside the window. `error` says which: `missing_api_key`, "
        "`unsupported_authorization`, `invalid_api_key`, `revoked_api_key`, "
        "`signature_required`, `bad_timestamp`, `stale_timestamp`, `bad_signature`.",
        "invalid_api_key",
        "the API key is not valid",
    )
    unauthorised["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
    }
    post = {
        "operationId": "postServiceEvents",
        "summary": f"Report one delivered service or a batch of up to {MAX_BATCH}",
        "description": "Records the events (all or nothing) and answers, per event, its "
        "invitation: a survey link and QR payload, or why there is none (`not_sampled`: the "
        "service invites 1 in N events; `cooldown`: the citizen was invited recently).",
        "tags": ["service events"],
        "security": [{"bearerAuth": []}, {"apiKeyHeader": []}],
        "parameters": [
            {
                "name": TIMESTAMP_HEADER,
                "in": "header",
                "required": False,
                "description": "Unix time in seconds; required with a signing key.",
                "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
            },
            {
                "name": SIGNATURE_HEADER,
                "in": "header",
                "required": False,
                "description": "`sha256=<hex HMAC-SHA256 of timestamp + '.' + body>`; "
                "required with a signing key.",
                "schema": {"type": "string"},
            },
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": REF.format(model="ServiceEventIn")},
                            {"$ref": REF.format(model="ServiceEventBatch")},
                        ]
                    },
                    "examples": {
                        "one event": {"value": example_event},
                        "a batch": {
                            "value": {
                                "events": [
                                    example_event,
                                    {
                                        "external_id": "egov-77421",
                                        "agency_code": "ALA",
                                        "service_code": "ALA-S2",
                                        "channel": "egov",
                                        "delivered_at": DATETIME_EXAMPLE,
                                        "telegram_ref": "Q7KD-3M9X",
                                    },
                                ]
                            }
                        },
                    },
                }
            },
        },
        "responses": {
            "201": {"description": "At least one event was new.", **accepted},
            "200": {"description": "Every event was a duplicate; nothing new.", **accepted},
            "400": _error(
                "The body is not UTF-8 (`not_utf8`) or not JSON (`not_json`).",
                "not_json",
                "the body is not JSON: Expecting value: line 1 column 1 (char 0)",
            ),
            "401": unauthorised,
            "403": _error(
                "The key is not allowed for an agency named in the body (`agency_not_allowed`); "
                "`problems` names each event.",
                "agency_not_allowed",
                "the API key 'queue-ala' is not allowed for an agency in this request",
            ),
            "409": _error(
                "The signature was already used (`replayed_request`), or an external id names "
                "an event of another service or office (`external_id_conflict`).",
                "replayed_request",
                "this signature was already used; sign each request anew with a fresh timestamp",
            ),
            "413": _error(
                f"The body is too large (`body_too_large`) or has more than {MAX_BATCH} events "
                "(`batch_too_large`).",
                "batch_too_large",
                f"1200 events in one request; send at most {MAX_BATCH}",
            ),
            "415": _error(
                "The body is not sent as `application/json` (`unsupported_media_type`).",
                "unsupported_media_type",
                "send the body as JSON: 'Content-Type: application/json' (UTF-8)",
            ),
            "422": _error(
                "A field is missing or wrong, a code is unknown, a service is not of the "
                "agency, an office is missing, or an external id repeats within the batch "
                "(`validation_failed`); `problems` lists each with its path.",
                "validation_failed",
                "events[3].delivered_at: not an ISO 8601 date-time with offset, e.g. "
                + DATETIME_EXAMPLE,
            ),
            "503": _error(
                "The database is unavailable; nothing was recorded (`unavailable`).",
                "unavailable",
                "the database is unavailable; nothing was recorded, retry later",
            ),
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Qanagat integration API",
            "version": "1.0.0",
            "description": DESCRIPTION,
        },
        "servers": [{"url": server_url.rstrip("/") or "/"}],
        "paths": {
            "/api/v1/service-events": {"post": post},
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "tags": ["documentation"],
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI 3.1 document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/api/v1/docs": {
                "get": {
                    "operationId": "getDocs",
                    "summary": "This document as a web page",
                    "tags": ["documentation"],
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "HTML.",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer <API key>`",
                },
                "apiKeyHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Api-Key",
                    "description": "The same key in `X-Api-Key`.",
                },
            },
        },
    }
