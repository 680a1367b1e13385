"""`claims eval-ner`: span-level NER scores on a CoNLL file, SemEval-2013 style.

The pipeline under test reads the file's own tokens (no re-tokenisation), so scores are
comparable with published results on the same sets. Our spans may be trimmed inside a
token (a clitic or a Turkish case suffix split off); a predicted entity is mapped back to
the gold tokens it covers, so trimming neither helps nor hurts the score. Scoring is
nervaluate's: strict (exact span and label), exact (span only), partial, ent_type.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nervaluate import Evaluator
from spacy.language import Language
from spacy.tokens import Doc

from nlp.ner.conll import Sentence, read_conll, to_doc
from nlp.pipeline import NerOptions, get_pipeline

SCENARIOS = ("strict", "exact", "partial", "ent_type")
# Components that do not take part in NER; switched off while scoring and timing.
_NOT_NER = ("claims_lines", "sentencizer", "tagger", "parser", "attribute_ruler", "lemmatizer",
            "claims_figures", "claims_assembler")


def load_ner(lang: str, model: Path | str | None = None, gazetteer: bool = True,
             backend: str = "spacy") -> Language:
    """The language's pipeline with the given NER variant (default: the shipped one)."""
    options = NerOptions(model=str(model) if model else None, gazetteer=gazetteer,
                         backend=backend)
    return get_pipeline(lang, options)


@dataclass
class NerScores:
    """nervaluate's results, plus how many words the pipeline read and how fast."""

    labels: tuple[str, ...]
    results: dict[str, Any]
    words: int
    seconds: float
    sentences: int
    errors: list[dict[str, Any]] = field(default_factory=list)

    def metric(self, scenario: str = "strict", label: str | None = None) -> dict[str, float]:
        result = (self.results["overall"][scenario] if label is None
                  else self.results["entities"].get(label, {}).get(scenario))
        if result is None:
            return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
        return {"precision": result.precision, "recall": result.recall, "f1": result.f1,
                "support": result.possible}

    def summary(self) -> dict[str, Any]:
        """Micro strict scores, per-label strict scores and all scenarios, as plain data."""
        strict = self.metric("strict")
        return {
            **{k: round(v, 4) for k, v in strict.items()},
            "scenarios": {s: _rounded(self.metric(s)) for s in SCENARIOS},
            "labels": {label: _rounded(self.metric("strict", label)) for label in self.labels},
            "sentences": self.sentences, "words": self.words,
            "words_per_second": round(self.words / self.seconds) if self.seconds else None,
        }


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in values.items()}


def predict(pipeline: Language, sentences: list[Sentence],
            batch_size: int = 256) -> list[list[dict[str, Any]]]:
    """Predicted entities per sentence as {label, start, end} over the gold tokens
    (end inclusive, nervaluate's convention)."""
    docs = (to_doc(pipeline.vocab, s, with_gold=False) for s in sentences)
    disabled = [name for name in _NOT_NER if name in pipeline.pipe_names]
    if "tok2vec" in pipeline.pipe_names and "ner" not in getattr(
            pipeline.get_pipe("tok2vec"), "listening_components", []):
        disabled.append("tok2vec")  # our NER has its own encoder
    with pipeline.select_pipes(disable=disabled):
        return [_on_gold_tokens(doc, s) for doc, s in
                zip(pipeline.pipe(docs, batch_size=batch_size), sentences, strict=True)]


def _on_gold_tokens(doc: Doc, sentence: Sentence) -> list[dict[str, Any]]:
    starts: list[int] = []
    offset = 0
    for word in sentence.words:
        starts.append(offset)
        offset += len(word) + 1
    spans = []
    for ent in doc.ents:
        first = _token_at(starts, ent.start_char)
        last = _token_at(starts, ent.end_char - 1)
        spans.append({"label": ent.label_, "start": first, "end": last})
    return spans


def _token_at(starts: list[int], char: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= char:
            lo = mid
        else:
            hi = mid - 1
    return lo


def gold_entities(sentences: Iterable[Sentence]) -> list[list[dict[str, Any]]]:
    return [[{"label": label, "start": start, "end": end - 1}
             for start, end, label in s.spans()] for s in sentences]


def evaluate_sentences(pipeline: Language, sentences: list[Sentence],
                       labels: tuple[str, ...] | None = None) -> NerScores:
    """Scores over `labels` (default: the labels the gold data uses; a test set without
    MISC annotation does not count our MISC entities as spurious)."""
    gold = gold_entities(sentences)
    if labels is None:
        labels = tuple(sorted({e["label"] for doc in gold for e in doc}))
    started = time.perf_counter()
    pred = predict(pipeline, sentences)
    seconds = time.perf_counter() - started
    results = Evaluator(gold, pred, tags=list(labels), loader="dict").evaluate()
    errors = [
        {"sentence": i, "tokens": " ".join(s.words),
         "missed": [g for g in gs if g not in ps], "spurious": [p for p in ps if p not in gs]}
        for i, (s, gs, ps) in enumerate(zip(sentences, gold, pred, strict=True))
        if {(g["label"], g["start"], g["end"]) for g in gs if g["label"] in labels}
        != {(p["label"], p["start"], p["end"]) for p in ps if p["label"] in labels}
    ]
    return NerScores(labels, results, sum(len(s.words) for s in sentences), seconds,
                     len(sentences), errors)


def evaluate_file(pipeline: Language, path: Path,
                  labels: tuple[str, ...] | None = None) -> NerScores:
    return evaluate_sentences(pipeline, read_conll(path), labels)


def format_table(scores: NerScores) -> str:
    """A plain-text table: per-label strict P/R/F1, then micro P/R/F1 per scenario."""
    lines = [f"{'':<10}{'precision':>10}{'recall':>10}{'f1':>8}{'support':>9}"]
    for label in scores.labels:
        m = scores.metric("strict", label)
        lines.append(f"{label:<10}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>8.3f}"
                     f"{int(m['support']):>9}")
    for scenario in SCENARIOS:
        m = scores.metric(scenario)
        lines.append(f"{scenario:<10}{m['precision']:>10.3f}{m['recall']:>10.3f}"
                     f"{m['f1']:>8.3f}{int(m['support']):>9}")
    lines.append(f"{scores.sentences} sentences, {scores.words} words, "
                 f"{scores.words / scores.seconds if scores.seconds else 0:,.0f} words/s")
    return "\n".join(lines)
