"""Claims as annotators edit them, and their conversions to the contract's shapes.

The review app keeps every span with its offsets (annotators select text, so offsets are
what they make), the victims type apart from the victims span (a bare toll has a type but
no words), and a review status. From here a claim becomes a CLAIMS.md output claim (for
scoring a model against annotators) or a gold claim (for export), and every save is checked
by the same rules as a gold file, so what annotators store always exports cleanly.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from nlp.evaluate.claims import locate, sentence_bounds
from nlp.gold import GoldClaim, GoldDocument, claim_problems
from nlp.schema import Category, Claim, Figure, Qualifier, SentenceSpan, Span, Victims, VictimsType

ReviewStatus = Literal["pending", "accepted", "rejected"]
Origin = Literal["model", "annotator"]
DocumentStatus = Literal["new", "in_progress", "done"]
ROLE_SPANS = ("victims", "actor", "source", "time")


class SpanIn(BaseModel):
    """A span as the browser sends it: offsets are code points, like Python's."""

    model_config = ConfigDict(extra="forbid")

    text: StrictStr
    start: StrictInt = Field(ge=0)
    end: StrictInt = Field(ge=0)


class FigureIn(SpanIn):
    value: StrictInt | None
    low: StrictInt | None
    high: StrictInt | None
    qualifier: Qualifier


class ReviewClaim(BaseModel):
    """One claim in the review app; `origin` and `confidence` are the server's to set."""

    model_config = ConfigDict(extra="forbid")

    id: StrictInt | None = None
    status: ReviewStatus = "pending"
    origin: Origin = "annotator"
    figure: FigureIn
    category: Category
    victims_type: VictimsType = "unspecified"
    victims: SpanIn | None = None
    actor: SpanIn | None = None
    source: SpanIn | None = None
    places: list[SpanIn] = Field(default_factory=list, max_length=50)
    time: SpanIn | None = None
    confidence: float | None = None
    note: StrictStr | None = Field(default=None, max_length=2000)

    def content(self) -> dict[str, Any]:
        """The fields an annotator edits (what a change record compares)."""
        return self.model_dump(exclude={"id", "origin", "confidence"})

    def spans(self) -> list[tuple[str, SpanIn]]:
        found: list[tuple[str, SpanIn]] = [("figure", self.figure)]
        found += [(name, span) for name in ROLE_SPANS
                  if (span := getattr(self, name)) is not None]
        found += [(f"places[{i}]", span) for i, span in enumerate(self.places)]
        return found


def problems(text: str, lang: str, claim: ReviewClaim) -> list[str]:
    """Everything wrong with `claim` on `text`: spans that are not their text's, bounds
    the qualifier does not allow (the gold file's rules, so every save exports cleanly)."""
    out: list[str] = []
    for name, span in claim.spans():
        if span.end <= span.start:
            out.append(f"{name}: empty span ({span.start}..{span.end})")
        elif span.end > len(text):
            out.append(f"{name}: end {span.end} is past the end of the text ({len(text)})")
        elif text[span.start : span.end] != span.text:
            out.append(f"{name}: {span.text!r} is not text[{span.start}:{span.end}] "
                       f"({text[span.start : span.end]!r})")
        elif not span.text.strip():
            out.append(f"{name}: the span is only white space")
    if out:
        return out
    doc = GoldDocument(id="-", lang=lang, text=text, claims=[])
    return [p for p in claim_problems(doc, to_gold(claim)) if "not a substring" not in p]


def to_gold(claim: ReviewClaim) -> GoldClaim:
    def text_of(span: SpanIn | None) -> str | None:
        return None if span is None else span.text

    return GoldClaim(
        figure_text=claim.figure.text, figure_start=claim.figure.start,
        value=claim.figure.value, qualifier=claim.figure.qualifier,
        low=claim.figure.low, high=claim.figure.high, category=claim.category,
        victims_type=claim.victims_type, victims_text=text_of(claim.victims),
        actor=text_of(claim.actor), source=text_of(claim.source),
        places=[p.text for p in claim.places], time=text_of(claim.time), note=claim.note)


def to_claim(text: str, claim: ReviewClaim, confidence: float | None = None) -> Claim:
    """The CLAIMS.md output shape, for scoring one reading of a document against another."""
    def span(s: SpanIn | None) -> Span | None:
        return None if s is None else Span(text=s.text, start=s.start, end=s.end)

    start, end = sentence_bounds(text, claim.figure.start)
    start, end = min(start, claim.figure.start), max(end, claim.figure.end)
    victims = None if claim.victims is None else Victims(
        text=claim.victims.text, start=claim.victims.start, end=claim.victims.end,
        type=claim.victims_type)
    return Claim(
        figure=Figure(**claim.figure.model_dump()), category=claim.category, victims=victims,
        actor=span(claim.actor), source=span(claim.source),
        places=[Span(text=p.text, start=p.start, end=p.end) for p in claim.places],
        time=span(claim.time), sentence=SentenceSpan(start=start, end=end),
        confidence=next(c for c in (confidence, claim.confidence, 1.0) if c is not None))


def from_claim(claim: Claim) -> ReviewClaim:
    """A model's claim, waiting for review."""
    def span(s: Span | None) -> SpanIn | None:
        return None if s is None else SpanIn(text=s.text, start=s.start, end=s.end)

    return ReviewClaim(
        status="pending", origin="model",
        figure=FigureIn(**claim.figure.model_dump()), category=claim.category,
        victims_type=claim.victims.type if claim.victims else "unspecified",
        victims=span(claim.victims), actor=span(claim.actor), source=span(claim.source),
        places=[SpanIn(text=p.text, start=p.start, end=p.end) for p in claim.places],
        time=span(claim.time), confidence=claim.confidence)


def from_gold(text: str, gold: GoldClaim) -> ReviewClaim:
    """A labelled claim (already reviewed): its strings are found nearest the figure."""
    def span(needle: str | None) -> SpanIn | None:
        if needle is None:
            return None
        start, end = locate(text, needle, gold.figure_start)
        return None if start < 0 else SpanIn(text=needle, start=start, end=end)

    places = [s for p in gold.places if (s := span(p)) is not None]
    return ReviewClaim(
        status="accepted", origin="annotator",
        figure=FigureIn(text=gold.figure_text, start=gold.figure_start, end=gold.figure_end,
                        value=gold.value, low=gold.low, high=gold.high,
                        qualifier=gold.qualifier),
        category=gold.category, victims_type=gold.victims_type,
        victims=span(gold.victims_text), actor=span(gold.actor), source=span(gold.source),
        places=places, time=span(gold.time), note=gold.note)
