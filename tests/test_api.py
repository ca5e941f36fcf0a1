"""The integration API as a delivery system sees it: events in, survey links out, every
refusal a 4xx with the field's path and reason, and nothing written by a refused batch."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import apikeys, chat_links
from core.intake import sampled
from core.models import (
    Agency,
    AgencyKind,
    ApiKey,
    Invitation,
    PublicService,
    ServiceEvent,
    ServicePoint,
)
from core.unit_of_work import UnitOfWork
from tests.api_fixtures import ApiSite, api_settings, event, running_api
from tests.conftest import Seed


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[ApiSite]:
    async with session_factory() as session:
        other = Agency(
            code="MJ",
            kind=AgencyKind.CENTRAL,
            name_kk="Әділет министрлігі",
            name_ru="Министерство юстиции",
            name_en="Ministry of Justice",
        )
        session.add(other)
        await session.flush()
        session.add(
            PublicService(
                code="MJ-S1",
                agency_id=other.id,
                name_kk="Мекенжай анықтамасы",
                name_ru="Адресная справка",
                name_en="Address certificate",
            )
        )
        await session.commit()
    async with running_api(session_factory) as running:
        yield running


async def linked_citizen(site: ApiSite, user_id: int = 42) -> tuple[int, str]:
    """A citizen who sent /link to the bot: (respondent id, the code they were given)."""
    async with site.session_factory() as session:
        store = UnitOfWork(session)
        respondent = await store.responses.respondent(f"telegram-user-{user_id}")
        code = await chat_links.new_code(session, site.settings.secret_bytes(), respondent.id)
        await session.commit()
        return respondent.id, code


# Events in, links out ------------------------------------------------------------------------


async def test_one_event_gets_a_single_use_survey_link_that_opens_the_survey(
    site: ApiSite,
) -> None:
    queue = await site.integration(["ALA"])

    reply = await queue.post(event("con-1"))

    assert reply.status == 201
    [result] = reply.body["events"]
    assert result["result"] == "created" and result["invitation"] == "issued"
    assert result["survey_url"].startswith("http://qanagat.test/s/")
    assert result["qr_payload"] == result["survey_url"]
    token = result["survey_url"].rsplit("/", 1)[-1]
    assert result["telegram_url"] == f"https://t.me/QanagatBot?start={token}"
    assert result["telegram_ref"] is None
    assert reply.body["created"] == 1 and reply.body["duplicates"] == 0
    async with queue.client.get(f"/s/{token}") as page:
        assert page.status == 200
    async with site.session_factory() as session:
        stored = await session.scalar(select(Invitation))
        assert stored is not None and token.encode() not in (stored.token_hash or b"")
        assert stored.respondent_id is None


async def test_the_same_event_twice_is_one_event_and_gets_the_same_link_back(
    site: ApiSite,
) -> None:
    queue = await site.integration(["ALA"])
    first = await queue.post(event("con-1"))

    again = await queue.post(event("con-1"))

    assert again.status == 200
    [result] = again.body["events"]
    assert result["result"] == "duplicate"
    assert result["survey_url"] == first.body["events"][0]["survey_url"]
    assert result["expires_at"] == first.body["events"][0]["expires_at"]
    assert again.body == {"events": [result], "created": 0, "duplicates": 1}
    assert await site.counts() == (1, 1)


async def test_a_batch_with_an_event_seen_before_creates_only_the_new_ones(
    site: ApiSite,
) -> None:
    queue = await site.integration(["ALA"])
    await queue.post(event("con-1"))

    reply = await queue.post(
        {
            "events": [
                event("con-0"),
                event("con-1"),
                event("egov-2", channel="egov", office_code=...),
            ]
        }
    )

    assert reply.status == 201
    assert [item["result"] for item in reply.body["events"]] == ["created", "duplicate", "created"]
    assert [item["external_id"] for item in reply.body["events"]] == ["con-0", "con-1", "egov-2"]
    assert await site.counts() == (3, 3)
    # The repeat is not served twice; eGov events have no office (key 0).
    rows = {row.service_point_key: row for row in await site.funnel()}
    counter, online = rows.pop(0), rows.popitem()[1]
    assert (online.served, online.invited, online.started, online.completed) == (2, 2, 0, 0)
    assert (counter.served, counter.invited, counter.delivered) == (1, 1, 0)


async def test_a_thousand_events_in_one_batch(site: ApiSite) -> None:
    queue = await site.integration(["ALA"])
    batch = {"events": [event(f"bulk-{n}") for n in range(1000)]}

    reply = await queue.post(batch)

    assert reply.status == 201
    assert reply.body["created"] == 1000
    assert len({item["survey_url"] for item in reply.body["events"]}) == 1000
    assert await site.counts() == (1000, 1000)


@pytest.mark.postgres
async def test_the_same_batch_posted_twice_at_once_is_recorded_once(
    session_factory: async_sessionmaker[AsyncSession], site: ApiSite, postgres_database: str | None
) -> None:
    if postgres_database is None:
        pytest.skip("needs PostgreSQL (QANAGAT_TEST_DATABASE_URL)")
    queue = await site.integration(["ALA"])
    batch = {"events": [event(f"race-{n}") for n in range(200)]}

    replies = await asyncio.gather(*(queue.post(batch) for _ in range(4)))

    assert all(reply.status in (200, 201) for reply in replies), [r.body for r in replies]
    assert sum(reply.body["created"] for reply in replies) == 200
    links = [[item["survey_url"] for item in reply.body["events"]] for reply in replies]
    assert all(urls == links[0] for urls in links)
    assert await site.counts() == (200, 200)
    [row] = await site.funnel()
    assert (row.served, row.invited) == (200, 200)


@pytest.mark.postgres
async def test_the_same_ids_for_two_services_at_once_one_wins_the_other_is_refused(
    site: ApiSite, postgres_database: str | None
) -> None:
    if postgres_database is None:
        pytest.skip("needs PostgreSQL (QANAGAT_TEST_DATABASE_URL)")
    queue = await site.integration(["ALA"])
    one = {"events": [event(f"clash-{n}") for n in range(300)]}
    other = {"events": [event(f"clash-{n}", service_code="ALA-S2") for n in range(300)]}

    replies = await asyncio.gather(queue.post(one), queue.post(other))

    assert sorted(reply.status for reply in replies) == [201, 409], [r.body for r in replies]
    [refused] = [reply for reply in replies if reply.status == 409]
    assert refused.error == "external_id_conflict"
    assert await site.counts() == (300, 300)
    async with site.session_factory() as session:
        services = set(await session.scalars(select(ServiceEvent.service_id)))
    assert len(services) == 1


async def test_an_external_id_of_another_service_is_a_conflict(site: ApiSite) -> None:
    queue = await site.integration(["ALA"])
    await queue.post(event("con-1"))

    reply = await queue.post({"events": [event("new-1"), event("con-1", service_code="ALA-S2")]})

    assert reply.status == 409
    assert reply.error == "external_id_conflict"
    assert "events[1].external_id" in reply.problems
    assert await site.counts() == (1, 1)


# Authentication ------------------------------------------------------------------------------


async def test_no_key_is_refused(site: ApiSite) -> None:
    reply = await site.anonymous().post(event("con-1"))
    assert (reply.status, reply.error) == (401, "missing_api_key")
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_wrong_key_is_refused(site: ApiSite) -> None:
    stranger = site.anonymous()
    stranger.key = "qk_not-a-key-we-ever-made"
    reply = await stranger.post(event("con-1"))
    assert (reply.status, reply.error) == (401, "invalid_api_key")


async def test_another_authorization_scheme_is_refused(site: ApiSite) -> None:
    reply = await site.anonymous().post(
        event("con-1"), headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert (reply.status, reply.error) == (401, "unsupported_authorization")


async def test_the_key_also_works_in_x_api_key(site: ApiSite) -> None:
    queue = await site.integration(["ALA"])
    key, queue.key = queue.key, None
    reply = await queue.post(event("con-1"), headers={"X-Api-Key": key or ""})
    assert reply.status == 201


async def test_a_revoked_key_is_refused_and_says_so(site: ApiSite) -> None:
    queue = await site.integration(["ALA"])
    async with site.session_factory() as session:
        [key] = await apikeys.all_keys(session)
        await apikeys.revoke(session, key.id)
        await session.commit()

    reply = await queue.post(event("con-1"))

    assert (reply.status, reply.error) == (401, "revoked_api_key")
    assert "revoked" in reply.body["message"]
    assert await site.counts() == (0, 0)


async def test_a_key_of_another_agency_is_forbidden(site: ApiSite) -> None:
    justice = await site.integration(["MJ"])

    reply = await justice.post(
        {
            "events": [
                event(
                    "mj-1", agency_code="MJ", service_code="MJ-S1", channel="egov", office_code=...
                ),
                event("ala-1"),
            ]
        }
    )

    assert (reply.status, reply.error) == (403, "agency_not_allowed")
    assert reply.problems == {
        "events[1].agency_code": "this API key may not report events of agency 'ALA'"
    }
    assert await site.counts() == (0, 0)


async def test_a_key_records_when_it_was_last_used(site: ApiSite) -> None:
    queue = await site.integration(["ALA"])
    await queue.post(event("con-1"))
    async with site.session_factory() as session:
        [key] = await apikeys.all_keys(session)
        assert key.last_used_at is not None
        assert datetime.now(UTC) - key.last_used_at < timedelta(minutes=1)


async def test_a_signed_request_is_accepted_once(site: ApiSite) -> None:
    queue = await site.integration(["ALA"], signing=True)
    stamp = int(time.time())

    first = await queue.post(event("con-1"), timestamp=stamp)
    replay = await queue.post(event("con-1"), timestamp=stamp)

    assert first.status == 201
    assert (replay.status, replay.error) == (409, "replayed_request")


async def test_a_signing_key_refuses_unsigned_requests(site: ApiSite) -> None:
    queue = await site.integration(["ALA"], signing=True)
    reply = await queue.post(event("con-1"), sign=False)
    assert (reply.status, reply.error) == (401, "signature_required")


async def test_a_wrong_signature_is_refused(site: ApiSite) -> None:
    queue = await site.integration(["ALA"], signing=True)
    reply = await queue.post(
        event("con-1"),
        sign=False,
        headers={"X-Qanagat-Timestamp": str(int(time.time())), "X-Qanagat-Signature": "sha256=00"},
    )
    assert (reply.status, reply.error) == (401, "bad_signature")


async def test_a_signature_of_another_body_is_refused(site: ApiSite) -> None:
    queue = await site.integration(["ALA"], signing=True)
    secret = queue.signing_secret or ""
    from admin.api.auth import expected_signature

    stamp = str(int(time.time()))
    signature = expected_signature(secret, stamp, json.dumps(event("con-1")).encode())
    reply = await queue.post(
        event("con-2"),
        sign=False,
        headers={"X-Qanagat-Timestamp": stamp, "X-Qanagat-Signature": signature},
    )
    assert (reply.status, reply.error) == (401, "bad_signature")


@pytest.mark.parametrize("skew", [-301, 301, -3600])
async def test_a_stale_timestamp_is_refused(site: ApiSite, skew: int) -> None:
    queue = await site.integration(["ALA"], signing=True)
    reply = await queue.post(event("con-1"), timestamp=int(time.time()) + skew)
    assert (reply.status, reply.error) == (401, "stale_timestamp")


async def test_a_timestamp_that_is_not_a_number_is_refused(site: ApiSite) -> None:
    queue = await site.integration(["ALA"], signing=True)
    reply = await queue.post(
        event("con-1"),
        sign=False,
        headers={"X-Qanagat-Timestamp": "yesterday", "X-Qanagat-Signature": "sha256=00"},
    )
    assert (reply.status, reply.error) == (401, "bad_timestamp")


async def test_replays_are_remembered_in_redis_across_workers(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, redis_url: str | None
) -> None:
    if redis_url is None:
        pytest.skip("needs Redis (QANAGAT_TEST_REDIS_URL)")
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        async with (
            running_api(session_factory, redis=redis) as one,
            running_api(session_factory, redis=redis) as two,
        ):
            queue = await one.integration(["ALA"], signing=True)
            stamp = int(time.time())
            assert (await queue.post(event("con-1"), timestamp=stamp)).status == 201
            queue.server = two.server
            await queue.client.close()
            import aiohttp

            queue.client = aiohttp.ClientSession(base_url=two.server.make_url("/"))
            replay = await queue.post(event("con-1"), timestamp=stamp)
            assert (replay.status, replay.error) == (409, "replayed_request")
    finally:
        await redis.aclose()


# Bad input -----------------------------------------------------------------------------------


BAD_EVENTS = [
    ({"delivered_at": 1764566100}, "delivered_at", "not an ISO 8601 date-time with offset"),
    ({"delivered_at": "yesterday"}, "delivered_at", "not an ISO 8601 date-time with offset"),
    ({"delivered_at": "2026-11-30T10:15:00"}, "delivered_at", "not an ISO 8601 date-time"),
    ({"delivered_at": "2026-11-30"}, "delivered_at", "not an ISO 8601 date-time"),
    ({"delivered_at": "0001-01-01T00:00:00+05:00"}, "delivered_at", "out of range"),
    ({"delivered_at": "1999-12-31T23:00:00Z"}, "delivered_at", "before 2000"),
    ({"delivered_at": "2999-01-01T00:00:00Z"}, "delivered_at", "in the future"),
    ({"channel": "carrier_pigeon"}, "channel", "input should be"),
    ({"external_id": 17}, "external_id", "must be a string"),
    ({"external_id": ""}, "external_id", "at least 1 character"),
    ({"external_id": "has space"}, "external_id", "should match pattern"),
    ({"external_id": "x" * 129}, "external_id", "at most 128 characters"),
    ({"agency_code": None}, "agency_code", "must be a string"),
    ({"service_code": ...}, "service_code", "is required"),
    ({"colour": "blue"}, "colour", "is not a field"),
    ({"agency_code": "NOPE"}, "agency_code", "unknown agency 'NOPE'"),
    ({"service_code": "NOPE"}, "service_code", "unknown service 'NOPE'"),
    ({"office_code": "NOPE"}, "office_code", "unknown office 'NOPE'"),
    ({"service_code": "MJ-S1"}, "service_code", "is not a service of agency 'ALA'"),
    ({"office_code": ...}, "office_code", "is required for channel 'service_centre'"),
    ({"telegram_ref": "x" * 33}, "telegram_ref", "at most 32 characters"),
]


@pytest.mark.parametrize(("change", "field", "reason"), BAD_EVENTS)
async def test_a_bad_event_refuses_the_whole_batch_naming_the_field(
    site: ApiSite, change: dict[str, object], field: str, reason: str
) -> None:
    queue = await site.integration(["ALA"])
    batch = {"events": [event("ok-0"), event("ok-1"), event("ok-2"), {**event("bad-3"), **change}]}
    batch["events"][3] = {k: v for k, v in batch["events"][3].items() if v is not ...}

    reply = await queue.post(batch)

    assert reply.status == 422, reply.body
    assert reply.error == "validation_failed"
    path = f"events[3].{field}"
    assert path in reply.problems, reply.problems
    assert reason in reply.problems[path]
    assert reply.body["message"].startswith(path)
    assert await site.counts() == (0, 0)


async def test_a_single_bad_event_is_named_without_a_batch_index(site: ApiSite) -> None:
    queue = await site.integration(["ALA"])
    reply = await queue.post(event("x", delivered_at="soon"))
    assert reply.status == 422
    assert reply.body["message"] == (
        "delivered_at: not an ISO 8601 date-time with offset, e.g. 2026-12-01T10:15:00+05:00"
    )


async def test_every_problem_of_a_batch_is_listed(site: ApiSite) -> None:
    queue = await site.integration(["ALA"])
    batch = {"events": [event("a", channel="x"), event("b"), event("c", delivered_at=5)]}
    reply = await queue.post(batch)
    assert set(reply.problems) == {"events[0].channel", "events[2].delivered_at"}
    assert "(and 1 more)" in reply.body["message"]


async def test_an_external_id_twice_in_one_batch_is_refused(site: ApiSite) -> None:
    queue = await site.integration(["ALA"])
    reply = await queue.post({"events": [event("a"), event("b"), event("a")]})
    assert reply.status == 422
    assert reply.problems == {
        "events[2].external_id": "repeats events[0].external_id 'a'; each event once per batch"
    }
    assert await site.counts() == (0, 0)


async def test_more_than_a_thousand_events_is_too_large(site: ApiSite) -> None:
    queue = await site.integration(["ALA"])
    reply = await queue.post({"events": [event(f"e{n}") for n in range(1001)]})
    assert (reply.status, reply.error) == (413, "batch_too_large")
    assert await site.counts() == (0, 0)


async def test_a_body_over_the_size_limit_is_too_large(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    async with running_api(session_factory, api_settings(api_max_body_bytes=2048)) as small:
        queue = await small.integration(["ALA"])
        reply = await queue.post({"events": [event(f"e{n}") for n in range(20)]})
        assert (reply.status, reply.error) == (413, "body_too_large")


@pytest.mark.parametrize(
    ("raw", "status", "error"),
    [
        (b"", 400, "not_json"),
        (b"{not json", 400, "not_json"),
        (b'{"events": [NaN]}', 400, "not_json"),
        (b"[" * 100_000, 400, "not_json"),
        ('{"external_id": "é"}'.encode("latin-1"), 400, "not_utf8"),
        (b"\xff\xfe{}", 400, "not_utf8"),
        (b"[]", 422, "validation_failed"),
        (b'"event"', 422, "validation_failed"),
        (b'{"events": []}', 422, "validation_failed"),
        (b'{"events": {"a": 1}}', 422, "validation_failed"),
        (b'{"events": [1, 2]}', 422, "validation_failed"),
    ],
)
async def test_bodies_that_are_not_events_are_refused(
    site: ApiSite, raw: bytes, status: int, error: str
) -> None:
    queue = await site.integration(["ALA"])
    reply = await queue.post(None, raw=raw)
    assert (reply.status, reply.error) == (status, error), reply.body
    assert reply.body["message"]


async def test_a_body_not_sent_as_json_is_refused(site: ApiSite) -> None:
    queue = await site.integration(["ALA"])
    reply = await queue.post(event("a"), headers={"Content-Type": "text/plain"})
    assert (reply.status, reply.error) == (415, "unsupported_media_type")


async def test_unknown_routes_and_methods_answer_json(site: ApiSite) -> None:
    client = site.anonymous().client
    async with client.get("/api/v1/nothing-here") as reply:
        assert reply.status == 404
        assert (await reply.json())["error"] == "not_found"
    async with client.delete("/api/v1/service-events") as reply:
        assert reply.status == 405
        assert (await reply.json())["error"] == "method_not_allowed"
        assert "POST" in reply.headers["Allow"]


@given(st.text(max_size=40))
def test_any_delivered_at_text_is_taken_or_refused_never_crashes(value: str) -> None:
    from pydantic import ValidationError

    from admin.api.schemas import ServiceEventIn

    locations: list[object] = []
    parsed = None
    try:
        parsed = ServiceEventIn.model_validate({**event("x"), "delivered_at": value}).delivered_at
    except ValidationError as error:
        locations = [item["loc"] for item in error.errors()]
    if parsed is None:
        assert locations == [("delivered_at",)]
    else:
        assert parsed.tzinfo is not None and parsed.year >= 2000


# Sampling, cooldown, expiry --------------------------------------------------------------------


async def test_a_service_sampled_one_in_three_invites_the_same_third_on_every_retry(
    site: ApiSite, seed: Seed
) -> None:
    async with site.session_factory() as session:
        await session.execute(
            update(PublicService)
            .where(PublicService.id == seed.service.id)
            .values(invitation_sample_every=3)
        )
        await session.commit()
    queue = await site.integration(["ALA"])
    ids = [f"s-{n}" for n in range(300)]
    expected = {external_id for external_id in ids if sampled(external_id, 3)}

    first = await queue.post({"events": [event(external_id) for external_id in ids]})
    again = await queue.post({"events": [event(external_id) for external_id in ids]})

    invited = {i["external_id"] for i in first.body["events"] if i["invitation"] == "issued"}
    assert invited == expected
    assert 70 <= len(invited) <= 130
    skipped = [i for i in first.body["events"] if i["invitation"] == "not_sampled"]
    assert all(item["survey_url"] is None for item in skipped)
    assert [i["invitation"] for i in again.body["events"]] == [
        i["invitation"] for i in first.body["events"]
    ]
    assert await site.counts() == (300, len(expected))
    [row] = await site.funnel()
    assert (row.served, row.invited) == (300, len(expected))


@given(st.text(min_size=1, max_size=128), st.integers(min_value=1, max_value=1000))
def test_sampling_is_a_function_of_the_external_id(external_id: str, every: int) -> None:
    assert sampled(external_id, every) == sampled(external_id, every)
    assert sampled(external_id, 1)


async def test_a_linked_citizen_is_invited_in_telegram_then_rests_for_a_week(
    site: ApiSite,
) -> None:
    respondent_id, code = await linked_citizen(site)
    queue = await site.integration(["ALA"])

    first = await queue.post(event("c-1", telegram_ref=code.lower()))
    second = await queue.post({"events": [event("c-2", telegram_ref=code), event("c-3")]})

    [one] = first.body["events"]
    assert (one["invitation"], one["telegram_ref"]) == ("issued", "received")
    rested, other = second.body["events"]
    assert (rested["invitation"], rested["telegram_ref"]) == ("cooldown", "received")
    assert rested["survey_url"] is None
    assert other["invitation"] == "issued"  # the cooldown is the citizen's, not the office's
    async with site.session_factory() as session:
        invitation = await session.scalar(
            select(Invitation).join(ServiceEvent).where(ServiceEvent.external_id == "c-1")
        )
        assert invitation is not None and invitation.respondent_id == respondent_id
        # Eight days later the citizen may be asked again.
        await session.execute(
            update(Invitation).values(created_at=datetime.now(UTC) - timedelta(days=8))
        )
        await session.commit()
    later = await queue.post(event("c-4", telegram_ref=code))
    assert later.body["events"][0]["invitation"] == "issued"


async def test_one_invitation_per_citizen_within_one_batch(site: ApiSite) -> None:
    _, code = await linked_citizen(site)
    queue = await site.integration(["ALA"])
    reply = await queue.post(
        {"events": [event("c-1", telegram_ref=code), event("c-2", telegram_ref=code)]}
    )
    assert [i["invitation"] for i in reply.body["events"]] == ["issued", "cooldown"]
    [row] = await site.funnel()
    assert (row.served, row.invited) == (2, 1)


async def test_the_cooldown_follows_the_setting(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    async with running_api(session_factory, api_settings(invitation_cooldown_days=0)) as site:
        _, code = await linked_citizen(site)
        queue = await site.integration(["ALA"])
        reply = await queue.post(
            {"events": [event("c-1", telegram_ref=code), event("c-2", telegram_ref=code)]}
        )
        assert [i["invitation"] for i in reply.body["events"]] == ["issued", "issued"]


async def test_an_unknown_or_replaced_chat_reference_still_gets_a_link(site: ApiSite) -> None:
    respondent_id, old = await linked_citizen(site)
    async with site.session_factory() as session:
        await chat_links.new_code(session, site.settings.secret_bytes(), respondent_id)
        await session.commit()
    queue = await site.integration(["ALA"])

    reply = await queue.post(
        {"events": [event("r-1", telegram_ref="ZZZZ-ZZZZ"), event("r-2", telegram_ref=old)]}
    )

    assert reply.status == 201
    for item in reply.body["events"]:
        assert item["telegram_ref"] == "received"
        assert item["invitation"] == "issued" and item["survey_url"]


async def test_linked_invitations_go_to_the_delivery_outbox_once(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    queued: list[dict[str, object]] = []

    async def enqueue_invitation(
        session: AsyncSession, *, invitation_id: int, respondent_id: int, token: str
    ) -> None:
        assert session.in_transaction()
        queued.append(
            {"invitation_id": invitation_id, "respondent_id": respondent_id, "token": token}
        )

    async with running_api(session_factory, enqueue_invitation=enqueue_invitation) as site:
        respondent_id, code = await linked_citizen(site)
        queue = await site.integration(["ALA"])
        reply = await queue.post({"events": [event("q-1", telegram_ref=code), event("q-2")]})
        await queue.post({"events": [event("q-1", telegram_ref=code)]})

    [item] = queued
    token = reply.body["events"][0]["survey_url"].rsplit("/", 1)[-1]
    assert item["respondent_id"] == respondent_id and item["token"] == token
    async with session_factory() as session:
        invitation = await session.get(Invitation, item["invitation_id"])
        assert invitation is not None and invitation.respondent_id == respondent_id


async def test_links_expire_after_the_ttl_of_the_services_survey(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    async with session_factory() as session:
        await session.execute(
            update(PublicService)
            .where(PublicService.id == seed.service.id)
            .values(survey_id="quick")
        )
        await session.commit()
    ttls = {"post_service": 72, "quick": 5}
    async with running_api(session_factory, survey_ttl_hours=ttls) as site:
        queue = await site.integration(["ALA"])
        reply = await queue.post(
            {"events": [event("t-1"), event("t-2", service_code="ALA-S2", channel="egov")]}
        )
    quick, default = (datetime.fromisoformat(i["expires_at"]) for i in reply.body["events"])
    now = datetime.now(UTC)
    assert timedelta(hours=4, minutes=59) < quick - now <= timedelta(hours=5)
    assert timedelta(hours=71, minutes=59) < default - now <= timedelta(hours=72)


async def test_keys_are_stored_only_as_hashes(site: ApiSite) -> None:
    queue = await site.integration(["ALA"], signing=True)
    async with site.session_factory() as session:
        [key] = list(await session.scalars(select(ApiKey)))
    assert queue.key and queue.signing_secret
    assert key.key_hash == apikeys.key_hash(queue.key)
    assert queue.key.encode() not in key.key_hash
    assert key.sealed_signing_secret is not None
    assert queue.signing_secret.encode() not in key.sealed_signing_secret


async def test_the_survey_files_ttl_reaches_the_api_through_the_composition(
    database_url: str, seed: Seed
) -> None:
    """`invitation_ttl_hours` in a survey's YAML decides its links' expiry in the running app."""
    from aiohttp.test_utils import TestServer

    from bot.engine.definition import parse_survey
    from qanagat.app import build_app
    from tests.api_fixtures import Integration
    from tests.conftest import ROOT

    source = (ROOT / "survey_definitions" / "post_service.yaml").read_text()
    assert "invitation_ttl_hours: 72" in source
    survey = parse_survey(source.replace("invitation_ttl_hours: 72", "invitation_ttl_hours: 6"))
    settings = api_settings(database_url=database_url)
    server = TestServer(build_app(settings, with_bot=False, surveys={survey.id: survey}))
    await server.start_server()
    try:
        from core.db import create_engine, create_session_factory

        engine = create_engine(database_url)
        async with create_session_factory(engine)() as session:
            created = await apikeys.create(session, settings.secret_bytes(), "q", ["ALA"])
            await session.commit()
        await engine.dispose()
        queue = Integration(server, created.key)
        reply = await queue.post(event("ttl-1"))
        await queue.close()
    finally:
        await server.close()
    expires = datetime.fromisoformat(reply.body["events"][0]["expires_at"])
    assert timedelta(hours=5, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=6)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
EVENT_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "external_id": JSON_VALUES,
        "agency_code": st.just("ALA") | JSON_VALUES,
        "service_code": st.just("ALA-S1") | JSON_VALUES,
        "office_code": JSON_VALUES,
        "channel": st.sampled_from(["egov", "service_centre"]) | JSON_VALUES,
        "delivered_at": st.just("2026-11-30T10:15:00+05:00") | JSON_VALUES,
        "telegram_ref": JSON_VALUES,
    },
)


def outcome_of(body: bytes) -> tuple[list[object] | None, object]:
    """What parse_events makes of a body: (events, None) or (None, the refusal)."""
    from admin.api.errors import ApiError
    from admin.api.events import parse_events

    try:
        events, _single = parse_events(body)
    except ApiError as error:
        return None, error
    return list(events), None


@given(
    st.one_of(
        JSON_VALUES,
        EVENT_FIELDS,
        st.fixed_dictionaries({"events": st.lists(EVENT_FIELDS | JSON_VALUES, max_size=5)}),
    )
)
def test_any_json_body_is_parsed_or_refused_with_a_path(body: object) -> None:
    from admin.api.errors import ApiError

    events, refusal = outcome_of(json.dumps(body).encode())
    if refusal is None:
        assert events
    else:
        assert isinstance(refusal, ApiError)
        assert 400 <= refusal.status < 500 and refusal.message
        assert refusal.status != 422 or refusal.problems


@given(st.binary(max_size=200))
def test_any_bytes_are_parsed_or_refused(body: bytes) -> None:
    from admin.api.errors import ApiError

    _events, refusal = outcome_of(body)
    assert refusal is None or (isinstance(refusal, ApiError) and refusal.status in (400, 422))


# Keys of one agency do not share each other's invitations ----------------------------------


async def test_a_repeat_from_another_key_of_the_agency_gets_no_link(site: ApiSite) -> None:
    """Whoever holds a key could otherwise collect citizens' invitations by re-posting ids."""
    queue = await site.integration(["ALA"])
    other = await site.integration(["ALA"])
    first = await queue.post(event("con-1"))
    assert first.body["events"][0]["survey_url"]

    taken = await other.post(event("con-1"))

    assert taken.status == 200
    [result] = taken.body["events"]
    assert result["result"] == "duplicate" and result["invitation"] == "withheld"
    assert result["survey_url"] is None and result["qr_payload"] is None
    assert result["telegram_url"] is None and result["expires_at"] is None
    # The key that reported it still gets its own link back.
    again = await queue.post(event("con-1"))
    assert again.body["events"][0]["survey_url"] == first.body["events"][0]["survey_url"]
    async with site.session_factory() as session:
        stored = await session.scalar(select(ServiceEvent))
        reporter = await session.scalar(select(ApiKey).order_by(ApiKey.id))
        assert stored is not None and reporter is not None
        assert stored.api_key_id == reporter.id


