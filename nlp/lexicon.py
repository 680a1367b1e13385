"""Per-language cue lexicons (triggers, victims, counted things, source and actor markers...)
matched on normalised tokens.

A lexicon file (`data/lang/<lang>/lexicon.json`) maps each *kind* of cue to labels, and
each label to `words` (whole forms), `stems` (prefixes: Turkish and Arabic inflect at the
end) and `phrases` (token sequences, `*` marking a stem: "hayatını kaybet*", "لقي حتف*").
It also says which clitics the language glues to words (Arabic و/ف/ب/ل/ال...). Matching is
the same for every language: a token's normal form (and its lemma where the pipeline has
one), with one clitic prefix removed or not, equals a word or starts with a stem.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from spacy.tokens import Doc, Token

from nlp.normalize import get_normalizer
from nlp.resources import language_data

_NO_KINDS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Pattern:
    text: str
    stem: bool

    def matches(self, forms: list[str]) -> bool:
        if self.stem:
            return any(f.startswith(self.text) for f in forms)
        return self.text in forms


@dataclass(frozen=True)
class _Entry:
    label: str
    words: frozenset[str]
    stems: tuple[str, ...]
    phrases: tuple[tuple[_Pattern, ...], ...]


@dataclass(frozen=True)
class Cue:
    """A lexicon hit: tokens [start, end) of the doc carry `label` of `kind`."""

    kind: str
    label: str
    start: int
    end: int


class Lexicon:
    """One language's cue lexicon."""

    def __init__(self, lang: str, data: dict[str, Any] | None = None) -> None:
        self.data = data if data is not None else language_data(lang, "lexicon")
        normalize = get_normalizer(lang)
        self._normalize = normalize
        self.prefixes: tuple[str, ...] = tuple(sorted(
            {normalize(p) for p in self.data.get("clitic_prefixes", [])}, key=len, reverse=True))
        self.min_stem: int = int(self.data.get("min_stem_chars", 2))
        self._kinds: dict[str, list[_Entry]] = {}
        for kind, labels in self.data.items():
            if not isinstance(labels, dict) or kind.startswith("_"):
                continue
            if not all(isinstance(v, dict) for v in labels.values()):
                continue
            self._kinds[kind] = [self._entry(label, spec) for label, spec in labels.items()]
        # per kind: form -> first label listing it as a word; stem -> first label
        self._words: dict[str, dict[str, str]] = {}
        self._stems: dict[str, dict[str, str]] = {}
        for kind, entries in self._kinds.items():
            words: dict[str, str] = {}
            stems: dict[str, str] = {}
            for entry in entries:
                for w in entry.words:
                    words.setdefault(w, entry.label)
                for st in entry.stems:
                    stems.setdefault(st, entry.label)
            self._words[kind], self._stems[kind] = words, stems
        self._stem_lengths = {kind: sorted({len(st) for st in stems})
                              for kind, stems in self._stems.items()}
        # phrases by their first token: whole words by the word, stems by the stem (looked
        # up with each prefix length a stem has; numbered to keep the lexicon's order)
        self._phrases: dict[str, tuple[dict[str, list[tuple[str, tuple[_Pattern, ...]]]],
                                       dict[str, list[tuple[int, str, tuple[_Pattern, ...]]]],
                                       list[int]]] = {}
        for kind, entries in self._kinds.items():
            by_word: dict[str, list[tuple[str, tuple[_Pattern, ...]]]] = {}
            by_stem: dict[str, list[tuple[int, str, tuple[_Pattern, ...]]]] = {}
            order = 0
            for entry in entries:
                for phrase in entry.phrases:
                    if phrase[0].stem:
                        by_stem.setdefault(phrase[0].text, []).append((order, entry.label, phrase))
                        order += 1
                    else:
                        by_word.setdefault(phrase[0].text, []).append((entry.label, phrase))
            self._phrases[kind] = (by_word, by_stem, sorted({len(st) for st in by_stem}))
        # every kind a token could start a cue of, by whole word and by stem: most tokens
        # start none, and scanning skips them without trying each kind
        kinds_by_word: dict[str, set[str]] = {}
        kinds_by_stem: dict[str, set[str]] = {}
        for kind in self._kinds:
            by_word, by_stem, _ = self._phrases[kind]
            for w in (*self._words[kind], *by_word):
                kinds_by_word.setdefault(w, set()).add(kind)
            for st in (*self._stems[kind], *by_stem):
                kinds_by_stem.setdefault(st, set()).add(kind)
        self._kinds_by_word = {w: frozenset(k) for w, k in kinds_by_word.items()}
        self._kinds_by_stem = {st: frozenset(k) for st, k in kinds_by_stem.items()}
        self._any_stem_lengths = sorted({len(st) for st in self._kinds_by_stem})

    def _entry(self, label: str, spec: dict[str, list[str]]) -> _Entry:
        norm = self._normalize
        phrases = []
        for phrase in spec.get("phrases", []):
            parts = phrase.split()
            phrases.append(tuple(_Pattern(norm(p.rstrip("*")), p.endswith("*")) for p in parts))
        return _Entry(label, frozenset(norm(w) for w in spec.get("words", [])),
                      tuple(norm(s) for s in spec.get("stems", [])), tuple(phrases))

    def forms(self, token: Token) -> list[str]:
        """The token's normal form, its lemma, and both with one clitic prefix removed."""
        base = [token.norm_]
        lemma = token.lemma_.lower()
        if lemma and lemma != token.norm_:
            base.append(lemma)
        forms = list(base)
        for form in base:
            for prefix in self.prefixes:
                if form.startswith(prefix) and len(form) - len(prefix) >= self.min_stem:
                    forms.append(form[len(prefix) :])
        return forms

    def lookup(self, kind: str, token: Token) -> str | None:
        """The label of the single-token entry of `kind` the token matches (a whole word
        first, then the longest stem)."""
        return self._lookup_forms(kind, self.forms(token))

    def _lookup_forms(self, kind: str, forms: list[str]) -> str | None:
        words = self._words.get(kind)
        if not words and not self._stems.get(kind):
            return None
        for form in forms:
            if words and form in words:
                return words[form]
        stems = self._stems[kind]
        for length in reversed(self._stem_lengths[kind]):
            for form in forms:
                if len(form) >= length and form[:length] in stems:
                    return stems[form[:length]]
        return None

    def scan(self, doc: Doc, kind: str) -> list[Cue]:
        """Every cue of `kind` in `doc`, longest phrase first at each token, no overlaps."""
        return self.scan_many(doc, (kind,))[kind]

    def scan_many(self, doc: Doc, kinds: tuple[str, ...]) -> dict[str, list[Cue]]:
        """`scan` for several kinds, reading each token's forms once."""
        forms = [self.forms(t) for t in doc]
        starts = [self._starting_kinds(f) for f in forms]
        return {kind: self._scan(forms, kind, starts) for kind in kinds}

    def _starting_kinds(self, forms: list[str]) -> frozenset[str]:
        kinds: frozenset[str] = _NO_KINDS
        by_word, by_stem = self._kinds_by_word, self._kinds_by_stem
        for form in forms:
            if form in by_word:
                kinds = kinds | by_word[form]
            for length in self._any_stem_lengths:
                if length > len(form):
                    break
                if form[:length] in by_stem:
                    kinds = kinds | by_stem[form[:length]]
        return kinds

    def _scan(self, forms: list[list[str]], kind: str, starts: list[frozenset[str]]) -> list[Cue]:
        if kind not in self._kinds:
            return []
        by_word, by_stem, stem_lengths = self._phrases[kind]
        cues: list[Cue] = []
        i = 0
        while i < len(forms):
            if kind not in starts[i]:
                i += 1
                continue
            best: Cue | None = None
            candidates = [c for f in forms[i] for c in by_word.get(f, ())]
            if by_stem:  # each stem phrase once, in lexicon order, whichever form matched
                stemmed = {n: (label, phrase) for f in forms[i] for length in stem_lengths
                           if length <= len(f) for n, label, phrase in by_stem.get(f[:length], ())}
                candidates += [stemmed[n] for n in sorted(stemmed)]
            for label, phrase in candidates:
                end = i + len(phrase)
                if end <= len(forms) and (best is None or end > best.end) and all(
                        p.matches(forms[i + k]) for k, p in enumerate(phrase)):
                    best = Cue(kind, label, i, end)
            if best is None:
                single = self._lookup_forms(kind, forms[i])
                if single is not None:
                    best = Cue(kind, single, i, i + 1)
            if best is not None:
                cues.append(best)
                i = best.end
            else:
                i += 1
        return cues

    def setting(self, name: str, default: Any = None) -> Any:
        """A plain (non-cue) setting of the lexicon file, e.g. `trigger_side`."""
        return self.data.get(name, default)


@cache
def get_lexicon(lang: str) -> Lexicon:
    return Lexicon(lang)
