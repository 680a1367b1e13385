"""Claim confidence: a calibrated probability that a claim is right.

Analysts filter on `confidence` and annotators review the least confident first, so it must
mean what it says: of the claims scored 0.8, about 80 % are right (figure and category, as
CLAIMS.md scores). Each claim draft is described by features (how its category was found,
figure-trigger distance and the lead over a rival trigger, qualifier, figure form, what roles
were found, modal and "earlier" cues, language, sentence shape); a logistic model turns them
into a score and a Platt map (a logistic curve over the score's log-odds) fitted on held-out
claims turns the score into a probability.

The fitted model is plain JSON (weights by feature name, the two Platt parameters): safe to
load, diff and read, and scoring needs no scikit-learn. `claims train confidence` fits it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from nlp.claims import ClaimDraft
from nlp.gold import GoldDocument

FORMAT = 1
Features = dict[str, float | str]
_TERMINAL = re.compile(r"[.!?؟۔…»\"'”)]\s*$")
_QUOTES = re.compile(r"[\"“”«»]")
_WORD = re.compile(r"[^\W\d_]", re.UNICODE)


def claim_features(doc: Doc, draft: ClaimDraft, text: str | None = None) -> Features:
    """The features of one claim draft (`text`: the doc's text, if the caller has it)."""
    text = doc.text if text is None else text
    figure = draft.figure
    sentence = text[draft.sentence.start : draft.sentence.end]
    amount = figure.value if figure.value is not None else figure.low or 0
    features: Features = dict(draft.features)
    features.update({
        "lang": doc.lang_,
        "category": draft.category,
        "qualifier": figure.qualifier,
        "form": _form(figure.text),
        "log_value": math.log10(1 + amount),
        "is_one": float(amount == 1),
        "victims": draft.victims.label if draft.victims is not None else "none",
        "has_source": float(draft.source is not None),
        "has_actor": float(draft.actor is not None),
        "has_time": float(draft.time is not None),
        "has_places": float(bool(draft.places)),
        "sentence_words": math.log(1 + len(sentence.split())),
        "headline": float(_TERMINAL.search(sentence) is None),
        "quoted": float(_QUOTES.search(sentence) is not None),
        "first_sentence": float(draft.sentence.start == 0),
    })
    return features


def _form(figure_text: str) -> str:
    """digits (12, ١٢, ۱۲), words (twelve, اثنا عشر) or mixed (1.5 million, 35 bin)."""
    digits = any(ch.isdigit() for ch in figure_text)
    words = _WORD.search(figure_text) is not None
    return "mixed" if digits and words else "digits" if digits else "words"


def vectorize(features: Mapping[str, float | str]) -> dict[str, float]:
    """One-hot strings (`name=value`), numbers as they are: DictVectorizer's convention."""
    return {f"{k}={v}" if isinstance(v, str) else k: 1.0 if isinstance(v, str) else float(v)
            for k, v in features.items()}


@dataclass
class ConfidenceModel:
    weights: dict[str, float]
    intercept: float
    slope: float = 1.0  # Platt calibration of the raw log-odds z: sigmoid(slope * z + shift)
    shift: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def log_odds(self, features: Mapping[str, float | str]) -> float:
        return self.intercept + sum(self.weights.get(k, 0.0) * v
                                    for k, v in vectorize(features).items())

    def probability(self, features: Mapping[str, float | str]) -> float:
        return _sigmoid(self.slope * self.log_odds(features) + self.shift)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "intercept": self.intercept, "weights": self.weights,
                "calibration": {"method": "platt", "slope": self.slope, "shift": self.shift},
                "info": self.info}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConfidenceModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"confidence model format {data.get('format')!r}; this version "
                             f"reads format {FORMAT} (retrain with `claims train confidence`)")
        calibration = data["calibration"]
        return cls(dict(data["weights"]), float(data["intercept"]),
                   float(calibration["slope"]), float(calibration["shift"]),
                   dict(data.get("info", {})))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@cache
def load_model(path: str) -> ConfidenceModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read the confidence model {path}: {exc.strerror} "
                         "(train one with `claims train confidence`)") from None
    return ConfidenceModel.from_json(data)


class ConfidenceScorer:
    """Sets each claim draft's confidence; drops drafts below `min_confidence`."""

    def __init__(self, model: ConfidenceModel, min_confidence: float = 0.0) -> None:
        self.model = model
        self.min_confidence = min_confidence

    def __call__(self, doc: Doc) -> Doc:
        drafts: list[ClaimDraft] = doc._.claims or []
        if not drafts:
            return doc
        text = doc.text
        for draft in drafts:
            draft.confidence = round(self.model.probability(claim_features(doc, draft, text)), 3)
        doc._.claims = [d for d in drafts if d.confidence >= self.min_confidence]
        return doc


