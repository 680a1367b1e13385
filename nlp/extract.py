"""The extractor: document in, contract result out.

Split like a Hugging Face pipeline: `preprocess` validates a record, picks its language and
cuts very long texts into bounded pieces; `forward` runs the language's spaCy pipeline
(batched per language); `postprocess` turns the Doc into a `Result` whose spans point into
the original text. A document that fails at any step becomes one error result; it never
stops the others, and neither does a worker process that dies: the documents it had in
flight are retried once, each alone, in fresh workers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import re
import threading
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
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
# documents per batch: the transformer NER sorts a batch's sentences by length and fills its
# forward passes with them, so short news items need many per batch (bench_speed's texts, one
# process: Persian 3,712 words/s at 32 documents a batch, 4,296 at 256; English 2,365, 3,073)
BATCH_SIZE = 256
TRIM_CHARS = 1_000_000  # text processed between two returns of freed heap to the system
WORKER_DIED = "worker process died while processing this document (it was retried once, alone)"
# Test hook: a worker that receives the document with this id exits abruptly, as a crashed
# or OOM-killed process would ("ID@FILE": only while FILE does not exist, which it creates;
# several such specs separated by commas).
KILL_WORKER_ENV = "CLAIMS_TEST_KILL_WORKER"
MAX_DEATHS_IN_A_ROW = 5  # then the workers cannot run at all (see _Workers._restart)
T = TypeVar("T")
log = logging.getLogger(__name__)
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
        """The record's own id when it has a usable one, else where it was read; always
        writable as UTF-8 (a lone surrogate is escaped), so `--resume` finds it again."""
        raw = self.record.get("id") if isinstance(self.record, Mapping) else None
        return _printable(raw) if isinstance(raw, str) and raw else self.fallback_id or "?"


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
        self._untrimmed = 0  # characters processed since freed heap was last given back

    # -- public API ------------------------------------------------------------------------
    def __call__(self, text: str, lang: str | None = None, *, id: str = "doc",
                 meta: dict[str, Any] | None = None) -> Result:
        record: dict[str, Any] = {"id": id, "text": text, "lang": lang}
        if meta is not None:
            record["meta"] = meta
        return next(self.pipe([record]))

    def pipe(self, records: Iterable[Mapping[str, Any] | Incoming], n_process: int = 1,
             batch_size: int = BATCH_SIZE) -> Generator[Result, None, None]:
        """Results in input order; with n_process > 1, batches run in worker processes
        that load the pipelines once, with a bounded number of batches in flight."""
        batches = batched((r if isinstance(r, Incoming) else Incoming(r) for r in records),
                           batch_size)
        if n_process <= 1:
            for batch in batches:
                yield from self.process_batch(batch)
            return
        yield from _Workers(self, n_process).run(batches)

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
        self._untrimmed += sum(len(item.text) for item in prepared if isinstance(item, Prepared))
        if self._untrimmed >= TRIM_CHARS:
            self._untrimmed = 0
            _trim_heap()
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
            # strings and lexemes that new text adds to the vocabulary are freed when the
            # zone ends, so a long stream of unseen words does not grow memory
            with pipeline.memory_zone():
                flat = iter([harvest(doc) for doc in pipeline.pipe(texts, batch_size=batch_size)])
        except Exception:  # isolate the document that broke the batch
            return [self._forward_one(lang, item) for item in items]
        return [list(islice(flat, len(item.chunks))) for item in items]

    def _forward_one(self, lang: str, item: Prepared) -> list[Harvest] | str:
        pipeline = get_pipeline(lang, self.ner)
        try:
            with pipeline.memory_zone():
                return [harvest(pipeline(chunk)) for _, chunk in item.chunks]
        except Exception as exc:
            return failure(exc)

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
        if isinstance(incoming.record, Mapping):
            where = _lone_surrogate(incoming.record)
            if where:  # a JSON escape such as "\\ud800": not Unicode text, unwritable as UTF-8
                return Result(id=doc_id,
                              error=f"{prefix}{where} is not valid Unicode (a lone surrogate)")
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


def _lone_surrogate(record: Mapping[str, Any]) -> str:
    """Which field holds a lone surrogate ("\\ud800" in JSON), or "": such a string is not
    Unicode text, and neither the language detector nor the output file can take it."""
    for name in ("id", "text"):
        value = record.get(name)
        try:
            if isinstance(value, str):
                value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"'{name}' (character {exc.start})"
    try:
        json.dumps(record.get("meta"), ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return "'meta'"
    return ""


def _printable(doc_id: str) -> str:
    return doc_id.encode("utf-8", "backslashreplace").decode("utf-8")


def error_record(item: Incoming, why: str) -> Result:
    """The error record of a document that failed after it was read (in a worker)."""
    prefix = f"{item.where}: " if item.where else ""
    return Result(id=item.doc_id, error=prefix + why)


def failure(exc: BaseException) -> str:
    return f"processing failed: {type(exc).__name__}: {exc}"


class EngineError(RuntimeError):
    """The engine cannot go on (workers keep dying, the cluster went away); the results
    given so far are complete and in order, so a run can be continued with --resume."""


def _done(results: list[Result]) -> Future[list[Result]]:
    future: Future[list[Result]] = Future()
    future.set_result(results)
    return future


class _Workers:
    """Worker processes for `Extractor.pipe`: each builds one Extractor and loads each
    pipeline once; results come back in input order, with at most two batches per process
    in flight so memory stays bounded on endless input.

    A worker that dies (a crash in native code, the OOM killer) breaks the whole pool and
    fails every batch in flight, and nothing says which document killed it. So the workers
    are restarted and each of those documents is retried once, alone: only a document that
    kills its worker again becomes an error record, and the others are not lost."""

    def __init__(self, extractor: Extractor, n_process: int) -> None:
        self.extractor = extractor
        self.n_process = n_process
        self.deaths_in_a_row = 0  # worker deaths with no document finished in between
        self.pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        ex = self.extractor
        return ProcessPoolExecutor(self.n_process, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker,
                                   initargs=(ex.chunk_chars, ex.ner, ex.min_confidence,
                                             max(1, (os.cpu_count() or 1) // self.n_process)))

    def _restart(self) -> None:
        """New workers after a death; several deaths in a row with no document finished
        mean the workers cannot run at all (no memory, a broken install), and retrying
        every document alone would only turn the whole input into error records."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.deaths_in_a_row += 1
        if self.deaths_in_a_row >= MAX_DEATHS_IN_A_ROW:
            raise EngineError(f"worker processes died {self.deaths_in_a_row} times in a row "
                              "without finishing a document; giving up (the results written "
                              "so far are complete: continue with --resume)")
        self.pool = self._start()

    def _submit(self, batch: list[Incoming]) -> Future[list[Result]]:
        try:
            return self.pool.submit(_worker_batch, batch)
        except BrokenProcessPool as exc:  # a worker died since the last result was read
            future: Future[list[Result]] = Future()
            future.set_exception(exc)
            return future

    def run(self, batches: Iterable[list[Incoming]]) -> Iterator[Result]:
        pending: deque[tuple[list[Incoming], Future[list[Result]]]] = deque()
        try:
            for batch in batches:
                pending.append((batch, self._submit(batch)))
                if len(pending) >= 2 * self.n_process:
                    yield from self._settle(pending)
            while pending:
                yield from self._settle(pending)
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _settle(self, pending: deque[tuple[list[Incoming], Future[list[Result]]]]
                ) -> list[Result]:
        """The results of the oldest batch in flight, recovering from a dead worker."""
        batch, future = pending.popleft()
        try:
            results = future.result()
            self.deaths_in_a_row = 0
            return results
        except BrokenProcessPool:
            pass
        except Exception as exc:  # e.g. a record that cannot be sent to a worker
            log.warning("a batch failed in its worker (%s: %s); retrying its %d documents "
                        "one by one", type(exc).__name__, exc, len(batch))
            return self._alone(batch)
        wait([f for _, f in pending])  # the broken pool fails all of them
        suspects = [(b, f) for b, f in [(batch, future), *pending] if f.exception() is not None]
        log.warning("a worker process died; restarting %d worker processes and retrying the "
                    "%d documents that were in flight, each alone, once", self.n_process,
                    sum(len(b) for b, _ in suspects))
        self._restart()
        retried = {id(f): _done(self._alone(b)) for b, f in suspects}
        rest = [(b, retried.get(id(f), f)) for b, f in pending]
        pending.clear()
        pending.extend(rest)
        return retried[id(future)].result()

    def _alone(self, batch: list[Incoming]) -> list[Result]:
        """Each document of `batch` in a task of its own, one at a time, so that a document
        that kills its worker costs only itself."""
        out: list[Result] = []
        for item in batch:
            try:
                out.extend(self.pool.submit(_worker_batch, [item]).result())
                self.deaths_in_a_row = 0
            except BrokenProcessPool:
                log.warning("document %s killed its worker process again: written as an "
                            "error record", item.doc_id)
                out.append(error_record(item, WORKER_DIED))
                self._restart()
            except Exception as exc:
                out.append(error_record(item, failure(exc)))
        return out


