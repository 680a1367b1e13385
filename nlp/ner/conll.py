"""CoNLL NER files (`token<TAB>BIO-tag`, blank line between sentences) as spaCy Docs.

Training, evaluation and the benchmark all read this one format, so it is parsed in one
place; a malformed line is reported with its file and line number, never guessed at.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab


class ConllError(ValueError):
    """A CoNLL file that cannot be read as token/tag lines."""


@dataclass(frozen=True)
class Sentence:
    words: tuple[str, ...]
    tags: tuple[str, ...]

    def spans(self) -> list[tuple[int, int, str]]:
        """Gold entities as (start, end, label) token offsets; an orphan I- starts one."""
        spans: list[tuple[int, int, str]] = []
        start, label = -1, ""
        for i, tag in enumerate((*self.tags, "O")):
            prefix, _, kind = tag.partition("-")
            if start >= 0 and (prefix != "I" or kind != label):
                spans.append((start, i, label))
                start = -1
            if prefix == "B" or (prefix == "I" and start < 0):
                start, label = i, kind
        return spans


def read_conll(path: Path) -> list[Sentence]:
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ConllError(f"{path}: cannot read ({err})") from err
    return list(_sentences(lines, str(path)))


def _sentences(lines: Iterable[str], name: str) -> Iterator[Sentence]:
    words: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            if words:
                yield Sentence(tuple(words), tuple(tags))
                words, tags = [], []
            continue
        token, sep, tag = line.rpartition("\t")
        if not sep:
            token, sep, tag = line.rpartition(" ")
        tag = tag.strip()
        if not sep or not token.strip() or not _valid_tag(tag):
            raise ConllError(f"{name}:{number}: expected 'token<TAB>tag' with a BIO tag, "
                             f"got {line!r}")
        words.append(token.strip())
        tags.append(tag)
    if words:
        yield Sentence(tuple(words), tuple(tags))


def _valid_tag(tag: str) -> bool:
    prefix, _, label = tag.partition("-")
    return tag == "O" or (prefix in ("B", "I") and bool(label))


def to_doc(vocab: Vocab, sentence: Sentence, with_gold: bool = True) -> Doc:
    """The sentence's tokens as a Doc (tokens joined by single spaces), gold entities set."""
    tags = list(repaired(sentence.tags)) if with_gold else None
    return Doc(vocab, words=list(sentence.words), ents=tags)


def repaired(tags: Sequence[str]) -> tuple[str, ...]:
    """spaCy refuses an I- that does not continue its entity; read it as B-, as conlleval."""
    return tuple("B-" + tag[2:] if tag.startswith("I-") and (
        i == 0 or tags[i - 1][2:] != tag[2:] or tags[i - 1] == "O") else tag
        for i, tag in enumerate(tags))


def span_f1(gold: set[tuple[Any, ...]], predicted: set[tuple[Any, ...]]) -> float:
    """Strict micro F1 of two sets of spans (each with its sentence, offsets and label)."""
    total = len(gold) + len(predicted)
    return 2 * len(gold & predicted) / total if total else 0.0


def write_conll(sentences: Iterable[Sentence], path: Path) -> int:
    """The sentences in read_conll's format; returns the number of words."""
    words = 0
    with path.open("w", encoding="utf-8") as out:
        for sentence in sentences:
            pairs = zip(sentence.words, sentence.tags, strict=True)
            out.write("".join(f"{w}\t{t}\n" for w, t in pairs) + "\n")
            words += len(sentence.words)
    return words


def write_docbin(sentences: Iterable[Sentence], vocab: Vocab, path: Path) -> int:
    docs = DocBin(attrs=["ORTH", "ENT_IOB", "ENT_TYPE"], store_user_data=False)
    count = 0
    for sentence in sentences:
        docs.add(to_doc(vocab, sentence))
        count += 1
    docs.to_disk(path)
    return count
