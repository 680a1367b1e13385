"""Named entities (PER, ORG, LOC, MISC) in four languages.

- `labels`: our label set and the mapper from other schemes (`claims_entities`).
- `gazetteer`: known places and organisations with canonical ids (`claims_gazetteer`).
- `spans`: clitics and case suffixes split off entity spans (`claims_spans`).
- `fill`: a CRF that adds the entities the NER missed (`claims_entity_fill`; Arabic).
- `retype`: a second opinion on each found entity's type, from its sentence
  (`claims_entity_types`; Turkish).
- `hf`: optional local Hugging Face token-classification backend (`claims_transformers_ner`).
- `embed`: architectures our trained models may name: the `claims.StemHashEmbed.v1` token
  embedding, and `claims.TransitionBasedParser.v1` (spaCy's, with its encoder as a ref).
- `conll`, `train`, `pretrain`: CoNLL data, `claims train ner` and its encoder pretraining.

The statistical NER itself is spaCy's `ner` component, trained by `train` and shipped in
`models/ner-<lang>/`; the language configs source it from there.
"""

from nlp.ner import embed, fill, gazetteer, hf, retype, spans, student
from nlp.ner.labels import LABELS, EntityLabelMapper

__all__ = ["LABELS", "EntityLabelMapper", "embed", "fill", "gazetteer", "hf", "retype", "spans",
           "student"]
