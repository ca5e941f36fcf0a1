"""A period's Frictionless Data Package: CSV tables, the methodology files byte for byte, a
data dictionary and README in kk, ru and en, and `datapackage.json` describing them; zipped
deterministically (the same data gives the same bytes, so the same sha256).

    data = await gather(session, period)
    folder = write_package(data, Path("out"))       # out/qanagat-2025/...
    archive = zip_package(folder)                    # out/qanagat-2025.zip
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import secrets
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from core.score_runs import SCORE_VALUE_COLUMNS
from lined_yaml import load_with_lines
from results.disclosure import disclosure_rule
from results.open_data.gather import FORMAT, PeriodData, describe_run
from results.open_data.suppression import hidden_inputs, public_scores, suppress_cells
from scoring import methodology_by_hash

LANGUAGES = ("kk", "ru", "en")
DICTIONARY_FILE = Path(__file__).with_name("dictionary.yaml")
DESCRIPTOR = "datapackage.json"
ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # every member's time: the archive's bytes follow its data


@dataclass(frozen=True)
class Table:
    name: str
    fields: Sequence[tuple[str, str]]  # (field, frictionless type)
    rows: Sequence[Sequence[Any]]


@cache
def dictionary() -> dict[str, Any]:
    document, _lines = load_with_lines(DICTIONARY_FILE.read_text(encoding="utf-8"))
    return dict(document)


def package_name(period: str) -> str:
    return f"qanagat-{period.lower()}"


def _text(value: Any) -> str:
    """A cell as CSV text: empty for missing, numbers in their shortest exact form."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return repr(value + 0.0)
    return str(value)


def _csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([name for name, _type in table.fields])
    for row in table.rows:
        writer.writerow([_text(value) for value in row])
    return out.getvalue().encode("utf-8")


