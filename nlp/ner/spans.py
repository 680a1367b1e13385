"""Entity spans without clitics and suffixes: وطرطوس -> طرطوس, Tartus'ta -> Tartus.

The statistical models and the gazetteer tag whole tokens, as their training data does,
but a claim's place must be the name alone, with offsets into the original text. The
clitic or suffix is split off into a token of its own (spaCy's retokenizer), so every later
component and the output see a clean entity span and the text is untouched.
"""

from __future__ import annotations

from itertools import pairwise

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from nlp.ner.gazetteer import get_gazetteer
from nlp.normalize import get_normalizer


class SpanTrimmer:
    def __init__(self, lang: str) -> None:
        self.gazetteer = get_gazetteer(lang)
        self.affixes = self.gazetteer.affixes
        self.normalize = get_normalizer(lang)

    def __call__(self, doc: Doc) -> Doc:
        if not doc.ents or not (self.affixes.proclitics or self.affixes.suffix_separators):
            return doc
        plans: list[tuple[int, int, str, str]] = []  # new char span, label, kb_id
        cuts: dict[int, list[int]] = {}  # token index -> cut points (chars into the token)
        bare = {t.norm_ for t in doc} if self.affixes.proclitics else set()
        for ent in doc.ents:
            start, end = ent.start_char, ent.end_char
            head = self._prefix_chars(ent[0], bare)
            if head:
                cuts.setdefault(ent.start, []).append(head)
                start += head
            tail = self._suffix_chars(ent[-1])
            if tail and end - tail > start:
                cuts.setdefault(ent.end - 1, []).append(len(ent[-1].text) - tail)
                end -= tail
            plans.append((start, end, ent.label_, ent.kb_id_))
        if not cuts:
            return doc
        # sentencizer boundaries need fixing after a split; a parse's come from its heads
        sentences = doc.has_annotation("SENT_START") and not doc.has_annotation("DEP")
        inner: set[int] = set()  # where the pieces after a token's first begin (chars)
        with doc.retokenize() as retokenizer:
            for index, points in cuts.items():
                token = doc[index]
                bounds = [0, *sorted(set(points)), len(token.text)]
                orths = [token.text[a:b] for a, b in pairwise(bounds)]
                heads: list[Token | tuple[Token, int]] = [(token, len(orths) - 1)] * len(orths)
                norms = [self.normalize(o) for o in orths]
                for norm in norms:  # the retokenizer stores hashes; keep the strings
                    doc.vocab.strings.add(norm)
                retokenizer.split(token, orths, heads=heads, attrs={"NORM": norms})
                inner.update(token.idx + b for b in bounds[1:-1])
        if sentences:  # a split-off piece continues its token's sentence
            for token in doc:
                if token.idx in inner:
                    token.is_sent_start = False
        ents: list[Span] = []
        for start, end, label, kb_id in plans:
            span = doc.char_span(start, end, label=label, kb_id=kb_id, alignment_mode="strict")
            if span is not None:
                ents.append(span)
        doc.ents = ents
        return doc

    def _prefix_chars(self, token: Token, bare: set[str]) -> int:
        """Characters of the original token that form a proclitic to drop, or 0: only when
        the rest starts with the article, is a known name, or occurs bare in the text."""
        affixes = self.affixes
        if not affixes.proclitics:
            return 0
        norm = self.normalize.with_offsets(token.text)
        for rest, cut in affixes.prefix_forms(norm.text):
            if cut == 0:
                continue
            article = affixes.article is not None and rest.startswith(affixes.article)
            if article or self.gazetteer.knows_first(rest) or rest in bare:
                return norm.start(cut)
        return 0

    def _suffix_chars(self, token: Token) -> int:
        """Characters of the original token after the suffix separator, the separator too."""
        cut = self.affixes.suffix_cut(token.norm_)
        if not cut:
            return 0
        norm = self.normalize.with_offsets(token.text)
        return len(token.text) - norm.start(len(norm.text) - cut)


@Language.factory("claims_spans", assigns=["doc.ents"], requires=["doc.ents", "token.norm"],
                  default_config={"lang": None})
def make_span_trimmer(nlp: Language, name: str, lang: str | None) -> SpanTrimmer:
    return SpanTrimmer(str(lang or nlp.lang))
