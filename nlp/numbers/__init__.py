"""Figures: the numbers a text states, with value, bounds, qualifier and kind.

`find_figures(text, lang)` reads digits in three scripts, number words, mixed forms,
qualifiers, ranges and vague quantities, and tells counts (`cardinal`) from ordinals,
dates, times, years, percentages, money and measures. The language knowledge is in
`data/lang/<lang>/numbers.json`; the engine (`parser.py`) is shared.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc

from nlp.numbers.lexicon import NumberLexicon, get_number_lexicon
from nlp.numbers.parser import Match, Matcher, tokenize
from nlp.schema import qualifier_bounds

KINDS = ("cardinal", "ordinal", "date", "time", "year", "percent", "money", "measure", "code")

if not Doc.has_extension("figures"):
    Doc.set_extension("figures", default=None)


@dataclass(frozen=True)
class FigureMatch:
    text: str
    start: int
    end: int
    value: int | None
    low: int | None
    high: int | None
    qualifier: str
    kind: str  # one of KINDS; only cardinals can become claims


def find_figures(text: str, lang: str, whole: bool = False) -> list[FigureMatch]:
    """Every figure in `text`, offsets into `text` itself. `whole=True` reads `text` as a
    number expression on its own, where words such as "a", "nil" or Turkish "yok" are
    numbers; in running text they are not."""
    lex = get_number_lexicon(lang)
    norm = lex.normalize.with_offsets(text)
    toks = tokenize(lex, norm.text)
    figures = []
    for match in Matcher(lex, toks, whole).matches():
        figure = _figure(lex, match)
        if figure is None:
            continue
        value, low, high, qualifier, kind = figure
        start = norm.start(toks[match.text_start].start)
        end = norm.end(toks[match.text_end - 1].end)
        if kind == "cardinal" and _in_code(text, start):
            kind = "code"
        figures.append(FigureMatch(text[start:end], start, end, value, low, high, qualifier,
                                   kind))
    return figures


def parse_number(text: str, lang: str) -> FigureMatch | None:
    """`text` read as one number expression: its longest figure."""
    figures = find_figures(text, lang, whole=True)
    return max(figures, key=lambda f: f.end - f.start, default=None)


Bounds = tuple[int | None, int | None, int | None, str, str]


def _figure(lex: NumberLexicon, match: Match) -> Bounds | None:
    pattern = match.pattern
    if pattern is not None and pattern.kind == "none":
        return None  # a phrase that looks numeric and is not (Persian هر چند, although)
    if pattern is not None and pattern.is_vague:
        return None, pattern.low, pattern.high, "vague", pattern.kind
    qualifier = pattern.qualifier if pattern else "exact"
    kind = pattern.kind if pattern else "cardinal"
    first = match.cores[0]
    value = _int(first.value)
    if first.ordinal:
        kind = "ordinal"
    elif first.kind is not None and kind == "cardinal":
        kind = first.kind
    elif first.negative and kind == "cardinal":
        kind = "measure"  # a negative number counts nobody
    elif pattern is None and first.plain_digits and value is not None and \
            lex.bare_years[0] <= value <= lex.bare_years[1] and len(match.cores) == 1 and \
            first.end - first.start == 1:
        kind = "year"
    if kind == "cardinal" and value is None:
        kind = "measure"  # 2.5 of something is a quantity, not a count of people
    if kind in ("date", "time"):
        return None, None, None, "exact", kind
    if kind != "cardinal":
        return value, value, value, "exact", kind
    if value is None:
        return None
    if qualifier == "range":
        second = _int(match.cores[1].value) if len(match.cores) > 1 else None
        if second is None or second <= value:
            return value, value, value, "exact", kind
        return value, value, second, "range", kind
    bounds = qualifier_bounds(qualifier, value)
    if bounds is None:
        raise ValueError(f"number pattern with unknown qualifier {qualifier!r}")
    return value, *bounds, qualifier, kind


def _in_code(text: str, start: int) -> bool:
    """Digits glued to Latin letters name something (M23, A320, F-16, COVID-19); Arabic and
    Persian proclitics on digits (و12) do not."""
    before = text[max(0, start - 2) : start]
    return bool(before) and (_latin(before[-1]) or (before[-1] in "-‑" and len(before) == 2
                                                     and _latin(before[0])))


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _int(value: float) -> int | None:
    """The value as a whole number, or None for a fraction (2.5) or an absurd size."""
    whole = round(value)
    return whole if abs(value - whole) < 1e-9 and abs(value) <= 2**53 else None


class FiguresComponent:
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, doc: Doc) -> Doc:
        doc._.figures = find_figures(doc.text, self.lang)
        return doc


@Language.factory("claims_figures", assigns=["doc._.figures"],
                  default_config={"lang": None})
def make_figures(nlp: Language, name: str, lang: str | None) -> FiguresComponent:
    return FiguresComponent(str(lang or nlp.lang))


__all__ = ["KINDS", "FigureMatch", "find_figures", "parse_number"]
