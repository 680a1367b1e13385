"""The stem column of the NER embedding (`claims.StemHashEmbed.v1`, `nlp/ner/embed.py`)."""

from __future__ import annotations

import numpy
import pytest
import spacy
from spacy.strings import hash_string
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry
from thinc.api import Config

from nlp.ner.embed import get_stemmer
from nlp.normalize import NormalizerComponent, get_normalizer


@pytest.mark.parametrize(("lang", "text", "stem"), [
    ("tr", "Adana'da", "Adana"),
    ("tr", "Adana’nın", "Adana"),
    ("tr", "ABD'nin", "ABD"),
    ("tr", "Adana", "Adana"),
    ("tr", "İzmir'e", "İzmir"),
    ("tr", "'Akkab", "'Akkab"),          # nothing before the apostrophe: kept whole
    ("ar", "وإسرائيل", "إسرائيل"),
    ("ar", "بإسرائيل", "إسرائيل"),
    ("ar", "لإسرائيل", "إسرائيل"),
    ("ar", "والعراق", "عراق"),
    ("ar", "للعراق", "عراق"),
    ("ar", "العراق", "عراق"),
    ("ar", "وَإسرائيل", "إسرائيل"),       # diacritics go with the normal form
    ("ar", "الله", "الله"),              # the article is kept when < 3 letters would remain
    ("fa", "#تهران", "تهران"),
    ("fa", "حریدی\u200cها", "حریدی"),
    ("fa", "بیت\u200cالمقدس", "بیت\u200cالمقدس"),
    ("fa", "#", "#"),
    ("en", "@WHO", "WHO"),
    ("en", "London", "London"),
])
def test_stem_cuts_the_languages_affixes(lang: str, text: str, stem: str) -> None:
    assert get_stemmer(lang)(text) == get_normalizer(lang)(stem)


def test_clitic_forms_share_one_stem_even_for_names_starting_with_clitic_letters() -> None:
    stem = get_stemmer("ar")
    assert stem("بغداد") == stem("لبغداد") == stem("وببغداد")
    assert stem("وإسرائيل") == "اسرائيل"


def test_stem_hash_is_the_string_hash_of_the_stem() -> None:
    assert get_stemmer("tr").hash("Adana'da") == hash_string("adana")


_TINY = """
[model]
@architectures = "claims.StemHashEmbed.v1"
width = 16
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [100, 50, 50, 20]
include_static_vectors = false
stem_rows = 50
lang = "tr"
"""


def _tr_doc(text: str) -> Doc:
    return NormalizerComponent("tr")(spacy.blank("tr")(text))


def test_tiny_model_runs_forward_on_a_doc_and_leaves_tokens_alone() -> None:
    model = registry.resolve(Config().from_str(_TINY))["model"]
    model.initialize()
    doc = _tr_doc("Adana'da 5 kişi öldü, Adana'nın valisi açıkladı")
    before = [(t.text, t.norm_, t.lemma_) for t in doc]
    (vectors,) = model.predict([doc])
    assert vectors.shape == (len(doc), 16)
    features = model.layers[0].layers[0].predict([doc])[0]
    assert features.shape == (len(doc), 5)
    assert features[0, 4] == features[5, 4] == hash_string("adana")   # one stem row
    assert features[0, 0] != features[5, 0]                          # two NORM rows
    assert [(t.text, t.norm_, t.lemma_) for t in doc] == before
    copy = registry.resolve(Config().from_str(_TINY))["model"].from_bytes(model.to_bytes())
    assert numpy.allclose(copy.predict([doc])[0], vectors)


def test_ner_with_the_stem_embedding_trains_and_reloads() -> None:
    nlp = spacy.blank("tr")
    config = Config().from_str(_TINY)["model"]
    ner = nlp.add_pipe("ner", config={"model": {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner",
        "extra_state_tokens": False, "hidden_width": 16, "maxout_pieces": 2,
        "use_upper": True, "nO": None,
        "tok2vec": {"@architectures": "spacy.Tok2Vec.v2", "embed": dict(config),
                    "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 16,
                               "depth": 1, "window_size": 1, "maxout_pieces": 2}}}})
    doc = _tr_doc("Adana'da 5 kişi öldü")
    example = Example.from_dict(doc, {"entities": ["U-LOC", "O", "O", "O"]})
    optimizer = nlp.initialize(lambda: [example])
    for _ in range(3):
        nlp.update([example], sgd=optimizer)
    assert ner.model.get_ref("tok2vec") is not None
    again = spacy.blank("tr")
    again.add_pipe("ner", config={"model": nlp.get_pipe_config("ner")["model"]})
    again.from_bytes(nlp.to_bytes())
    assert [e.text for e in again(doc.text).ents] == [e.text for e in nlp(doc.text).ents]


@pytest.mark.parametrize("lang", ["ar", "tr", "fa", "en"])
def test_training_config_with_the_languages_choices_builds_its_embedding(lang: str) -> None:
    from nlp.ner.train import base_config, language_choices

    overrides = {"nlp.lang": lang, **language_choices(lang).get("overrides", {})}
    config = Config().from_str(base_config().to_str(), overrides=overrides)
    embed = config["components"]["ner"]["model"]["tok2vec"]["embed"]
    model = registry.resolve({"embed": embed})["embed"]
    if embed["@architectures"] == "claims.StemHashEmbed.v1":
        assert embed["lang"] == lang
        model.initialize()
        doc = NormalizerComponent(lang)(spacy.blank(lang)("Adana'da ve وإسرائيل"))
        assert model.predict([doc])[0].shape == (len(doc), embed["width"])
