"""Claim evaluation against gold files, scored as CLAIMS.md says.

A predicted claim matches a gold claim of the same document when the category is equal and
the figure agrees (equal value; for a vague gold figure, qualifier vague and equal low).
Matching is one-to-one, nearest figure offsets first. On matched pairs every other field
is scored on its own; confidence by expected calibration error (10 bins) over all
predicted claims, a claim counting as correct when it matched.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from nlp.gold import GoldClaim, GoldDocument
from nlp.schema import Claim, Result

FIELDS = ("qualifier", "bounds", "victims_type", "source", "actor", "places", "time")
NO_CLAIM = "—"
_SENTENCE_END = re.compile(r"(?<=[.!?؟۔])\s+|\n+")


@dataclass
class DocumentEval:
    doc: GoldDocument
    result: Result
    matched: list[tuple[GoldClaim, Claim]] = field(default_factory=list)
    missed: list[GoldClaim] = field(default_factory=list)
    spurious: list[Claim] = field(default_factory=list)
    # figure-only matching (category ignored), for figure F1 and the confusion table
    figure_matched: list[tuple[GoldClaim, Claim]] = field(default_factory=list)
    figure_missed: list[GoldClaim] = field(default_factory=list)
    figure_spurious: list[Claim] = field(default_factory=list)


class _FigureLike(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def value(self) -> int | None: ...
    @property
    def low(self) -> int | None: ...
    @property
    def qualifier(self) -> str: ...


class Predicted(Protocol):
    """What matching needs of a prediction: a result's claim, or a claim draft."""

    @property
    def figure(self) -> _FigureLike: ...
    @property
    def category(self) -> str: ...


P = TypeVar("P", bound=Predicted)


def figure_agrees(gold: GoldClaim, pred: Predicted) -> bool:
    if gold.qualifier == "vague":
        return pred.figure.qualifier == "vague" and pred.figure.low == gold.low
    return pred.figure.value == gold.value


def match(gold: list[GoldClaim], pred: list[P], by_category: bool = True
          ) -> tuple[list[tuple[GoldClaim, P]], list[GoldClaim], list[P]]:
    """One-to-one matches (pairs whose figures overlap first, then the nearest), with the
    gold claims left unmatched and the predictions left unmatched."""
    candidates = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(pred):
            if figure_agrees(g, p) and (not by_category or g.category == p.category):
                overlap = g.figure_start < p.figure.end and p.figure.start < g.figure_end
                candidates.append((not overlap, abs(g.figure_start - p.figure.start), gi, pi))
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs: list[tuple[GoldClaim, P]] = []
    for _, _, gi, pi in sorted(candidates):
        if gi not in used_g and pi not in used_p:
            used_g.add(gi)
            used_p.add(pi)
            pairs.append((gold[gi], pred[pi]))
    return (pairs, [g for i, g in enumerate(gold) if i not in used_g],
            [p for i, p in enumerate(pred) if i not in used_p])


def evaluate_document(doc: GoldDocument, result: Result) -> DocumentEval:
    ev = DocumentEval(doc, result)
    ev.matched, ev.missed, ev.spurious = match(doc.claims, result.claims)
    ev.figure_matched, ev.figure_missed, ev.figure_spurious = match(
        doc.claims, result.claims, by_category=False)
    return ev


# -- fields ----------------------------------------------------------------------------------
def locate(text: str, needle: str, near: int) -> tuple[int, int]:
    """The occurrence of `needle` in `text` nearest to offset `near`, within the sentence
    around `near` when it occurs there (gold roles come from the figure's sentence)."""
    starts = [m.start() for m in re.finditer(re.escape(needle), text)]
    low, high = sentence_bounds(text, near)
    inside = [s for s in starts if low <= s and s + len(needle) <= high]
    start = min(inside or starts, key=lambda s: abs(s - near)) if starts else -1
    return start, start + len(needle)


def sentence_bounds(text: str, offset: int) -> tuple[int, int]:
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() >= offset:
            return start, m.start()
        start = m.end()
    return start, len(text)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def field_correct(name: str, text: str, gold: GoldClaim, pred: Claim) -> bool:
    if name == "qualifier":
        return gold.qualifier == pred.figure.qualifier
    if name == "bounds":
        return (gold.low, gold.high) == (pred.figure.low, pred.figure.high)
    if name == "victims_type":
        return gold.victims_type == (pred.victims.type if pred.victims else "unspecified")
    if name == "places":
        g_spans = [locate(text, p, gold.figure_start) for p in gold.places]
        p_spans = [(p.start, p.end) for p in pred.places]
        return (all(any(_overlaps(g, p) for p in p_spans) for g in g_spans)
                and all(any(_overlaps(g, p) for g in g_spans) for p in p_spans))
    gold_text: str | None = getattr(gold, name)
    span = getattr(pred, name)
    if gold_text is None or span is None:
        return gold_text is None and span is None
    return _overlaps(locate(text, gold_text, gold.figure_start), (span.start, span.end))


