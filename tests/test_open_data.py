"""The open-data packages: the demo's 2025 package validates and recomputes every published
total from the package alone; a changed value or file is caught; nothing below the minimum
cell and no free text gets out; /results/data lists and serves the closed periods."""

from __future__ import annotations

import asyncio
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result
from frictionless import Package
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from core.db import create_engine, create_session_factory
from core.models import Agency, AgencyKind, Answer, Base, PublicService, Response, ServicePoint
from core.periods import parse_period
from core.rollups import add_rollup_rows
from core.score_runs import latest_score_run, publish_score_run, withdraw_score_run
from qanagat import demo
from qanagat.cli import main
from qanagat.scores import score_period
from results.disclosure import disclosure_rule
from results.open_data.suppression import Cell, group_keys, suppress_cells
from results.open_data.web import setup_open_data, usable_cache_dir
from tests import conftest, services
from tests.conftest import LENIENT, SURVEYS
from tests.test_words_on_pages import foreign_words

MARKER = "ZQX-free-text-marker"
MINIMUM = disclosure_rule().minimum_cell
PUBLISHER = "analyst.who.published@example.kz"  # who published stays in the audit, not the data


def _cli(*args: str, url: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"QANAGAT_DATABASE_URL": url})


async def _load_demo(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await demo.load(session, SURVEYS["post_service"], b"secret", LENIENT)
    async with sessions() as session:  # free text a citizen typed, and a counter made of it
        ids = list(await session.scalars(select(Response.id).order_by(Response.id).limit(300)))
        await session.execute(
            delete(Answer).where(Answer.response_id.in_(ids), Answer.question == "comment")
        )
        await session.execute(
            insert(Answer),
            [{"response_id": i, "question": "comment", "value": f"{MARKER} {i}"} for i in ids],
        )
        agency = await session.scalar(select(Agency).order_by(Agency.id).limit(1))
        assert agency is not None
        service = await session.scalar(
            select(PublicService.id).where(PublicService.agency_id == agency.id).limit(1)
        )
        await add_rollup_rows(
            session,
            [
                {"day": "2025-03-04", "agency_id": agency.id, "service_id": service,
                 "service_point_key": 0, "metric": "comment", "value_key": MARKER, "count": 500},
            ],
        )  # fmt: skip
        await session.commit()
    await engine.dispose()


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}"
    asyncio.run(_load_demo(url))
    return url


