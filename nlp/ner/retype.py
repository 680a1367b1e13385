"""`claims_entity_types`: a second opinion on each entity's type, from its whole sentence.

spaCy's transition-based NER sees a few tokens either side of a word through hashed
embeddings. On Turkish Wikipedia text it finds most spans but gives many the wrong type
(dev: 321 of 1,700 exactly found spans): a film, a band and a town are all capitalised
words followed by a case suffix. This component re-labels each entity the NER found with a
multinomial logistic regression over hashed sparse features of the span (its stems, first
and last words, character n-grams, shape), its neighbours and the words of its sentence,
fitted on the gold spans of the training file. Whether the gazetteer knows the span (a
place, a one-word city, an organisation) is one more feature, so its weight is learnt. The
NER's own label is added to the log-probability with weight `prior`, chosen on the dev file
or fixed in languages.json. Spans are never moved, added or dropped: only labels change.

The fitted weights are saved with the NER model (`models/ner-<lang>/claims_entity_types/`:
JSON and a float16 `.npy`, loaded with `allow_pickle=False`), so the language configs source
the component from the same folder as `ner`. `fit_entity_types` trains it for
`claims train ner` (languages.json `entity_types`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy
from scipy.sparse import csr_matrix
from spacy.language import Language
from spacy.strings import hash_string  # type: ignore[attr-defined]
from spacy.tokens import Doc, Span

from nlp.ner.embed import get_stemmer
from nlp.ner.gazetteer import get_gazetteer

NAME = "claims_entity_types"
PRIORS = (0.0, 0.5, 1.0, 1.5, 2.0)  # candidates for the NER label's weight, tried on dev
_BAG_WEIGHT = 0.2  # a sentence word is weak evidence beside the span's own words
_CONTEXT = 3  # neighbours read on each side of the span


def span_features(span: Span, stem: Callable[[str], str],
                  doc_stems: Sequence[str] | None = None,
                  known: str | None = None) -> dict[str, float]:
    """Sparse features of one entity span. `doc_stems`: the stem of every token of the
    span's doc (computed when not given); `known`: what the gazetteer calls exactly this
    span, if anything (LOC, LOC/city, ORG)."""
    doc = span.doc
    words = doc_stems if doc_stems is not None else [stem(token.text) for token in doc]
    bounds = span.sent if doc.has_annotation("SENT_START") else doc[:]
    stems = words[span.start:span.end]
    features = {"full=" + " ".join(stems): 1.0, "first=" + stems[0]: 1.0,
                "last=" + stems[-1]: 1.0, f"len={min(len(span), 4)}": 1.0,
                "affix=" + affix(span[-1].lower_, stems[-1]): 1.0,
                "shape=" + "".join(_shape(token.text) for token in span): 1.0,
                "caps": float(all(token.is_upper for token in span))}
    if known:
        features["known=" + known] = 1.0
    for word in stems:
        features["w=" + word] = 1.0
    for word in stems[1:-1]:
        features["mp=" + f"<{word}"[:4]] = 1.0
        features["ms=" + f"{word}>"[-4:]] = 1.0
    first, last = f"<{stems[0]}>", f"<{stems[-1]}>"
    for n in (3, 4):
        features[f"fp{n}=" + first[:n]] = 1.0
        features[f"fs{n}=" + first[-n:]] = 1.0
    for n in (2, 3, 4):
        for k in range(len(last) - n + 1):
            features[f"c{n}=" + last[k:k + n]] = 1.0
    for d in range(1, _CONTEXT + 1):
        before = words[span.start - d] if span.start - d >= bounds.start else "<s>"
        after = words[span.end + d - 1] if span.end + d - 1 < bounds.end else "</s>"
        features[f"p{d}=" + before] = 1.0
        features[f"n{d}=" + after] = 1.0
        if d > 1:
            features["pb=" + before] = 1.0
            features["nb=" + after] = 1.0
    for word in words[bounds.start:bounds.end]:
        features.setdefault("bag=" + word, _BAG_WEIGHT)
    return features


def affix(word: str, stem: str) -> str:
    """What the stemmer cut off the word: a case suffix (+'da), clitics (و+), or nothing."""
    if word.startswith(stem):
        return "+" + word[len(stem):]
    if word.endswith(stem):
        return word[: len(word) - len(stem)] + "+"
    return "?"


def _shape(text: str) -> str:
    return "X" if text[:1].isupper() else "d" if text[:1].isdigit() else "x"


def hashed(rows: Iterable[dict[str, float]], buckets: int) -> csr_matrix:
    """Feature dicts as a sparse matrix of `buckets` hashed columns (colliding features add
    up, as in scikit-learn's FeatureHasher)."""
    indptr, indices, values = [0], [], []
    for features in rows:
        for key, value in features.items():
            indices.append(hash_string(key) % buckets)
            values.append(value)
        indptr.append(len(indices))
    return csr_matrix((numpy.asarray(values, dtype="float32"), indices, indptr),
                      shape=(len(indptr) - 1, buckets))


@dataclass
class TypeWeights:
    """The fitted model: one column of weights per label over hashed features."""

    labels: tuple[str, ...]
    weights: numpy.ndarray  # (buckets, labels)
    bias: numpy.ndarray  # (labels,)
    prior: float = 1.0

    def log_proba(self, features: csr_matrix) -> numpy.ndarray:
        scores = numpy.asarray(features @ self.weights, dtype="float64") + self.bias
        scores -= scores.max(axis=1, keepdims=True)
        normalised: numpy.ndarray = scores - numpy.log(numpy.exp(scores).sum(axis=1,
                                                                             keepdims=True))
        return normalised

    def choose(self, features: csr_matrix, current: Sequence[str],
               prior: float | None = None) -> list[str]:
        """The best label of each span: log P(label) + prior · [label is the NER's]."""
        scores = self.log_proba(features)
        weight = self.prior if prior is None else prior
        for row, label in enumerate(current):
            if label in self.labels:
                scores[row, self.labels.index(label)] += weight
        return [self.labels[i] for i in scores.argmax(axis=1)]


class EntityTyper:
    """Re-labels `doc.ents` (see the module docstring); without weights it changes nothing."""

    def __init__(self, nlp: Language, name: str = NAME) -> None:
        self.name = name
        self.stemmer = get_stemmer(nlp.lang)
        self.gazetteer = get_gazetteer(nlp.lang)
        self.model: TypeWeights | None = None

    def __call__(self, doc: Doc) -> Doc:
        if self.model is None or not doc.ents:
            return doc
        ents = list(doc.ents)
        features = hashed(self.features(ents), self.model.weights.shape[0])
        labels = self.model.choose(features, [ent.label_ for ent in ents])
        doc.ents = [ent if ent.label_ == label
                    else Span(doc, ent.start, ent.end, label=label, kb_id=ent.kb_id)
                    for ent, label in zip(ents, labels, strict=True)]
        return doc

    def features(self, ents: Sequence[Span]) -> Iterator[dict[str, float]]:
        """Features of each span, stemming each doc and finding its gazetteer hits once
        (the spans may come from many docs)."""
        docs: dict[int, tuple[list[str], dict[tuple[int, int], str]]] = {}
        for ent in ents:
            doc = ent.doc
            if id(doc) not in docs:
                docs[id(doc)] = ([self.stemmer(token.text) for token in doc], self._known(doc))
            stems, known = docs[id(doc)]
            yield span_features(ent, self.stemmer, stems, known.get((ent.start, ent.end)))

    def _known(self, doc: Doc) -> dict[tuple[int, int], str]:
        gazetteer = self.gazetteer
        hits = {}
        for hit, _ in gazetteer.matches(doc):
            city = len(hit) == 1 and hit.kb_id_ in gazetteer.population
            hits[(hit.start, hit.end)] = hit.label_ + ("/city" if city else "")
        return hits

    def to_disk(self, path: str | Path, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self.model is None:
            return
        numpy.save(path / "weights.npy", self.model.weights.astype("float16"))
        (path / "cfg.json").write_text(json.dumps({
            "labels": list(self.model.labels), "bias": self.model.bias.tolist(),
            "prior": self.model.prior}, indent=1) + "\n", "utf-8")

    def from_disk(self, path: str | Path, exclude: Iterable[str] = ()) -> EntityTyper:
        path = Path(path)
        if (path / "cfg.json").is_file():
            cfg = json.loads((path / "cfg.json").read_text("utf-8"))
            weights = numpy.load(path / "weights.npy", allow_pickle=False).astype("float32")
            self.model = TypeWeights(tuple(cfg["labels"]), weights,
                                     numpy.asarray(cfg["bias"], dtype="float64"),
                                     float(cfg["prior"]))
        return self


@Language.factory(NAME, requires=["doc.ents"], assigns=["doc.ents"])
def make_entity_typer(nlp: Language, name: str) -> EntityTyper:
    return EntityTyper(nlp, name)


def fit_entity_types(typer: EntityTyper, train: Iterable[Doc], dev_gold: Sequence[Doc],
                     dev_predicted: Sequence[Doc], buckets: int, C: float,
                     prior: float | None = None) -> dict[str, Any]:
    """Fit the typer on the gold spans of `train`, then score each of PRIORS on dev (the
    NER's spans of `dev_predicted`, strict micro F1 against `dev_gold`) and keep the best,
    unless `prior` is given."""
    from sklearn.linear_model import LogisticRegression

    rows: list[dict[str, float]] = []
    labels: list[str] = []
    for doc in train:
        rows.extend(typer.features(list(doc.ents)))
        labels.extend(ent.label_ for ent in doc.ents)
    fitted = LogisticRegression(C=C, max_iter=3000).fit(hashed(rows, buckets), labels)
    classes = tuple(str(c) for c in fitted.classes_)
    weights = fitted.coef_.T.astype("float16").astype("float32")  # as it will be stored
    bias = fitted.intercept_.astype("float64")
    if len(classes) == 2:  # scikit-learn keeps one column for two classes
        weights = numpy.hstack([-weights / 2, weights / 2])
        bias = numpy.array([-bias[0] / 2, bias[0] / 2])
    model = TypeWeights(classes, weights, bias)
    predicted = [ent for doc in dev_predicted for ent in doc.ents]
    features = hashed(typer.features(predicted), buckets)
    gold = {(i, ent.start, ent.end): ent.label_
            for i, doc in enumerate(dev_gold) for ent in doc.ents}
    keys = [(i, ent.start, ent.end) for i, doc in enumerate(dev_predicted) for ent in doc.ents]
    total = len(gold) + len(keys)

    def f1(chosen: Sequence[str]) -> float:
        hits = sum(gold.get(key) == label for key, label in zip(keys, chosen, strict=True))
        return 2 * hits / total if total else 0.0

    current = [ent.label_ for ent in predicted]
    scores = {p: f1(model.choose(features, current, p)) for p in PRIORS}
    best = max(PRIORS, key=lambda p: (scores[p], p))  # ties: trust the NER more
    model.prior = best if prior is None else prior
    if model.prior not in scores:
        scores[model.prior] = f1(model.choose(features, current, model.prior))
    typer.model = model
    return {"buckets": buckets, "C": C, "prior": model.prior, "fixed": prior is not None,
            "train_spans": len(labels),
            "dev_f1_without": round(f1(current), 4),
            "dev_f1_by_prior": {str(p): round(s, 4) for p, s in scores.items()}}
