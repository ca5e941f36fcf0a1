"""Complaint text analytics, offline: language, terms, themes and representative quotes.

    from scoring.text import detect_language, normalise, themes

    detect_language("Кезек өте ұзын")         # 'kk'
    normalise("Очереди в ЦОНе", "ru")          # ['очередь', 'цон']
    themes(texts, max_themes=8, seed=0)        # [Theme(label=('очередь', 'цон', …), …), …]

Pure functions over strings and pandas Series; nothing is downloaded, no language model runs.
See docs/complaint-analytics.md.
"""

from scoring.text.language import LANGUAGES, Language, detect_language, detect_languages
from scoring.text.normalise import normalise, stop_words, tokenise
from scoring.text.quotes import pick_quotes, shorten
from scoring.text.themes import Theme, themes

__all__ = [
    "LANGUAGES",
    "Language",
    "Theme",
    "detect_language",
    "detect_languages",
    "normalise",
    "pick_quotes",
    "shorten",
    "stop_words",
    "themes",
    "tokenise",
]