@pytest.fixture(scope="module")
def demo_package(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    built = _cli("results", "package", "2025", "--out", str(out), url=demo_url)
    assert built.exit_code == 0, built.output
    return out / "qanagat-2025.zip"


def _members(archive: Path) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(archive) as opened:
        for name in opened.namelist():
            yield name, opened.read(name)


def _rewrite(archive: Path, target: Path, name: str, old: bytes, new: bytes) -> Path:
    with zipfile.ZipFile(target, "w") as out:
        for member, raw in _members(archive):
            if member.endswith(name):
                assert old in raw
                raw = raw.replace(old, new, 1)
            out.writestr(member, raw)
    return target


def test_the_demo_package_recomputes_every_published_total(demo_package: Path) -> None:
    result = _cli("results", "verify", str(demo_package), url="sqlite+aiosqlite://")
    assert result.exit_code == 0, result.output
    assert "run 1 (kz-2020" in result.output and "run 2 (proposed-s30" in result.output
    assert result.output.count(": 33 of 33 bodies match") == 2
    assert result.output.rstrip().endswith("every published score recomputes from the package")


def test_a_changed_total_is_named_with_both_numbers(demo_package: Path, tmp_path: Path) -> None:
    scores = dict(_members(demo_package))["qanagat-2025/scores.csv"].decode()
    line = next(row for row in scores.splitlines() if ",total," in row and row.startswith("1,"))
    agency, value = line.split(",")[1], line.split(",")[4]
    tampered = line.replace(f",total,{value},", f",total,{float(value) + 1.5!r},")
    changed = _rewrite(
        demo_package, tmp_path / "changed.zip", "scores.csv", line.encode(), tampered.encode()
    )
    result = _cli("results", "verify", str(changed), url="sqlite+aiosqlite://")
    assert result.exit_code == 1
    assert f"MISMATCH run 1 (kz-2020 2020.2, 2025) {agency}: total value: published" in (
        result.output
    )
    assert f"recomputed {value}" in result.output
    assert ": 32 of 33 bodies match" in result.output


def test_a_changed_input_or_methodology_file_is_caught(demo_package: Path, tmp_path: Path) -> None:
    members = dict(_members(demo_package))
    inputs = members["qanagat-2025/score_inputs.csv"].decode()
    line = next(row for row in inputs.splitlines() if ",satisfied_share," in row)
    value = line.split(",")[3]
    lowered = line.replace(f",{value},", f",{float(value) / 2!r},")
    changed = _rewrite(
        demo_package, tmp_path / "inputs.zip", "score_inputs.csv", line.encode(), lowered.encode()
    )
    result = _cli("results", "verify", str(changed), url="sqlite+aiosqlite://")
    assert result.exit_code == 1 and "MISMATCH" in result.output

    methodology = next(name for name in members if "/methodologies/kz-2020" in name)
    edited = _rewrite(
        demo_package, tmp_path / "file.zip", methodology.rsplit("/", 1)[1], b"0.", b"1."
    )
    result = _cli("results", "verify", str(edited), url="sqlite+aiosqlite://")
    assert result.exit_code == 1
    assert "does not hash to the run's methodology_hash" in result.output


MEMBERS = ["scores.csv", "score_inputs.csv", "score_runs.csv", "score_agencies.csv",
           "datapackage.json"]  # fmt: skip


@settings(max_examples=15, deadline=None)
@given(
    member=st.sampled_from(MEMBERS),
    cut=st.integers(0, 4000),
    junk=st.binary(max_size=60),
)
def test_a_damaged_package_is_refused_in_words_never_with_a_traceback(
    demo_package: Path, tmp_path_factory: pytest.TempPathFactory, member: str, cut: int, junk: bytes
) -> None:
    target = tmp_path_factory.mktemp("damaged") / "damaged.zip"
    with zipfile.ZipFile(target, "w") as out:
        for name, raw in _members(demo_package):
            if name.endswith("/" + member):
                raw = raw[:cut] + junk + raw[cut + len(junk) :]
            out.writestr(name, raw)
    result = _cli("results", "verify", str(target), url="sqlite+aiosqlite://")
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


def test_the_package_validates_as_a_frictionless_data_package(
    demo_package: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(demo_package) as opened:
        opened.extractall(tmp_path)
    folder = tmp_path / "qanagat-2025"
    report = Package(str(folder / "datapackage.json")).validate()
    assert report.valid, report.flatten(["title", "message"])
    names = {resource.name for resource in Package(str(folder / "datapackage.json")).resources}
    assert {"aggregates", "scores", "score_inputs", "methodologies", "ledger_head"} <= names
    descriptor = Package(str(folder / "datapackage.json")).to_dict()
    assert set(descriptor["descriptions"]) == {"kk", "ru", "en"}
    dictionary = pd.read_csv(folder / "dictionary.csv", keep_default_na=False)
    assert (dictionary[["title_kk", "title_ru", "title_en"]] != "").all().all()
    ledger = pd.read_csv(folder / "ledger_head.csv")
    assert ledger.loc[0, "entries"] == demo.DEMO_RESPONSES  # the year's stretch of the chain


def test_no_free_text_and_no_small_cell_in_any_file_of_the_package(demo_package: Path) -> None:
    members = dict(_members(demo_package))
    for name, raw in members.items():
        assert MARKER.encode() not in raw, name
        assert MARKER.lower().encode() not in raw.lower(), name
    aggregates = pd.read_csv(
        pd.io.common.BytesIO(members["qanagat-2025/aggregates.csv"]), keep_default_na=False
    )
    assert (aggregates["count"] >= MINIMUM).all()
    scores = pd.read_csv(pd.io.common.BytesIO(members["qanagat-2025/scores.csv"]))
    assert (scores["n"].dropna() >= MINIMUM).all()


# --- suppression -----------------------------------------------------------------------------


def _groups(cells: list[Cell]) -> dict[tuple[str, ...], list[Cell]]:
    found: dict[tuple[str, ...], list[Cell]] = defaultdict(list)
    for cell in cells:
        for key in group_keys(cell):
            found[key].append(cell)
    return found


cells_strategy = st.lists(
    st.builds(
        Cell,
        month=st.sampled_from(["2025-01", "2025-02", "2025-03", "2025-04"]),
        agency=st.sampled_from(["A", "B"]),
        service=st.sampled_from(["S1", "S2", "S3"]),
        office=st.sampled_from(["", "O1", "O2"]),
        metric=st.just("satisfaction"),
        value=st.sampled_from(["4", "5"]),
        count=st.integers(1, 400),
        region=st.sampled_from(["", "R1", "R2"]),
        agency_region=st.sampled_from(["", "R1", "R3"]),
    ),
    max_size=40,
    unique_by=lambda c: (c.month, c.agency, c.service, c.office, c.value),
)


@settings(max_examples=200, deadline=None)
@given(cells_strategy)
def test_no_published_cell_is_small_and_no_group_hides_a_small_remainder(
    cells: list[Cell],
) -> None:
    published = suppress_cells(cells, MINIMUM)
    shown = {id(cell) for cell in published}
    assert all(cell.count >= MINIMUM for cell in published)
    for key, members in _groups(cells).items():
        hidden = sum(cell.count for cell in members if id(cell) not in shown)
        if hidden == 0 or hidden >= MINIMUM:
            continue
        if key[0] == "month":  # a month's group withheld whole gives nothing away
            assert not any(id(cell) in shown for cell in members), key
        else:  # over a quarter or a year: nothing published from the first withheld month on
            first = min(cell.month for cell in members if id(cell) not in shown)
            assert not any(id(c) in shown for c in members if c.month >= first), key


@settings(max_examples=100, deadline=None)
@given(cells_strategy, st.sampled_from(["2025-01", "2025-02", "2025-03"]))
def test_a_month_shows_the_same_cells_in_its_own_package_as_in_the_year_s(
    cells: list[Cell], month: str
) -> None:
    so_far = [cell for cell in cells if cell.month <= month]
    alone = {id(c) for c in suppress_cells(so_far, MINIMUM)}
    with_later = {id(c) for c in suppress_cells(cells, MINIMUM) if c.month <= month}
    assert alone == with_later


def test_a_cell_that_would_give_away_a_small_one_is_withheld_too() -> None:
    small = Cell("2025-03", "A", "S1", "O1", "satisfaction", "3", 30)
    large = Cell("2025-03", "A", "S2", "", "satisfaction", "3", 101)
    other = Cell("2025-03", "A", "S2", "", "satisfaction", "5", 250)
    published = suppress_cells([small, large, other], MINIMUM)
    # the agency's month total of "3" minus 101 would be the 30: both are withheld
    assert published == [other]


# --- scores of a small sample ------------------------------------------------------------------


async def _small_sample_database(url: str) -> None:
    """Three bodies: with 300, 500 and 40 responses (the last below the minimum cell)."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with create_session_factory(engine)() as session:
        rows = []
        for code, n in (("BIG", 300), ("OTHER", 500), ("SMALL", 40)):
            agency = Agency(code=code, kind=AgencyKind.CENTRAL, name_kk=code, name_ru=code,
                            name_en=code)  # fmt: skip
            session.add(agency)
            await session.flush()
            service = PublicService(
                code=f"{code}-S", agency_id=agency.id, name_kk="s", name_ru="s", name_en="s"
            )
            office = ServicePoint(
                code=f"{code}-O", agency_id=agency.id, name_kk="o", name_ru="o", name_en="o"
            )
            session.add_all([service, office])
            await session.flush()
            for metric, value, count in (
                ("responses", "web", n),
                ("satisfaction", "5", n * 3 // 4),
                ("satisfaction", "2", n - n * 3 // 4),
            ):
                rows.append(
                    {"day": "2025-05-01", "agency_id": agency.id, "service_id": service.id,
                     "service_point_key": office.id, "metric": metric, "value_key": value,
                     "count": count}
                )  # fmt: skip
        await add_rollup_rows(session, rows)
        await score_period(session, parse_period("2025"))
        for methodology in ("kz-2020", "proposed-s30"):
            run = await latest_score_run(session, methodology, "2025")
            assert run is not None
            await publish_score_run(session, run, by=PUBLISHER)
        await session.commit()
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, postgres_database: str | None, tmp_path: Path) -> str:
    """An empty database on each backend (PostgreSQL skipped without it, failing in CI)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'small.sqlite3'}"
    if postgres_database is None:
        services.require_postgres_url()  # skips (or fails in CI)
    url = str(postgres_database)

    async def empty() -> None:
        engine = create_async_engine(url)
        await conftest._truncate(engine)
        await engine.dispose()

    asyncio.run(empty())
    return url


def test_a_small_sample_is_withheld_and_the_scores_still_recompute(
    database: str, tmp_path: Path
) -> None:
    url = database
    asyncio.run(_small_sample_database(url))
    built = _cli("results", "package", "2025", "--out", str(tmp_path), url=url)
    assert built.exit_code == 0, built.output
    folder = tmp_path / "qanagat-2025"
    inputs = pd.read_csv(folder / "score_inputs.csv", keep_default_na=False, dtype=str)
    small = inputs.loc[inputs["agency"] == "SMALL"].set_index(["run", "input"])
    assert small.loc[("1", "responses"), "suppressed"] == "true"
    assert small.loc[("1", "responses"), "value"] == ""
    assert small.loc[("1", "satisfied_share"), "suppressed"] == "true"
    big = inputs.loc[inputs["agency"] == "BIG"].set_index(["run", "input"])
    assert big.loc[("1", "responses"), "value"] == "300.0"
    scores = pd.read_csv(folder / "scores.csv", keep_default_na=False, dtype=str)
    assert "40" not in set(scores["n"].astype(str))
    assert not scores["reason"].str.contains("sample:40/").any()
    assert scores["reason"].str.contains("sample:suppressed/100").any()
    aggregates = pd.read_csv(folder / "aggregates.csv")
    assert (aggregates["count"] >= MINIMUM).all()
    # the month's national total of each value minus BIG's and OTHER's would give SMALL's
    # counts: the smallest of the others are withheld with them
    assert set(aggregates["agency"]) == {"OTHER"}
    assert set(aggregates["value"].astype(str)) == {"web", "5"}
    for path in folder.rglob("*"):
        if path.is_file():
            assert PUBLISHER.encode() not in path.read_bytes(), path
    again = _cli("results", "package", "2025", "--out", str(tmp_path / "again"), url=url)
    assert again.exit_code == 0, again.output
    # the same data, the same bytes: any replica may build and serve it
    same = (tmp_path / "again" / "qanagat-2025.zip").read_bytes()
    assert same == (tmp_path / "qanagat-2025.zip").read_bytes()
    verified = _cli("results", "verify", str(folder), url=url)
    assert verified.exit_code == 0, verified.output
    assert "SMALL" in verified.output


def test_an_open_period_gets_no_package(tmp_path: Path) -> None:
    result = _cli("results", "package", "2999", "--out", str(tmp_path), url="sqlite+aiosqlite://")
    assert result.exit_code == 1 and "not closed yet" in result.output
    assert not list(tmp_path.iterdir())


# --- /results/data -----------------------------------------------------------------------------


async def test_the_data_page_lists_closed_periods_in_each_language_and_serves_the_zip(
    demo_url: str, tmp_path: Path
) -> None:
    engine = create_engine(demo_url)
    app = web.Application()
    setup_open_data(app, session_factory=create_session_factory(engine), cache_dir=tmp_path)
    async with TestClient(TestServer(app)) as client:
        pages = {}
        for lang in ("kk", "ru", "en"):
            page = await client.get("/results/data", params={"lang": lang})
            assert page.status == 200 and "max-age" in page.headers["Cache-Control"]
            assert "Set-Cookie" not in page.headers
            assert "script-src" not in page.headers["Content-Security-Policy"]
            pages[lang] = await page.text()
            assert f'<html lang="{lang}">' in pages[lang]
            assert "/results/data/qanagat-2025.zip" in pages[lang]
            assert "/results/data/qanagat-2025-03.zip" in pages[lang]
        assert "Ашық деректер" in pages["kk"] and "Открытые данные" in pages["ru"]
        assert foreign_words(pages["kk"], "kk") == set() == foreign_words(pages["ru"], "ru")
        assert "Open data" in pages["en"]
        # the year's package first, then its months, newest first
        english = pages["en"]
        assert english.index("qanagat-2025.zip") < english.index("qanagat-2025-12.zip")
        months = [english.index(f"qanagat-2025-{m:02d}.zip") for m in range(12, 0, -1)]
        assert months == sorted(months)
        assert "qanagat-2999" not in pages["en"] and MARKER not in pages["en"]

        first = await client.get("/results/data/qanagat-2025-03.zip")
        assert first.status == 200 and first.headers["Content-Type"] == "application/zip"
        raw = await first.read()
        assert zipfile.ZipFile(pd.io.common.BytesIO(raw)).namelist()
        again = await client.get(
            "/results/data/qanagat-2025-03.zip", headers={"If-None-Match": first.headers["ETag"]}
        )
        assert again.status == 304
        kept = await asyncio.to_thread(lambda: list(tmp_path.glob("qanagat-2025-03-*.zip")))
        assert len(kept) == 1  # built once, kept
        for missing in ("qanagat-2999.zip", "qanagat-2025-13.zip", "other-2025.zip"):
            assert (await client.get(f"/results/data/{missing}")).status == 404
    await engine.dispose()


async def test_a_withdrawn_run_leaves_the_next_download_and_the_old_file_goes(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'small.sqlite3'}"
    await asyncio.to_thread(asyncio.run, _small_sample_database(url))
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    app = web.Application()
    cache = tmp_path / "cache"
    setup_open_data(app, session_factory=sessions, cache_dir=cache)

    def runs_in(raw: bytes) -> int:
        with zipfile.ZipFile(pd.io.common.BytesIO(raw)) as opened:
            text = opened.read("qanagat-2025/score_runs.csv").decode()
        return len(text.splitlines()) - 1

    async with TestClient(TestServer(app)) as client:
        before = await (await client.get("/results/data/qanagat-2025.zip")).read()
        assert runs_in(before) == 2
        async with sessions() as session:
            run = await latest_score_run(session, "kz-2020", "2025")
            assert run is not None
            withdraw_score_run(run)
            await session.commit()
        after = await (await client.get("/results/data/qanagat-2025.zip")).read()
        assert runs_in(after) == 1
    kept = await asyncio.to_thread(lambda: sorted(cache.glob("qanagat-2025-*.zip")))
    assert len(kept) == 1  # the package of the earlier state is gone
    await engine.dispose()


def test_an_unwritable_folder_falls_back_to_a_temporary_one(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    chosen = usable_cache_dir(blocked / "open-data")
    assert chosen.is_dir() and chosen != blocked / "open-data"
