"""Pure scoring: methodology files, formulas, statistics. DataFrames in, DataFrames out.

    from scoring import load_methodology, score, compare, run_record

Nothing here imports the rest of the project (no database, no bot, no web); see
docs/methodology.md for the methodologies, the file format and a worked example.
"""

from scoring.compute import compare, score
from scoring.explain import explain
from scoring.methodology import (
    Methodology,
    MethodologyError,
    available_methodologies,
    load_methodology,
    methodology_by_hash,
    parse_methodology,
)
from scoring.runs import RunRecord, run_record
from scoring.sensitivity import sensitivity

__all__ = [
    "Methodology",
    "MethodologyError",
    "RunRecord",
    "available_methodologies",
    "compare",
    "explain",
    "load_methodology",
    "methodology_by_hash",
    "parse_methodology",
    "run_record",
    "score",
    "sensitivity",
]

# Complaint texts (docs/complaint-analytics.md): personal data scrubbing and text analytics.
from scoring.privacy import scrub, scrub_report
from scoring.text import Theme, detect_language, normalise, themes

__all__ += ["Theme", "detect_language", "normalise", "scrub", "scrub_report", "themes"]
