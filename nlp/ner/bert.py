"""A BERT token classifier's forward pass in plain torch, for running the shipped students.

`transformers` builds the same network (`BertForTokenClassification`, used to train them),
but importing it costs a process 148 MB and every call goes through its output and hook
wrappers. The modules here carry that class's parameter names, so its state dicts load
as they are (`strict=True`) and ours save back in its layout. Inference only: no dropout,
absolute positions from 0, token type 0, GELU (erf), padding masked in attention.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional


class _Embeddings(nn.Module):
    def __init__(self, c: dict[str, Any]) -> None:
        super().__init__()
        hidden = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], hidden)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], hidden)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=c["layer_norm_eps"])

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        # summed in float32 whatever the tables are stored in (see `BertTagger.to_bf16`)
        x = (self.word_embeddings(ids).float() + self.position_embeddings(positions)[None].float()
             + self.token_type_embeddings.weight[0].float())
        return self.LayerNorm(x)  # type: ignore[no-any-return]


class _SelfAttention(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)


class _Dense(nn.Module):
    """A projection, and (with `eps`) the residual LayerNorm after it."""

    def __init__(self, n_in: int, n_out: int, eps: float | None = None) -> None:
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        if eps is not None:
            self.LayerNorm = nn.LayerNorm(n_out, eps=eps)


class _Attention(nn.Module):
    def __init__(self, hidden: int, eps: float) -> None:
        super().__init__()
        self.self = _SelfAttention(hidden)
        self.output = _Dense(hidden, hidden, eps)


class _Layer(nn.Module):
    def __init__(self, c: dict[str, Any]) -> None:
        super().__init__()
        hidden, eps = c["hidden_size"], c["layer_norm_eps"]
        self.heads = c["num_attention_heads"]
        self.attention = _Attention(hidden, eps)
        self.intermediate = _Dense(hidden, c["intermediate_size"])
        self.output = _Dense(c["intermediate_size"], hidden, eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        rows, width, hidden = x.shape
        attention = self.attention.self

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(rows, width, self.heads, hidden // self.heads).transpose(1, 2)

        context = functional.scaled_dot_product_attention(
            split(attention.query(x)), split(attention.key(x)), split(attention.value(x)),
            attn_mask=mask)
        context = context.transpose(1, 2).reshape(rows, width, hidden)
        out = self.attention.output
        x = out.LayerNorm(out.dense(context) + x)
        inner = functional.gelu(self.intermediate.dense(x))
        return self.output.LayerNorm(self.output.dense(inner) + x)  # type: ignore[no-any-return]


class _Encoder(nn.Module):
    def __init__(self, c: dict[str, Any]) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c["num_hidden_layers"]))


class _Bert(nn.Module):
    def __init__(self, c: dict[str, Any]) -> None:
        super().__init__()
        self.embeddings = _Embeddings(c)
        self.encoder = _Encoder(c)


class BertTagger(nn.Module):
    """Logits per piece of `BertForTokenClassification` with the same weights; `encoder`
    is that model's config as a dict (`cfg.json` → `encoder`)."""

    def __init__(self, encoder: dict[str, Any], n_tags: int) -> None:
        super().__init__()
        self.bert = _Bert(encoder)
        self.classifier = nn.Linear(encoder["hidden_size"], n_tags)

    def to_bf16(self) -> None:
        """Matrices and embedding tables in bfloat16, LayerNorms in float32: bf16 autocast
        multiplies in bfloat16 anyway, so the products are the same, while the weights take
        half the memory and are no longer cast on every call."""
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                module.to(torch.bfloat16)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # True where attention may look: every query row sees the row's real pieces
        mask = attention_mask.bool()[:, None, None, :]
        x = self.bert.embeddings(input_ids)
        for layer in self.bert.encoder.layer:
            x = layer(x, mask)
        return self.classifier(x)  # type: ignore[no-any-return]