# -- aggregation -----------------------------------------------------------------------------
def prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "tp": tp, "fp": fp, "fn": fn}


def _bins(scored: list[tuple[float, bool]], bins: int) -> dict[int, list[tuple[float, bool]]]:
    """Claims by equal-width confidence bin (1.0 falls in the last)."""
    groups: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for conf, ok in scored:
        groups[min(int(conf * bins), bins - 1)].append((conf, ok))
    return groups


def expected_calibration_error(scored: list[tuple[float, bool]], bins: int = 10) -> float:
    """ECE: the bin-weighted gap between mean confidence and accuracy, equal-width bins."""
    total = 0.0
    for items in _bins(scored, bins).values():
        mean_conf = sum(c for c, _ in items) / len(items)
        accuracy = sum(ok for _, ok in items) / len(items)
        total += len(items) / len(scored) * abs(mean_conf - accuracy)
    return round(total, 4)


def calibrated_ece(confidences: list[float], bins: int = 10, draws: int = 2000,
                   seed: int = 0) -> dict[str, float]:
    """The ECE a perfectly calibrated scorer would show on these confidences: each claim
    drawn right with probability equal to its confidence, `draws` times. On a hundred-odd
    claims this is several points, so an observed ECE inside its range is sampling noise,
    not miscalibration. Returns the mean and the 95th percentile of the draws."""
    import numpy as np

    if not confidences:
        return {"mean": 0.0, "p95": 0.0}
    conf = np.asarray(confidences, dtype=float)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    right = np.random.default_rng(seed).random((draws, conf.size)) < conf
    ece = np.zeros(draws)
    for b in np.unique(which):
        members = which == b
        gap = right[:, members].mean(axis=1) - conf[members].mean()
        ece += members.sum() / conf.size * np.abs(gap)
    return {"mean": round(float(ece.mean()), 4), "p95": round(float(np.percentile(ece, 95)), 4)}


def scored_claims(evals: list[DocumentEval]) -> list[tuple[float, bool]]:
    """(confidence, matched) for every predicted claim."""
    matched_ids = {id(p) for e in evals for _, p in e.matched}
    return [(p.confidence, id(p) in matched_ids) for e in evals for p in e.result.claims]


def reliability_bins(scored: list[tuple[float, bool]], bins: int = 10
                     ) -> list[dict[str, float | int]]:
    """The non-empty bins of a reliability diagram (the ECE's bins): claims, mean
    confidence and the share right."""
    return [{"low": b / bins, "high": (b + 1) / bins, "claims": len(items),
             "confidence": round(sum(c for c, _ in items) / len(items), 4),
             "accuracy": round(sum(ok for _, ok in items) / len(items), 4)}
            for b, items in sorted(_bins(scored, bins).items())]


@dataclass
class ClaimScores:
    documents: list[DocumentEval]

    def groups(self) -> dict[str, list[DocumentEval]]:
        by_lang: dict[str, list[DocumentEval]] = defaultdict(list)
        for ev in self.documents:
            by_lang[ev.doc.lang].append(ev)
        return {**dict(sorted(by_lang.items())), "all": self.documents}

    @staticmethod
    def summarize(evals: list[DocumentEval]) -> dict[str, Any]:
        tp = sum(len(e.matched) for e in evals)
        claims = prf(tp, sum(len(e.spurious) for e in evals), sum(len(e.missed) for e in evals))
        figures = prf(sum(len(e.figure_matched) for e in evals),
                      sum(len(e.figure_spurious) for e in evals),
                      sum(len(e.figure_missed) for e in evals))
        fields: dict[str, float | None] = {}
        for name in FIELDS:
            right = sum(field_correct(name, e.doc.text, g, p) for e in evals for g, p in e.matched)
            fields[name] = round(right / tp, 4) if tp else None
        confusion: Counter[tuple[str, str]] = Counter()
        for e in evals:
            confusion.update((g.category, p.category) for g, p in e.figure_matched)
            confusion.update((g.category, NO_CLAIM) for g in e.figure_missed)
            confusion.update((NO_CLAIM, p.category) for p in e.figure_spurious)
        scored = scored_claims(evals)
        categories = sorted({g.category for e in evals for g in e.doc.claims}
                            | {p.category for e in evals for p in e.result.claims})
        by_category = {c: prf(sum(g.category == c for e in evals for g, _ in e.matched),
                              sum(p.category == c for e in evals for p in e.spurious),
                              sum(g.category == c for e in evals for g in e.missed))
                       for c in categories}
        return {
            "documents": len(evals), "gold_claims": sum(len(e.doc.claims) for e in evals),
            "claims": claims, "figures": figures, "fields": fields,
            "by_category": by_category,
            "ece": expected_calibration_error(scored),
            "ece_if_calibrated": calibrated_ece([conf for conf, _ in scored]),
            "reliability": reliability_bins(scored),
            "confusion": {f"{g} -> {p}": n for (g, p), n in sorted(confusion.items())},
            "errors": sum(1 for e in evals if e.result.error),
        }

    def summary(self) -> dict[str, Any]:
        return {name: self.summarize(evals) for name, evals in self.groups().items()}

    def errors(self) -> list[dict[str, Any]]:
        """Missed and spurious claims with their sentences, for error analysis."""
        out: list[dict[str, Any]] = []
        for e in self.documents:
            text = e.doc.text
            for g in e.missed:
                out.append({"id": e.doc.id, "lang": e.doc.lang, "kind": "missed",
                            "figure": g.figure_text, "category": g.category,
                            "sentence": sentence_at(text, g.figure_start)})
            for p in e.spurious:
                out.append({"id": e.doc.id, "lang": e.doc.lang, "kind": "spurious",
                            "figure": p.figure.text, "category": p.category,
                            "confidence": p.confidence,
                            "sentence": text[p.sentence.start : p.sentence.end].strip()})
            if e.result.error:
                out.append({"id": e.doc.id, "lang": e.doc.lang, "kind": "error",
                            "figure": "", "category": "", "sentence": e.result.error})
        return out


