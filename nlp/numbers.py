"""Figures: the numbers a text states, with their value and qualifier.

First version: numbers written in digits (ASCII, Arabic-Indic ٠-٩, Persian ۰-۹), with
thousands grouping. Number words, qualifiers, ranges and vague quantities come with the
number-extraction issue; the seam is `find_figures(text, lang)` and the `claims_figures`
component, which the rest of the pipeline only reads through `doc._.figures`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc

from nlp.normalize import get_normalizer

if not Doc.has_extension("figures"):
    Doc.set_extension("figures", default=None)

# Runs of digits, optionally grouped by thousands (1,084 · 5.034.439 · ١٬٣٨٣ after folding).
_DIGITS = re.compile(
    r"""(?<![\d.,])
        (?: \d{1,3} (?: ([,.]) \d{3} (?:\1\d{3})* )?  # 1,084 / 5.034.439 (one separator kind)
          | \d+ )                                      # or a plain run
        (?!\d)""",
    re.VERBOSE,
)
_YEAR = range(1900, 2101)
_MAX_DIGITS = 12


@dataclass(frozen=True)
class FigureMatch:
    text: str
    start: int
    end: int
    value: int | None
    low: int | None
    high: int | None
    qualifier: str
    kind: str  # cardinal | year | ... (only cardinals can become claims)


def find_figures(text: str, lang: str) -> list[FigureMatch]:
    """Every figure in `text`, offsets into `text` itself."""
    norm = get_normalizer(lang).with_offsets(text)
    figures: list[FigureMatch] = []
    for m in _DIGITS.finditer(norm.text):
        digits = m.group(0)
        if m.end() < len(norm.text) and norm.text[m.end()] in ",." and \
                norm.text[m.end() + 1 : m.end() + 2].isdigit():
            continue  # a decimal such as 1.5 is not a count
        plain = digits.replace(",", "").replace(".", "")
        if len(plain) > _MAX_DIGITS:
            continue  # an identifier or a digit string, not a count of people
        value = int(plain)
        grouped = not digits.isdigit()
        kind = "year" if not grouped and len(digits) == 4 and value in _YEAR else "cardinal"
        start, end = norm.start(m.start()), norm.end(m.end())
        figures.append(FigureMatch(text[start:end], start, end, value, value, value, "exact", kind))
    return figures


class FiguresComponent:
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, doc: Doc) -> Doc:
        doc._.figures = find_figures(doc.text, self.lang)
        return doc


@Language.factory("claims_figures", assigns=["doc._.figures"], requires=["token.norm"],
                  default_config={"lang": None})
def make_figures(nlp: Language, name: str, lang: str | None) -> FiguresComponent:
    return FiguresComponent(str(lang or nlp.lang))
