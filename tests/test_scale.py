"""Staying up: a killed run resumed, many broken lines, dying workers, long articles, and
the Dask engine giving the local engine's results.

Sizes scale with CLAIMS_SCALE (default 1: a few hundred documents, so the file runs in
under two minutes on two cores). CLAIMS_SCALE=25 gives the issue's 10,000 documents with
500 broken lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import ROOT, read_jsonl, run_claims, scaled, write_jsonl

import nlp.extract
from nlp.batch import UsageError, expand_inputs, read_inputs
from nlp.extract import KILL_WORKER_ENV, PIPE_CHARS, WORKER_DIED, EngineError, Extractor

SAMPLE = ROOT / "corpora" / "sample"


def turkish(n: int) -> list[dict[str, Any]]:
    return [{"id": f"d{i:05d}", "text": f"Saldırıda {i + 2} sivil öldü. " * 8, "lang": "tr"}
            for i in range(n)]


def test_sigkill_midway_then_resume_gives_each_document_exactly_once(tmp_path: Path) -> None:
    """With worker processes: the killed run's workers go away with it, and --resume (with
    workers again) completes the file without duplicates or gaps."""
    docs = turkish(scaled(500))
    src = write_jsonl(tmp_path / "in.jsonl", docs)
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "nlp.cli", "extract", str(src), "-o", str(out), "--quiet",
           "--jobs", "2", "--batch-size", "4"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and _lines(out) < len(docs) // 8:
            time.sleep(0.05)
        workers = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _, alive = psutil.wait_procs(workers, timeout=20)
        assert not [p for p in alive if _running(p)], \
            "the workers of a killed run must not outlive it"
    finally:
        _kill_group(proc.pid)
    written = _lines(out)
    assert 0 < written < len(docs), "the run should have been killed mid-way"
    resumed = run_claims("extract", str(src), "-o", str(out), "--resume", "--jobs", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {written} documents already in" in resumed.stderr
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [d["id"] for d in docs]
    assert all(r["error"] is None and r["claims"] for r in rows)


def test_five_percent_broken_lines_give_exactly_that_many_error_records(tmp_path: Path) -> None:
    n = scaled(400)
    broken = [
        '{"id": "x", "text": "unterminated',
        json.dumps({"id": "x"}),
        json.dumps({"id": "x", "text": 17}),
        json.dumps(["a", "list"]),
        '{"id": "x", "text": "lone surrogate \\ud800 here"}',
    ]
    lines: list[bytes] = []
    expected: list[tuple[str, bool]] = []  # (id, is an error record)
    for i in range(n):
        if i % 20 == 7:  # 5% of the lines
            kind = (i // 20) % (len(broken) + 1)
            line = (b"\xff\xfe not UTF-8" if kind == len(broken)
                    else broken[kind].replace('"x"', f'"bad{i}"').encode())
            lines.append(line)
            expected.append((f"bad{i}" if 0 < kind < 3 or kind == 4 else f"in.jsonl:{i + 1}",
                             True))
        else:
            doc = {"id": f"ok{i}", "text": f"Police arrested {i + 2} protesters in Ankara."}
            lines.append(json.dumps(doc).encode())
            expected.append((f"ok{i}", False))
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    proc = run_claims("extract", str(src), "-o", str(out), "--batch-size", "64", timeout=1800)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = read_jsonl(out)
    assert [(r["id"], r["error"] is not None) for r in rows] == expected
    assert sum(r["error"] is not None for r in rows) == n // 20
    assert all(r["claims"][0]["category"] == "detained" for r in rows if r["error"] is None)


def test_dying_workers_are_reported_and_their_documents_retried_once(tmp_path: Path) -> None:
    """One document kills its worker once (a transient crash): it and every document in
    flight with it are retried and nothing is lost. Another kills its worker every time: it
    alone becomes an error record."""
    docs = turkish(scaled(32))
    src = write_jsonl(tmp_path / "in.jsonl", docs)
    out = tmp_path / "out.jsonl"
    once, always = docs[5]["id"], docs[len(docs) - 6]["id"]
    hook = f"{once}@{tmp_path / 'died-once'},{always}"
    proc = _claims({KILL_WORKER_ENV: hook}, "extract", str(src), "-o", str(out), "--jobs", "2",
                   "--batch-size", "4")
    assert proc.returncode == 1, proc.stderr
    assert (tmp_path / "died-once").exists(), "the hook should have killed a worker"
    assert proc.stderr.count("a worker process died; restarting") == 2
    assert f"document {always} killed its worker process again" in proc.stderr
    assert f"document {once} killed" not in proc.stderr
    assert "Traceback" not in proc.stderr
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [d["id"] for d in docs]
    errors = {r["id"]: r["error"] for r in rows if r["error"] is not None}
    assert errors == {always: f"{src} line {len(docs) - 5}: {WORKER_DIED}"}
    assert all(r["claims"] for r in rows if r["id"] != always)


def test_workers_that_keep_dying_stop_the_run_with_a_clear_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers that die on every document (no memory, a broken install) are not a bad
    document: after a few deaths in a row the engine gives up instead of turning the whole
    input into error records."""
    docs = turkish(6)
    monkeypatch.setenv(KILL_WORKER_ENV, ",".join(d["id"] for d in docs))
    monkeypatch.setattr(nlp.extract, "MAX_DEATHS_IN_A_ROW", 2)
    with pytest.raises(EngineError, match="died 2 times in a row"):
        list(Extractor().pipe(docs, n_process=2, batch_size=2))


