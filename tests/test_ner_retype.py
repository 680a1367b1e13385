"""The entity typer (`nlp.ner.retype`): its features, fitting, saving, and where it runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy
import pytest
import spacy
from conftest import TINY, write_ner_training
from spacy.tokens import Doc, Span

from nlp.ner.retype import NAME, PRIORS, EntityTyper, fit_entity_types, span_features
from nlp.ner.train import train_ner

TR = spacy.blank("tr")
# The type is told by the word after the name: "X filmi" is a film, "X kentinde" a town.
FILMS = ("Gece", "Deniz", "Yol", "Ayna", "Kuyu", "Sis")
TOWNS = ("Kars", "Muş", "Sivas", "Rize", "Tokat", "Bolu")


def _doc(words: list[str], ents: list[tuple[int, int, str]]) -> Doc:
    doc = Doc(TR.vocab, words=words)
    doc.ents = [Span(doc, start, end, label=label) for start, end, label in ents]
    return doc


def _film(name: str, label: str = "MISC") -> Doc:
    return _doc([name, "filmi", "dün", "gösterildi", "."], [(0, 1, label)])


def _town(name: str, label: str = "LOC") -> Doc:
    return _doc(["Dün", f"{name}'da", "kentinde", "yağmur", "yağdı", "."], [(1, 2, label)])


def test_features_see_the_stem_its_suffix_the_neighbours_and_the_sentence() -> None:
    doc = _town("Kars")
    typer = EntityTyper(TR)
    features = span_features(doc.ents[0], typer.stemmer)
    assert features["last=kars"] == features["affix=+'da"] == 1.0
    assert features["p1=dün"] == features["n1=kentinde"] == features["p2=<s>"] == 1.0
    assert features["bag=yağmur"] == 0.2  # a sentence word: weak evidence
    assert features["bag=kars"] == 0.2 and features["w=kars"] == 1.0


@pytest.fixture
def fitted() -> tuple[EntityTyper, dict[str, object]]:
    train = [*(_film(n) for n in FILMS), *(_town(n) for n in TOWNS)]
    # the NER got one film wrong on dev: it called "Kara filmi" a place
    dev_gold = [_film("Kara"), _town("Van")]
    dev_predicted = [_film("Kara", "LOC"), _town("Van")]
    typer = EntityTyper(TR)
    record = fit_entity_types(typer, train, dev_gold, dev_predicted, buckets=4096, C=10.0)
    return typer, record


def test_fitting_picks_the_prior_that_scores_best_on_dev(
        fitted: tuple[EntityTyper, dict[str, object]]) -> None:
    typer, record = fitted
    assert typer.model is not None and typer.model.labels == ("LOC", "MISC")
    assert record["dev_f1_without"] == 0.5 and record["train_spans"] == 12
    by_prior = record["dev_f1_by_prior"]
    assert isinstance(by_prior, dict) and set(by_prior) == {str(p) for p in PRIORS}
    assert by_prior[str(record["prior"])] == 1.0
    assert record["prior"] == max(p for p in PRIORS if by_prior[str(p)] == 1.0)
    assert not record["fixed"]


def test_the_typer_changes_labels_never_spans(
        fitted: tuple[EntityTyper, dict[str, object]]) -> None:
    typer, _ = fitted
    doc = typer(_film("Umut", "LOC"))  # an unseen film name
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(0, 1, "MISC")]
    doc = typer(_town("Ordu", "LOC"))
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(1, 2, "LOC")]
    assert typer(TR("Hiç ad yok")).ents == ()
    assert EntityTyper(TR)(_film("Umut", "LOC")).ents[0].label_ == "LOC"  # unfitted: as is


def test_the_typer_is_saved_as_json_and_a_plain_array(
        fitted: tuple[EntityTyper, dict[str, object]], tmp_path: Path) -> None:
    typer, _ = fitted
    typer.to_disk(tmp_path / "typer")
    assert sorted(p.name for p in (tmp_path / "typer").iterdir()) == ["cfg.json", "weights.npy"]
    numpy.load(tmp_path / "typer" / "weights.npy", allow_pickle=False)  # no pickled objects
    cfg = json.loads((tmp_path / "typer" / "cfg.json").read_text("utf-8"))
    assert cfg["labels"] == ["LOC", "MISC"] and cfg["prior"] == typer.model.prior  # type: ignore[union-attr]
    loaded = EntityTyper(TR).from_disk(tmp_path / "typer")
    doc = _film("Umut", "LOC")
    assert loaded(doc).ents[0].label_ == typer(_film("Umut", "LOC")).ents[0].label_ == "MISC"


TINY_STEM = {**TINY, "components.ner.model.tok2vec.embed.stem_rows": 50}


def test_train_ner_fits_the_typer_when_asked_and_says_so(tmp_path: Path) -> None:
    sentences = [[(w, "O" if i else "B-MISC") for i, w in enumerate(d)] for d in
                 (["Gece", "filmi", "gösterildi"], ["Yol", "filmi", "gösterildi"])]
    sentences += [[("Dün", "O"), (f"{n}'da", "B-LOC"), ("yağmur", "O")] for n in TOWNS[:2]]
    shared = write_ner_training(tmp_path, "tr", sentences)
    run = train_ner("tr", shared, tmp_path / "ner-tr", overrides=TINY_STEM, workdir=tmp_path,
                    student={})
    assert run.entity_types["prior"] == 1.5  # languages.json's choice
    record = json.loads((tmp_path / "ner-tr" / "training.json").read_text("utf-8"))
    assert record["entity_types"]["prior"] == 1.5 and record["entity_types"]["fixed"]
    assert set(record["entity_types"]["dev_f1_by_prior"]) == {str(p) for p in PRIORS}
    assert record["entity_types"]["train_spans"] == 6 * 4
    card = (tmp_path / "ner-tr" / "README.md").read_text("utf-8")
    assert "Entity types re-chosen after the NER by `claims_entity_types`" in card
    nlp = spacy.load(tmp_path / "ner-tr")
    assert nlp.pipe_names == ["claims_normalizer", "ner", NAME]
    assert nlp.get_pipe(NAME).model is not None
