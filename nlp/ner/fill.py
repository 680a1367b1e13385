"""`claims_entity_fill`: a second, different tagger that adds the entities the NER missed.

On Arabic news and Wikipedia text our spaCy NER misses far more entities than it mistypes
(dev: 362 of 941 gold spans not found, 42 found with the wrong type). A linear-chain CRF
(CRFsuite, through python-crfsuite) over each word's normal form, stem, the affixes the
stemmer cut, its first and last characters and its neighbours' forms makes different
mistakes from the CNN: alone it is about as good, and the entities it finds where the NER
found nothing raise recall more than they cost precision. So this component tags each
sentence with the CRF and adds its entities that overlap none of `doc.ents`; it never
moves, relabels or drops an entity the NER found.

The CRF is saved with the NER model (`models/ner-<lang>/claims_entity_fill/`: CRFsuite's
own binary model file and a `cfg.json`; no pickle), so the language config sources the
component from the same folder as `ner`. `fit_entity_fill` trains it for `claims train ner`
(languages.json `entity_fill`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pycrfsuite
from spacy.language import Language
from spacy.tokens import Doc, Span

from nlp.ner.conll import Sentence, span_f1
from nlp.ner.embed import Stemmer, get_stemmer
from nlp.ner.retype import affix
from nlp.normalize import memoised

NAME = "claims_entity_fill"
MODEL_FILE = "model.crfsuite"
_WINDOW = 2  # neighbours read on each side of a word

Features = dict[str, str]


class WordFeatures:
    """The CRF's features of a sentence's words: each word's own (cached: news repeats
    words), then its neighbours' forms, stems and endings under their offsets."""

    def __init__(self, stemmer: Stemmer) -> None:
        self.stemmer = stemmer
        self._cache: dict[str, Features] = {}

    def word(self, text: str) -> Features:
        return memoised(self._cache, text, self._features)

    def _features(self, text: str) -> Features:
        norm = self.stemmer.normalize(text)
        stem = self.stemmer(text)
        return {"n": norm, "s": stem, "a": affix(norm, stem),
                "p2": norm[:2], "p3": norm[:3], "s2": norm[-2:], "s3": norm[-3:],
                "s4": norm[-4:], "sp3": stem[:3], "ss3": stem[-3:],
                "len": str(min(len(norm), 8)), "shape": _shape(text)}

    def sentence(self, words: Sequence[str]) -> list[Features]:
        own = [self.word(text) for text in words]
        out: list[Features] = []
        for i, features in enumerate(own):
            row = dict(features)
            for offset in (*range(-_WINDOW, 0), *range(1, _WINDOW + 1)):
                j = i + offset
                if 0 <= j < len(own):
                    other = own[j]
                    row[f"{offset}n"] = other["n"]
                    row[f"{offset}s"] = other["s"]
                    row[f"{offset}s3"] = other["s3"]
                else:
                    row[f"{offset}n"] = "<pad>"
            out.append(row)
        return out


def _shape(text: str) -> str:
    first = text[:1]
    if first.isdigit():
        return "d"
    if first.isupper():
        return "X"
    if first.isalpha():
        return "x" if first.isascii() or first.lower() != first.upper() else "a"
    return "p"


