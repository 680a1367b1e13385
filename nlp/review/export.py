"""Annotators' work out of the database: our gold format, Label Studio, Prodigy.

Gold lines are what `claims eval` and `claims train confidence` read (checked by the same
rules as `claims validate` on every save). Label Studio tasks carry the model's claims as
`predictions` and the reviewed ones as `annotations`; Prodigy lines carry character spans.
All offsets are code points into `text`, as in CLAIMS.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, get_args

from nlp import __version__
from nlp.gold import GoldDocument
from nlp.review.records import ReviewClaim, from_claim, live, to_gold
from nlp.review.store import Store, StoredDocument
from nlp.schema import SUPPORTED_LANGS, Claim, Span

Format = Literal["gold", "label-studio", "prodigy"]
FORMATS: tuple[str, ...] = get_args(Format)
LABELS = {"figure": "FIGURE", "victims": "VICTIMS", "actor": "ACTOR", "source": "SOURCE",
          "time": "TIME", "places": "PLACE"}


def export(store: Store, fmt: Format, include_unfinished: bool = False
           ) -> Iterator[dict[str, Any]]:
    """One JSON-ready record per document (finished ones only, unless asked)."""
    status = None if include_unfinished else "done"
    for doc in store.documents(status=status):
        if fmt == "gold":
            if doc.lang in SUPPORTED_LANGS:
                yield gold_record(doc)
        elif fmt == "label-studio":
            yield label_studio_task(doc)
        else:
            yield prodigy_record(doc)


def gold_record(doc: StoredDocument) -> dict[str, Any]:
    gold = GoldDocument(id=doc.id, lang=doc.lang, text=doc.text,
                        claims=[to_gold(c) for c in live(doc.claims)], meta=doc.meta)
    record = gold.model_dump()
    if record["meta"] is None:
        del record["meta"]
    for claim in record["claims"]:
        if claim["note"] is None:
            del claim["note"]
    return record


def _labelled_spans(claim: ReviewClaim) -> Iterator[tuple[str, str, Span]]:
    """(label, role, span) of one claim: its figure first."""
    for role, span in claim.spans():
        name = role.split("[")[0]
        yield LABELS[name], name, span


def _regions(claims: list[ReviewClaim]) -> list[dict[str, Any]]:
    """Label Studio results: labelled spans, the claim's fields on its figure, and
    relations from each figure to its role spans (what makes them one claim)."""
    out: list[dict[str, Any]] = []
    for n, claim in enumerate(claims):
        figure_id = f"c{n}-figure"
        for k, (label, role, span) in enumerate(_labelled_spans(claim)):
            region_id = figure_id if role == "figure" else f"c{n}-{role}-{k}"
            value = {"start": span.start, "end": span.end, "text": span.text}
            out.append({"id": region_id, "from_name": "label", "to_name": "text",
                        "type": "labels", "value": {**value, "labels": [label]}})
            if role == "figure":
                fig = claim.figure
                for name, choice in (("category", claim.category),
                                     ("qualifier", fig.qualifier),
                                     ("victims_type", claim.victims_type)):
                    out.append({"id": region_id, "from_name": name, "to_name": "text",
                                "type": "choices", "value": {**value, "choices": [choice]}})
                numbers = {"value": fig.value, "low": fig.low, "high": fig.high}
                out.append({"id": region_id, "from_name": "bounds", "to_name": "text",
                            "type": "textarea",
                            "value": {**value, "text": [f"{k}={v}" for k, v in numbers.items()]}})
            else:
                out.append({"from_id": figure_id, "to_id": region_id, "type": "relation",
                            "direction": "right", "labels": [role]})
    return out


def label_studio_task(doc: StoredDocument) -> dict[str, Any]:
    task: dict[str, Any] = {"data": {"text": doc.text, "doc_id": doc.id, "lang": doc.lang,
                                     "meta": doc.meta}}
    if doc.predictions is not None:
        model = [from_claim(Claim.model_validate(p)) for p in doc.predictions]
        scores = [c.confidence for c in model if c.confidence is not None]
        task["predictions"] = [{"model_version": f"claims-nlp {__version__}",
                                "score": min(scores) if scores else None,
                                "result": _regions(model)}]
    if doc.status == "done":
        task["annotations"] = [{"result": _regions(live(doc.claims)), "was_cancelled": False}]
    return task


def prodigy_record(doc: StoredDocument) -> dict[str, Any]:
    claims = live(doc.claims)
    spans = [{"start": span.start, "end": span.end, "label": label, "text": span.text,
              "claim": n}
             for n, claim in enumerate(claims) for label, _, span in _labelled_spans(claim)]
    return {"text": doc.text, "spans": sorted(spans, key=lambda s: (s["start"], s["end"])),
            "claims": [to_gold(c).model_dump(exclude_none=True) for c in claims],
            "meta": {"id": doc.id, "lang": doc.lang, "status": doc.status,
                     **(doc.meta or {})},
            "answer": "accept" if doc.status == "done" else "ignore",
            "_view_id": "spans_manual"}
