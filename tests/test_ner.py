"""NER: CoNLL reading, gazetteer ids across languages, clitic/suffix-free spans, scoring,
the transformers backend, and the shipped models inside the extract pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from conftest import SHARED, needs_shared, run_claims
from spacy.tokens import Doc, Span

from nlp.evaluate.ner import evaluate_sentences, gold_entities
from nlp.extract import Extractor
from nlp.ner.conll import ConllError, Sentence, read_conll
from nlp.ner.gazetteer import get_gazetteer
from nlp.ner.hf import TransformersNer
from nlp.ner.spans import SpanTrimmer
from nlp.normalize import NormalizerComponent
from nlp.pipeline import NerOptions, get_pipeline, models_dir


def _doc(lang: str, text: str) -> Doc:
    return NormalizerComponent(lang)(spacy.blank(lang)(text))


# -- CoNLL ----------------------------------------------------------------------------------
def test_conll_spans_read_orphan_i_as_a_start(tmp_path: Path) -> None:
    path = tmp_path / "x.conll"
    path.write_text("Ali\tB-PER\nVeli\tI-PER\nin\tO\nAnkara\tI-LOC\nGözlemevi\tB-ORG\n\n"
                    "tek\tO\n", "utf-8")
    first, second = read_conll(path)
    assert first.spans() == [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "ORG")]
    assert second.spans() == []
    assert gold_entities([first])[0][0] == {"label": "PER", "start": 0, "end": 1}


def test_conll_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.conll"
    path.write_text("Ali\tB-PER\nVeli\tX-PER\n", "utf-8")
    with pytest.raises(ConllError, match=r"bad.conll:2"):
        read_conll(path)


# -- gazetteer ------------------------------------------------------------------------------
SOHR = {
    "en": "According to the Syrian Observatory for Human Rights, 12 died.",
    "ar": "وقال المرصد السوري لحقوق الإنسان إن 12 شخصا قتلوا.",
    "tr": "Suriye İnsan Hakları Gözlemevi'ne göre 12 kişi öldü.",
    "fa": "به گزارش دیده‌بان حقوق بشر سوریه ۱۲ نفر کشته شدند.",
}


@pytest.mark.parametrize("lang", sorted(SOHR))
def test_the_same_organisation_has_the_same_id_in_every_language(lang: str) -> None:
    hits = get_gazetteer(lang).matches(_doc(lang, SOHR[lang]))
    assert [(span.label_, span.kb_id_) for span, _ in hits] == [("ORG", "org:sohr")]


@pytest.mark.parametrize(("lang", "text", "expected"), [
    ("ar", "قصف في وطرطوس وبإدلب والعراق", ["وطرطوس", "وبإدلب", "والعراق"]),
    ("tr", "DEAŞ'ın Tartus'ta ABD'nin", ["DEAŞ'ın", "Tartus'ta", "ABD'nin"]),
    ("en", "The WHO said who was in Aleppo", ["WHO", "Aleppo"]),
])
def test_gazetteer_finds_names_under_clitics_suffixes_and_case(lang: str, text: str,
                                                              expected: list[str]) -> None:
    hits = get_gazetteer(lang).matches(_doc(lang, text))
    assert [span.text for span, _ in hits] == expected
    assert all(span.kb_id_ for span, _ in hits)


@pytest.mark.parametrize(("lang", "text", "expected"), [
    # normalised, آفاد (Turkey's disaster agency) is أفاد, "reported": only as written
    ("ar", "وأفاد المرصد السوري بأن فرق آفاد وآفاد", ["المرصد السوري", "آفاد", "وآفاد"]),
    # common words that GeoNames also lists as cities: "that he", "the new", "safety"
    ("ar", "قال بأنه الجديد بأمان في عمان", ["عمان"]),
    ("fa", "گزارش تازه از امان و رباط و ربات", ["رباط"]),
])
def test_gazetteer_leaves_common_words_that_are_also_names(lang: str, text: str,
                                                           expected: list[str]) -> None:
    hits = get_gazetteer(lang).matches(_doc(lang, text))
    assert [span.text for span, _ in hits] == expected


def test_gazetteer_places_carry_ids_shared_across_languages() -> None:
    ids = {lang: {s.kb_id_ for s, _ in get_gazetteer(lang).matches(_doc(lang, text))}
           for lang, text in [("en", "in Aleppo"), ("ar", "في حلب"), ("tr", "Halep'te"),
                              ("fa", "در حلب")]}
    assert ids["en"] == ids["ar"] == ids["tr"] == ids["fa"] != set()


# -- spans without clitics and suffixes -----------------------------------------------------
@pytest.mark.parametrize(("lang", "text", "token", "label", "expected"), [
    ("ar", "قتل 5 في وطرطوس أمس", 3, "LOC", "طرطوس"),
    ("ar", "قتل 5 في بإدلب أمس", 3, "LOC", "إدلب"),
    ("ar", "قتل 5 في اللاذقية أمس", 3, "LOC", "اللاذقية"),  # the article stays
    ("ar", "قال وليد إن", 1, "PER", "وليد"),  # a name that starts with و stays whole
    ("ar", "قال فلان في وبنش ثم بنش", 3, "LOC", "بنش"),  # the bare form occurs in the text
    ("tr", "Tartus'ta 12 kişi öldü", 0, "LOC", "Tartus"),
    ("tr", "Gözlemevi’ne göre", 0, "ORG", "Gözlemevi"),
    ("fa", "در وتهران", 1, "LOC", "تهران"),
])
def test_entity_spans_drop_clitics_and_suffixes_with_original_offsets(
        lang: str, text: str, token: int, label: str, expected: str) -> None:
    doc = _doc(lang, text)
    doc.ents = [Span(doc, token, token + 1, label=label)]
    doc = SpanTrimmer(lang)(doc)
    (ent,) = doc.ents
    assert ent.text == expected
    assert text[ent.start_char:ent.end_char] == expected
    assert "".join(t.text_with_ws for t in doc) == text


def test_trimming_keeps_diacritics_inside_the_original_offsets() -> None:
    text = "في وَطَرْطُوس"
    doc = _doc("ar", text)
    doc.ents = [Span(doc, 1, 2, label="LOC")]
    (ent,) = SpanTrimmer("ar")(doc).ents
    assert ent.text == "طَرْطُوس" and ent.start_char == 5  # after و and its vowel mark


@pytest.mark.parametrize("text", ["Halep'te", "Dün Halep'te. Bugün Tartus'ta"])
def test_split_off_suffixes_stay_in_their_sentence(text: str) -> None:
    doc = _doc("tr", text)
    doc.ents = [Span(doc, i, i + 1, label="LOC") for i, t in enumerate(doc) if "'" in t.text]
    for token in doc:  # as the sentencizer leaves them
        token.is_sent_start = token.i == 0 or doc[token.i - 1].text == "."
    sentences = [s.text for s in SpanTrimmer("tr")(doc).sents]  # a one-token doc raised E030
    assert sentences == [s.strip() for s in text.replace(". ", ".|").split("|")]
    assert all(t.is_sent_start is not None for t in doc)


# -- scoring --------------------------------------------------------------------------------
def _ruler_pipeline(lang: str, patterns: list[dict[str, object]]) -> spacy.language.Language:
    pipeline = spacy.blank(lang)
    pipeline.add_pipe("entity_ruler").add_patterns(patterns)  # type: ignore[attr-defined]
    return pipeline


def test_scores_count_strict_exact_and_partial_matches() -> None:
    sentences = [Sentence(("Ali", "Veli", "went", "to", "New", "York"),
                          ("B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC")),
                 Sentence(("Ankara", "said"), ("B-ORG", "O"))]
    pipeline = _ruler_pipeline("en", [
        {"label": "PER", "pattern": [{"TEXT": "Ali"}, {"TEXT": "Veli"}]},  # right
        {"label": "LOC", "pattern": [{"TEXT": "York"}]},  # partial
        {"label": "LOC", "pattern": [{"TEXT": "Ankara"}]},  # right span, wrong label
    ])
    scores = evaluate_sentences(pipeline, sentences)
    assert scores.labels == ("LOC", "ORG", "PER")
    strict = scores.metric("strict")
    assert (strict["precision"], strict["recall"]) == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    assert scores.metric("exact")["recall"] == pytest.approx(2 / 3)
    assert scores.metric("partial")["recall"] == pytest.approx(2.5 / 3)
    assert scores.metric("strict", "PER")["f1"] == 1.0
    assert len(scores.errors) == 2


def test_scores_map_trimmed_spans_back_to_gold_tokens() -> None:
    sentences = [Sentence(("قصف", "وطرطوس"), ("O", "B-LOC"))]
    pipeline = spacy.blank("ar")
    pipeline.add_pipe("claims_normalizer")
    pipeline.add_pipe("entity_ruler").add_patterns(  # type: ignore[attr-defined]
        [{"label": "LOC", "pattern": "وطرطوس"}])
    pipeline.add_pipe("claims_spans")
    assert evaluate_sentences(pipeline, sentences).metric("strict")["f1"] == 1.0


# -- transformers backend -------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_hf_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised BERT token classifier whose bias makes every word B-LOC."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tiny-ner")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "said", "in", "."]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", "utf-8")
    labels = ["O", "B-PERS", "I-PERS", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={x: i for i, x in enumerate(labels)})
    torch.manual_seed(0)
    model = transformers.BertForTokenClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[labels.index("B-LOC")] = 10.0
    model.save_pretrained(folder)
    transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    return folder


def test_transformers_backend_runs_a_local_model_offline(tiny_hf_model: Path) -> None:
    pipeline = get_pipeline("en", NerOptions(backend="transformers",
                                             model_path=str(tiny_hf_model), gazetteer=False))
    assert isinstance(pipeline.get_pipe("ner"), TransformersNer)
    doc = pipeline("The people said 12 died in Aleppo.")
    # every word is B-LOC, including words the tiny vocabulary does not know
    assert [(e.text, e.label_) for e in doc.ents] == [(t.text, "LOC") for t in doc]


def test_transformers_backend_needs_an_existing_folder(tmp_path: Path) -> None:
    conll = tmp_path / "x.conll"
    conll.write_text("Ali\tB-PER\n", "utf-8")
    result = run_claims("eval-ner", str(conll), "--lang", "en",
                        "--ner-backend", "transformers", "--ner-model", str(tmp_path / "none"))
    assert result.returncode == 2
    assert "no such folder" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("lang", ["ar", "tr"])
def test_a_ner_model_that_is_no_spacy_model_is_a_clear_error(tmp_path: Path, lang: str) -> None:
    conll = tmp_path / "x.conll"
    conll.write_text("Ali\tB-PER\n", "utf-8")
    (tmp_path / "empty").mkdir()
    for model in (tmp_path / "empty", tmp_path / "none", "no_such_package"):
        result = run_claims("eval-ner", str(conll), "--lang", lang, "--ner-model", str(model))
        assert result.returncode == 2, result.stderr
        said = " ".join(result.stderr.split())  # the console wraps long lines
        assert "neither a spaCy model folder" in said and "internal error" not in said


# -- the shipped models ---------------------------------------------------------------------
EXTRACT = {
    "en": ("The Syrian Observatory for Human Rights said 12 civilians were killed in Idlib.",
           "Idlib"),
    "ar": ("وقال المرصد السوري لحقوق الإنسان إن 12 مدنيا قتلوا في وإدلب.", "إدلب"),
    "tr": ("Suriye İnsan Hakları Gözlemevi'ne göre İdlib'de 12 sivil öldü.", "İdlib"),
    "fa": ("به گزارش دیده‌بان حقوق بشر سوریه در ادلب ۱۲ غیرنظامی کشته شدند.", "ادلب"),
}


@pytest.mark.parametrize("lang", sorted(EXTRACT))
def test_extract_output_has_entities_with_ids_and_clean_spans(extractor: Extractor,
                                                              lang: str) -> None:
    text, place = EXTRACT[lang]
    result = extractor(text, lang=lang)
    found = {(e.text, e.label, e.kb_id) for e in result.entities}
    assert any(label == "ORG" and kb_id == "org:sohr" for _, label, kb_id in found), found
    assert (place, "LOC", "geonames:169389") in found
    for entity in result.entities:
        assert text[entity.start:entity.end] == entity.text


@pytest.mark.parametrize("lang", ["ar", "tr", "fa", "en"])
def test_shipped_model_has_a_card_and_fits_the_size_limit(lang: str) -> None:
    folder = models_dir() / f"ner-{lang}"
    record = json.loads((folder / "training.json").read_text("utf-8"))
    assert record["model_bytes"] <= 25 * 1024 * 1024
    assert (folder / "README.md").read_text("utf-8").startswith(f"# ner-{lang}")
    assert {"dev", "test"} <= set(record["scores"])


@needs_shared("training/ner")
@pytest.mark.parametrize("lang", ["ar", "fa"])
def test_shipped_model_reproduces_its_card_on_dev(lang: str) -> None:
    record = json.loads((models_dir() / f"ner-{lang}" / "training.json").read_text("utf-8"))
    pipeline = get_pipeline(lang, NerOptions(gazetteer=False))
    scores = evaluate_sentences(pipeline, read_conll(SHARED / "training" / "ner" /
                                                     f"{lang}-dev.conll"))
    # the card was scored in bfloat16; a CPU without it runs float32 (dev F1 within 0.001)
    assert scores.metric("strict")["f1"] == pytest.approx(record["scores"]["dev"]["f1"],
                                                          abs=2e-3)


def test_eval_ner_command_prints_scores_as_json(tmp_path: Path) -> None:
    conll = tmp_path / "tiny.conll"
    conll.write_text("قال\tO\nالمرصد\tB-ORG\nالسوري\tI-ORG\nلحقوق\tI-ORG\nالإنسان\tI-ORG\n"
                     "إن\tO\nحلب\tB-LOC\n\n", "utf-8")
    result = run_claims("eval-ner", str(conll), "--lang", "ar", "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert set(scores["labels"]) == {"LOC", "ORG"}
    assert scores["scenarios"]["strict"]["support"] == 2
    assert 0.0 <= scores["f1"] <= 1.0


def test_eval_ner_reports_a_malformed_file_without_a_traceback(tmp_path: Path) -> None:
    conll = tmp_path / "bad.conll"
    conll.write_text("word-without-tag\n", "utf-8")
    result = run_claims("eval-ner", str(conll), "--lang", "tr")
    assert result.returncode == 2
    assert "bad.conll:1" in result.stderr and "Traceback" not in result.stderr


def test_split_tokens_keep_readable_norms() -> None:
    doc = _doc("tr", "Tartus'ta 12 kişi")
    doc.ents = [Span(doc, 0, 1, label="LOC")]
    doc = SpanTrimmer("tr")(doc)
    assert [t.norm_ for t in doc][:2] == ["tartus", "'ta"]
