"""Sources as a reader is told them: the citation in the reader's language, the file's reason
kept, and never the project's own notes, paragraphs or issues, whatever a file writes."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from scoring.sources import citations, source_words


def test_a_research_citation_is_said_in_each_language_with_its_reason_kept() -> None:
    source = (
        "research report, 2020, section 2.5, recommendation 1 (the split of the remaining 0.7 "
        "is not in the text); assumption: in proportion to the 2020 weights"
    )
    assert source_words(source, "ru") == (
        "отчёт об исследовании, 2020, раздел 2.5, рекомендация 1 (the split of the remaining "
        "0.7 is not in the text); допущение: in proportion to the 2020 weights"
    )
    assert source_words(source, "kk").startswith("зерттеу есебі, 2020, бөлім 2.5, ұсыным 1")
    assert source_words(source, "en") == source
    kinds = [c.kind for c in citations(source, "en")]
    assert kinds == ["research", "assumption"]


def test_the_decree_a_proposal_and_a_page_are_cited() -> None:
    said = source_words(
        "decree No 954; research report, 2020, p. 112; this project's proposal: clamp R1 at 0",
        "ru",
    )
    assert said == (
        "Указ Президента № 954 (2010); отчёт об исследовании, 2020, с. 112; "
        "предложение этого проекта: clamp R1 at 0"
    )


def test_a_past_versions_notes_are_said_as_the_documents_they_stood_for() -> None:
    said = source_words("DOMAIN.md §2 (the weights were lost); assumption: equal thirds", "en")
    assert said == "research report, 2020 (the weights were lost); assumption: equal thirds"
    said = source_words("issue 4 item 3 (satisfaction 60 points)", "kk")
    assert said == "осы жобаның ұсынысы: (satisfaction 60 points)"
    said = source_words("assumption: about 1 per 100 services (DOMAIN.md §4)", "ru")
    assert said == "допущение: about 1 per 100 services (отчёт об исследовании, 2020)"


PIECES = st.sampled_from(
    [
        "DOMAIN.md §1",
        "DOMAIN.md §3",
        "DOMAIN.md  § 2.1",
        "DOMAIN.md §",
        "DOMAIN.md",
        "issue 4 item 3",
        "issue 12",
        "assumption:",
        "research report, 2020, section 2.2",
        "decree No 954",
        ";",
        "(",
        ")",
        " ",
        "weights",
        "K3 only for central bodies",
    ]
)


@given(st.lists(PIECES | st.text(max_size=8), max_size=12), st.sampled_from(["kk", "ru", "en"]))
def test_no_source_ever_shows_the_projects_own_papers(parts: list[str], lang: str) -> None:
    said = source_words(" ".join(parts), lang)
    assert "DOMAIN" not in said
    assert not re.search(r"\bissue\s+\d", said, re.IGNORECASE)