def _records(
    frame: pd.DataFrame, columns: Sequence[str], prefix: Sequence[Any] = ()
) -> list[list[Any]]:
    rows = []
    for values in frame.loc[:, list(columns)].astype(object).itertuples(index=False):
        rows.append([*prefix, *(None if _missing(v) else v for v in values)])
    return rows


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def tables(data: PeriodData) -> tuple[list[Table], dict[str, bytes]]:
    """The package's tables (what the disclosure rule lets out) and methodology files."""
    minimum = disclosure_rule().minimum_cell
    own = set(data.months)
    cells = [cell for cell in suppress_cells(data.cells, minimum) if cell.month in own]
    aggregates = Table(
        "aggregates",
        [
            ("month", "string"),
            ("agency", "string"),
            ("service", "string"),
            ("office", "string"),
            ("metric", "string"),
            ("value", "string"),
            ("count", "integer"),
        ],
        [[c.month, c.agency, c.service, c.office, c.metric, c.value, c.count] for c in cells],
    )
    runs: list[list[Any]] = []
    scores: list[list[Any]] = []
    inputs: list[list[Any]] = []
    kinds: list[list[Any]] = []
    files: dict[str, bytes] = {}
    for published in data.runs:
        run = published.run
        methodology = methodology_by_hash(run.methodology, run.methodology_hash)
        file = f"methodologies/{run.methodology}-{run.methodology_hash[:12]}.yaml"
        if methodology is not None:
            files[file] = _methodology_bytes(run.methodology, run.methodology_hash)
        described = describe_run(run)
        runs.append(
            [
                published.number,
                *(described[k] for k in ("methodology", "methodology_version", "methodology_hash")),
                file if methodology is not None else "",
                *(described[k] for k in ("period", "min_sample", "inputs_hash", "agencies_hash")),
                *(described[k] for k in ("code_version", "published_at")),
            ]
        )
        shown = public_scores(published.scores, minimum)
        scores += _records(shown, SCORE_FIELDS, [published.number])
        samples = (
            {name: spec.sample for name, spec in methodology.inputs.items() if spec.sample}
            if methodology is not None
            else {}
        )
        hidden = hidden_inputs(published.inputs, samples, minimum)
        for (agency, name, value), withheld in zip(
            published.inputs.loc[:, ["agency", "input", "value"]].itertuples(index=False),
            hidden,
            strict=True,
        ):
            inputs.append(
                [
                    published.number,
                    agency,
                    name,
                    None if withheld or _missing(value) else value,
                    bool(withheld),
                ]
            )
        kinds += _records(published.agencies, ["agency", "kind"], [published.number])
    head = data.ledger
    result = [
        *(_place_table(name, data.places[name]) for name in ("agencies", "services", "offices")),
        aggregates,
        Table(
            "score_runs",
            [
                ("run", "integer"),
                ("methodology", "string"),
                ("methodology_version", "string"),
                ("methodology_hash", "string"),
                ("methodology_file", "string"),
                ("period", "string"),
                ("min_sample", "integer"),
                ("inputs_hash", "string"),
                ("agencies_hash", "string"),
                ("code_version", "string"),
                ("published_at", "string"),
            ],
            runs,
        ),
        Table(
            "scores",
            [
                ("run", "integer"),
                ("agency", "string"),
                ("period", "string"),
                ("node", "string"),
                ("value", "number"),
                ("grade", "string"),
                ("n", "integer"),
                ("ci_low", "number"),
                ("ci_high", "number"),
                ("status", "string"),
                ("missing_inputs", "string"),
                ("reason", "string"),
            ],
            scores,
        ),
        Table(
            "score_inputs",
            [
                ("run", "integer"),
                ("agency", "string"),
                ("input", "string"),
                ("value", "number"),
                ("suppressed", "boolean"),
            ],
            inputs,
        ),
        Table(
            "score_agencies", [("run", "integer"), ("agency", "string"), ("kind", "string")], kinds
        ),
        Table(
            "methodologies",
            [("file", "string"), ("sha256", "string")],
            [[name, hashlib.sha256(raw).hexdigest()] for name, raw in sorted(files.items())],
        ),
        Table(
            "ledger_head",
            [
                ("period", "string"),
                ("entries", "integer"),
                ("first_seq", "integer"),
                ("last_seq", "integer"),
                ("anchor_prev_hash", "string"),
                ("head_hash", "string"),
            ],
            [
                [
                    data.period.name,
                    head.entries,
                    head.first_seq,
                    head.last_seq,
                    head.anchor_prev_hash,
                    head.head_hash,
                ]
            ],
        ),
    ]
    result.append(_dictionary_table(result))
    return result, files


# the scores table holds a run's values exactly as they are stored
SCORE_FIELDS = SCORE_VALUE_COLUMNS


def _place_table(name: str, frame: pd.DataFrame) -> Table:
    columns = [str(column) for column in frame.columns]
    return Table(name, [(column, "string") for column in columns], _records(frame, columns))


def _methodology_bytes(name: str, digest: str) -> bytes:
    """The file that hashed to `digest`, byte for byte: the shipped one or an archived one."""
    from scoring.methodology import ARCHIVE_DIR, METHODOLOGY_DIR

    for path in [METHODOLOGY_DIR / f"{name}.yaml", *sorted(ARCHIVE_DIR.glob(f"{name}-*.yaml"))]:
        if path.exists():
            raw = path.read_bytes()
            if hashlib.sha256(raw).hexdigest() == digest:
                return raw
    raise FileNotFoundError(f"no file of methodology {name} hashes to {digest}")


def _field_titles(name: str) -> Mapping[str, str]:
    found: Mapping[str, str] = dictionary()["fields"].get(name, {})
    return found


def _dictionary_table(described: Sequence[Table]) -> Table:
    fields = [("table", "string"), ("field", "string")] + [
        (f"title_{lang}", "string") for lang in LANGUAGES
    ]
    rows: list[list[Any]] = []
    for table in [*described, Table("dictionary", fields, [])]:
        for name, _type in table.fields:
            titles = _field_titles(name)
            rows.append([table.name, name, *(titles.get(lang, "") for lang in LANGUAGES)])
    return Table("dictionary", fields, rows)