_WORKER: Extractor | None = None


def _load_malloc_trim() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None


_MALLOC_TRIM = _load_malloc_trim()


def _trim_heap() -> None:
    """Hand the heap that batches freed back to the system (glibc's `malloc_trim`). The
    NER's tensors change shape with every batch, and glibc kept what they freed: RSS grew
    about 70 MB over a 2 MB stream without this, 10 MB with it, at about 8 ms a call."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _init_worker(chunk_chars: int, ner: NerOptions | None, min_confidence: float,
                 threads: int) -> None:
    """`threads`: the worker's share of the cores for the models' matrix products (torch's
    and OpenBLAS's). Each worker's torch would otherwise start one thread per core, and two
    workers on two cores ran slower than one (Persian 3,077 words/s against 4,998; 5,370
    with this)."""
    global _WORKER
    try:
        import torch  # thinc imports it whenever it is installed
    except ImportError:
        pass
    else:
        torch.set_num_threads(threads)
    import numpy  # noqa: F401  (loads OpenBLAS, which spaCy's models use: see nlp.pipeline.use_ops)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads, user_api="blas")
    _exit_with_parent()
    _WORKER = Extractor(chunk_chars=chunk_chars, ner=ner, min_confidence=min_confidence)


def _exit_with_parent() -> None:
    """End this worker when its parent dies: a pool worker waits for work forever, so a
    run killed with SIGKILL would otherwise leave its workers (and their memory) behind."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _worker_batch(batch: list[Incoming]) -> list[Result]:
    assert _WORKER is not None
    kill_if_asked(batch)
    return _WORKER.process_batch(batch)


def kill_if_asked(batch: list[Incoming]) -> None:
    """The test hook of KILL_WORKER_ENV, called only in worker processes: exit at once,
    without cleanup, when the batch holds the named document."""
    specs = os.environ.get(KILL_WORKER_ENV)
    if not specs:
        return
    ids = {item.doc_id for item in batch}
    for spec in specs.split(","):
        doc_id, _, marker = spec.partition("@")
        if doc_id not in ids:
            continue
        if marker:
            if Path(marker).exists():
                continue
            Path(marker).touch()
        os._exit(70)


def load() -> Extractor:
    """The toolkit's entry point: an extractor whose pipelines load on first use."""
    return Extractor()