@Language.factory("claims_confidence", assigns=["doc._.claims"], requires=["doc._.claims"],
                  default_config={"model": None, "min_confidence": 0.0})
def make_confidence(nlp: Language, name: str, model: str | None,
                    min_confidence: float) -> ConfidenceScorer:
    if not model:
        raise ValueError("claims_confidence needs `model`, the path of a model.json")
    return ConfidenceScorer(load_model(model), min_confidence)


# -- training -------------------------------------------------------------------------------
@dataclass
class Example:
    features: Features
    correct: bool
    lang: str
    doc_id: str


def fit(train: Sequence[Example], held_out: Sequence[Example], folds: int = 5, c: float = 1.0,
        train_weight: float = 0.3, seed: int = 0) -> tuple[ConfidenceModel, list[float]]:
    """Logistic regression on all examples (`train` ones weighted down: the rules were tuned
    on them, so they are easier than unseen text); the Platt map from out-of-fold log-odds
    of the held-out examples (each fold scored by a model fitted on `train` and the other
    folds), so the calibration sees claims like those of unseen text. Returns the model and
    the held-out examples' out-of-fold probabilities (their map fitted without the fold)."""
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    def regression(extra: Sequence[Example]) -> tuple[DictVectorizer, LogisticRegression]:
        examples = [*train, *extra]
        vec = DictVectorizer()
        x = vec.fit_transform([vectorize(e.features) for e in examples])
        y = np.array([e.correct for e in examples])
        weights = [train_weight] * len(train) + [1.0] * len(extra)
        return vec, LogisticRegression(C=c, max_iter=3000).fit(x, y, sample_weight=weights)

    def platt(z: Any, y: Any) -> tuple[float, float]:
        curve = LogisticRegression(C=100.0).fit(np.asarray(z).reshape(-1, 1), y)
        return float(curve.coef_[0][0]), float(curve.intercept_[0])

    y = np.array([e.correct for e in held_out])
    z = np.zeros(len(held_out))
    groups = [e.doc_id for e in held_out]  # a document's claims stay in one fold
    splits = list(GroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(
        np.zeros(len(held_out)), groups=groups))
    for fit_idx, score_idx in splits:
        vec, lr = regression([held_out[i] for i in fit_idx])
        x = vec.transform([vectorize(held_out[i].features) for i in score_idx])
        z[score_idx] = lr.decision_function(x)
    out_of_fold = np.zeros(len(held_out))
    for fit_idx, score_idx in splits:  # honest held-out probabilities for the card
        a, b = platt(z[fit_idx], y[fit_idx])
        out_of_fold[score_idx] = 1.0 / (1.0 + np.exp(-(a * z[score_idx] + b)))
    slope, shift = platt(z, y)
    vec, lr = regression(held_out)
    names = vec.get_feature_names_out()
    weights = {str(n): round(float(w), 6) for n, w in zip(names, lr.coef_[0], strict=True)}
    model = ConfidenceModel(weights, round(float(lr.intercept_[0]), 6), round(slope, 6),
                            round(shift, 6))
    return model, [float(p) for p in out_of_fold]


def examples_from(documents: Iterable[GoldDocument], docs: Iterable[Doc]) -> list[Example]:
    """Label every claim draft of each Doc by CLAIMS.md matching against its gold document."""
    from nlp.evaluate.claims import match

    found: list[Example] = []
    for gold, doc in zip(documents, docs, strict=True):
        drafts: list[ClaimDraft] = doc._.claims or []
        matched, _, _ = match(gold.claims, drafts)
        right = {id(p) for _, p in matched}
        text = doc.text
        found.extend(Example(claim_features(doc, d, text), id(d) in right, gold.lang, gold.id)
                     for d in drafts)
    return found


def gold_examples(paths: Sequence[Path]) -> list[Example]:
    """Run each gold document's language pipeline (without a scorer) and label its drafts."""
    from nlp.gold import read_gold
    from nlp.pipeline import get_pipeline

    documents = []
    for path in paths:
        gold = read_gold(path)
        if gold.problems:
            raise ValueError(f"{path} is not a valid gold file: {gold.problems[0]} "
                             "(`claims validate` lists all)")
        documents.extend(gold.documents)
    found: list[Example] = []
    for lang in sorted({d.lang for d in documents}):
        mine = [d for d in documents if d.lang == lang]
        pipeline = get_pipeline(lang, scorer=False)
        found.extend(examples_from(mine, pipeline.pipe(d.text for d in mine)))
    return found


