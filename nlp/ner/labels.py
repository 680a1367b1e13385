"""Our four entity labels, and the component that maps another scheme's labels to them
(en_core_web_sm's OntoNotes labels, say), dropping what is not an entity in the claims
contract (dates, numbers, money are figures)."""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc, Span

LABELS = ("PER", "ORG", "LOC", "MISC")


class EntityLabelMapper:
    """Keeps the entities whose label maps to one of ours, relabelled; drops the rest
    (dates, numbers, money), which are not entities in the claims contract."""

    def __init__(self, label_map: dict[str, str]) -> None:
        unknown = set(label_map.values()) - set(LABELS) - {""}
        if unknown:
            raise ValueError(f"label_map targets must be {LABELS} or '': {sorted(unknown)}")
        self.label_map = dict(label_map)

    def __call__(self, doc: Doc) -> Doc:
        ents = []
        for ent in doc.ents:
            label = self.label_map.get(ent.label_, ent.label_ if ent.label_ in LABELS else "")
            if label:
                ents.append(Span(doc, ent.start, ent.end, label=label, kb_id=ent.kb_id_))
        doc.ents = ents
        return doc


@Language.factory("claims_entities", assigns=["doc.ents"], default_config={"label_map": {}})
def make_entity_mapper(nlp: Language, name: str, label_map: dict[str, str]) -> EntityLabelMapper:
    return EntityLabelMapper(label_map)
