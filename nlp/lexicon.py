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
        self.lang = lang
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

    def _entry(self, label: str, spec: dict[str, list[str]]) -> _Entry:
        norm = self._normalize
        phrases = []
        for phrase in spec.get("phrases", []):
            parts = phrase.split()
            phrases.append(tuple(_Pattern(norm(p.rstrip("*")), p.endswith("*")) for p in parts))
        return _Entry(label, frozenset(norm(w) for w in spec.get("words", [])),
                      tuple(norm(s) for s in spec.get("stems", [])), tuple(phrases))

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._kinds)

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
        """The label of the first single-token entry of `kind` the token matches."""
        forms = self.forms(token)
        for entry in self._kinds.get(kind, []):
            if any(f in entry.words for f in forms) or any(
                    f.startswith(s) for f in forms for s in entry.stems):
                return entry.label
        return None

    def scan(self, doc: Doc, kind: str) -> list[Cue]:
        """Every cue of `kind` in `doc`, longest phrase first at each token, no overlaps."""
        entries = self._kinds.get(kind, [])
        if not entries:
            return []
        cues: list[Cue] = []
        forms = [self.forms(t) for t in doc]
        i = 0
        while i < len(doc):
            best: Cue | None = None
            for entry in entries:
                for phrase in entry.phrases:
                    end = i + len(phrase)
                    if end <= len(doc) and (best is None or end > best.end) and all(
                            p.matches(forms[i + k]) for k, p in enumerate(phrase)):
                        best = Cue(kind, entry.label, i, end)
            if best is None:
                label = self.lookup(kind, doc[i])
                if label is not None:
                    best = Cue(kind, label, i, i + 1)
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