def train_confidence(train_paths: Sequence[Path], held_out_paths: Sequence[Path],
                     output: Path, c: float = 1.0, train_weight: float = 0.3,
                     seed: int = 0) -> ConfidenceModel:
    """Fit on the claims of `train_paths` and `held_out_paths`, calibrate on the held-out
    ones, write `output/model.json` and its card `output/README.md`."""
    from nlp.evaluate.claims import expected_calibration_error

    train, held_out = gold_examples(train_paths), gold_examples(held_out_paths)
    if not held_out or len({e.correct for e in held_out}) < 2:
        raise ValueError("the held-out files need claims the pipeline gets right and wrong")
    model, out_of_fold = fit(train, held_out, c=c, train_weight=train_weight, seed=seed)
    report: dict[str, dict[str, float]] = {}
    for lang in ["all", *sorted({e.lang for e in held_out})]:
        pairs = [(p, e.correct) for p, e in zip(out_of_fold, held_out, strict=True)
                 if lang in ("all", e.lang)]
        report[lang] = {
            "claims": len(pairs),
            "precision": round(sum(ok for _, ok in pairs) / len(pairs), 4),
            "ece": round(expected_calibration_error(pairs), 4),
            "brier": round(sum((p - ok) ** 2 for p, ok in pairs) / len(pairs), 4)}
    model.info = {
        "train_files": [str(p) for p in train_paths],
        "held_out_files": [str(p) for p in held_out_paths],
        "train_claims": len(train), "held_out_claims": len(held_out),
        "C": c, "train_weight": train_weight, "seed": seed,
        "held_out_out_of_fold": report}
    output.mkdir(parents=True, exist_ok=True)
    (output / "model.json").write_text(
        json.dumps(model.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (output / "README.md").write_text(_card(model), encoding="utf-8")
    load_model.cache_clear()
    return model


def _card(model: ConfidenceModel) -> str:
    info = model.info
    rows = "\n".join(f"| {lang} | {r['claims']} | {r['precision']:.3f} | {r['ece']:.3f} | "
                     f"{r['brier']:.3f} |" for lang, r in info["held_out_out_of_fold"].items())
    top = sorted(model.weights.items(), key=lambda kv: -abs(kv[1]))[:12]
    weights = "\n".join(f"| `{name}` | {w:+.2f} |" for name, w in top)
    return f"""# Claim confidence model

Made by `claims train confidence` (`nlp/confidence.py`); read by the `claims_confidence`
pipeline component, which sets every claim's `confidence`.

- **What it predicts**: the probability that a claim draft is right as CLAIMS.md scores it
  (its figure and category match a gold claim).
- **Model**: logistic regression (scikit-learn, C = {info['C']}, dev claims weighted
  {info['train_weight']}) over the draft's features
  (`claim_features`: how the category was found, figure-trigger distance and the lead over
  a rival trigger, trigger side and kind, qualifier, figure form and size, victims type,
  whether source/actor/time/places were found, sentence length, headline, quotes, a modal or
  an "earlier" cue in the sentence, language),
  then a Platt map from its log-odds to a probability (slope {model.slope:.3f}, shift
  {model.shift:+.3f}). Stored as JSON (weights by feature name): no pickle, scoring needs no
  scikit-learn.
- **Data**: the claims the pipeline proposes for the gold documents of
  {', '.join(info['train_files'])} ({info['train_claims']} claims) and
  {', '.join(info['held_out_files'])} ({info['held_out_claims']} claims), each labelled right
  or wrong by CLAIMS.md matching. The Platt map is fitted only on out-of-fold scores of the
  held-out files (`calib` splits, never used to tune lexicons or rules): the dev splits are
  what the rules were tuned on, so their claims are right more often than on unseen text,
  and a map fitted on them would be over-confident (dev precision is about 0.95, unseen
  text about 0.87).
- **Held-out scores** (out-of-fold, 5 folds by document, the map refitted without the fold;
  ECE with 10 bins as CLAIMS.md):

| lang | claims | precision | ECE | Brier |
|---|---|---|---|---|
{rows}

- **Largest weights**:

| feature | weight |
|---|---|
{weights}

- **Retrain** after changing lexicons or the assembler: `claims train confidence`.
"""
