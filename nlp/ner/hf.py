"""Optional NER backend: a local Hugging Face token-classification model.

For users who have, say, CAMeLBERT-NER on disk: `NerOptions(backend="transformers",
model_path=...)` (`claims extract --ner-backend transformers --ner-model DIR`) replaces the
spaCy NER component with this one. Nothing is downloaded: the folder is opened with
`local_files_only`. Words are spaCy's tokens; each gets the label of its first sub-word,
and the model's label names are mapped to ours.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from nlp.ner.labels import LABELS

# Label names of common NER schemes (ANERcorp, OntoNotes, CoNLL, WikiANN) -> ours.
DEFAULT_LABEL_MAP = {
    "PERS": "PER", "PERSON": "PER", "LOCATION": "LOC", "GPE": "LOC", "FAC": "LOC",
    "ORGANIZATION": "ORG", "ORGANISATION": "ORG", "MIS": "MISC", "NORP": "MISC",
    "EVENT": "MISC", "PRO": "MISC",
}


def bio_spans(doc: Doc, tags: Sequence[str], ours: Callable[[str], str | None]) -> list[Span]:
    """BIO (or IO, BIOES) tags -> spans, `ours` mapping a tag's label to ours (None: not an
    entity); an I- after O or another label starts one."""
    spans: list[Span] = []
    start, label = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, raw = tag.partition("-") if "-" in tag else ("I", "", tag)
        kind = ours(raw) if tag != "O" else None
        continues = prefix in ("I", "E") and kind == label and start >= 0
        if start >= 0 and not continues:
            spans.append(Span(doc, start, i, label=label))
            start = -1
        if kind and not continues:
            start, label = i, kind
    return spans


class TransformersNer:
    def __init__(self, model_path: str, label_map: dict[str, str], window: int,
                 batch_size: int) -> None:
        path = Path(model_path)
        if not path.is_dir():
            raise FileNotFoundError(f"transformers NER model folder not found: {path}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        if not getattr(self.tokenizer, "is_fast", False):
            raise ValueError(f"{path}: a fast tokenizer (tokenizer.json) is needed to align "
                             "sub-words with words")
        self.model = AutoModelForTokenClassification.from_pretrained(
            path, local_files_only=True).eval()
        self.id2label: dict[int, str] = {int(k): v for k, v in
                                         self.model.config.id2label.items()}
        self.label_map = {**DEFAULT_LABEL_MAP, **label_map}
        self.window = window
        self.batch_size = batch_size

    def _ours(self, raw: str) -> str | None:
        label = self.label_map.get(raw, raw)
        return label if label in LABELS else None

    def __call__(self, doc: Doc) -> Doc:
        windows = [(i, min(i + self.window, len(doc))) for i in range(0, len(doc), self.window)]
        tags: list[str] = ["O"] * len(doc)
        for k in range(0, len(windows), self.batch_size):
            batch = windows[k : k + self.batch_size]
            words = [[t.text for t in doc[a:b]] for a, b in batch]
            encoded = self.tokenizer(words, is_split_into_words=True, truncation=True,
                                     padding=True, return_tensors="pt")
            with self.torch.no_grad():
                best = self.model(**encoded).logits.argmax(-1).tolist()
            for row, (start, _end) in enumerate(batch):
                seen: set[int] = set()
                for position, word in enumerate(encoded.word_ids(row)):
                    if word is not None and word not in seen:
                        seen.add(word)
                        tags[start + word] = self.id2label[best[row][position]]
        doc.ents = filter_spans(bio_spans(doc, tags, self._ours))
        return doc

@Language.factory("claims_transformers_ner", assigns=["doc.ents"],
                  default_config={"model_path": "", "label_map": {}, "window": 128,
                                  "batch_size": 8})
def make_transformers_ner(nlp: Language, name: str, model_path: str, label_map: dict[str, str],
                          window: int, batch_size: int) -> TransformersNer:
    return TransformersNer(model_path, label_map, window, batch_size)
