"""A language's number knowledge, compiled from `data/lang/<lang>/numbers.json`.

The file is the only place where language-specific number knowledge lives: number words
and their roles, connectors and clitics, digit separators, suffixes, and the patterns that
give a number its qualifier (at least, more than, ...) or its kind (date, percent, ...).
`data/lang/NUMBERS.md` documents the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from nlp.normalize import Normalizer, get_normalizer, memoised
from nlp.resources import language_data

Role = Literal["add", "mul", "scale", "dual", "frac", "point", "neg", "conn"]


def token_pattern(marks: str) -> re.Pattern[str]:
    """Tokens of normalised text: a decimal fraction with a leading mark (.5), a run of
    digits with the language's separators (1,084 · 5.034.439 · 2,5 · ۲/۵), a run of
    letters, or any other character."""
    m = re.escape("".join(sorted(set(marks))))
    return re.compile(rf"(?<![\w{m}])[{m}]\d+|\d+(?:[{m}]\d+)*|[^\W\d_]+|\S")


MEMO_SIZE = 20_000  # entries per memo (most values are None: few tokens are number words)


@dataclass(frozen=True)
class Word:
    """One number word's role: `value` is what it adds (add), multiplies by (mul, scale),
    or stands for (dual: value = 2 x scale); `ordinal` marks seventh, yedinci, هفتم."""

    role: Role
    value: float
    scale: float = 0.0  # for dual: the scale level it occupies (ألفين -> 1000)
    ordinal: bool = False


@dataclass(frozen=True)
class Pattern:
    elements: tuple[tuple[str, ...] | str, ...]  # literal token tuple, or a slot name
    qualifier: str = "exact"
    kind: str = "cardinal"
    low: int | None = None
    high: int | None = None
    weak: bool = False
    weak_numbers: bool = False  # {n} may be a weak word here (نه نفر: nine people)
    number_only: bool = False  # the figure's text is the number(s) alone, not the cue words

    @property
    def is_vague(self) -> bool:
        return not any(e in ("n", "y") for e in self.elements)


@dataclass
class NumberLexicon:
    lang: str
    normalize: Normalizer
    words: dict[str, Word] = field(default_factory=dict)
    weak: frozenset[str] = frozenset()
    glued_scales: dict[str, float] = field(default_factory=dict)
    connectors: dict[str, str] = field(default_factory=dict)  # word -> "any" | "scale"
    connector_prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    ordinal_suffixes: tuple[str, ...] = ()
    compounds: bool = False
    colloquial_hundreds: bool = False
    decimal_marks: str = "."
    group_marks: str = ","
    year_range: tuple[int, int] = (1900, 2100)  # what {y} accepts after a year word
    bare_years: tuple[int, int] = (1900, 2100)  # a bare 4-digit number read as a year
    dual_suffixes: tuple[str, ...] = ()
    dual_stems: frozenset[str] = frozenset()
    dual_measure_stems: frozenset[str] = frozenset()
    slots: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    _slot_index: dict[str, dict[str, list[tuple[str, ...]]]] = field(default_factory=dict)

    def slot_index(self, slot: str) -> dict[str, list[tuple[str, ...]]]:
        """A slot's phrases by their first token, longest first (built on first use)."""
        index = self._slot_index.get(slot)
        if index is None:
            index = {}
            for phrase in self.slots[slot]:
                if phrase:
                    index.setdefault(phrase[0], []).append(phrase)
            self._slot_index[slot] = index
        return index
    joinable: frozenset[str] = frozenset()  # words that may be written together (compounds)
    # patterns by the token they must start with (a literal, or a slot phrase's first
    # token), and those that start with a number; data order is kept within each
    by_first_token: dict[str, list[Pattern]] = field(default_factory=dict)
    number_first: list[Pattern] = field(default_factory=list)

    token_re: re.Pattern[str] = field(default_factory=lambda: token_pattern(".,"))
    _segments_memo: dict[str, list[Word] | None] = field(default_factory=dict, repr=False)
    _suffix_memo: dict[str, Word | None] = field(default_factory=dict, repr=False)

    def add_pattern(self, pattern: Pattern) -> None:
        first = pattern.elements[0]
        if first in ("n", "y"):
            self.number_first.append(pattern)
            return
        if isinstance(first, tuple):
            starts = {first[0]}
        elif first in self.slots:
            starts = {phrase[0] for phrase in self.slots[first] if phrase}
        else:
            raise ValueError(f"{self.lang}: a pattern must start with a word, a phrase slot "
                             f"or a number: {pattern.elements}")
        for token in starts:
            self.by_first_token.setdefault(token, []).append(pattern)

    def tokens(self, phrase: str) -> tuple[str, ...]:
        return tuple(m.group(0) for m in self.token_re.finditer(self.normalize(phrase)))

    # -- word look-up ----------------------------------------------------------------------
    def segments(self, token: str) -> list[Word] | None:
        """The number words a letter token is made of: itself, a word plus an ordinal or
        case suffix, or (where the language writes them together) a run of words.
        Memoised: every token of every text is looked up, most of them many times
        (Turkish suffix and compound checks were a quarter of its pipeline time)."""
        return memoised(self._segments_memo, token, self._segments, MEMO_SIZE)

    def _segments(self, token: str) -> list[Word] | None:
        word = self.words.get(token)
        if word is not None:
            return [word]
        for suffix in self.ordinal_suffixes:
            stem = self.words.get(token[: -len(suffix)]) if token.endswith(suffix) else None
            if stem is not None and stem.role in ("add", "mul", "scale"):
                return [Word(stem.role, stem.value, stem.scale, ordinal=True)]
        if self.compounds:
            return self._split(token)
        return None

    def strip_suffix(self, token: str) -> Word | None:
        """A number word followed by a case suffix (Turkish binden, beşi); memoised."""
        return memoised(self._suffix_memo, token, self._strip_suffix, MEMO_SIZE)

    def _strip_suffix(self, token: str) -> Word | None:
        for suffix in self.suffixes:
            stem = token[: -len(suffix)]
            if token.endswith(suffix) and stem and stem not in self.weak:
                word = self.words.get(stem)
                if word is not None and word.role in ("add", "mul", "scale"):
                    return word
        return None

    def _split(self, token: str) -> list[Word] | None:
        """Fewest words of the language that spell `token` (onüç, ikiyüzbin); None unless
        it takes at least two."""
        n = len(token)
        best: list[list[str] | None] = [None] * (n + 1)
        best[0] = []
        for i in range(n):
            done = best[i]
            if done is None:
                continue
            for j in range(i + 1, n + 1):
                if token[i:j] in self.joinable:
                    seen = best[j]
                    if seen is None or len(done) + 1 < len(seen):
                        best[j] = [*done, token[i:j]]
        parts = best[n]
        if parts is None or len(parts) < 2 or parts[0] in self.connectors \
                or parts[-1] in self.connectors:
            return None
        return [self.words.get(p) or Word("conn", 0.0) for p in parts]

    def dual_kind(self, token: str) -> str | None:
        """'cardinal' for a dual noun that counts two people (مدنيان), 'measure' for one
        that measures (يومين: two days), None for any other word."""
        for suffix in self.dual_suffixes:
            stem = token[: -len(suffix)] if token.endswith(suffix) else None
            if stem in self.dual_stems:
                return "cardinal"
            if stem in self.dual_measure_stems:
                return "measure"
        return None


