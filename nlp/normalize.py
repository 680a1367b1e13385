"""Offset-safe normalisation: spans always point into the original text.

Every normalisation step we use (CAMeL Tools' dediacritisation and letter unification,
Persian yeh/kaf unification, digit folding, casing) maps one character to zero or one
characters. A language's steps are therefore compiled once into a translation table, and a
normalised string can carry the map back to the original offsets. The steps a language
uses are data (`data/lang/<lang>/normalization.json`), not code.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

import camel_tools.utils.dediac as camel_dediac
import camel_tools.utils.normalize as camel_normalize
from spacy.language import Language
from spacy.tokens import Doc

from nlp.resources import language_data

V = TypeVar("V")
CACHE_LIMIT = 200_000  # entries a per-token cache keeps; later new tokens are computed each time


def memoised(cache: dict[str, V], key: str, compute: Callable[[str], V],
             limit: int = CACHE_LIMIT) -> V:
    """`compute(key)`, kept in `cache` while it holds fewer than `limit` entries: news
    repeats its words, and a stream of unseen ones cannot grow memory past the limit."""
    try:
        return cache[key]
    except KeyError:
        value = compute(key)
        if len(cache) < limit:
            cache[key] = value
        return value

# CAMeL Tools' character-level functions that a language's data file may name.
_CAMEL_STEPS: dict[str, Callable[[str], str]] = {
    "dediac_ar": camel_dediac.dediac_ar,
    "normalize_alef_ar": camel_normalize.normalize_alef_ar,
    "normalize_alef_maksura_ar": camel_normalize.normalize_alef_maksura_ar,
    "normalize_teh_marbuta_ar": camel_normalize.normalize_teh_marbuta_ar,
}
# Blocks the CAMeL steps act on: Arabic, Arabic Supplement, Extended-A, Presentation Forms.
_ARABIC_BLOCKS = ((0x0600, 0x0700), (0x0750, 0x0780), (0x08A0, 0x0900), (0xFB50, 0xFE00),
                  (0xFE70, 0xFF00))
# Digits of the Arabic-Indic and Extended Arabic-Indic (Persian, Urdu) scripts, and the
# Arabic thousands and decimal separators: folded in every language, since any language's
# text may quote figures in any of these scripts.
_DIGITS = {chr(base + i): str(i) for base in (0x0660, 0x06F0) for i in range(10)}
_DIGITS.update({"\u066c": ",", "\u066b": ".", "\u066a": "%"})


@dataclass(frozen=True)
class Normalized:
    """A normalised string and, for each of its characters, the original offset."""

    text: str
    source: str
    offsets: tuple[int, ...] | None  # None: same length, offsets are the identity

    def start(self, i: int) -> int:
        """Original offset of normalised position i (i may be len(text))."""
        if self.offsets is None:
            return i
        return self.offsets[i] if i < len(self.offsets) else len(self.source)

    def end(self, i: int) -> int:
        """Original end offset of a normalised span ending (exclusively) at i: the
        combining marks that normalisation dropped after its last letter stay inside."""
        if self.offsets is None:
            return i
        if i == 0:
            return 0
        end = self.offsets[i - 1] + 1
        limit = self.offsets[i] if i < len(self.offsets) else len(self.source)
        while end < limit and unicodedata.combining(self.source[end]):
            end += 1
        return end


class Normalizer:
    """A compiled per-language normalisation; cheap to call, safe to share."""

    def __init__(self, spec: dict[str, object]) -> None:
        table: dict[int, str] = {ord(k): v for k, v in _DIGITS.items()}
        steps = [_CAMEL_STEPS[name] for name in _as_list(spec.get("camel", []))]
        if steps:
            for lo, hi in _ARABIC_BLOCKS:
                for code in range(lo, hi):
                    ch = out = chr(code)
                    for step in steps:
                        out = step(out)
                    if out != ch and len(out) <= 1:
                        table[code] = out
        casing = spec.get("lowercase", "default")
        if casing != "none":
            for code in range(0x41, 0x250):  # Basic Latin to Latin Extended-B
                lower = chr(code).lower()
                if lower != chr(code) and len(lower) == 1:
                    table[code] = lower
        mapping = spec.get("map", {})
        assert isinstance(mapping, dict)
        for src, dst in mapping.items():
            if len(src) != 1 or len(dst) > 1:
                raise ValueError(f"normalisation map must be char -> char or '': {src!r}")
            table[ord(src)] = dst
        self._table = table

    def __call__(self, text: str) -> str:
        return text.translate(self._table)

    def with_offsets(self, text: str) -> Normalized:
        norm = text.translate(self._table)
        if len(norm) == len(text):
            return Normalized(norm, text, None)
        offsets = [i for i, ch in enumerate(text) if self._table.get(ord(ch), ch) != ""]
        return Normalized(norm, text, tuple(offsets))


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    assert isinstance(value, Iterable)
    return [str(v) for v in value]


@cache
def get_normalizer(lang: str) -> Normalizer:
    return Normalizer(language_data(lang, "normalization"))


class NormalizerComponent:
    """Sets `token.norm_` so that lexicons match regardless of diacritics, letter variants,
    digit script and case, while the text and its offsets stay untouched."""

    def __init__(self, lang: str) -> None:
        self.normalize = get_normalizer(lang)
        self._cache: dict[str, str] = {}

    def __call__(self, doc: Doc) -> Doc:
        cache, normalize = self._cache, self.normalize
        for token in doc:
            token.norm_ = memoised(cache, token.text, normalize)
        return doc


@Language.factory("claims_normalizer", assigns=["token.norm"], default_config={"lang": None})
def make_normalizer(nlp: Language, name: str, lang: str | None) -> NormalizerComponent:
    return NormalizerComponent(str(lang or nlp.lang))
