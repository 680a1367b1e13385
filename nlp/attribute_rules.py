"""Faster matching for spaCy's `AttributeRuler`, with the same result.

en_core_web_sm's attribute ruler (179 rules: its tag map, pronoun and auxiliary
exceptions) gives the parse its coarse POS and morphology. spaCy's Matcher tries every rule
on every token, which was 14 µs a word, a tenth of our whole English pipeline. Almost all
rules are one token whose attributes must equal given values (or lie `IN` a list): those
are looked up in one dict per set of attributes, a `NOT_IN` beside them checked on the hit.
The few others (several tokens, `REGEX`) stay with a Matcher of their own. Matches come
back sorted by rule, as spaCy's, so later rules still win; `tests/test_pipeline.py`
compares the matches with spaCy's on the English corpora.
"""

from __future__ import annotations

from itertools import product
from typing import Any

from spacy.matcher import Matcher
from spacy.pipeline import AttributeRuler
from spacy.tokens import Doc

# token attributes a looked-up rule may test; `Doc.to_array` reads them as the Matcher does
# (strings as their hashes, flags as 0/1)
_ATTRS = ("ORTH", "LOWER", "NORM", "TAG", "POS", "DEP", "LEMMA", "IS_SPACE")

Match = tuple[int, int, int, int]  # (rule index, match id, start, end), as AttributeRuler.match
Values = dict[str, list[Any]]  # attribute: values


def _split(pattern: list[dict[str, Any]]) -> tuple[Values, Values] | None:
    """A one-token rule as (attribute: accepted values, attribute: excluded values); None
    for a rule the Matcher has to run (several tokens, REGEX, other operators)."""
    if len(pattern) != 1 or any(k not in _ATTRS for k in pattern[0]):
        return None
    accepted: Values = {}
    excluded: Values = {}
    for name, value in pattern[0].items():
        if not isinstance(value, dict):
            accepted[name] = [value]
        elif set(value) == {"IN"}:
            accepted[name] = list(value["IN"])
        elif set(value) == {"NOT_IN"}:
            excluded[name] = list(value["NOT_IN"])
        else:
            return None
    return (accepted, excluded) if accepted else None


def _hash(strings: Any, value: Any) -> int:
    return int(value) if isinstance(value, bool) else int(strings.add(value))


class IndexedRules:
    """`match(doc)` for an AttributeRuler: the list its own `match` returns."""

    def __init__(self, ruler: AttributeRuler) -> None:
        self.strings = strings = ruler.vocab.strings
        self.rest = Matcher(ruler.vocab, validate=False)
        rules: list[tuple[int, int, Values, Values]] = []
        for i in range(len(ruler.attrs)):
            got = ruler.matcher.get(str(i))
            for pattern in got[1] if got else []:
                split = _split(pattern)
                if split is None:
                    self.rest.add(str(i), [pattern])
                else:
                    rules.append((i, strings[str(i)], *split))
        self.read: list[int | str] = sorted(
            {f for *_, accepted, excluded in rules for f in (*accepted, *excluded)})
        column = {f: c for c, f in enumerate(self.read)}
        # one lookup per set of tested attributes: their columns in a row of
        # `doc.to_array(self.read)`, and the rules each tuple of values hits, with the
        # columns and values that rule excludes
        lookups: dict[tuple[str, ...], tuple[list[int], dict[tuple[int, ...], list[Any]]]] = {}
        for i, match_id, accepted, excluded in rules:
            fields = tuple(sorted(accepted))
            _, by_value = lookups.setdefault(fields, ([column[f] for f in fields], {}))
            unless = tuple((column[f], frozenset(_hash(strings, v) for v in values))
                           for f, values in excluded.items())
            for values in product(*(accepted[f] for f in fields)):
                by_value.setdefault(tuple(_hash(strings, v) for v in values), []).append(
                    (i, match_id, unless))
        self.lookups = list(lookups.values())

    def match(self, doc: Doc) -> list[Match]:
        found: set[Match] = set()
        rows = doc.to_array(self.read).tolist() if self.read and len(doc) else []
        for i, row in enumerate(rows):
            for columns, by_value in self.lookups:
                hits = by_value.get(tuple([row[c] for c in columns]))
                if hits:
                    found.update((rule, match_id, i, i + 1) for rule, match_id, unless in hits
                                 if not any(row[c] in no for c, no in unless))
        if len(self.rest):
            for match_id, start, end in self.rest(doc, allow_missing=True, as_spans=False):
                found.add((int(self.strings[match_id]), match_id, start, end))
        return sorted(found)


def index_attribute_rulers(pipeline: Any) -> None:
    """Give every AttributeRuler in `pipeline` the indexed matching."""
    for _, component in pipeline.pipeline:
        if isinstance(component, AttributeRuler):
            component.match = IndexedRules(component).match  # type: ignore[method-assign]
