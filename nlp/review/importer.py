"""Putting documents into the review database.

A record may come with claims — the model's (CLAIMS.md output shape: they wait for review)
or labelled ones (the gold shape: already reviewed) — or without, in which case the
pipeline extracts them here. One bad record is reported and skipped; the rest go in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pydantic import ValidationError

from nlp.batch import read_inputs
from nlp.extract import Extractor, Incoming
from nlp.gold import GoldClaim, describe_error
from nlp.langid import detect
from nlp.review.records import ReviewClaim, from_claim, from_gold
from nlp.review.store import ReviewError, Store
from nlp.schema import Claim, InputRecord, Result


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already in the database
    errors: list[str] = field(default_factory=list)


def import_files(store: Store, files: list[str],
                 extractor: Extractor | None = None) -> ImportReport:
    return import_records(store, read_inputs(files), extractor)


def import_records(store: Store, records: Iterable[Mapping[str, Any] | Incoming],
                   extractor: Extractor | None = None) -> ImportReport:
    report = ImportReport()
    unlabelled: list[InputRecord] = []
    for item in records:
        incoming = item if isinstance(item, Incoming) else Incoming(item)
        where = incoming.where or incoming.doc_id
        if incoming.error is not None:
            report.errors.append(f"{where}: {incoming.error}")
            continue
        try:
            record = InputRecord.model_validate(incoming.record)
        except ValidationError as exc:
            report.errors.append(f"{where}: {describe_error(exc)}")
            continue
        if store.has(record.id):
            report.skipped.append(record.id)
            continue
        raw_claims = incoming.record.get("claims")
        if raw_claims is None:
            unlabelled.append(record)
            continue
        _add(store, report, where, record, partial(_labelled, record, raw_claims))
    if unlabelled:
        extractor = extractor or Extractor()
        results = extractor.pipe(r.model_dump(exclude_none=True) for r in unlabelled)
        for record, result in zip(unlabelled, results, strict=True):
            _add(store, report, record.id, record, partial(_extracted, result))
    return report


Prepared = tuple[str, list[ReviewClaim], list[dict[str, Any]], list[dict[str, Any]] | None]


def _add(store: Store, report: ImportReport, where: str, record: InputRecord,
         prepare: Callable[[], Prepared]) -> None:
    try:
        lang, claims, entities, predictions = prepare()
        store.add_document(record.id, lang, record.text, claims, meta=record.meta,
                           entities=entities, predictions=predictions)
    except (ValidationError, ReviewError, ValueError) as exc:
        message = describe_error(exc) if isinstance(exc, ValidationError) else str(exc)
        report.errors.append(f"{where}: {record.id}: {message}")
        return
    report.added.append(record.id)


def _labelled(record: InputRecord, raw: Any) -> Prepared:
    """Claims that came with the record: the model's output shape, or gold claims."""
    if not isinstance(raw, list):
        raise ValueError("'claims' must be a list")
    lang = record.lang or detect(record.text).lang
    claims: list[ReviewClaim] = []
    predictions: list[dict[str, Any]] = []
    for item in raw:
        if isinstance(item, Mapping) and "figure_text" in item:
            claims.append(from_gold(record.text, GoldClaim.model_validate(item)))
        else:
            claim = Claim.model_validate(item)
            claims.append(from_claim(claim))
            predictions.append(claim.model_dump())
    return lang, claims, [], predictions if predictions else None


def _extracted(result: Result) -> Prepared:
    if result.error is not None:
        raise ValueError(result.error)
    return (result.lang, [from_claim(c) for c in result.claims],
            [e.model_dump() for e in result.entities],
            [c.model_dump() for c in result.claims])

