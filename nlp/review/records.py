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
from nlp.schema import Category, Claim, Figure, SentenceSpan, Span, Victims, VictimsType

ReviewStatus = Literal["pending", "accepted", "rejected"]
Origin = Literal["model", "annotator"]
DocumentStatus = Literal["new", "in_progress", "done"]
ROLE_SPANS = ("victims", "actor", "source", "time")


class ReviewClaim(BaseModel):
    """One claim in the review app; `origin` and `confidence` are the server's to set."""

    model_config = ConfigDict(extra="forbid")

    id: StrictInt | None = None
    status: ReviewStatus = "pending"
    origin: Origin = "annotator"
    figure: Figure
    category: Category
    victims_type: VictimsType = "unspecified"
    victims: Span | None = None
    actor: Span | None = None
    source: Span | None = None
    places: list[Span] = Field(default_factory=list, max_length=50)
    time: Span | None = None
    confidence: float | None = None
    note: StrictStr | None = Field(default=None, max_length=2000)

    def content(self) -> dict[str, Any]:
        """The fields an annotator edits (what a change record compares)."""
        return self.model_dump(exclude={"id", "origin", "confidence"})

    def spans(self) -> list[tuple[str, Span]]:
        found: list[tuple[str, Span]] = [("figure", self.figure)]
        found += [(name, span) for name in ROLE_SPANS
                  if (span := getattr(self, name)) is not None]
        found += [(f"places[{i}]", span) for i, span in enumerate(self.places)]
        return found


def live(claims: list[ReviewClaim]) -> list[ReviewClaim]:
    """The claims an annotator has not rejected: what a reading of the document says."""
    return [c for c in claims if c.status != "rejected"]


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
    return claim_problems(GoldDocument(id="-", lang=lang, text=text, claims=[]), to_gold(claim))


def to_gold(claim: ReviewClaim) -> GoldClaim:
    def text_of(span: Span | None) -> str | None:
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
    start, end = sentence_bounds(text, claim.figure.start)
    start, end = min(start, claim.figure.start), max(end, claim.figure.end)
    victims = None if claim.victims is None else Victims(
        **claim.victims.model_dump(), type=claim.victims_type)
    return Claim(
        figure=claim.figure, category=claim.category, victims=victims, actor=claim.actor,
        source=claim.source, places=claim.places, time=claim.time,
        sentence=SentenceSpan(start=start, end=end),
        confidence=next(c for c in (confidence, claim.confidence, 1.0) if c is not None))


def from_claim(claim: Claim) -> ReviewClaim:
    """A model's claim, waiting for review."""
    victims = claim.victims
    return ReviewClaim(
        status="pending", origin="model", figure=claim.figure, category=claim.category,
        victims_type=victims.type if victims else "unspecified",
        victims=None if victims is None else Span(**victims.model_dump(exclude={"type"})),
        actor=claim.actor, source=claim.source, places=claim.places, time=claim.time,
        confidence=claim.confidence)


def from_gold(text: str, gold: GoldClaim) -> ReviewClaim:
    """A labelled claim (already reviewed): its strings are found nearest the figure."""
    def span(needle: str | None) -> Span | None:
        if needle is None:
            return None
        start, end = locate(text, needle, gold.figure_start)
        return None if start < 0 else Span(text=needle, start=start, end=end)

    places = [s for p in gold.places if (s := span(p)) is not None]
    return ReviewClaim(
        status="accepted", origin="annotator",
        figure=Figure(text=gold.figure_text, start=gold.figure_start, end=gold.figure_end,
                      value=gold.value, low=gold.low, high=gold.high,
                      qualifier=gold.qualifier),
        category=gold.category, victims_type=gold.victims_type,
        victims=span(gold.victims_text), actor=span(gold.actor), source=span(gold.source),
        places=places, time=span(gold.time), note=gold.note)
