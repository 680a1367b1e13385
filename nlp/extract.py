"""The extractor: document in, contract result out.

Split like a Hugging Face pipeline: `preprocess` validates a record, picks its language and
cuts very long texts into bounded pieces; `forward` runs the language's spaCy pipeline
(batched per language); `postprocess` turns the Doc into a `Result` whose spans point into
the original text. A document that fails at any step becomes one error result; it never
stops the others.
"""

from __future__ import annotations

import multiprocessing
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pydantic import ValidationError
from spacy.tokens import Doc

from nlp.claims import ClaimDraft, Mention
from nlp.langid import UND, LanguageRouter, get_router
from nlp.ner import LABELS
from nlp.pipeline import NerOptions, get_pipeline
from nlp.schema import (
    SUPPORTED_LANGS,
    Claim,
    Entity,
    EntityLabel,
    Figure,
    InputRecord,
    Lang,
    Result,
    SentenceSpan,
    Span,
    Victims,
)

CHUNK_CHARS = 100_000
PIPE_CHARS = 400_000  # characters the models see in one batch (bounds memory)
T = TypeVar("T")
_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"[.!?؟۔]\s"), re.compile(r"\s"))


@dataclass(frozen=True)
class Incoming:
    """A document as a reader found it: the parsed record, or why it could not be read."""

    record: Any = None
    where: str = ""  # "input.jsonl line 17", for messages
    fallback_id: str = ""  # id to report when the record has none
    error: str | None = None

    @property
    def doc_id(self) -> str:
        """The record's own id when it has a usable one, else where it was read."""
        raw = self.record.get("id") if isinstance(self.record, Mapping) else None
        return raw if isinstance(raw, str) and raw else self.fallback_id or "?"


@dataclass
class Prepared:
    id: str
    text: str
    lang: str
    lang_score: float
    meta: dict[str, Any] | None
    chunks: list[tuple[int, str]] = field(default_factory=list)

    def result(self, **fields: Any) -> Result:
        """A result for this document carrying its id, language and meta."""
        return Result(id=self.id, lang=cast(Lang, self.lang), lang_score=self.lang_score,
                      meta=self.meta, **fields)


