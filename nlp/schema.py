"""The output contract of ../shared/CLAIMS.md as pydantic models.

Everything the toolkit reads or writes goes through these models, so a record that leaves
the toolkit has been validated against the contract, and `claims schema` can publish it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

Lang = Literal["en", "ar", "tr", "fa", "und"]
SUPPORTED_LANGS: tuple[str, ...] = ("en", "ar", "tr", "fa")
Qualifier = Literal["exact", "at_least", "more_than", "approx", "at_most", "range", "vague"]
Category = Literal["killed", "injured", "displaced", "missing", "detained", "abducted"]
VictimsType = Literal["civilians", "security_forces", "combatants", "unspecified"]
EntityLabel = Literal["PER", "ORG", "LOC", "MISC"]


def qualifier_bounds(qualifier: str, value: int) -> tuple[int | None, int | None] | None:
    """(low, high) that CLAIMS.md's qualifier table gives a stated value; None for range and
    vague, whose bounds the figure states itself."""
    table: dict[str, tuple[int | None, int | None]] = {
        "exact": (value, value), "at_least": (value, None), "more_than": (value + 1, None),
        "approx": (None, None), "at_most": (None, value),
    }
    return table.get(qualifier)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputRecord(BaseModel):
    """One input document; unknown top-level keys are ignored, `meta` is passed through."""

    model_config = ConfigDict(extra="ignore")

    id: StrictStr = Field(min_length=1)
    text: StrictStr
    lang: StrictStr | None = None
    meta: dict[str, Any] | None = None


class Span(_Model):
    """A stretch of the input text; `text == input[start:end]` always holds."""

    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end < self.start:
            raise ValueError(f"span end {self.end} is before its start {self.start}")
        if len(self.text) != self.end - self.start:
            raise ValueError("span text length does not match end - start")
        return self


class SentenceSpan(_Model):
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Figure(Span):
    value: int | None
    low: int | None
    high: int | None
    qualifier: Qualifier


class Victims(Span):
    type: VictimsType


class Entity(Span):
    label: EntityLabel
    kb_id: str | None = None


class Claim(_Model):
    figure: Figure
    category: Category
    victims: Victims | None = None
    actor: Span | None = None
    source: Span | None = None
    places: list[Span] = Field(default_factory=list)
    time: Span | None = None
    sentence: SentenceSpan
    confidence: float = Field(ge=0.0, le=1.0)


class Result(_Model):
    """One output line: one per input document, in input order, with the same id."""

    id: str
    lang: Lang = "und"
    lang_score: float = Field(default=0.0, ge=0.0, le=1.0)
    claims: list[Claim] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    error: str | None = None
    meta: dict[str, Any] | None = None

    def to_json(self) -> str:
        """One JSON line; `meta` is omitted when the input had none, as the contract says."""
        exclude = {"meta"} if self.meta is None else set()
        return self.model_dump_json(exclude=exclude)


def check_offsets(result: Result, text: str) -> list[str]:
    """List every span of `result` that does not point at its own text in `text`."""
    problems: list[str] = []

    def check(where: str, span: Span | None) -> None:
        if span is not None and text[span.start : span.end] != span.text:
            problems.append(f"{where}: {span.text!r} != text[{span.start}:{span.end}]")

    for i, ent in enumerate(result.entities):
        check(f"entities[{i}]", ent)
    for i, claim in enumerate(result.claims):
        check(f"claims[{i}].figure", claim.figure)
        check(f"claims[{i}].victims", claim.victims)
        check(f"claims[{i}].actor", claim.actor)
        check(f"claims[{i}].source", claim.source)
        check(f"claims[{i}].time", claim.time)
        for j, place in enumerate(claim.places):
            check(f"claims[{i}].places[{j}]", place)
        if not (0 <= claim.sentence.start <= claim.figure.start
                and claim.figure.end <= claim.sentence.end <= len(text)):
            problems.append(f"claims[{i}].sentence does not contain its figure")
    return problems


def json_schema() -> dict[str, Any]:
    """JSON Schema of the input record and the result, for `claims schema`."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "claims-nlp records",
        "input": InputRecord.model_json_schema(),
        "result": Result.model_json_schema(),
    }