def fill_spans(predicted: Iterable[tuple[int, int, str]],
               found: Sequence[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """The predicted spans that share no token with any `found` span."""
    taken = {i for start, end in found for i in range(start, end)}
    return [(start, end, label) for start, end, label in predicted
            if not taken.intersection(range(start, end))]


class EntityFill:
    """Adds the CRF's entities where the NER found none (see the module docstring);
    without a fitted model it changes nothing."""

    def __init__(self, nlp: Language, name: str = NAME) -> None:
        self.name = name
        self.features = WordFeatures(get_stemmer(nlp.lang))
        self.tagger: pycrfsuite.Tagger | None = None
        self.model = b""  # the CRFsuite model file's bytes
        self.cfg: dict[str, Any] = {}

    def __call__(self, doc: Doc) -> Doc:
        if self.tagger is None or not len(doc):
            return doc
        ents = list(doc.ents)
        found = [(ent.start, ent.end) for ent in ents]
        added = [Span(doc, start, end, label=label)
                 for start, end, label in fill_spans(self.predict(doc), found)]
        if added:
            doc.ents = sorted([*ents, *added], key=lambda span: span.start)
        return doc

    def predict(self, doc: Doc) -> Iterator[tuple[int, int, str]]:
        """The CRF's entities in `doc`, tagged sentence by sentence as it was trained."""
        assert self.tagger is not None
        sentences = doc.sents if doc.has_annotation("SENT_START") else [doc[:]]
        for sent in sentences:
            words = [token.text for token in sent]
            tags = self.tagger.tag(self.features.sentence(words))
            for start, end, label in Sentence(tuple(words), tuple(tags)).spans():
                yield sent.start + start, sent.start + end, label

    def use(self, model: bytes) -> None:
        """Tag with `model`, the bytes of a CRFsuite model file."""
        tagger = pycrfsuite.Tagger()
        tagger.open_inmemory(model)
        self.tagger, self.model = tagger, model

    def to_disk(self, path: str | Path, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self.tagger is None:
            return
        (path / MODEL_FILE).write_bytes(self.model)
        (path / "cfg.json").write_text(json.dumps(self.cfg, indent=1) + "\n", "utf-8")

    def from_disk(self, path: str | Path, exclude: Iterable[str] = ()) -> EntityFill:
        path = Path(path)
        if (path / MODEL_FILE).is_file():
            self.cfg = json.loads((path / "cfg.json").read_text("utf-8"))
            self.use((path / MODEL_FILE).read_bytes())
        return self


@Language.factory(NAME, requires=["doc.ents"], assigns=["doc.ents"])
def make_entity_fill(nlp: Language, name: str) -> EntityFill:
    return EntityFill(nlp, name)


def fit_entity_fill(fill: EntityFill, train: Iterable[Sentence], dev: Sequence[Sentence],
                    dev_predicted: Sequence[Doc], c1: float, c2: float,
                    iterations: int) -> dict[str, Any]:
    """Train the CRF on `train` (L-BFGS with L1 `c1` and L2 `c2`, a fixed number of
    iterations: deterministic), then score on dev, strict micro F1 against the gold spans:
    the NER alone (`dev_predicted`), the CRF alone, and the NER filled in by the CRF."""
    trainer = pycrfsuite.Trainer(verbose=False)
    sentences = 0
    for sentence in train:
        trainer.append(fill.features.sentence(sentence.words), list(sentence.tags))
        sentences += 1
    trainer.set_params({"c1": c1, "c2": c2, "max_iterations": iterations,
                        "feature.possible_transitions": True})
    with tempfile.TemporaryDirectory(prefix="claims-fill-") as tmp:
        trainer.train(str(Path(tmp) / MODEL_FILE))
        fill.use((Path(tmp) / MODEL_FILE).read_bytes())
    fill.cfg = {"c1": c1, "c2": c2, "iterations": iterations, "window": _WINDOW}
    gold: set[tuple[int, int, int, str]] = set()
    alone: set[tuple[int, int, int, str]] = set()
    ner: set[tuple[int, int, int, str]] = set()
    filled: set[tuple[int, int, int, str]] = set()
    for i, (sentence, doc) in enumerate(zip(dev, dev_predicted, strict=True)):
        gold.update((i, *span) for span in sentence.spans())
        crf = list(fill.predict(doc))
        alone.update((i, *span) for span in crf)
        found = [(ent.start, ent.end, ent.label_) for ent in doc.ents]
        ner.update((i, *span) for span in found)
        filled.update((i, *span) for span in [*found, *fill_spans(crf, [s[:2] for s in found])])

    def f1(predicted: set[tuple[int, int, int, str]]) -> float:
        return round(span_f1(gold, predicted), 4)

    return {**fill.cfg, "train_sentences": sentences, "dev_f1_without": f1(ner),
            "dev_f1_crf_alone": f1(alone), "dev_f1": f1(filled)}