@cache
def get_number_lexicon(lang: str) -> NumberLexicon:
    data: dict[str, Any] = language_data(lang, "numbers")
    lex = NumberLexicon(lang=lang, normalize=get_normalizer(lang))
    norm = lex.normalize
    roles: dict[str, Role] = {"words": "add", "multipliers": "mul", "scales": "scale",
                              "fractions": "frac"}
    for key, role in roles.items():
        for word, value in data.get(key, {}).items():
            lex.words[norm(word)] = Word(role, float(value))
    for word, spec in data.get("duals", {}).items():
        lex.words[norm(word)] = Word("dual", float(spec[0]) * float(spec[1]), float(spec[1]))
    for word, value in data.get("ordinal_words", {}).items():
        lex.words[norm(word)] = Word("add", float(value), ordinal=True)
    for word in data.get("point_words", []):
        lex.words[norm(word)] = Word("point", 0.0)
    for word in data.get("negative_words", []):
        lex.words[norm(word)] = Word("neg", 0.0)
    lex.weak = frozenset(norm(w) for w in data.get("weak", []))
    lex.glued_scales = {norm(k): float(v) for k, v in data.get("glued_scales", {}).items()}
    lex.connectors = {norm(c): after for c, after in data.get("connectors", {}).items()}
    lex.connector_prefixes = tuple(norm(p) for p in data.get("connector_prefixes", []))
    lex.suffixes = tuple(sorted((norm(s) for s in data.get("suffixes", [])), key=len,
                                reverse=True))
    lex.ordinal_suffixes = tuple(sorted((norm(s) for s in data.get("ordinal_suffixes", [])),
                                        key=len, reverse=True))
    lex.compounds = bool(data.get("compounds", False))
    lex.joinable = frozenset(w for w, e in lex.words.items()
                             if e.role in ("add", "mul", "scale", "frac") and w not in lex.weak
                             ) | frozenset(c for c in lex.connectors if c.isalpha())
    lex.colloquial_hundreds = bool(data.get("colloquial_hundreds", False))
    lex.decimal_marks = data.get("decimal_marks", ".")
    lex.group_marks = data.get("group_marks", ",")
    lex.token_re = token_pattern(lex.decimal_marks + lex.group_marks)
    low, high = data.get("year_range", [1900, 2100])
    lex.year_range = (int(low), int(high))
    low, high = data.get("bare_years", [1900, 2100])
    lex.bare_years = (int(low), int(high))
    lex.dual_suffixes = tuple(norm(s) for s in data.get("dual", {}).get("suffixes", []))
    lex.dual_stems = frozenset(norm(s) for s in data.get("dual", {}).get("stems", []))
    lex.dual_measure_stems = frozenset(
        norm(s) for s in data.get("dual", {}).get("measure_stems", []))
    lex.slots = {name: sorted((lex.tokens(p) for p in phrases), key=len, reverse=True)
                 for name, phrases in data.get("slots", {}).items()}
    for spec in data.get("patterns", []):
        lex.add_pattern(_pattern(lex, spec))
    for spec in data.get("vague", []):
        lex.add_pattern(_pattern(lex, {**spec, "qualifier": "vague"}))
    return lex


_SLOT = re.compile(r"\{(\w+)\}")


def _pattern(lex: NumberLexicon, spec: dict[str, Any]) -> Pattern:
    """'at least {n}' -> (('at',), ('least',), 'n'); slots are {n} a number, {y} a year,
    {noun} any word, {sfx} an optional apostrophe suffix, {name} a phrase list."""
    elements: list[tuple[str, ...] | str] = []
    for piece in _SLOT.split(spec["pattern"]):
        if not piece.strip():
            continue
        if _SLOT.fullmatch("{" + piece + "}") and (piece in ("n", "y", "noun", "sfx")
                                                    or piece in lex.slots):
            elements.append(piece)
        else:
            elements.extend((tok,) for tok in lex.tokens(piece))
    return Pattern(tuple(elements), spec.get("qualifier", "exact"), spec.get("kind", "cardinal"),
                   spec.get("low"), spec.get("high"), bool(spec.get("weak", False)),
                   bool(spec.get("weak_numbers", False)), spec.get("span") == "number")