def split_text(text: str, limit: int = CHUNK_CHARS) -> list[tuple[int, str]]:
    """Cut `text` into pieces of at most `limit` characters, at the best break available
    (blank line, line, sentence end, space), so work stays proportional to length."""
    pieces: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > limit:
        window = text[start : start + limit]
        cut = 0
        for pattern in _BREAKS:
            ends = [m.end() for m in pattern.finditer(window, limit // 2)]
            if ends:
                cut = ends[-1]
                break
        cut = cut or limit
        pieces.append((start, text[start : start + cut]))
        start += cut
    pieces.append((start, text[start:]))
    return pieces


def _hint(lang: str) -> str:
    """A language hint reduced to its primary subtag: 'AR-sy' -> 'ar'."""
    return lang.strip().lower().replace("_", "-").split("-")[0]


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "record"
    if err["type"] == "missing":
        return f"missing '{where}'"
    if err["type"] == "model_type":
        return "expected a JSON object with 'id' and 'text'"
    return f"'{where}': {err['msg']}"


class Extractor:
    """`ex(text, lang=None)` gives one result; `ex.pipe(records)` streams results in order."""

    def __init__(self, router: LanguageRouter | None = None, chunk_chars: int = CHUNK_CHARS,
                 ner: NerOptions | None = None, min_confidence: float = 0.0):
        self.router = router or get_router()
        self.chunk_chars = chunk_chars
        self.ner = ner
        self.min_confidence = min_confidence  # claims below it are left out

    # -- public API ------------------------------------------------------------------------
    def __call__(self, text: str, lang: str | None = None, *, id: str = "doc",
                 meta: dict[str, Any] | None = None) -> Result:
        record: dict[str, Any] = {"id": id, "text": text, "lang": lang}
        if meta is not None:
            record["meta"] = meta
        return next(self.pipe([record]))

    def pipe(self, records: Iterable[Mapping[str, Any] | Incoming], n_process: int = 1,
             batch_size: int = 32) -> Iterator[Result]:
        """Results in input order; with n_process > 1, batches run in worker processes
        that load the pipelines once, with a bounded number of batches in flight."""
        batches = batched((r if isinstance(r, Incoming) else Incoming(r) for r in records),
                           batch_size)
        if n_process <= 1:
            for batch in batches:
                yield from self.process_batch(batch)
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_process, mp_context=context, initializer=_init_worker,
                                 initargs=(self.chunk_chars, self.ner,
                                           self.min_confidence)) as pool:
            pending: deque[Future[list[Result]]] = deque()
            for batch in batches:
                pending.append(pool.submit(_worker_batch, batch))
                if len(pending) >= 2 * n_process:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()

    def process_batch(self, batch: list[Incoming]) -> list[Result]:
        """One batch: preprocess all, run each language's documents together, postprocess."""
        prepared = self.preprocess(batch)
        results: list[Result | None] = [p if isinstance(p, Result) else None for p in prepared]
        by_lang: dict[str, list[int]] = {}
        for i, item in enumerate(prepared):
            if isinstance(item, Prepared):
                if item.lang == UND:
                    results[i] = item.result()
                else:
                    by_lang.setdefault(item.lang, []).append(i)
        for lang, indices in by_lang.items():
            items = [cast(Prepared, prepared[i]) for i in indices]
            for i, item, found in zip(indices, items, self.forward(lang, items), strict=True):
                results[i] = (item.result(error=found) if isinstance(found, str)
                              else self.postprocess(item, found))
        return [r for r in results if r is not None]

    # -- steps -----------------------------------------------------------------------------
    def preprocess(self, batch: list[Incoming]) -> list[Prepared | Result]:
        out: list[Prepared | Result] = []
        for incoming in batch:
            out.append(self._validate(incoming))
        undecided = [p for p in out if isinstance(p, Prepared) and not p.lang]
        for item, detection in zip(undecided, self.router.detect_many(p.text for p in undecided),
                                   strict=True):
            item.lang, item.lang_score = detection.lang, detection.score
        for ready in out:
            if isinstance(ready, Prepared) and ready.lang != UND:
                ready.chunks = split_text(ready.text, self.chunk_chars)
        return out

    def forward(self, lang: str, items: list[Prepared]) -> list[list[Harvest] | str]:
        """What each chunk's Doc yielded (one per chunk), or an error message for an item
        that failed. Docs are dropped as soon as they are read, so memory stays bounded
        by the batch, not by the length of a long article."""
        pipeline = get_pipeline(lang, self.ner)
        texts = (chunk for item in items for _, chunk in item.chunks)
        longest = max((len(chunk) for item in items for _, chunk in item.chunks), default=1)
        # the models run a whole batch at once: keep it to about PIPE_CHARS characters
        batch_size = max(1, min(256, PIPE_CHARS // max(1, longest)))
        try:
            flat = [harvest(doc) for doc in pipeline.pipe(texts, batch_size=batch_size)]
        except Exception:  # isolate the document that broke the batch
            return [self._forward_one(lang, item) for item in items]
        out: list[list[Harvest] | str] = []
        for item in items:
            out.append(flat[: len(item.chunks)])
            flat = flat[len(item.chunks) :]
        return out

    def _forward_one(self, lang: str, item: Prepared) -> list[Harvest] | str:
        try:
            return [harvest(get_pipeline(lang, self.ner)(chunk)) for _, chunk in item.chunks]
        except Exception as exc:
            return f"processing failed: {type(exc).__name__}: {exc}"

    def postprocess(self, item: Prepared, harvests: list[Harvest]) -> Result:
        entities: list[Entity] = []
        claims: list[Claim] = []
        text = item.text
        try:
            for (offset, _), found in zip(item.chunks, harvests, strict=True):
                for start, end, label, kb_id in found.entities:
                    s, e = offset + start, offset + end
                    entities.append(Entity(text=text[s:e], start=s, end=e,
                                           label=cast(EntityLabel, label), kb_id=kb_id))
                claims.extend(_claim(text, offset, draft) for draft in found.claims
                              if draft.confidence >= self.min_confidence)
        except Exception as exc:  # a bug here must cost one document, not the batch
            return item.result(error=f"invalid output: {type(exc).__name__}: {exc}")
        return item.result(claims=claims, entities=entities)

    def _validate(self, incoming: Incoming) -> Prepared | Result:
        prefix = f"{incoming.where}: " if incoming.where else ""
        doc_id = incoming.doc_id
        if incoming.error is not None:
            return Result(id=doc_id, error=prefix + incoming.error)
        try:
            rec = InputRecord.model_validate(incoming.record)
        except ValidationError as exc:
            return Result(id=doc_id, error=prefix + _describe(exc))
        lang, score = "", 0.0
        if rec.lang:
            hint = _hint(rec.lang)
            lang, score = (hint if hint in SUPPORTED_LANGS else UND), 1.0
        return Prepared(rec.id, rec.text, lang, score, rec.meta)


@dataclass(frozen=True)
class Harvest:
    """What postprocessing needs of one chunk's Doc: entities and claim drafts."""

    entities: list[tuple[int, int, str, str | None]]
    claims: list[ClaimDraft]


def harvest(doc: Doc) -> Harvest:
    return Harvest([(e.start_char, e.end_char, e.label_, e.kb_id_ or None)
                    for e in doc.ents if e.label_ in LABELS], list(doc._.claims or []))


def _span(text: str, offset: int, m: Mention) -> Span:
    s, e = offset + m.start, offset + m.end
    return Span(text=text[s:e], start=s, end=e)


def _optional(text: str, offset: int, m: Mention | None) -> Span | None:
    return None if m is None else _span(text, offset, m)


def _claim(text: str, offset: int, draft: ClaimDraft) -> Claim:
    f = draft.figure
    s, e = offset + f.start, offset + f.end
    victims = None
    if draft.victims is not None:
        v = _span(text, offset, draft.victims)
        victims = Victims(text=v.text, start=v.start, end=v.end, type=draft.victims.label)  # type: ignore[arg-type]
    return Claim(
        figure=Figure(text=text[s:e], start=s, end=e, value=f.value, low=f.low, high=f.high,
                      qualifier=f.qualifier),  # type: ignore[arg-type]
        category=draft.category,  # type: ignore[arg-type]
        victims=victims,
        actor=_optional(text, offset, draft.actor),
        source=_optional(text, offset, draft.source),
        places=[_span(text, offset, p) for p in draft.places],
        time=_optional(text, offset, draft.time),
        sentence=SentenceSpan(start=offset + draft.sentence.start, end=offset + draft.sentence.end),
        confidence=draft.confidence,
    )


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of `size` items (the last may be shorter), read lazily."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_WORKER: Extractor | None = None


def _init_worker(chunk_chars: int, ner: NerOptions | None, min_confidence: float) -> None:
    global _WORKER
    _WORKER = Extractor(chunk_chars=chunk_chars, ner=ner, min_confidence=min_confidence)


def _worker_batch(batch: list[Incoming]) -> list[Result]:
    assert _WORKER is not None
    return _WORKER.process_batch(batch)


def load() -> Extractor:
    """The toolkit's entry point: an extractor whose pipelines load on first use."""
    return Extractor()