async def test_a_repeat_from_another_key_says_the_same_whatever_the_first_outcome(
    site: ApiSite,
) -> None:
    """No oracle: the other key cannot tell an issued invitation from a citizen resting."""
    _, code = await linked_citizen(site)
    queue = await site.integration(["ALA"])
    other = await site.integration(["ALA"])
    await queue.post({"events": [event("c-1", telegram_ref=code), event("c-2", telegram_ref=code)]})

    reply = await other.post({"events": [event("c-1"), event("c-2")]})

    issued, resting = reply.body["events"]
    assert {k: v for k, v in issued.items() if k != "external_id"} == {
        k: v for k, v in resting.items() if k != "external_id"
    }


async def test_an_agency_key_cannot_place_an_event_at_another_agencys_office(
    site: ApiSite,
) -> None:
    async with site.session_factory() as session:
        astana = Agency(
            code="AST", kind=AgencyKind.LOCAL, name_kk="А", name_ru="А", name_en="Astana"
        )
        session.add(astana)
        await session.flush()
        session.add(
            ServicePoint(code="AST-01", agency_id=astana.id, name_kk="Ц", name_ru="Ц", name_en="C")
        )
        await session.commit()
    queue = await site.integration(["ALA"])

    reply = await queue.post(event("con-1", office_code="AST-01"))

    assert reply.status == 422
    assert reply.problems == {"office_code": "office 'AST-01' is not an office of agency 'ALA'"}
    assert await site.counts() == (0, 0)


async def test_the_telegram_ref_answer_does_not_tell_whether_a_code_exists(
    site: ApiSite,
) -> None:
    _, code = await linked_citizen(site)
    queue = await site.integration(["ALA"])

    reply = await queue.post(
        {"events": [event("r-1", telegram_ref=code), event("r-2", telegram_ref="ZZZZ-ZZZZ")]}
    )

    known, unknown = reply.body["events"]
    assert known["telegram_ref"] == unknown["telegram_ref"] == "received"
    assert known["invitation"] == unknown["invitation"] == "issued"
