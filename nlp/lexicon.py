"""Per-language word lists (triggers, victims, ...) matched on normalised tokens.

A lexicon file says which words and stems belong to which label, and which clitics the
language glues to words (Arabic و/ف/ب/ل/ال...). Matching is the same for every language:
the token's normal form (and its lemma where the pipeline has one), with a clitic prefix
removed or not, equals a listed word or starts with a listed stem.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from spacy.tokens import Token

from nlp.normalize import get_normalizer
from nlp.resources import language_data


@dataclass(frozen=True)
class _Entry:
    words: frozenset[str]
    stems: tuple[str, ...]


class Lexicon:
    """One language's lexicon; `lookup(kind, token)` gives the label a token carries."""

    def __init__(self, lang: str) -> None:
        data = language_data(lang, "lexicon")
        normalize = get_normalizer(lang)
        self.prefixes: tuple[str, ...] = tuple(
            sorted((normalize(p) for p in data.get("clitic_prefixes", [])), key=len, reverse=True)
        )
        self.min_stem: int = int(data.get("min_stem_chars", 2))
        self._kinds: dict[str, dict[str, _Entry]] = {}
        for kind in ("triggers", "victims"):
            self._kinds[kind] = {
                label: _Entry(
                    frozenset(normalize(w) for w in spec.get("words", [])),
                    tuple(normalize(s) for s in spec.get("stems", [])),
                )
                for label, spec in data.get(kind, {}).items()
            }

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
        entries = self._kinds.get(kind, {})
        if not entries:
            return None
        for form in self.forms(token):
            for label, entry in entries.items():
                if form in entry.words or any(form.startswith(s) for s in entry.stems):
                    return label
        return None


@cache
def get_lexicon(lang: str) -> Lexicon:
    return Lexicon(lang)