def test_long_articles_reach_the_models_in_bounded_pieces(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Work and memory stay proportional to length: every piece a model sees is at most
    chunk_chars long, one `pipe` call holds at most about PIPE_CHARS characters, and four
    times the text is four times the pieces. (Speed itself is measured by `make bench`.)"""
    import spacy

    blank = spacy.blank("tr")  # tokenizer only: the test is about what reaches the models
    seen: list[tuple[int, int]] = []  # (pieces in one pipe call, longest piece)

    class Recording:
        def pipe(self, texts: Iterator[str], batch_size: int) -> Iterator[Any]:
            pieces = list(texts)
            seen.append((min(len(pieces), batch_size), max(map(len, pieces))))
            return blank.pipe(pieces, batch_size=batch_size)

        def memory_zone(self) -> Any:
            return blank.memory_zone()

    monkeypatch.setattr(nlp.extract, "get_pipeline", lambda lang, ner=None: Recording())
    paragraph = "Saldırıda 13 sivil öldü, 45 kişi yaralandı. " * 40 + "\n\n"
    extractor = Extractor(chunk_chars=20_000)
    counts = []
    for size in (200_000, 800_000):
        seen.clear()
        text = (paragraph * (size // len(paragraph) + 1))[:size]
        result = extractor(text, lang="tr")
        assert result.error is None
        assert all(longest <= 20_000 for _, longest in seen)
        assert all(n * longest <= max(PIPE_CHARS, longest) for n, longest in seen)
        counts.append(len(nlp.extract.split_text(text, 20_000)))
    assert counts[0] >= 10 and 3.8 <= counts[1] / counts[0] <= 4.2


def test_dask_engine_gives_the_local_engine_results(tmp_path: Path,
                                                    extractor: Extractor) -> None:
    corpus = tmp_path / "corpus.jsonl"
    write_jsonl(corpus, [json.loads(line) for lang in ("en", "ar", "tr", "fa")
                         for line in (ROOT / "corpora" / lang / "dev.jsonl")
                         .read_text("utf-8").splitlines()[:4]])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "half", "text": "unterminated\n', "utf-8")
    inputs = [str(SAMPLE), str(corpus), str(bad)]
    local = "".join(r.to_json() + "\n" for r in extractor.pipe(
        read_inputs(expand_inputs(inputs)), batch_size=3))
    dask = tmp_path / "dask.jsonl"
    proc = run_claims("extract", *inputs, "-o", str(dask), "--engine", "dask", "--jobs", "2",
                      "--batch-size", "3", "--partition-size", "5", "--quiet")
    assert proc.returncode == 1, proc.stderr  # the unterminated line
    assert dask.read_text("utf-8") == local
    parts = sorted((tmp_path / "dask.jsonl.parts").glob("part-*.jsonl"))
    n = len(local.splitlines())
    assert len(parts) == -(-n // 6)  # partitions of 5 rounded up to 2 batches of 3
    assert "".join(p.read_text("utf-8") for p in parts) == local


def test_dask_engine_retries_a_dying_worker_and_resumes(tmp_path: Path) -> None:
    """A document that kills its Dask worker every time costs only itself; --resume with
    the Dask engine continues the merged file and numbers new partitions after the old."""
    docs = turkish(scaled(24))
    src = write_jsonl(tmp_path / "in.jsonl", docs)
    out, parts = tmp_path / "out.jsonl", tmp_path / "parts"
    victim = docs[9]["id"]
    proc = _claims({KILL_WORKER_ENV: victim}, "extract", str(src), "-o", str(out),
                   "--engine", "dask", "--jobs", "2", "--batch-size", "4",
                   "--partition-size", "8", "--partitions-dir", str(parts))
    assert proc.returncode == 1, proc.stderr
    assert "retrying its 8 documents one by one" in proc.stderr
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [d["id"] for d in docs]
    assert [r["id"] for r in rows if r["error"]] == [victim]
    assert WORKER_DIED in rows[9]["error"]
    with open(out, "r+b") as fh:  # as if the run had been killed before its last 5 results
        fh.truncate(sum(len(line) for line in fh.read().splitlines(keepends=True)[:-5]))
    proc = run_claims("extract", str(src), "-o", str(out), "--engine", "dask", "--jobs", "1",
                      "--partitions-dir", str(parts), "--resume", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert [r["id"] for r in read_jsonl(out)] == [d["id"] for d in docs]
    names = sorted(p.name for p in parts.glob("part-*.jsonl"))
    assert names[-1] == f"part-{-(-len(docs) // 8):05d}.jsonl"  # one new partition


class _NoWorkers:
    """A cluster and client whose workers are gone until `scale` is called, and a future
    that completes only once workers are back: what a Dask cluster looks like when a worker
    died while its nanny was starting it."""

    status = "running"

    def __init__(self) -> None:
        self.workers = 0
        self.scaled: list[int] = []

    def nthreads(self) -> dict[str, int]:
        return {f"w{i}": 1 for i in range(self.workers)}

    def scale(self, n: int) -> None:
        self.scaled.append(n)
        self.workers = n

    def result(self, timeout: float) -> list[str]:
        if not self.workers:
            raise TimeoutError
        return ["done"]


def test_a_cluster_without_workers_is_repaired_or_given_up(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    import nlp.distributed

    monkeypatch.setattr(nlp.distributed, "POLL_SECONDS", 0.001)
    monkeypatch.setattr(nlp.distributed, "LOCAL_GRACE", 0.01)
    monkeypatch.setattr(nlp.distributed, "NO_WORKERS_LIMIT", 0.01)
    fake = _NoWorkers()
    local = nlp.distributed._Run(fake, fake, 2, None, None)  # type: ignore[arg-type]
    assert local.wait(fake) == ["done"]  # type: ignore[arg-type]
    assert fake.scaled == [0, 2]
    remote = nlp.distributed._Run(_NoWorkers(), None, 2, None, None)  # type: ignore[arg-type]
    with pytest.raises(EngineError, match="no Dask worker joined"):
        remote.wait(_NoWorkers())  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [
    ["--scheduler", "tcp://127.0.0.1:1"],
    ["--partitions-dir", "parts"],
])
def test_dask_options_without_the_dask_engine_exit_2(args: list[str]) -> None:
    proc = run_claims("extract", str(SAMPLE), *args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "need --engine dask" in proc.stderr


def test_an_unreachable_scheduler_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import nlp.distributed

    monkeypatch.setattr(nlp.distributed, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(UsageError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:1"):
        next(nlp.distributed.pipe_dask(iter([]), Extractor(), scheduler="tcp://127.0.0.1:1",
                                       n_workers=1, batch_size=1, partition_size=1))


def _claims(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nlp.cli", *args], capture_output=True,
                          text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", **env})


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _kill_group(pid: int) -> None:
    """Clean up after a test that failed half-way: whatever of our own process group is
    left (the group was started for this test alone)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
