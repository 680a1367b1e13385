"""The Dask engine of `claims extract --engine dask`: the same extraction on a Dask cluster.

The client reads the inputs (so workers need no access to the input files), cuts the
documents into partitions of whole batches and keeps a bounded number of partitions in
flight. Each worker process builds one Extractor when it starts (`ExtractorPlugin`) and
loads each language's pipeline once, on first use. Partitions come back in input order:
each is written to its own JSONL file and appended to the merged output. Because a
partition is a whole number of the local engine's batches, the results are identical to the
local engine's. A partition whose task fails (its worker died more often than the scheduler
allows) is retried document by document, so a bad document costs only itself.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
from distributed import Client, Future, LocalCluster, WorkerPlugin
from distributed.scheduler import KilledWorker

from nlp.batch import UsageError
from nlp.extract import (
    WORKER_DIED,
    EngineError,
    Extractor,
    Incoming,
    batched,
    error_record,
    failure,
    kill_if_asked,
)
from nlp.pipeline import NerOptions
from nlp.schema import Result

PLUGIN_NAME = "claims-extractor"
CONNECT_TIMEOUT = "10s"  # to reach an existing scheduler
POLL_SECONDS = 2.0  # how often a wait for results looks at the workers
LOCAL_GRACE = 60.0  # seconds a local cluster may run short of workers (restarts take some)
NO_WORKERS_LIMIT = 600.0  # seconds an existing cluster may have no worker at all
PART_GLOB = "part-*.jsonl"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """What a worker needs to build the same Extractor as the client's."""

    chunk_chars: int
    ner: NerOptions | None
    min_confidence: float
    batch_size: int

    @classmethod
    def of(cls, extractor: Extractor, batch_size: int) -> Settings:
        return cls(extractor.chunk_chars, extractor.ner, extractor.min_confidence, batch_size)


_extractors: dict[Settings, Extractor] = {}
_build_lock = threading.Lock()
_run_lock = threading.Lock()


def worker_extractor(settings: Settings) -> Extractor:
    """This process's Extractor for `settings`, built once and kept: its pipelines load on
    first use of each language and stay loaded for every later partition."""
    with _build_lock:
        if settings not in _extractors:
            _extractors[settings] = Extractor(chunk_chars=settings.chunk_chars, ner=settings.ner,
                                              min_confidence=settings.min_confidence)
        return _extractors[settings]


class ExtractorPlugin(WorkerPlugin):
    """Builds the worker's Extractor (language router included) when the worker starts, or
    restarts after a crash, so that partitions find it ready."""

    name = PLUGIN_NAME

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def setup(self, worker: Any) -> None:
        worker_extractor(self.settings)


def run_partition(settings: Settings, items: list[Incoming]) -> list[Result]:
    """The task: one partition, batch by batch as the local engine cuts them. One partition
    at a time per process: a worker started with several threads gets no speed from them
    (spaCy holds the GIL) and the pipelines are not shared between threads."""
    extractor = worker_extractor(settings)
    out: list[Result] = []
    with _run_lock:
        for batch in batched(items, settings.batch_size):
            kill_if_asked(batch)
            out.extend(extractor.process_batch(batch))
    return out


@contextmanager
def connect(scheduler: str | None, n_workers: int
            ) -> Iterator[tuple[Client, LocalCluster | None]]:
    """A client of the scheduler at `scheduler`, or of a LocalCluster of `n_workers`
    single-threaded processes (returned too, so that lost workers can be replaced). The
    local cluster gives each worker one task at a time, so that a document that kills its
    worker cannot take a queued neighbour down with it, and does not rerun a task whose
    worker died: the partition is retried document by document instead, each document once
    and alone, as the local engine does. (Letting Dask rerun it sends the same document to a
    worker that may still be starting, and Dask does not restart a worker that dies then.)"""
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client, None
        return
    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.CRITICAL)  # our warnings say what failed
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        yield client, cluster


