"""Claim assembly: which figures count casualties, of what kind, of whom, where.

First version: a cardinal figure becomes a claim when a trigger word of the language's
lexicon (killed, injured, ...) stands in the same sentence; the nearest trigger decides the
category, a victims word right next to the figure its victims, and the sentence's LOC
entities its places. Actor, source and time, restated tolls and the harder constructions
come with the claims issue; the seam is the `claims_assembler` component and
`doc._.claims`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from nlp.lexicon import Lexicon, get_lexicon
from nlp.numbers import FigureMatch
from nlp.resources import language_data

if not Doc.has_extension("claims"):
    Doc.set_extension("claims", default=None)

# Confidence of the first version: a heuristic that falls with the distance between figure
# and trigger. It is not calibrated; the confidence issue replaces it with a learned scorer.
_BASE_CONFIDENCE = 0.8
_DISTANCE_PENALTY = 0.04
_MIN_CONFIDENCE = 0.3
_OFF_SIDE_PENALTY = 0.5


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    label: str = ""


@dataclass
class ClaimDraft:
    figure: FigureMatch
    category: str
    trigger: Mention
    sentence: Mention
    victims: Mention | None = None
    places: list[Mention] = field(default_factory=list)
    confidence: float = 0.5


class ClaimAssembler:
    def __init__(self, lang: str, victims_window: int) -> None:
        self.lexicon: Lexicon = get_lexicon(lang)
        self.victims_window = victims_window
        # Where the trigger usually stands relative to the figure (Arabic قتل 12, Turkish
        # 12 kişi öldü): on a tie, the trigger on that side wins.
        self.trigger_side = language_data(lang, "lexicon").get("trigger_side")

    def __call__(self, doc: Doc) -> Doc:
        figures: list[FigureMatch] = doc._.figures or []
        claims: list[ClaimDraft] = []
        for figure in figures:
            if figure.kind != "cardinal":
                continue
            span = doc.char_span(figure.start, figure.end, alignment_mode="expand")
            if span is None:
                continue
            claim = self._assemble(figure, span)
            if claim is not None:
                claims.append(claim)
        doc._.claims = claims
        return doc

    def _assemble(self, figure: FigureMatch, span: Span) -> ClaimDraft | None:
        sent = span.sent
        best: tuple[float, Token, str] | None = None
        for token in sent:
            if span.start <= token.i < span.end:
                continue
            label = self.lexicon.lookup("triggers", token)
            if label is None:
                continue
            after = token.i >= span.end
            distance: float = token.i - span.end + 1 if after else span.start - token.i
            if self.trigger_side is not None and after != (self.trigger_side == "after"):
                distance += _OFF_SIDE_PENALTY
            if best is None or distance < best[0]:
                best = (distance, token, label)
        if best is None:
            return None
        distance, trigger, category = best
        confidence = max(_MIN_CONFIDENCE, _BASE_CONFIDENCE - _DISTANCE_PENALTY * (distance - 1))
        return ClaimDraft(
            figure=figure,
            category=category,
            trigger=_mention(trigger),
            sentence=Mention(sent.start_char, sent.end_char),
            victims=self._victims(span),
            places=[Mention(e.start_char, e.end_char) for e in sent.ents if e.label_ == "LOC"],
            confidence=round(confidence, 3),
        )

    def _victims(self, figure: Span) -> Mention | None:
        """The first victims word within a few tokens after the figure (12 civilians,
        ١٢ مدنيا, 12 sivil, ۱۲ غیرنظامی): the noun a count qualifies follows it in all four."""
        doc = figure.doc
        for token in doc[figure.end : min(len(doc), figure.end + self.victims_window)]:
            if token.is_sent_start:
                break
            label = self.lexicon.lookup("victims", token)
            if label is not None:
                return _mention(token, label)
        return None


def _mention(token: Token, label: str = "") -> Mention:
    return Mention(token.idx, token.idx + len(token.text), label)


@Language.factory("claims_assembler", assigns=["doc._.claims"],
                  requires=["doc._.figures", "token.norm", "doc.sents"],
                  default_config={"lang": None, "victims_window": 3})
def make_assembler(nlp: Language, name: str, lang: str | None, victims_window: int
                   ) -> ClaimAssembler:
    return ClaimAssembler(str(lang or nlp.lang), victims_window)
