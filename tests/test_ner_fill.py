"""The entity fill-in (`nlp.ner.fill`): its features, training, saving, and where it runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
import spacy
from conftest import TINY, write_ner_training
from spacy.tokens import Doc, Span

from nlp.ner.conll import Sentence
from nlp.ner.fill import MODEL_FILE, NAME, EntityFill, fill_spans, fit_entity_fill
from nlp.ner.train import train_ner

AR = spacy.blank("ar")
# A name is told by the word before it: "قال X" (X said) is a person, "في X" (in X) a place.
PEOPLE = ("سمير", "خالد", "ليلى", "هدى", "نبيل", "رامي")
PLACES = ("حمص", "حماة", "درعا", "الرقة", "إدلب", "دوما")


def _said(name: str) -> Sentence:
    return Sentence(("قال", name, "إن", "القصف", "استمر"), ("O", "B-PER", "O", "O", "O"))


def _in(name: str) -> Sentence:
    return Sentence(("وقع", "القصف", "في", name, "أمس"), ("O", "O", "O", "B-LOC", "O"))


def _doc(sentence: Sentence, ents: Sequence[tuple[int, int, str]] = ()) -> Doc:
    doc = Doc(AR.vocab, words=list(sentence.words))
    doc.ents = [Span(doc, start, end, label=label) for start, end, label in ents]
    return doc


def _spans(doc: Doc) -> list[tuple[int, int, str]]:
    return [(e.start, e.end, e.label_) for e in doc.ents]


def test_features_see_the_word_its_stem_its_clitics_and_two_neighbours_each_side() -> None:
    fill = EntityFill(AR)
    rows = fill.features.sentence(["قتل", "خمسة", "وبإدلب", "أمس"])
    assert rows[2]["s"] == "ادلب" and rows[2]["a"] == "وب+"  # normal form, clitics cut
    assert rows[2]["-1n"] == "خمسه" and rows[2]["1s"] == "امس" and rows[2]["-2n"] == "قتل"
    assert rows[0]["-1n"] == rows[0]["-2n"] == "<pad>" and rows[3]["2n"] == "<pad>"
    assert all(isinstance(v, str) for row in rows for v in row.values())  # no stray weights


def test_filled_spans_never_touch_a_found_one() -> None:
    predicted = [(0, 2, "PER"), (3, 4, "LOC"), (5, 7, "ORG"), (8, 9, "MISC")]
    assert fill_spans(predicted, [(1, 2), (6, 9)]) == [(3, 4, "LOC")]
    assert fill_spans(predicted, [(2, 3), (4, 5), (7, 8)]) == predicted  # adjacent is fine
    assert fill_spans(predicted, []) == predicted


@pytest.fixture(scope="module")
def fitted() -> tuple[EntityFill, dict[str, object]]:
    train = [*(_said(n) for n in PEOPLE), *(_in(n) for n in PLACES)]
    dev = [_said("مريم"), _in("تدمر")]  # unseen names
    # the NER found the person but missed the place
    predicted = [_doc(dev[0], [(1, 2, "PER")]), _doc(dev[1])]
    fill = EntityFill(AR)
    record = fit_entity_fill(fill, train, dev, predicted, c1=0.0, c2=0.01, iterations=50)
    return fill, record


def test_fitting_scores_the_ner_the_crf_and_both_on_dev(
        fitted: tuple[EntityFill, dict[str, object]]) -> None:
    _, record = fitted
    assert record["train_sentences"] == 12
    assert record["dev_f1_without"] == round(2 / 3, 4)  # one of two found
    assert record["dev_f1_crf_alone"] == record["dev_f1"] == 1.0
    assert record["c2"] == 0.01 and record["iterations"] == 50


def test_the_fill_adds_what_the_ner_missed_and_keeps_what_it_found(
        fitted: tuple[EntityFill, dict[str, object]]) -> None:
    fill, _ = fitted
    assert _spans(fill(_doc(_in("تدمر")))) == [(3, 4, "LOC")]
    # the NER's own entities stay, even where the CRF disagrees: no moving, relabelling
    kept = fill(_doc(_in("تدمر"), [(2, 4, "ORG")]))
    assert _spans(kept) == [(2, 4, "ORG")]
    both = fill(_doc(Sentence(("قال", "مريم", "إن", "القصف", "في", "تدمر", "استمر"),
                              ("O",) * 7), [(1, 2, "PER")]))
    assert _spans(both) == [(1, 2, "PER"), (5, 6, "LOC")]
    assert _spans(EntityFill(AR)(_doc(_in("تدمر")))) == []  # unfitted: as is
    assert fill(AR("")).ents == ()


def test_the_fill_tags_each_sentence_on_its_own(
        fitted: tuple[EntityFill, dict[str, object]]) -> None:
    fill, _ = fitted
    words = [*_in("تدمر").words, *_said("مريم").words]
    doc = Doc(AR.vocab, words=words, sent_starts=[i in (0, 5) for i in range(len(words))])
    assert [(start, end) for start, end, _ in fill.predict(doc)] == [(3, 4), (6, 7)]


def test_the_fill_is_saved_as_crfsuite_model_and_json(
        fitted: tuple[EntityFill, dict[str, object]], tmp_path: Path) -> None:
    fill, _ = fitted
    fill.to_disk(tmp_path / "fill")
    assert sorted(p.name for p in (tmp_path / "fill").iterdir()) == ["cfg.json", MODEL_FILE]
    assert (tmp_path / "fill" / MODEL_FILE).read_bytes()[:4] == b"lCRF"  # CRFsuite's format
    assert json.loads((tmp_path / "fill" / "cfg.json").read_text("utf-8"))["c1"] == 0.0
    loaded = EntityFill(AR).from_disk(tmp_path / "fill")
    assert _spans(loaded(_doc(_in("تدمر")))) == [(3, 4, "LOC")]
    EntityFill(AR).to_disk(tmp_path / "empty")  # unfitted: writes nothing, loads as unfitted
    assert EntityFill(AR).from_disk(tmp_path / "empty").tagger is None


def test_train_ner_trains_the_fill_when_asked_and_says_so(tmp_path: Path) -> None:
    sentences = [list(zip(s.words, s.tags, strict=True))
                 for s in (*(_said(n) for n in PEOPLE[:2]), *(_in(n) for n in PLACES[:2]))]
    shared = write_ner_training(tmp_path, "ar", sentences)
    run = train_ner("ar", shared, tmp_path / "ner-ar", overrides=TINY, workdir=tmp_path,
                    student={},
                    pretrain={})
    assert run.entity_fill["c1"] == 0.05  # languages.json's choice
    record = json.loads((tmp_path / "ner-ar" / "training.json").read_text("utf-8"))
    assert record["entity_fill"]["train_sentences"] == 6 * 4
    assert set(record["entity_fill"]) >= {"dev_f1_without", "dev_f1_crf_alone", "dev_f1"}
    card = (tmp_path / "ner-ar" / "README.md").read_text("utf-8")
    assert "Entities the NER missed are added by `claims_entity_fill`" in card
    nlp = spacy.load(tmp_path / "ner-ar")
    assert nlp.pipe_names == ["claims_normalizer", "ner", NAME]
    assert nlp.get_pipe(NAME).tagger is not None
