"""claims-nlp: casualty claims from news text in English, Arabic, Turkish and Persian.

    >>> import nlp
    >>> ex = nlp.load()
    >>> ex("SOHR says over 700 civilians were killed in Latakia").claims
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nlp.extract import Extractor

__version__ = "0.1.0"


def load() -> Extractor:
    """An extractor for all four languages; each pipeline loads on first use."""
    from nlp.extract import Extractor

    return Extractor()
