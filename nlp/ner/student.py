"""`claims_student_ner`: a 5-6-layer transformer NER distilled from a 12-layer teacher.

A fine-tuned multilingual-e5-small finds far more entities than our spaCy CNNs (test F1
0.75-0.80 against 0.65-0.71), but runs at under 2,000 words/s and weighs 470 MB. Its first
5 or 6 layers (`layers` in languages.json), trained to copy the fine-tuned teacher's tag
distributions on the gold sentences and on unlabelled news text (`nlp/ner/distil.py`), keep
most of that gain at 5,000-13,000 words/s on two CPU cores in bfloat16 (by machine); with
the vocabulary cut to the pieces its language uses and the matrices stored as int8 (one
scale per row), a model is 13-18 MB on disk.

Saved in `models/ner-<lang>/ner/`: `weights.npz` (arrays only, read without pickle),
`tokenizer.json` (the pruned SentencePiece vocabulary, Hugging Face `tokenizers` format) and
`cfg.json` (the encoder's shape and the tag set). Words are spaCy's tokens; each takes the
tag of its first sub-word; a document is read sentence by sentence when it has sentences.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import filter_spans

from nlp.ner.hf import bio_spans

NAME = "claims_student_ner"
WEIGHTS, TOKENIZER, CFG = "weights.npz", "tokenizer.json", "cfg.json"
BOS, PAD, EOS = 0, 1, 2  # e5's (XLM-R's) special pieces
PRECISIONS = ("auto", "bf16", "fp32")
# Compiled bf16 kernels that oneDNN and ideep keep per matrix shape: 1,024 each by default,
# and every new batch shape adds some, so a long stream grew RSS by 200 MB and more. 32 keeps
# it flat (no measurable loss of speed); a value already in the environment wins.
KERNEL_CACHES = {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "32", "LRU_CACHE_CAPACITY": "32"}


def quantize(state: dict[str, Any]) -> dict[str, np.ndarray]:
    """A state dict as arrays: matrices int8 with a float32 scale per row (`.q`, `.s`),
    the rest float16. Rounding costs under 0.005 dev F1 (measured with the shipped models)."""
    out: dict[str, np.ndarray] = {}
    for key, value in state.items():
        array = value.detach().float().cpu().numpy() if hasattr(value, "detach") else value
        if array.ndim == 2 and array.shape[0] > 16:
            scale = np.maximum(np.abs(array).max(axis=1), 1e-8) / 127
            out[key + ".q"] = np.round(array / scale[:, None]).astype(np.int8)
            out[key + ".s"] = scale.astype(np.float32)
        else:
            out[key] = array.astype(np.float16)
    return out


def dequantize(arrays: Any) -> dict[str, np.ndarray]:
    state: dict[str, np.ndarray] = {}
    for key in arrays.files:
        if key.endswith(".q"):
            state[key[:-2]] = arrays[key].astype(np.float32) * arrays[key[:-2] + ".s"][:, None]
        elif not key.endswith(".s"):
            state[key] = arrays[key].astype(np.float32)
    return state


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX): there bf16
    autocast runs the student 1.6x as fast with the same tags (dev F1 within 0.001);
    elsewhere bf16 is emulated and slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


class StudentNer:
    """Tags docs with the student; `batch_pieces` bounds a forward pass (padding included),
    `max_pieces` a window (longer sentences are cut at a word), `buffer_words` how many
    tokens `pipe` gathers before tagging; `precision` "auto" uses bf16 where the CPU has it
    natively, else "fp32"."""

    def __init__(self, nlp: Language, name: str, batch_pieces: int, max_pieces: int,
                 precision: str, buffer_words: int) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        self.name = name
        self.batch_pieces = batch_pieces
        self.max_pieces = self.window = max_pieces
        self.buffer_words = buffer_words
        self.bf16 = precision == "bf16" or (precision == "auto" and cpu_has_bf16())
        self.cfg: dict[str, Any] = {}
        self.model: Any = None
        self.tokenizer: Any = None

    def use(self, cfg: dict[str, Any], state: dict[str, Any], tokenizer: Any) -> None:
        """Set the weights (a BertForTokenClassification state dict) and the tokenizer."""
        import torch

        from nlp.ner.bert import BertTagger

        model = BertTagger(cfg["encoder"], len(cfg["tags"]))
        model.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()}, strict=True)
        model.eval()
        if self.bf16:
            model.to_bf16()
            for variable, capacity in KERNEL_CACHES.items():  # read at the first bf16 product
                os.environ.setdefault(variable, capacity)
        self.cfg, self.model, self.tokenizer = cfg, model, tokenizer
        self.window = min(self.max_pieces, cfg["encoder"]["max_position_embeddings"] - 2)

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        for batch in self._groups(docs, batch_size):
            windows = [(doc, a, b) for doc in batch for a, b in self._windows(doc)]
            tags = self.tag([[t.text for t in doc[a:b]] for doc, a, b in windows])
            per_doc: dict[int, list[str]] = {id(doc): ["O"] * len(doc) for doc in batch}
            for (doc, a, b), found in zip(windows, tags, strict=True):
                per_doc[id(doc)][a:b] = found
            for doc in batch:
                doc.ents = filter_spans(bio_spans(doc, per_doc[id(doc)], str))
                yield doc

    def _groups(self, docs: Iterable[Doc], batch_size: int) -> Iterator[list[Doc]]:
        """`batch_size` docs, or more until they hold `buffer_words` tokens: sorting many
        sentences by length fills the forward passes evenly. One-sentence docs tagged 256 at
        a time ran at 4,500 words/s, 25,000 words at a time at 7,000 (English test set)."""
        group: list[Doc] = []
        words = 0
        for doc in docs:
            group.append(doc)
            words += len(doc)
            if len(group) >= batch_size and words >= self.buffer_words:
                yield group
                group, words = [], 0
        if group:
            yield group

    def _windows(self, doc: Doc) -> list[tuple[int, int]]:
        """Sentences where the doc has them, else the whole doc."""
        if doc.has_annotation("SENT_START"):
            return [(s.start, s.end) for s in doc.sents]
        return [(0, len(doc))]

    def _rows(self, encoded: Any) -> Iterator[tuple[list[int], list[int | None]]]:
        """A unit's pieces with <s> and </s>, cut before a word's first piece where longer
        than `max_pieces`."""
        ids, words = encoded.ids, encoded.word_ids
        start = 0
        while start < len(ids):
            end = min(start + self.window, len(ids))
            if end < len(ids):  # back off to a word boundary, unless one word fills it
                cut = end
                while cut > start + 1 and words[cut] == words[cut - 1]:
                    cut -= 1
                end = cut if cut > start + 1 else end
            yield [BOS, *ids[start:end], EOS], [None, *words[start:end], None]
            start = end

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """BIO tags of each word; words with no piece (whitespace) are O."""
        import torch

        tags = self.cfg["tags"]
        encoded = self.tokenizer.encode_batch(
            [[w.strip() or "_" for w in s] for s in sentences], is_pretokenized=True,
            add_special_tokens=False)
        rows = [(unit, *row) for unit, e in enumerate(encoded) for row in self._rows(e)]
        out = [["O"] * len(s) for s in sentences]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][1]))
        k = 0
        while k < len(order):
            n = 1
            while (k + n < len(order)
                   and len(rows[order[k + n]][1]) * (n + 1) <= self.batch_pieces):
                n += 1
            batch = order[k : k + n]
            width = len(rows[batch[-1]][1])
            ids = torch.full((n, width), PAD)
            mask = torch.zeros((n, width), dtype=torch.long)
            for r, i in enumerate(batch):
                ids[r, : len(rows[i][1])] = torch.tensor(rows[i][1])
                mask[r, : len(rows[i][1])] = 1
            with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16,
                                                        enabled=self.bf16):
                logits = self.model(ids, mask)
            best = logits.argmax(-1).tolist()
            for r, i in enumerate(batch):
                unit, _, words = rows[i]
                previous = None
                for position, word in enumerate(words):
                    if word is not None and word != previous and sentences[unit][word].strip():
                        out[unit][word] = tags[best[r][position]]
                    previous = word
            k += n
        return out

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v for k, v in self.model.state_dict().items()}
        arrays: dict[str, Any] = quantize(state)
        np.savez_compressed(path / WEIGHTS, **arrays)
        self.tokenizer.save(str(path / TOKENIZER))
        (path / CFG).write_text(json.dumps(self.cfg, indent=2) + "\n", "utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> StudentNer:
        from tokenizers import Tokenizer

        path = Path(path)
        with np.load(path / WEIGHTS, allow_pickle=False) as arrays:
            state = dequantize(arrays)
        self.use(json.loads((path / CFG).read_text("utf-8")), state,
                 Tokenizer.from_file(str(path / TOKENIZER)))
        return self


@Language.factory(NAME, assigns=["doc.ents"],
                  default_config={"batch_pieces": 2000, "max_pieces": 254, "precision": "auto",
                                  "buffer_words": 20_000})
def make_student_ner(nlp: Language, name: str, batch_pieces: int, max_pieces: int,
                     precision: str, buffer_words: int) -> StudentNer:
    return StudentNer(nlp, name, batch_pieces, max_pieces, precision, buffer_words)