def prepare_partitions(directory: Path, resume: bool) -> int:
    """The number of the first partition to write into `directory`: after the existing
    ones when resuming, else 0 with the parts of an earlier run removed (as `-o` overwrites
    its file)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{directory}: cannot create: {exc.strerror}") from None
    existing = sorted(directory.glob(PART_GLOB))
    if resume:
        numbers = [int(p.stem.split("-")[1]) for p in existing if p.stem.split("-")[1].isdigit()]
        return max(numbers, default=-1) + 1
    for path in existing:
        path.unlink()
    return 0


def pipe_dask(items: Iterable[Incoming], extractor: Extractor, *, scheduler: str | None,
              n_workers: int, batch_size: int, partition_size: int,
              partitions_dir: Path | None = None, first_partition: int = 0
              ) -> Generator[Result, None, None]:
    """Results in input order, as `Extractor.pipe` gives them, computed on a Dask cluster.
    `partition_size` is rounded up to whole batches; with `partitions_dir`, partition N is
    also written to `part-N.jsonl` there (atomically, in order, before its results are
    yielded)."""
    settings = Settings.of(extractor, batch_size)
    size = -(-partition_size // batch_size) * batch_size
    with connect(scheduler, n_workers) as (client, cluster):
        client.register_plugin(ExtractorPlugin(settings), name=PLUGIN_NAME)
        run = _Run(client, cluster, n_workers, settings, partitions_dir)
        pending: deque[tuple[int, list[Incoming], Future[list[Result]]]] = deque()
        for index, part in enumerate(batched(items, size), start=first_partition):
            pending.append((index, part, run.submit(part)))
            # two partitions per worker thread in flight: busy workers, bounded memory
            if len(pending) >= 2 * max(1, run.threads()):
                yield from run.finish(*pending.popleft())
        while pending:
            yield from run.finish(*pending.popleft())


class _Run:
    """One `pipe_dask` run: collects partitions in order, retries failed ones document by
    document, and never waits forever on a cluster that has lost its workers."""

    def __init__(self, client: Client, cluster: LocalCluster | None, n_workers: int,
                 settings: Settings, partitions_dir: Path | None) -> None:
        self.client = client
        self.cluster = cluster
        self.n_workers = n_workers
        self.settings = settings
        self.partitions_dir = partitions_dir
        self.replaced = 0  # replacements of the local cluster's workers, in a row

    def submit(self, items: list[Incoming]) -> Future[list[Result]]:
        return self.client.submit(run_partition, self.settings, items, pure=False)

    def threads(self) -> int:
        found: dict[str, int] = self.client.nthreads()  # type: ignore[no-untyped-call]
        return sum(found.values())

    def finish(self, index: int, part: list[Incoming], future: Future[list[Result]]
               ) -> list[Result]:
        try:
            results = self.wait(future)
        except EngineError:
            raise
        except Exception as exc:
            if self.client.status != "running":
                raise EngineError("lost the connection to the Dask scheduler; the results "
                                  "written so far are complete: continue with --resume"
                                  ) from None
            why = ("its worker process died" if isinstance(exc, KilledWorker)
                   else f"{type(exc).__name__}: {exc}")
            log.warning("partition %d failed (%s); retrying its %d documents one by one",
                        index, why, len(part))
            results = self.one_by_one(part)
        if self.partitions_dir is not None:
            _write_partition(self.partitions_dir / f"part-{index:05d}.jsonl", results)
        return results

    def one_by_one(self, part: list[Incoming]) -> list[Result]:
        """Each document of a failed partition as a task of its own; a document whose task
        fails again becomes one error record."""
        futures = [self.submit([item]) for item in part]
        out: list[Result] = []
        for item, future in zip(part, futures, strict=True):
            try:
                out.extend(self.wait(future))
            except EngineError:
                raise
            except Exception as exc:
                why = WORKER_DIED if isinstance(exc, KilledWorker) else failure(exc)
                log.warning("document %s failed again: written as an error record",
                            item.doc_id)
                out.append(error_record(item, why))
        return out

    def wait(self, future: Future[list[Result]]) -> list[Result]:
        """The future's result; meanwhile, watch the workers. A worker whose process dies
        while its nanny is still starting it is not restarted, so a local cluster can end
        up with too few workers, or none, and its tasks would wait forever: its workers are
        then replaced (twice in a row at most). On an existing cluster the run waits for workers to
        join, saying so, and gives up after NO_WORKERS_LIMIT seconds without any."""
        short_since: float | None = None
        while True:
            try:
                results: list[Result] = future.result(timeout=POLL_SECONDS)
                return results
            except TimeoutError:
                pass
            have = self.threads()
            if have >= (self.n_workers if self.cluster is not None else 1):
                short_since, self.replaced = None, 0
                continue
            now = time.monotonic()
            short_since = short_since or now
            waited = now - short_since
            if self.cluster is None:
                if waited >= NO_WORKERS_LIMIT:
                    raise EngineError(f"no Dask worker joined the scheduler for "
                                      f"{NO_WORKERS_LIMIT:.0f} s; the results written so far "
                                      "are complete: continue with --resume")
                if int(waited) % 60 < POLL_SECONDS:
                    log.warning("no Dask worker is connected; waiting for one")
            elif waited >= LOCAL_GRACE:
                if self.replaced >= 2:
                    raise EngineError("the local Dask cluster keeps losing its workers; the "
                                      "results written so far are complete: continue with "
                                      "--resume")
                log.warning("the local Dask cluster has %d of %d workers; replacing them",
                            have, self.n_workers)
                self.cluster.scale(0)  # type: ignore[no-untyped-call]
                self.cluster.scale(self.n_workers)  # type: ignore[no-untyped-call]
                self.replaced += 1
                short_since = None


def _write_partition(path: Path, results: list[Result]) -> None:
    """Write whole or not at all: a partition file is never seen half written."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as fh:
        fh.writelines(result.to_json() + "\n" for result in results)
    os.replace(temporary, path)