def _descriptor(
    data: PeriodData, written: Mapping[str, bytes], described: Sequence[Table]
) -> dict[str, Any]:
    words = dictionary()
    rule = disclosure_rule()
    resources = []
    for table in described:
        raw = written[f"{table.name}.csv"]
        texts = words["tables"][table.name]
        resources.append(
            {
                "name": table.name,
                "type": "table",
                "path": f"{table.name}.csv",
                "scheme": "file",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "title": texts["title"]["en"],
                "description": texts["description"]["en"],
                "titles": dict(texts["title"]),
                "descriptions": dict(texts["description"]),
                "hash": f"sha256:{hashlib.sha256(raw).hexdigest()}",
                "bytes": len(raw),
                "schema": {
                    "fields": [
                        {
                            "name": name,
                            "type": kind,
                            "title": _field_titles(name).get("en", name),
                            "titles": dict(_field_titles(name)),
                        }
                        for name, kind in table.fields
                    ]
                },
            }
        )
    package = words["package"]
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": package_name(data.period.name),
        "title": package["title"]["en"],
        "description": package["description"]["en"],
        "titles": dict(package["title"]),
        "descriptions": dict(package["description"]),
        "version": data.fingerprint[:12],
        "licenses": [
            {
                "name": "CC-BY-4.0",
                "path": "https://creativecommons.org/licenses/by/4.0/",
                "title": "Creative Commons Attribution 4.0",
            }
        ],
        "qanagat": {
            "format": FORMAT,
            "period": data.period.name,
            "period_first_day": data.period.first.isoformat(),
            "period_end_day": data.period.end.isoformat(),
            "disclosure_rule": {"version": rule.version, "minimum_cell": rule.minimum_cell},
            "runs_left_out": list(data.left_out_runs),
        },
        "resources": resources,
    }


def write_package(data: PeriodData, out: Path) -> Path:
    """Write the package of `data` into `out/<name>/` (replaced if there) and return it."""
    folder = out / package_name(data.period.name)
    described, files = tables(data)
    written = {f"{table.name}.csv": _csv(table) for table in described}
    contents = dict(written)
    contents.update(files)
    contents["README.md"] = readme(data).encode("utf-8")
    contents[DESCRIPTOR] = (
        json.dumps(_descriptor(data, written, described), ensure_ascii=False, indent=2) + "\n"
    ).encode("utf-8")
    if folder.exists():
        for old in sorted(folder.rglob("*"), reverse=True):
            old.unlink() if old.is_file() else old.rmdir()
    for name, raw in contents.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
    return folder


