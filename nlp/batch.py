"""Batch I/O: read documents from files, directories or stdin; write results line by line.

Reading never raises on bad content: a line that is not JSON, a file that is binary or
empty becomes an `Incoming` with an error, which the extractor turns into one error record.
Only problems with the command itself (a path that does not exist) raise `UsageError`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from nlp.extract import Incoming

JSONL_SUFFIXES = (".jsonl", ".ndjson")
TEXT_SUFFIXES = (".txt",)


class UsageError(Exception):
    """A problem with how the command was called (exit status 2)."""


def expand_inputs(paths: Iterable[str]) -> list[str]:
    """Files to read, in order: directories expand to their .jsonl/.txt files, sorted."""
    files: list[str] = []
    for raw in paths:
        if raw == "-":
            files.append(raw)
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.suffix.lower() in JSONL_SUFFIXES + TEXT_SUFFIXES)
            if not found:
                raise UsageError(f"{raw}: directory has no .jsonl or .txt files")
            files.extend(str(p) for p in found)
        elif path.is_file():
            files.append(raw)
        else:
            raise UsageError(f"{raw}: no such file or directory")
    if files.count("-") > 1:
        raise UsageError("'-' (standard input) can be given only once")
    return files


def read_inputs(files: Iterable[str]) -> Iterator[Incoming]:
    for name in files:
        if name == "-":
            yield from _read_jsonl(sys.stdin.buffer, "<stdin>")
        elif name.lower().endswith(JSONL_SUFFIXES):
            with open(name, "rb") as fh:
                yield from _read_jsonl(fh, name)
        else:
            yield _read_text_file(name)


def _read_jsonl(stream: IO[bytes], name: str) -> Iterator[Incoming]:
    for number, raw in enumerate(stream, start=1):
        where = f"{name} line {number}"
        fallback = f"{Path(name).name}:{number}"
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            yield Incoming(where=where, fallback_id=fallback,
                           error=f"not valid UTF-8 (byte {exc.start})")
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            why = (f"{exc.msg} (column {exc.colno})" if isinstance(exc, json.JSONDecodeError)
                   else "nested too deeply")
            yield Incoming(where=where, fallback_id=fallback, error=f"not valid JSON: {why}")
            continue
        yield Incoming(record, where=where, fallback_id=fallback)


def _read_text_file(name: str) -> Incoming:
    """One article per text file; its id is the file name."""
    doc_id = Path(name).name
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        return Incoming(where=name, fallback_id=doc_id, error=f"cannot read: {exc.strerror}")
    if not data.strip():
        return Incoming(where=name, fallback_id=doc_id, error="empty file")
    if b"\x00" in data:
        return Incoming(where=name, fallback_id=doc_id, error="binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Incoming(where=name, fallback_id=doc_id,
                        error=f"not UTF-8 text (byte {exc.start}); convert it to UTF-8")
    return Incoming({"id": doc_id, "text": text}, where=name, fallback_id=doc_id)


def count_documents(files: Iterable[str]) -> int | None:
    """Documents to expect, for the progress bar (None when reading stdin)."""
    total = 0
    for name in files:
        if name == "-":
            return None
        if name.lower().endswith(JSONL_SUFFIXES):
            with open(name, "rb") as fh:
                total += sum(1 for line in fh if line.strip())
        else:
            total += 1
    return total


@dataclass
class ResumeState:
    """Ids already written by an earlier, possibly killed, run of the same command."""

    done: set[str] = field(default_factory=set)
    truncated_bytes: int = 0


def prepare_resume(output: Path) -> ResumeState:
    """Read the ids already in `output` and cut off a last line the killed run left half
    written, so appending continues the file without duplicates or gaps."""
    state = ResumeState()
    if not output.exists():
        return state
    with open(output, "rb+") as fh:
        good_end = 0
        for raw in fh:
            if not raw.endswith(b"\n"):
                break
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                break
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                state.done.add(record["id"])
            good_end += len(raw)
        size = fh.seek(0, os.SEEK_END)
        if size > good_end:
            fh.truncate(good_end)
            state.truncated_bytes = size - good_end
    return state


def skip_done(items: Iterable[Incoming], done: set[str]) -> Iterator[Incoming]:
    for item in items:
        if item.doc_id not in done:
            yield item
