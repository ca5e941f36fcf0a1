"""The mobile web channel, driven through its forms the way a citizen's phone would (no browser):
links and QR codes open the survey, answers land in the database, refusals are explained in the
citizen's language, other people's surveys stay closed, and no input ends in a 5xx."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import messages
from core.identity import respondent_key
from core.models import Channel, ComplaintRequest, Invitation, Respondent, ResponseStatus
from tests.conftest import Seed
from tests.web_fixtures import (
    BOT_TOKEN,
    SECRET,
    Citizen,
    PageView,
    WebApp,
    answers_of,
    poster_path,
    running_web_app,
    signed_init_data,
    web_settings,
)

HAPPY_RU = [
    ("overall", "5"),
    ("deadline_met", "yes"),
    ("refused", "no"),
    ("extra_documents", "no"),
    ("full_package", "yes"),
    ("staff", "4"),
    ("clarity", "5"),
    ("received_via", "service_centre"),
    ("info_quality", "4"),
    ("comment", "Всё прошло хорошо, спасибо"),
]


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[WebApp]:
    async with running_web_app(session_factory) as app:
        yield app


def say(key: str, lang: str, **params: object) -> str:
    return messages.text(key, lang, **params)


async def answer_in_order(citizen: Citizen, steps: list[tuple[str, str]]) -> PageView:
    """Answer question after question, checking each page asks what we expect."""
    for name, value in steps:
        assert citizen.current.question == name, (citizen.current.question, name)
        await citizen.answer(value)
        assert citizen.current.error is None, citizen.current.error
    return citizen.current


async def test_citizen_completes_the_survey_in_russian_from_an_invitation_link(
    site: WebApp, make_invitation, seed: Seed
) -> None:
    token = await make_invitation()
    citizen = site.citizen(accept_language="ru-RU,ru;q=0.9,en;q=0.5")

    page = await citizen.start(token)

    assert page.status == 200
    assert page.path.startswith("/r/")
    assert page.lang == "ru"
    assert page.contains("Вопрос 1 из 12")
    assert page.heading == seed.survey.question("overall").text("ru")  # type: ignore[union-attr]
    assert page.contains(say("web_privacy", "ru"))
    assert "button_skip" not in page.html and say("button_skip", "ru") not in page.button_texts()

    await answer_in_order(citizen, HAPPY_RU[:7])
    assert citizen.current.contains("Вопрос 8 из 10")
    await citizen.tap("В ЦОНе")
    await answer_in_order(citizen, HAPPY_RU[8:])

    thanks = citizen.current
    assert thanks.status == 200
    assert thanks.heading == seed.survey.thanks["ru"]
    [response] = await site.responses()
    assert response.status is ResponseStatus.COMPLETED
    assert response.channel is Channel.WEB
    assert response.language == "ru"
    assert response.walk_in is False
    assert response.completed_at is not None
    assert answers_of(response) == {
        "overall": 5,
        "deadline_met": True,
        "refused": False,
        "extra_documents": False,
        "full_package": True,
        "staff": 4,
        "clarity": 5,
        "received_via": "service_centre",
        "info_quality": 4,
        "comment": "Всё прошло хорошо, спасибо",
    }
    # The thank-you stays where it is; reloading answers nothing twice.
    again = await citizen.open(thanks.url)
    assert again.heading == seed.survey.thanks["ru"]


async def test_a_low_rating_asks_why_and_records_the_complaint_request(
    site: WebApp, make_invitation, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    token = await make_invitation()
    citizen = site.citizen()  # no Accept-Language: Kazakh

    page = await citizen.start(token)
    assert page.lang == "kk"
    assert page.contains("Сұрақ 1/12")  # what a low rating may add is counted from the start
    await citizen.answer("1")
    assert citizen.current.question == "reasons"
    assert citizen.current.contains("Сұрақ 2/12")
    page = citizen.current
    await citizen.answer(page.value_for_label("Ұзақ күту"), page.value_for_label("Дөрекілік"))
    await answer_in_order(
        citizen,
        [
            ("deadline_met", "no"),
            ("refused", "yes"),
            ("extra_documents", "yes"),
            ("full_package", "no"),
            ("staff", "2"),
            ("clarity", "2"),
            ("received_via", "egov"),
            ("info_quality", "3"),
            ("complaint", "yes"),
        ],
    )
    assert citizen.current.question == "comment"
    assert say("button_skip", "kk") in citizen.current.button_texts()
    thanks = await citizen.answer(skip=True)

    # without the complaint form mounted, the page promises no button it cannot show
    assert not thanks.contains(say("web_complaint_prompt", "kk"))
    [response] = await site.responses()
    assert response.status is ResponseStatus.COMPLETED
    assert response.language == "kk"
    answers = answers_of(response)
    assert answers["overall"] == 1
    assert answers["reasons"] == ["waiting_time", "rudeness"]
    assert answers["complaint"] is True
    assert answers["comment"] is None
    async with session_factory() as session:
        complaint = await session.scalar(select(ComplaintRequest))
    assert complaint is not None and complaint.response_id == response.id


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_refused_answers_are_explained_in_the_citizens_language(
    site: WebApp, make_invitation, lang: str
) -> None:
    token = await make_invitation()
    citizen = site.citizen(accept_language=lang)
    await citizen.start(token)

    missing = await citizen.answer()
    assert missing.status == 200
    assert missing.error == say("answer_required", lang)
    assert missing.question == "overall"

    out_of_range = await citizen.answer("9")
    assert out_of_range.error == say("number_out_of_range", lang, low=1, high=5)

    await citizen.answer("4")
    assert citizen.current.error is None  # the refusal is gone once the answer is taken
    await answer_in_order(citizen, [(name, value) for name, value in HAPPY_RU[1:9]])
    assert citizen.current.question == "comment"
    assert citizen.current.contains(say("web_text_limit", lang, limit=1000))

    too_long = await citizen.answer("ә" * 1001)
    assert too_long.error == say("text_too_long", lang, limit=1000, length=1001)
    assert too_long.lang == lang

    [response] = await site.responses()
    assert "comment" not in answers_of(response)
    assert answers_of(response)["overall"] == 4


async def test_a_choice_that_was_not_offered_is_refused(site: WebApp, make_invitation) -> None:
    token = await make_invitation()
    citizen = site.citizen(accept_language="ru")
    await citizen.start(token)
    await citizen.answer("1")
    page = await citizen.answer("waiting_time", "bribe")
    assert page.error == say("choose_offered", "ru")
    page = await citizen.answer()
    assert page.error == say("choose_at_least_one", "ru")
    page = await citizen.answer("deadline")
    assert page.question == "deadline_met"
    page = await citizen.answer("perhaps")
    assert page.error == say("choose_offered", "ru")


async def test_a_link_opened_again_resumes_the_same_survey(site: WebApp, make_invitation) -> None:
    token = await make_invitation()
    citizen = site.citizen(accept_language="ru")
    first = await citizen.start(token)
    await citizen.answer("5")
    again = await citizen.open(f"/s/{token}")
    assert again.path == first.path
    assert again.question == "deadline_met"
    assert len(await site.responses()) == 1


# Invitation links: a page first, the response only on Start -----------------------------------


async def stored_rows(site: WebApp) -> tuple[int, int, bool]:
    """Respondents, responses, and whether any invitation is marked used."""
    async with site.session_factory() as session:
        respondents = len(list(await session.scalars(select(Respondent))))
        used = any(i.used_at is not None for i in await session.scalars(select(Invitation)))
    return respondents, len(await site.responses()), used


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_a_link_shows_what_the_survey_is_about_and_a_start_button(
    site: WebApp, make_invitation, seed: Seed, lang: str
) -> None:
    token = await make_invitation()
    citizen = site.citizen(accept_language=lang)

    page = await citizen.open(f"/s/{token}")

    assert page.status == 200
    assert page.path == f"/s/{token}"
    assert page.lang == lang
    assert page.heading == seed.service.name(lang)
    assert page.contains(seed.agency.name(lang))
    assert page.contains((seed.survey.intro or {})[lang])
    assert page.contains(say("web_privacy", lang))
    assert page.button_texts() == [say("web_start", lang)]
    [form] = page.forms
    assert form.attrs["method"] == "post" and form.attrs["action"] == f"/s/{token}"
    assert page.hidden("csrf")
    assert page.question is None


async def test_opening_a_link_stores_nothing_until_start_is_tapped(
    site: WebApp, make_invitation
) -> None:
    token = await make_invitation()
    # A messenger builds a preview first; then the citizen opens the link twice.
    preview_bot = site.citizen()
    assert (await preview_bot.open(f"/s/{token}")).status == 200
    async with preview_bot.session.head(f"/s/{token}") as response:
        assert response.status == 200
    citizen = site.citizen(accept_language="ru")
    await citizen.open(f"/s/{token}")
    landing = await citizen.open(f"/s/{token}")
    assert landing.button_texts() == [say("web_start", "ru")]
    assert await stored_rows(site) == (0, 0, False)

    page = await citizen.post(landing.action, [("csrf", landing.hidden("csrf") or "")])

    assert page.path.startswith("/r/")
    assert page.question == "overall"
    assert page.contains("Вопрос 1 из 12")
    assert await stored_rows(site) == (1, 1, True)
    [response] = await site.responses()
    assert response.status is ResponseStatus.IN_PROGRESS and response.language == "ru"


async def test_start_without_this_visitors_csrf_token_is_refused_and_stores_nothing(
    site: WebApp, make_invitation
) -> None:
    token = await make_invitation()
    other_token = await make_invitation()
    citizen = site.citizen(accept_language="ru")
    landing = await citizen.open(f"/s/{token}")
    other_landing = await citizen.open(f"/s/{other_token}")
    someone_else = await site.citizen(accept_language="ru").open(f"/s/{token}")
    assert landing.hidden("csrf") != someone_else.hidden("csrf")

    for fields in (
        [],
        [("csrf", "")],
        [("csrf", "AAAAAAAAAAAAAAAA")],
        [("csrf", someone_else.hidden("csrf") or "")],  # bound to the visitor
        [("csrf", other_landing.hidden("csrf") or "")],  # bound to the link
    ):
        refused = await citizen.post(f"/s/{token}", fields)
        assert refused.status == 403, fields
        assert refused.heading == say("web_bad_request", "ru")
    assert await stored_rows(site) == (0, 0, False)


async def test_after_start_the_link_leads_back_to_the_survey_on_any_device(
    site: WebApp, make_invitation
) -> None:
    token = await make_invitation()
    owner = site.citizen(accept_language="ru")
    landing = await owner.open(f"/s/{token}")
    tap_start = [("csrf", landing.hidden("csrf") or "")]
    survey = await owner.post(landing.action, tap_start)
    await owner.answer("5")

    async with owner.session.get(f"/s/{token}", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == survey.path
    reloaded = await owner.open(f"/s/{token}")
    assert (reloaded.path, reloaded.question) == (survey.path, "deadline_met")
    # Start tapped again (the back button, an old tab): the same survey, where it was left.
    again = await owner.post(landing.action, tap_start)
    assert (again.path, again.question) == (survey.path, "deadline_met")

    # The link is the citizen's key: on another device it continues the same survey where
    # it stopped (Start, then the next question), and nothing new is opened.
    elsewhere = site.citizen(accept_language="ru")
    page = await elsewhere.open(f"/s/{token}")
    assert page.status == 200
    continued = await elsewhere.post(page.action, [("csrf", page.hidden("csrf") or "")])
    assert continued.question == "deadline_met"
    assert len(await site.responses()) == 1
    # Back on the first device, the link takes it back there, still at the same question.
    back = await owner.post(landing.action, tap_start)
    assert back.question == "deadline_met"
    assert len(await site.responses()) == 1


async def test_used_expired_and_unknown_links_get_a_friendly_page(
    site: WebApp, make_invitation
) -> None:
    used = await make_invitation()
    first = site.citizen()
    await first.start(used)
    await answer_in_order(first, HAPPY_RU[:9])
    await first.answer(skip=True)

    someone_else = site.citizen(accept_language="ru")
    page = await someone_else.open(f"/s/{used}")
    assert page.status == 410
    assert page.heading == say("invitation_used", "ru")

    expired = await make_invitation(ttl_hours=-1)
    page = await someone_else.open(f"/s/{expired}")
    assert page.status == 410
    assert page.heading == say("invitation_expired", "ru")

    page = await someone_else.open("/s/no-such-token-at-all-0000")
    assert page.status == 404
    assert page.heading == say("invitation_unknown", "ru")

    page = await someone_else.open("/s/" + "x" * 500 + "?lang=kk")
    assert page.status == 404
    assert page.heading == say("invitation_unknown", "kk")
    assert page.lang == "kk"


async def test_an_unfinished_survey_of_an_expired_link_is_not_continued(
    site: WebApp, make_invitation
) -> None:
    token = await make_invitation()
    first = site.citizen(accept_language="ru")
    await first.start(token)
    await first.answer("5")
    async with site.session_factory() as session:
        invitation = (await session.scalars(select(Invitation))).one()
        invitation.expires_at = invitation.expires_at.replace(year=2000)
        await session.commit()
    elsewhere = site.citizen(accept_language="ru")
    page = await elsewhere.open(f"/s/{token}")
    assert (page.status, page.heading) == (410, say("invitation_expired", "ru"))
    assert [r.status for r in await site.responses()] == [ResponseStatus.IN_PROGRESS]


async def test_an_unknown_office_code_gets_a_friendly_page(site: WebApp) -> None:
    citizen = site.citizen(accept_language="en")
    page = await citizen.open("/o/NOPE-99")  # unsigned: what an old poster had
    assert page.status == 410
    assert page.heading == say("office_code_stale", "en")
    assert page.lang == "en"
    page = await citizen.open(poster_path("NOPE-99"))  # signed, but no such office
    assert page.status == 404
    assert page.heading == say("office_unknown", "en")


async def test_a_walk_in_from_the_office_qr_code(site: WebApp, seed: Seed) -> None:
    citizen = site.citizen(accept_language="ru")
    page = await citizen.open(poster_path(seed.office.code))
    assert page.status == 200
    assert page.heading == say("choose_service", "ru", office=seed.office.name_ru)
    assert "Постановка в очередь в детский сад" in page.label_texts()
    assert "Предоставление земельного участка" in page.label_texts()
    assert len(page.inputs) >= 3

    page = await citizen.post(page.action, [("csrf", page.hidden("csrf") or "")])
    assert page.error == say("choose_offered", "ru")
    page = await citizen.post(
        page.action, [("csrf", page.hidden("csrf") or ""), ("service", "999999")]
    )
    assert page.error == say("choose_offered", "ru")

    service = page.value_for_label("Постановка в очередь в детский сад")
    page = await citizen.post(
        page.action, [("csrf", page.hidden("csrf") or ""), ("service", service)]
    )
    assert page.path.startswith("/r/")
    assert page.question == "overall"
    await answer_in_order(citizen, HAPPY_RU[:9])
    await citizen.answer(skip=True)

    [response] = await site.responses()
    assert response.walk_in is True
    assert response.service_id == seed.service.id
    assert response.service_point_id == seed.office.id
    assert response.invitation_id is None
    assert response.channel is Channel.WEB
    assert response.status is ResponseStatus.COMPLETED


async def test_one_walk_in_per_office_per_day_from_one_browser(site: WebApp, seed: Seed) -> None:
    citizen = site.citizen(accept_language="ru")
    surveys = []
    for label in ("Постановка в очередь в детский сад",) * 3:
        page = await citizen.open(poster_path(seed.office.code))
        service = page.value_for_label(label)
        page = await citizen.post(
            page.action, [("csrf", page.hidden("csrf") or ""), ("service", service)]
        )
        surveys.append((page.status, page.path))
    # The same choice again resumes the survey already open: still one walk-in.
    assert len(set(surveys)) == 1 and surveys[0][0] == 200
    page = await citizen.open(poster_path(seed.office.code))
    service = page.value_for_label("Предоставление земельного участка")
    page = await citizen.post(
        page.action, [("csrf", page.hidden("csrf") or ""), ("service", service)]
    )
    assert page.status == 429
    assert page.heading == say("walk_in_limit", "ru")
    assert len(await site.responses()) == 1


async def test_another_browser_cannot_see_or_continue_someones_survey(
    site: WebApp, make_invitation
) -> None:
    token = await make_invitation()
    owner = site.citizen(accept_language="ru")
    page = await owner.start(token)
    survey_url = page.path
    form = [("csrf", page.hidden("csrf") or ""), ("question", "overall"), ("value", "1")]

    stranger = site.citizen(accept_language="ru")
    seen = await stranger.open(survey_url)
    assert seen.status == 403
    assert seen.heading == say("web_session_lost", "ru")
    assert seen.question is None
    posted = await stranger.post(survey_url, form)
    assert posted.status == 403
    assert posted.heading == say("web_session_lost", "ru")

    [response] = await site.responses()
    assert answers_of(response) == {}
    await owner.answer("5")
    [response] = await site.responses()
    assert answers_of(response) == {"overall": 5}


async def test_a_form_without_a_valid_csrf_token_is_refused(
    site: WebApp, make_invitation, seed: Seed
) -> None:
    token = await make_invitation()
    citizen = site.citizen(accept_language="kk")
    page = await citizen.start(token)

    missing = await citizen.post(page.action, [("question", "overall"), ("value", "5")])
    assert missing.status == 403
    assert missing.heading == say("web_bad_request", "kk")
    wrong = await citizen.post(
        page.action, [("csrf", "AAAAAAAAAAAAAAAA"), ("question", "overall"), ("value", "5")]
    )
    assert wrong.status == 403

    office = await citizen.open(poster_path(seed.office.code))
    refused = await citizen.post(office.action, [("service", str(seed.service.id))])
    assert refused.status == 403
    assert refused.heading == say("web_bad_request", "kk")

    [response] = await site.responses()
    assert answers_of(response) == {}


async def test_forged_or_mangled_refs_show_not_found(site: WebApp, make_invitation) -> None:
    token = await make_invitation()
    citizen = site.citizen(accept_language="ru")
    page = await citizen.start(token)
    ref = page.path.removeprefix("/r/")
    response_id, _, mac = ref.partition(".")
    for forged in (f"{int(response_id) + 1}.{mac}", "1", "1.AAAA", "%00", "x" * 300):
        seen = await citizen.open(f"/r/{forged}")
        assert seen.status == 404, forged
        assert seen.heading == say("web_not_found", "ru")


async def test_switching_language_follows_the_citizen_and_the_response(
    site: WebApp, make_invitation, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    token = await make_invitation()
    citizen = site.citizen()
    page = await citizen.start(token)
    assert page.lang == "kk"
    assert [link.text for link in page.links][:3] == ["Қазақша", "Русский", "English"]

    switched = await citizen.open(f"{page.path}?lang=ru")
    assert switched.lang == "ru"
    assert switched.contains("Вопрос 1 из 12")
    remembered = await citizen.open(page.path)
    assert remembered.lang == "ru"  # the cookie keeps the choice

    [response] = await site.responses()
    assert response.language == "ru"
    async with session_factory() as session:
        respondent = await session.get(Respondent, response.respondent_id)
    assert respondent is not None and respondent.language == "ru"

    english = await citizen.open(f"{page.path}?lang=en")
    assert english.heading == "Overall, how satisfied are you with the service you received?"
    ignored = await citizen.open(f"{page.path}?lang=de")
    assert ignored.lang == "en"


async def test_the_identity_cookie_is_http_only_and_same_site(
    site: WebApp, make_invitation
) -> None:
    token = await make_invitation()
    citizen = site.citizen()
    async with citizen.session.get(f"/s/{token}") as response:
        assert response.status == 200
        cookie = response.cookies["qanagat_id"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # http in the test settings; https sets Secure
    await citizen.start(token)
    # The cookie holds a signed pseudonym, never a number someone could guess.
    async with site.session_factory() as session:
        respondent = await session.scalar(select(Respondent))
    assert respondent is not None and respondent.key in cookie.value


async def test_cookies_are_secure_when_the_site_is_served_over_https(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    token = await make_invitation()
    https = web_settings().model_copy(update={"public_url": "https://qanagat.example.kz"})
    async with running_web_app(session_factory, https) as app:
        citizen = app.citizen()
        async with citizen.session.get(f"/s/{token}?lang=ru") as response:
            assert response.status == 200
            assert response.cookies["qanagat_id"]["secure"]
            assert response.cookies["qanagat_lang"]["secure"]


async def test_unknown_links_create_no_respondents(site: WebApp) -> None:
    citizen = site.citizen()
    for guess in ("abc", "AAAAAAAAAAAAAAAAAAAAAA", "o-ALA-01"):
        assert (await citizen.open(f"/s/{guess}")).status == 404
    async with site.session_factory() as session:
        assert await session.scalar(select(Respondent)) is None


async def test_pages_are_built_for_phones_and_screen_readers(site: WebApp, make_invitation) -> None:
    token = await make_invitation()
    citizen = site.citizen(accept_language="ru")
    page = await citizen.start(token)
    assert 'name="viewport"' in page.html
    assert "<fieldset" in page.html and "<legend>" in page.html
    radios = [c for c in page.inputs if c.attrs.get("type") == "radio"]
    assert [r.attrs["value"] for r in radios] == ["1", "2", "3", "4", "5"]
    labelled = {label.attrs.get("for") for label in page.labels}
    assert all(radio.attrs["id"] in labelled for radio in radios)
    assert "cdn" not in page.html.lower() and "https://" not in page.html

    await citizen.answer("5")
    yes_no = citizen.current
    assert yes_no.button_texts() == ["Да", "Нет"]
    await answer_in_order(citizen, HAPPY_RU[1:9])
    comment = citizen.current
    [area] = comment.textareas
    assert area.attrs["maxlength"] == "1000"
    assert say("button_skip", "ru") in comment.button_texts()

    async with citizen.session.get("/static/web/web.css") as css:
        assert css.status == 200
        assert "text/css" in css.headers["Content-Type"]


async def test_wrong_methods_and_odd_requests_never_fail_loudly(
    site: WebApp, make_invitation
) -> None:
    token = await make_invitation()
    citizen = site.citizen(accept_language="ru")
    page = await citizen.start(token)
    path = page.path
    for method, url in (("PUT", path), ("DELETE", f"/s/{token}"), ("PATCH", "/o/ALA-01")):
        async with citizen.session.request(method, url) as response:
            assert response.status == 405, (method, url)
            assert say("web_bad_request", "ru") in await response.text()
    async with citizen.session.post(f"/s/{token}") as response:
        assert response.status == 403  # Start without the page's CSRF token

    csrf = page.hidden("csrf") or ""
    huge = await citizen.post(
        path, [("csrf", csrf), ("question", "overall"), ("value", "я" * 100_000)]
    )
    assert huge.status == 200
    assert huge.error == say("web_too_large", "ru")

    async with citizen.session.post(
        path, data=b"--x\r\n", headers={"Content-Type": "multipart/form-data; boundary=x"}
    ) as response:
        assert response.status == 403

    weird = await citizen.post(path, b"csrf=%FF%FE&question=\x00&value=%00%01")
    assert weird.status == 403
    control = await citizen.post(
        path, [("csrf", csrf), ("question", "overall"), ("value", "\x00\u202e5\x07")]
    )
    assert control.error == say("number_out_of_range", "ru", low=1, high=5)
    unknown = await citizen.post(path, [("csrf", csrf), ("question", "nonsense"), ("value", "1")])
    assert unknown.error == say("not_current", "ru")

    many = [("csrf", csrf)] + [("value", str(n)) for n in range(500)]
    assert (await citizen.post(path, many)).status == 403


async def test_a_stale_or_forged_refusal_parameter_is_ignored(
    site: WebApp, make_invitation
) -> None:
    token = await make_invitation()
    citizen = site.citizen(accept_language="ru")
    page = await citizen.start(token)
    refused = await citizen.answer("0")
    assert refused.error is not None
    assert "?e=" in refused.url
    forged = await citizen.open(page.path + "?e=eyJyIjoiaGVscCJ9.AAAAAAAAAAAAAAAA")
    assert forged.error is None
    other_survey = await citizen.open(page.path.replace("/r/", "/r/9") + "?e=x")
    assert other_survey.status == 404


# Telegram Mini App -------------------------------------------------------------------------


async def post_init_data(citizen: Citizen, init_data: object) -> tuple[int, dict[str, str]]:
    async with citizen.session.post("/app/session", json={"init_data": init_data}) as response:
        return response.status, await response.json()


async def test_the_mini_app_page_loads_its_script_locally(site: WebApp) -> None:
    citizen = site.citizen(accept_language="ru")
    page = await citizen.open("/app")
    assert page.status == 200
    assert page.heading == say("web_loading", "ru")
    assert "/static/web/miniapp.js" in page.html
    assert "telegram.org" not in page.html
    async with citizen.session.get("/static/web/miniapp.js") as script:
        assert script.status == 200
        assert "tgWebAppData" in await script.text()


async def test_mini_app_init_data_signed_by_telegram_opens_the_invitation(
    site: WebApp, make_invitation
) -> None:
    token = await make_invitation()
    citizen = site.citizen(accept_language="ru")
    status, body = await post_init_data(
        citizen, signed_init_data(BOT_TOKEN, 4242, start_param=token)
    )
    # Telegram vouches that its user opened this: straight to the survey, no Start page.
    assert status == 200
    assert body["url"].startswith("/r/")
    page = await citizen.open(body["url"])
    assert page.question == "overall"
    # Reopening the Mini App (or reloading it) resumes the same survey.
    again = await post_init_data(citizen, signed_init_data(BOT_TOKEN, 4242, start_param=token))
    assert again == (200, body)
    await answer_in_order(citizen, HAPPY_RU[:9])
    thanks = await citizen.answer(skip=True)
    assert thanks.status == 200

    [response] = await site.responses()
    assert response.channel is Channel.MINI_APP
    assert response.status is ResponseStatus.COMPLETED
    async with site.session_factory() as session:
        respondent = await session.get(Respondent, response.respondent_id)
    # The same pseudonym the Telegram bot gives this user: one respondent across both.
    assert respondent is not None
    assert respondent.key == respondent_key(SECRET.encode(), "telegram", 4242)


async def test_mini_app_start_params_lead_to_offices_or_to_the_open_survey(
    site: WebApp, make_invitation, seed: Seed
) -> None:
    citizen = site.citizen(accept_language="kk")
    status, body = await post_init_data(
        citizen, signed_init_data(BOT_TOKEN, 7, start_param=f"o-{seed.office.code}", language="kk")
    )
    assert (status, body) == (200, {"url": f"/o/{seed.office.code}"})

    status, body = await post_init_data(citizen, signed_init_data(BOT_TOKEN, 7))
    assert (status, body) == (200, {"url": "/app/open"})
    page = await citizen.open(body["url"])
    assert page.heading == say("nothing_in_progress", "kk")

    token = await make_invitation()
    opened = await citizen.start(token)
    status, body = await post_init_data(citizen, signed_init_data(BOT_TOKEN, 7))
    assert (status, body) == (200, {"url": opened.path})


async def test_a_mini_app_invitation_that_opens_nothing_leads_to_the_links_page(
    site: WebApp, make_invitation
) -> None:
    expired = await make_invitation(ttl_hours=-1)
    citizen = site.citizen(accept_language="ru")
    status, body = await post_init_data(
        citizen, signed_init_data(BOT_TOKEN, 8, start_param=expired, language="ru")
    )
    assert (status, body) == (200, {"url": f"/s/{expired}"})
    page = await citizen.open(body["url"])
    assert page.status == 410
    assert page.heading == say("invitation_expired", "ru")
    assert await site.responses() == []


@pytest.mark.parametrize(
    "init_data",
    [
        pytest.param(signed_init_data("999:other-bot", 1), id="signed-by-another-bot"),
        pytest.param(
            signed_init_data(BOT_TOKEN, 1).replace("user=%7B%22id%22%3A1", "user=%7B%22id%22%3A2"),
            id="user-swapped",
        ),
        pytest.param(
            signed_init_data(BOT_TOKEN, 1, auth_date=int(time.time()) - 25 * 3600),
            id="older-than-a-day",
        ),
        pytest.param(
            signed_init_data(BOT_TOKEN, 1, auth_date=int(time.time()) + 3600), id="from-the-future"
        ),
        pytest.param("user=%7B%7D&hash=abc", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param(12345, id="not-a-string"),
        pytest.param("a" * 10_000, id="huge"),
    ],
)
async def test_forged_or_stale_mini_app_init_data_is_rejected(
    site: WebApp, init_data: object
) -> None:
    citizen = site.citizen(accept_language="ru")
    status, body = await post_init_data(citizen, init_data)
    assert status == 403
    assert body == {"message": say("web_miniapp_invalid", "ru")}
    assert "qanagat_id" not in {cookie.key for cookie in citizen.session.cookie_jar}


async def test_mini_app_needs_a_bot_token_and_json(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    async with running_web_app(session_factory, web_settings(telegram_token=None)) as app:
        citizen = app.citizen()
        status, _ = await post_init_data(citizen, signed_init_data(BOT_TOKEN, 1))
        assert status == 403
        async with citizen.session.post(
            "/app/session", data={"init_data": signed_init_data(BOT_TOKEN, 1)}
        ) as response:
            assert response.status == 403


async def test_invitation_state_is_untouched_by_a_head_request(
    site: WebApp, make_invitation, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    token = await make_invitation()
    citizen = site.citizen()
    async with citizen.session.head(f"/s/{token}") as response:
        assert response.status == 200
    async with session_factory() as session:
        invitation = await session.scalar(select(Invitation))
    assert invitation is not None and invitation.used_at is None
    assert await site.responses() == []


# Whatever arrives, never a 5xx ----------------------------------------------------------------

FIELD_NAMES = st.sampled_from(["csrf", "question", "value", "skip", "service", "e", "lang"])
WILD_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
FIELDS = st.lists(
    st.tuples(FIELD_NAMES | WILD_TEXT, WILD_TEXT | st.sampled_from(["1", "yes", "5"])), max_size=12
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    fields=FIELDS,
    with_csrf=st.booleans(),
    question=st.sampled_from(["overall", "reasons", "comment", "staff", ""]) | WILD_TEXT,
    target=st.sampled_from(["survey", "link", "office", "ref-noise"]),
)
async def test_arbitrary_form_submissions_never_produce_a_server_error(
    site: WebApp,
    make_invitation,
    seed: Seed,
    fields: list[tuple[str, str]],
    with_csrf: bool,
    question: str,
    target: str,
) -> None:
    citizen = site.citizen(accept_language="ru")
    if target == "office":
        page = await citizen.open(poster_path(seed.office.code))
    elif target == "link":
        page = await citizen.open(f"/s/{await make_invitation()}")
    else:
        page = await citizen.start(await make_invitation())
    assert page.status == 200
    posted = list(fields)
    if with_csrf:
        posted = [("csrf", page.hidden("csrf") or ""), ("question", question), *posted]
    action = page.action if target != "ref-noise" else page.action + "x"
    result = await citizen.post(action, posted)
    assert result.status < 500, (result.status, result.html[:500])
    after = await citizen.open(page.path)
    assert after.status < 500


async def test_an_answer_with_a_nul_or_5000_digits_is_refused_not_a_server_error(
    site: WebApp, make_invitation
) -> None:
    """PostgreSQL refuses a NUL and Python a 5,000-digit number: both were a 503."""
    citizen = site.citizen(accept_language="ru")
    await citizen.start(await make_invitation())
    for value in ("9" * 5000, "\x00", "\x01\x02"):
        refused = await citizen.answer(value)  # the first question asks for a rating, 1 to 5
        assert refused.status == 200 and refused.error, value
    await answer_in_order(citizen, HAPPY_RU[:7])
    await citizen.tap("В ЦОНе")
    await answer_in_order(citizen, HAPPY_RU[8:9])
    await citizen.answer("Спасибо\x00, всё\x07 хорошо")  # the free-text comment
    [response] = await site.responses()
    assert response.status is ResponseStatus.COMPLETED
    assert answers_of(response)["comment"] == "Спасибо, всё хорошо"


async def test_the_root_and_unknown_addresses_answer_in_the_visitors_language(
    site: WebApp,
) -> None:
    ru = site.citizen("ru-RU,ru;q=0.9")
    home = await ru.open("/")
    assert home.status == 200 and home.lang == "ru"
    assert say("web_home", "ru") in home.paragraphs
    for path in ("/s/", "/s", "/no/such/page", "/r/", "/o/"):
        lost = await ru.open(path)
        assert (lost.status, lost.lang, lost.heading) == (404, "ru", say("web_lost", "ru")), path
        assert 'name="viewport" content="width=device-width, initial-scale=1"' in lost.html
        assert 'rel="icon"' in lost.html
    kk = site.citizen("kk")
    assert (await kk.open("/nothing-here")).heading == say("web_lost", "kk")
    async with aiohttp.ClientSession(base_url=site.server.make_url("/")) as raw:
        async with raw.get("/favicon.ico") as icon:
            assert icon.status == 200 and icon.content_type == "image/svg+xml"
            assert (await icon.read()).startswith(b"<svg")
        async with raw.post("/no/such/page") as posted:
            assert posted.status in (404, 405)


async def test_an_office_rated_today_says_so_before_a_service_is_picked(
    site: WebApp, seed: Seed
) -> None:
    citizen = site.citizen(accept_language="ru")
    page = await citizen.open(poster_path(seed.office.code))
    service = page.value_for_label("Постановка в очередь в детский сад")
    survey = await citizen.post(
        page.action, [("csrf", page.hidden("csrf") or ""), ("service", service)]
    )
    # while the walk-in is open, the office page lets the citizen pick it again to carry on
    assert (await citizen.open(poster_path(seed.office.code))).status == 200
    await citizen.open(survey.path)
    await answer_in_order(citizen, HAPPY_RU[:9])
    await citizen.answer(skip=True)

    again = await citizen.open(poster_path(seed.office.code))
    assert again.status == 429
    assert again.heading == say("walk_in_limit", "ru")
    assert again.label_texts() == []  # no services to pick from
    # another browser (another person) still gets the services
    other = site.citizen(accept_language="ru")
    assert (await other.open(poster_path(seed.office.code))).status == 200
