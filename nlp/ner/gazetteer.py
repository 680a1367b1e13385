"""Gazetteers: known places and organisations, one canonical id per entry, four languages.

Entries live in `data/gazetteer/*.json` ({id, label, names: {lang: [...]}}); how a
language attaches clitics and suffixes to names lives in `data/lang/<lang>/ner.json`.
Names are matched on normalised tokens (`token.norm_`), so diacritics, letter variants and
case do not matter, and a name is found under a proclitic (وطرطوس) or before a Turkish
case suffix (Gözlemevi'ne). The component merges these hits with the statistical model's
entities: the model decides where its own entities are, the gazetteer adds the names the
model missed, extends an entity the model cut short, and gives every entity it recognises
its `kb_id`, so that claims in different languages can be grouped by organisation/place.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from nlp.normalize import get_normalizer
from nlp.resources import language_data

# Files in data/gazetteer/, earlier ones winning when two entries share a name.
GAZETTEERS = ("organizations", "regions", "places")


@dataclass(frozen=True)
class Entry:
    id: str
    label: str
    type: str
    population: int | None = None


@dataclass(frozen=True)
class Name:
    entry: Entry
    cased: tuple[str, ...]  # the name's tokens as written (for the capitalisation check)
    as_written: bool = False  # matches only as written, not in normal form


@dataclass(frozen=True)
class Affixes:
    """How names attach to neighbouring morphemes in one language (`ner.json`)."""

    proclitics: tuple[str, ...]
    article: str | None
    assimilated: tuple[tuple[str, str], ...]
    min_rest: int
    suffix_separators: tuple[str, ...]
    latin_case: bool

    @classmethod
    def for_lang(cls, lang: str) -> Affixes:
        data = language_data(lang, "ner")
        normalize = get_normalizer(lang)
        return cls(
            tuple(sorted((normalize(p) for p in data.get("proclitics", [])), key=len,
                         reverse=True)),
            normalize(data["article"]) if data.get("article") else None,
            tuple((normalize(k), normalize(v))
                  for k, v in data.get("assimilated_article", {}).items()),
            int(data.get("min_rest", 2)),
            tuple(normalize(s) for s in data.get("suffix_separators", [])),
            bool(data.get("latin_case", False)),
        )

    def prefix_forms(self, norm: str) -> Iterator[tuple[str, int]]:
        """(form, characters of `norm` to cut) for the token itself and each clitic reading;
        cut 0 means the form is looked up but the span keeps the whole token."""
        yield norm, 0
        for clitic in self.proclitics:
            rest = norm[len(clitic):]
            if norm.startswith(clitic) and len(rest) >= self.min_rest:
                yield rest, len(clitic)
        for written, article in self.assimilated:
            if norm.startswith(written) and len(norm) - len(written) >= self.min_rest:
                yield article + norm[len(written):], 0

    def suffix_cut(self, norm: str) -> int:
        """Length of the suffix after the last separator (Tartus'ta -> 3), or 0."""
        for sep in self.suffix_separators:
            at = norm.rfind(sep)
            if at > 0:
                return len(norm) - at
        return 0


@cache
def _gazetteer_file(kind: str) -> dict[str, Any] | None:
    """`data/gazetteer/<kind>.json`, parsed once per process for all languages."""
    path = resources.files("nlp").joinpath(f"data/gazetteer/{kind}.json")
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def _entries(lang: str) -> Iterator[tuple[Entry, str, bool]]:
    """Each (entry, name, whether the name matches only as written) of the language."""
    for kind in GAZETTEERS:
        data = _gazetteer_file(kind)
        if data is None:
            continue
        for item in data["entries"]:
            entry = Entry(item["id"], item.get("label", data["label"]),
                          item.get("type", kind), item.get("population"))
            as_written = item.get("as_written", {}).get(lang, [])
            for name in item["names"].get(lang, []):
                yield entry, name, name in as_written


class Gazetteer:
    """All names of one language, indexed by their normalised token sequence."""

    def __init__(self, lang: str, tokenize: Any) -> None:
        self.lang = lang
        self.affixes = Affixes.for_lang(lang)
        normalize = get_normalizer(lang)
        self.names: dict[tuple[str, ...], Name] = {}
        self.longest: dict[str, int] = {}
        self.population: dict[str, int] = {}
        for entry, text, as_written in _entries(lang):
            if entry.population is not None:
                self.population[entry.id] = entry.population
            cased = tuple(t.text for t in tokenize(text) if not t.is_space)
            key = tuple(normalize(t) for t in cased)
            if not key or key in self.names:
                continue
            self.names[key] = Name(entry, cased, as_written)
            self.longest[key[0]] = max(self.longest.get(key[0], 0), len(key))

    def __len__(self) -> int:
        return len(self.names)

    def knows_first(self, form: str) -> bool:
        return form in self.longest

    def matches(self, doc: Doc) -> list[tuple[Span, int]]:
        """Longest non-overlapping hits as (token span, characters of proclitic to cut)."""
        hits: list[tuple[Span, int]] = []
        i, n = 0, len(doc)
        while i < n:
            hit = self._longest_at(doc, i)
            if hit is None:
                i += 1
                continue
            span, cut = hit
            hits.append((span, cut))
            i = span.end
        return hits

    def _longest_at(self, doc: Doc, i: int) -> tuple[Span, int] | None:
        for first, cut in self.affixes.prefix_forms(doc[i].norm_):
            bare = self._unsuffixed(first)
            single = bare is not None and (bare,) in self.names
            longest = max(self.longest.get(first, 0), int(single))
            for length in range(min(longest, len(doc) - i), 0, -1):
                end = i + length
                for key in self._keys(doc, i, end, first, bare):
                    name = self.names.get(key)
                    if name and self._written_ok(doc[i:end], name):
                        return Span(doc, i, end, label=name.entry.label, kb_id=name.entry.id), cut
        return None

    def _keys(self, doc: Doc, start: int, end: int, first: str,
              bare: str | None) -> list[tuple[str, ...]]:
        """Lookup keys for tokens start..end: the last word as written and without its case
        suffix (Tartus'ta, Gözlemevi'ne)."""
        if end - start == 1:
            return [(first,)] if bare is None else [(first,), (bare,)]
        middle = tuple(t.norm_ for t in doc[start + 1 : end - 1])
        last = doc[end - 1].norm_
        last_bare = self._unsuffixed(last)
        keys = [(first, *middle, last)]
        if last_bare is not None:
            keys.append((first, *middle, last_bare))
        return keys

    def _unsuffixed(self, norm: str) -> str | None:
        cut = self.affixes.suffix_cut(norm)
        return norm[:-cut] if cut else None

    def _written_ok(self, span: Span, name: Name) -> bool:
        """In Latin script, names match capitalised words only, abbreviations all-caps ones:
        `WHO` is the organisation, `who` is not; `Turkey` is the country. A name listed
        `as_written` matches only so (after a proclitic): normalised, Turkey's disaster agency
        آفاد is أفاد, "reported", in every other Arabic news sentence."""
        if name.as_written and not all(
                token.text == written or (k == 0 and token.text.endswith(written))
                for k, (token, written) in enumerate(zip(span, name.cased, strict=True))):
            return False
        if not self.affixes.latin_case:
            return True
        for token, written in zip(span, name.cased, strict=False):
            text = token.text
            if written.isupper() and len(written) > 1:
                cut = self.affixes.suffix_cut(token.norm_)
                if not (text[: len(text) - cut] if cut else text).isupper():
                    return False
            elif written[:1].isupper() and not text[:1].isupper():
                return False
        return True


@cache
def get_gazetteer(lang: str) -> Gazetteer:
    from spacy import blank

    return Gazetteer(lang, blank(lang).tokenizer)


class GazetteerComponent:
    """Merges gazetteer hits into `doc.ents` (see the module docstring for the policy).

    A hit the model did not tag is added only when it is unlikely to be an ordinary word:
    an organisation, country or province, or a city of at least `add_min_population`,
    written with at least `add_min_chars` letters. Thousands of small towns are named like
    common words (Arabic إطار, الجديد; Persian خبر); those ids are still given to entities
    the model found. Where the model and the gazetteer disagree on the label of the same
    span, a one-word city name yields to the model's context (and gets no id); other
    names keep the gazetteer's label."""

    def __init__(self, lang: str, add_min_population: int, add_min_chars: int) -> None:
        self.gazetteer = get_gazetteer(lang)
        self.add_min_population = add_min_population
        self.add_min_chars = add_min_chars

    def _trusted(self, hit: Span) -> bool:
        """A multi-word name, or an organisation/country/province, outranks the model's
        label; a one-word city name does not (Hama, Rashid are also people)."""
        return len(hit) > 1 or hit.kb_id_ not in self.gazetteer.population

    def _may_add(self, hit: Span, cut: int) -> bool:
        entry_population = self.gazetteer.population.get(hit.kb_id_)
        if entry_population is not None and entry_population < self.add_min_population:
            return False
        return len(hit.text) - cut >= self.add_min_chars

    def __call__(self, doc: Doc) -> Doc:
        ents = list(doc.ents)
        by_token: dict[int, int] = {t: k for k, e in enumerate(ents) for t in range(e.start, e.end)}
        replace: dict[int, Span] = {}
        added: list[Span] = []
        for hit, cut in self.gazetteer.matches(doc):
            overlapping = sorted({by_token[t] for t in range(hit.start, hit.end) if t in by_token})
            if not overlapping:
                if self._may_add(hit, cut):
                    added.append(hit)
                continue
            first, last = ents[overlapping[0]], ents[overlapping[-1]]
            if first.start == hit.start and last.end == hit.end and len(overlapping) == 1:
                if first.label_ == hit.label_ or self._trusted(hit):
                    replace[overlapping[0]] = hit  # same span: the gazetteer's label and id
            elif hit.start <= first.start and last.end <= hit.end:
                for k in overlapping:  # the model cut a known name short: take the whole
                    replace[k] = hit
            # a hit inside a longer model entity (Aleppo in "Aleppo University") or crossing
            # one is left to the model
        merged: dict[tuple[int, int], Span] = {}
        for k, ent in enumerate(ents):
            span = replace.get(k, ent)
            merged[(span.start, span.end)] = span
        for span in added:
            merged[(span.start, span.end)] = span
        doc.ents = sorted(merged.values(), key=lambda s: s.start)
        return doc


@Language.factory("claims_gazetteer", assigns=["doc.ents"], requires=["token.norm"],
                  default_config={"lang": None, "add_min_population": 100_000,
                                  "add_min_chars": 4})
def make_gazetteer(nlp: Language, name: str, lang: str | None, add_min_population: int,
                   add_min_chars: int) -> GazetteerComponent:
    return GazetteerComponent(str(lang or nlp.lang), add_min_population, add_min_chars)