def sentence_at(text: str, offset: int) -> str:
    start, end = sentence_bounds(text, offset)
    return text[start:end].strip()


def evaluate(pairs: Iterable[tuple[GoldDocument, Result]]) -> ClaimScores:
    return ClaimScores([evaluate_document(doc, result) for doc, result in pairs])


# -- presentation ----------------------------------------------------------------------------
def format_markdown(scores: ClaimScores, title: str = "Claim evaluation",
                    max_errors: int = 200, images: Iterable[str] = (),
                    summary: dict[str, Any] | None = None) -> str:
    """The report: tables, the plots at `images` (paths relative to the report), errors.
    `summary` is `scores.summary()` when the caller already has it (it is not cheap)."""
    if summary is None:
        summary = scores.summary()
    lines = [f"# {title}", "", "| | docs | gold | claim P | claim R | claim F1 | figure F1 | "
             + " | ".join(FIELDS) + " | ECE | ECE if calibrated |",
             "|---" * (9 + len(FIELDS)) + "|"]
    for name, s in summary.items():
        c = s["claims"]
        fields = " | ".join("–" if s["fields"][f] is None else f"{s['fields'][f]:.3f}"
                            for f in FIELDS)
        lines.append(f"| {name} | {s['documents']} | {s['gold_claims']} | {c['precision']:.3f} "
                     f"| {c['recall']:.3f} | {c['f1']:.3f} | {s['figures']['f1']:.3f} | "
                     f"{fields} | {s['ece']:.3f} | {calibrated_text(s)} |")
    lines += ["", "Fields: accuracy on matched claims (spans: overlap; places: every gold place "
              "overlapped and every predicted place overlapping). ECE if calibrated: the mean "
              "(95th percentile) ECE a perfectly calibrated scorer shows on the same "
              "confidences, from sampling alone.", ""]
    lines += [f"![{Path(image).stem}]({image})" for image in images]
    lines += ["", "## By category (all languages)", "", "| category | P | R | F1 | gold |",
              "|---|---|---|---|---|"]
    for name, c in summary["all"]["by_category"].items():
        lines.append(f"| {name} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} "
                     f"| {c['tp'] + c['fn']} |")
    lines += ["", "## Reliability (all languages)", "",
              "| confidence bin | claims | mean confidence | share right |", "|---|---|---|---|"]
    for b in summary["all"]["reliability"]:
        lines.append(f"| {b['low']:.1f}–{b['high']:.1f} | {b['claims']} | "
                     f"{b['confidence']:.3f} | {b['accuracy']:.3f} |")
    lines += ["", "## Category confusion (figure-matched; — = no claim)", ""]
    lines += _confusion_table(summary["all"]["confusion"])
    errors = scores.errors()
    lines += ["", f"## Missed and spurious claims ({len(errors)})", "",
              "| id | kind | figure | category | sentence |", "|---|---|---|---|---|"]
    for err in errors[:max_errors]:
        sentence = err["sentence"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {err['id']} | {err['kind']} | {err['figure']} | {err['category']} "
                     f"| {sentence} |")
    if len(errors) > max_errors:
        lines.append(f"\n({len(errors) - max_errors} more not shown)")
    return "\n".join(lines) + "\n"


def calibrated_text(summary: dict[str, Any]) -> str:
    """"mean (p95)" of a summary's ECE-if-calibrated, for tables."""
    noise = summary["ece_if_calibrated"]
    return f"{noise['mean']:.3f} ({noise['p95']:.3f})"


def _confusion_table(confusion: dict[str, int]) -> list[str]:
    pairs = {tuple(k.split(" -> ")): v for k, v in confusion.items()}
    labels = sorted({g for g, _ in pairs} | {p for _, p in pairs}, key=lambda x: (x == NO_CLAIM, x))
    lines = ["| gold \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for g in labels:
        lines.append(f"| {g} | " + " | ".join(str(pairs.get((g, p), "")) for p in labels) + " |")
    return lines