def zip_package(folder: Path, target: Path | None = None) -> Path:
    """The folder as `<folder>.zip` (or `target`): members sorted, one fixed time, so equal
    packages are equal bytes."""
    target = target or folder.with_suffix(".zip")
    # a name of its own: two processes building the same package never write one file
    partial = target.with_name(f"{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                name = f"{folder.name}/{path.relative_to(folder).as_posix()}"
                info = zipfile.ZipInfo(name, ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)  # atomic: a reader sees the whole zip or none
    return target


README = {
    "en": """## {title}

Period {period}. Tables: `agencies`, `services`, `offices` (the places named), `aggregates`
(answer counts per metric value, body × service × office × month), `score_runs`, `scores`,
`score_inputs`, `score_agencies` (the published scores and what they were computed from),
`methodologies` (the files under `methodologies/`, byte for byte, with their SHA-256),
`ledger_head` (the stretch of the hash chain of responses completed in the period) and
`dictionary` (every field in kk, ru and en). `datapackage.json` describes each column.

**Minimum cell: {minimum}.** No count below it is published. A cell below it is withheld, and
so are the smallest other cells of any group whose total is public elsewhere (a month
nationally, per body, per body and service, per body and office, per region) until what is
withheld of each metric value in that group is either nothing or at least {minimum}: a
withheld cell cannot be found as "a total minus the published cells". A score's sample below
the minimum is left empty (`n`, and `sample:suppressed/…` in `reason`), and so are the sample
input and the shares measured on it (`suppressed` = true). No free text is in the package:
a text answer is only counted as `answered`.

**Recompute the scores:** `qanagat results verify {name}.zip` scores every body again from
`score_inputs` and `score_agencies` under the methodology file of each run, and compares every
row with `scores`. Withheld samples are below every run's minimum sample, so those rows say
`insufficient_sample` whatever the hidden value. Check the tables with `frictionless validate
datapackage.json`.
""",
    "ru": """## {title}

Период {period}. Таблицы: `agencies`, `services`, `offices` (органы, услуги, офисы),
`aggregates` (число ответов по значениям показателей: орган × услуга × офис × месяц),
`score_runs`, `scores`, `score_inputs`, `score_agencies` (опубликованные баллы и данные, из
которых они посчитаны), `methodologies` (файлы в `methodologies/` байт в байт, с SHA-256),
`ledger_head` (участок хэш-цепочки ответов, завершённых в периоде) и `dictionary` (каждое поле
на казахском, русском и английском).

**Минимальная ячейка: {minimum}.** Меньшие числа не публикуются. Кроме такой ячейки скрываются
и самые маленькие другие ячейки каждой группы, итог которой опубликован где-то ещё (месяц по
стране, по органу, по органу и услуге, по органу и офису, по региону), пока скрытое по каждому
значению показателя в группе не станет либо нулём, либо не меньше {minimum}: скрытую ячейку
нельзя получить как «итог минус опубликованные». Выборка меньше минимальной ячейки не
показывается (`n` пусто, в `reason` — `sample:suppressed/…`), как и доли, измеренные на ней
(`suppressed` = true). Свободного текста в пакете нет: текстовый ответ только считается
(`answered`).

**Пересчитать баллы:** `qanagat results verify {name}.zip` заново считает баллы каждого органа
из `score_inputs` и `score_agencies` по файлу методики каждого расчёта и сверяет каждую строку
со `scores`. Проверка таблиц: `frictionless validate datapackage.json`.
""",
    "kk": """## {title}

Кезең: {period}. Кестелер: `agencies`, `services`, `offices` (органдар, қызметтер, кеңселер),
`aggregates` (көрсеткіш мәндері бойынша жауаптар саны: орган × қызмет × кеңсе × ай),
`score_runs`, `scores`, `score_inputs`, `score_agencies` (жарияланған балдар және олар
есептелген деректер), `methodologies` (`methodologies/` ішіндегі файлдар байт-байтымен,
SHA-256 хэшімен), `ledger_head` (кезеңде аяқталған жауаптар хэш-тізбегінің бөлігі) және
`dictionary` (әр өріс қазақ, орыс және ағылшын тілдерінде).

**Ең аз ұяшық: {minimum}.** Одан кіші сан жарияланбайды. Мұндай ұяшықпен бірге жиынтығы басқа
жерде жарияланған әр топтың (ел бойынша ай, орган, орган мен қызмет, орган мен кеңсе, өңір)
ең кіші басқа ұяшықтары да жасырылады, топтағы әр мән бойынша жасырылғаны не нөл, не
{minimum}-ден кем болмайынша: жасырылған ұяшықты «жиынтық минус жарияланғандар» деп табуға
болмайды. Ең аз ұяшықтан кіші іріктеме көрсетілмейді (`n` бос, `reason` ішінде
`sample:suppressed/…`), сол іріктемеде өлшенген үлестер де (`suppressed` = true). Пакетте
еркін мәтін жоқ: мәтіндік жауап тек `answered` ретінде саналады.

**Балдарды қайта есептеу:** `qanagat results verify {name}.zip` әр органның балын
`score_inputs` пен `score_agencies` бойынша әр есептеудің әдістеме файлымен қайта есептеп,
әр жолды `scores` кестесімен салыстырады. Кестелерді тексеру: `frictionless validate
datapackage.json`.
""",
}


def readme(data: PeriodData) -> str:
    words = dictionary()["package"]["title"]
    values = {
        "period": data.period.name,
        "minimum": disclosure_rule().minimum_cell,
        "name": package_name(data.period.name),
    }
    return "\n".join(README[lang].format(title=words[lang], **values) for lang in LANGUAGES)
