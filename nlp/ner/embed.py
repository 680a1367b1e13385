"""`claims.StemHashEmbed.v1`: spaCy's MultiHashEmbed plus a hashed "stem" column.

Names are written with clitics and case suffixes attached (Adana'da, وإسرائيل, #تهران), so
NORM gives each inflected form its own embedding row. This architecture embeds one more
column: the token's normal form with those affixes cut off, so that inflected forms share a
row while NORM, PREFIX and SUFFIX still see the affix. The cutting rules are language data
(`data/lang/<lang>/ner.json`, key `stem`); no token attribute is changed: the stem is
computed and hashed inside the model only.

The architecture is registered when this module is imported, which must happen before a
model whose config names it is loaded (`nlp.ner.train` imports it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, cast

import numpy
from spacy.attrs import intify_attr
from spacy.ml.featureextractor import FeatureExtractor
from spacy.ml.staticvectors import StaticVectors
from spacy.strings import hash_string  # type: ignore[attr-defined]
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import (
    HashEmbed,
    Maxout,
    Model,
    chain,
    concatenate,
    list2ragged,
    ragged2list,
    with_array,
)
from thinc.types import Floats2d, Ints2d, Ragged

from nlp.normalize import get_normalizer, memoised
from nlp.resources import language_data

_CACHE_LIMIT = 500_000


@dataclass(frozen=True)
class StemRules:
    """How a language's stem is cut from a token (`ner.json` → `stem`).

    - `strip_chars`: characters removed from both ends of the token (#hashtag, @mention).
    - `split_at`: the token is cut at the first of these separators (Adana'da → Adana).
    - `strip_suffixes`: removed once from the end of the token as written, longest first
      (Persian plural and pronoun suffixes after a zero-width non-joiner).
    - `strip_prefixes`: removed from the start of the normalised token, longest first, and
      again from what remains (و + ب + ال), so that every clitic-laden form of a word ends in
      the same stem as the bare word.
    - `min_chars`: no cut is made that would leave fewer characters than this.
    """

    strip_chars: str = ""
    split_at: tuple[str, ...] = ()
    strip_suffixes: tuple[str, ...] = ()
    strip_prefixes: tuple[str, ...] = ()
    min_chars: int = 2

    @classmethod
    def from_data(cls, data: dict[str, Any], normalize: Callable[[str], str]) -> StemRules:
        by_length = sorted((normalize(p) for p in data.get("strip_prefixes", [])),
                           key=len, reverse=True)
        return cls(
            "".join(data.get("strip_chars", [])),
            tuple(data.get("split_at", [])),
            tuple(sorted(data.get("strip_suffixes", []), key=len, reverse=True)),
            tuple(p for p in by_length if p),
            int(data.get("min_chars", 2)),
        )


class Stemmer:
    """Token text → stem (in normal form, like `token.norm_`), and its 64-bit hash."""

    def __init__(self, rules: StemRules, normalize: Callable[[str], str]) -> None:
        self.rules = rules
        self.normalize = normalize
        self._hashes: dict[str, int] = {}

    def __call__(self, text: str) -> str:
        rules = self.rules
        keep = rules.min_chars
        word = text
        if rules.strip_chars:
            stripped = word.strip(rules.strip_chars)
            if len(stripped) >= keep:
                word = stripped
        for separator in rules.split_at:
            head = word.split(separator, 1)[0]
            if head != word and len(head) >= keep:
                word = head
        for suffix in rules.strip_suffixes:
            if word.endswith(suffix) and len(word) - len(suffix) >= keep:
                word = word[: -len(suffix)]
                break
        word = self.normalize(word)
        cut = True
        while cut:
            cut = False
            for prefix in rules.strip_prefixes:
                if word.startswith(prefix) and len(word) - len(prefix) >= keep:
                    word = word[len(prefix):]
                    cut = True
                    break
        return word

    def hash(self, text: str) -> int:
        return memoised(self._hashes, text, self._hash, _CACHE_LIMIT)

    def _hash(self, text: str) -> int:
        return int(hash_string(self(text)))


@cache
def get_stemmer(lang: str) -> Stemmer:
    """The language's stemmer, from `data/lang/<lang>/ner.json` (no `stem` key: no cuts)."""
    normalize = get_normalizer(lang)
    rules = StemRules.from_data(language_data(lang, "ner").get("stem", {}), normalize)
    return Stemmer(rules, normalize)


def StemFeatureExtractor(columns: Sequence[str | int],
                         lang: str) -> Model[list[Doc], list[Ints2d]]:
    """spaCy's FeatureExtractor with the stem hash appended as the last column."""
    ids = [intify_attr(column) for column in columns]  # ids: Span.to_array takes no names
    return Model("extract_stem_features", _extract_forward,
                 layers=[FeatureExtractor(ids)], attrs={"lang": lang})


def _extract_forward(model: Model[list[Doc], list[Ints2d]], docs: list[Doc],
                     is_train: bool) -> tuple[list[Ints2d], Callable[[Any], list[Any]]]:
    features, _ = model.layers[0](docs, is_train)
    stemmer = get_stemmer(str(model.attrs["lang"]))
    out: list[Ints2d] = []
    for doc, columns in zip(docs, features, strict=True):
        stems = numpy.fromiter((stemmer.hash(token.text) for token in doc),
                               dtype="uint64", count=len(doc))
        stacked = numpy.hstack([numpy.asarray(columns), stems.reshape((-1, 1))])
        out.append(model.ops.asarray2i(cast(Ints2d, stacked), dtype="uint64"))

    def backprop(d_features: Any) -> list[Any]:
        return []

    return out, backprop


@registry.architectures("claims.StemHashEmbed.v1")  # type: ignore[untyped-decorator]
def StemHashEmbed(width: int, attrs: list[str | int], rows: list[int],
                  include_static_vectors: bool, stem_rows: int,
                  lang: str) -> Model[list[Doc], list[Floats2d]]:
    """spacy.MultiHashEmbed.v2 (same arguments, same tables and seeds) with one more
    HashEmbed table of `stem_rows` rows over the language's stem of each token."""
    if len(rows) != len(attrs):
        raise ValueError(f"Mismatched lengths: {len(rows)} vs {len(attrs)}")
    embeddings: list[Model[Ints2d, Floats2d]] = [
        HashEmbed(width, n, column=i, seed=8 + i, dropout=0.0) for i, n in enumerate(rows)]
    embeddings.append(HashEmbed(width, stem_rows, column=len(attrs), seed=8 + len(attrs),
                                dropout=0.0))
    concat_size = width * (len(embeddings) + include_static_vectors)
    max_out: Model[Ragged, Ragged] = with_array(
        Maxout(width, concat_size, nP=3, dropout=0.0, normalize=True))
    features: Model[list[Doc], Ragged] = chain(
        StemFeatureExtractor(attrs, lang),
        cast(Model[list[Ints2d], Ragged], list2ragged()),
        with_array(concatenate(*embeddings)),
    )
    if include_static_vectors:
        features = concatenate(features, StaticVectors(width, dropout=0.0))
    model: Model[list[Doc], list[Floats2d]] = chain(features, max_out, ragged2list())
    return model


@registry.architectures("claims.TransitionBasedParser.v1")  # type: ignore[untyped-decorator]
def TransitionBasedParserWithEncoder(tok2vec: Model[list[Doc], list[Floats2d]],
                                     state_type: Literal["parser", "ner"],
                                     extra_state_tokens: bool, hidden_width: int,
                                     maxout_pieces: int, use_upper: bool = True,
                                     nO: int | None = None) -> Model[Any, Any]:
    """spaCy's TransitionBasedParser.v2, unchanged, with its own token encoder reachable as
    the ref `encoder`: spaCy wraps the encoder in chain(encoder, list2array, Linear) and
    names only that chain, whose output `spacy pretrain` cannot train, so pretraining
    (`nlp.ner.pretrain`) names the encoder through this ref instead."""
    from spacy.ml.models.parser import build_tb_parser_model

    model = build_tb_parser_model(tok2vec, state_type, extra_state_tokens, hidden_width,
                                  maxout_pieces, use_upper=use_upper, nO=nO)
    model.set_ref("encoder", tok2vec)
    return model
