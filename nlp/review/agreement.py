"""How far annotators agree with each other and with the model, field by field.

Scored exactly as `claims eval` scores the model against gold (CLAIMS.md matching, then
each field on matched pairs): one reading is taken as gold and the other as predictions.
Between annotators, F1 is symmetric; field agreement is over the claims both have.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, cast

from nlp.evaluate.claims import ClaimScores, evaluate
from nlp.gold import GoldDocument
from nlp.review.records import ReviewClaim, live, to_claim, to_gold
from nlp.review.store import Store, StoredDocument
from nlp.schema import SUPPORTED_LANGS, Claim, Lang, Result


def _gold(doc: StoredDocument, claims: list[ReviewClaim]) -> GoldDocument:
    return GoldDocument(id=doc.id, lang=doc.lang, text=doc.text,
                        claims=[to_gold(c) for c in live(claims)])


def _result(doc: StoredDocument, claims: list[Claim]) -> Result:
    lang = cast(Lang, doc.lang if doc.lang in SUPPORTED_LANGS else "und")
    return Result(id=doc.id, lang=lang, claims=claims)


def _summary(scored: list[tuple[GoldDocument, Result]], **extra: Any) -> dict[str, Any]:
    if not scored:
        return {"documents": 0, **extra}
    full = ClaimScores.summarize(evaluate(scored).documents)
    keep = ("documents", "claims", "figures", "fields", "confusion")
    return {**{k: full[k] for k in keep}, **extra}


def agreement(store: Store) -> dict[str, Any]:
    """Model vs each annotator's finished reading, and each pair of annotators."""
    model: list[tuple[GoldDocument, Result]] = []
    between: list[tuple[GoldDocument, Result]] = []
    annotators: set[str] = set()
    for doc, readings in store.submissions():
        annotators.update(readings)
        if doc.predictions is not None:
            predicted = [Claim.model_validate(c) for c in doc.predictions]
            model += [(_gold(doc, claims), _result(doc, predicted))
                      for claims in readings.values()]
        for a, b in combinations(sorted(readings), 2):
            theirs = [to_claim(doc.text, c) for c in live(readings[b])]
            between.append((_gold(doc, readings[a]), _result(doc, theirs)))
    return {"annotators": sorted(annotators),
            "model_vs_annotators": _summary(model),
            "between_annotators": _summary(between, pairs=len(between))}
