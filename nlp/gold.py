"""Gold files: labelled documents in the gold format of CLAIMS.md, read and checked.

Annotators' exports, our corpora and `claims eval` all go through `read_gold`, so a file
that evaluates has also been checked: every string is a substring of its text, figure
offsets point at the figure, bounds agree with the qualifier's table, and every label
comes from the contract's vocabularies. Problems are reported as `file:line: where: what`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from nlp.schema import SUPPORTED_LANGS, Category, Qualifier, VictimsType, qualifier_bounds


class GoldClaim(BaseModel):
    """One true claim; strings are exact substrings of the document's text."""

    model_config = ConfigDict(extra="forbid")

    figure_text: StrictStr = Field(min_length=1)
    figure_start: StrictInt = Field(ge=0)
    value: StrictInt | None
    qualifier: Qualifier
    low: StrictInt | None
    high: StrictInt | None
    category: Category
    victims_type: VictimsType
    victims_text: StrictStr | None = None
    actor: StrictStr | None = None
    source: StrictStr | None = None
    places: list[StrictStr] = Field(default_factory=list)
    time: StrictStr | None = None
    note: StrictStr | None = None

    @property
    def figure_end(self) -> int:
        return self.figure_start + len(self.figure_text)


class GoldDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: StrictStr = Field(min_length=1)
    lang: StrictStr
    text: StrictStr
    claims: list[GoldClaim]
    meta: dict[str, Any] | None = None


@dataclass
class GoldFile:
    path: Path
    documents: list[GoldDocument] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def claim_problems(doc: GoldDocument, claim: GoldClaim) -> list[str]:
    """What is wrong with one claim of `doc` (empty when nothing is)."""
    text = doc.text
    out: list[str] = []
    found = text[claim.figure_start : claim.figure_end]
    if found != claim.figure_text:
        near = text.find(claim.figure_text)
        hint = f"; it occurs at {near}" if near >= 0 else "; it does not occur in the text"
        out.append(f"figure_text {claim.figure_text!r} is not text[{claim.figure_start}:"
                   f"{claim.figure_end}] ({found!r}){hint}")
    if claim.qualifier == "vague":
        if claim.value is not None:
            out.append("a vague figure has value null")
        if claim.low is None or claim.high is None or claim.low > claim.high:
            out.append("a vague figure needs low <= high, both set")
    elif claim.value is None:
        out.append(f"value is null but qualifier is {claim.qualifier!r} (only vague has none)")
    elif claim.value <= 0:
        out.append(f"value {claim.value} is not a count")
    elif claim.qualifier == "range":
        if claim.low != claim.value or claim.high is None or claim.high <= claim.value:
            out.append("a range has low == value < high")
    else:
        want = qualifier_bounds(claim.qualifier, claim.value)
        if want is not None and (claim.low, claim.high) != want:
            out.append(f"qualifier {claim.qualifier!r} with value {claim.value} needs "
                       f"low={want[0]}, high={want[1]}, not low={claim.low}, high={claim.high}")
    for name in ("victims_text", "actor", "source", "time"):
        value = getattr(claim, name)
        if value is not None and (not value.strip() or value not in text):
            out.append(f"{name} {value!r} is not a substring of the text")
    for place in claim.places:
        if not place.strip() or place not in text:
            out.append(f"place {place!r} is not a substring of the text")
    return out


def document_problems(doc: GoldDocument) -> list[str]:
    out: list[str] = []
    if doc.lang not in SUPPORTED_LANGS:
        out.append(f"lang {doc.lang!r} is not one of {', '.join(SUPPORTED_LANGS)}")
    seen: set[tuple[int, str]] = set()
    for i, claim in enumerate(doc.claims):
        out.extend(f"claims[{i}]: {p}" for p in claim_problems(doc, claim))
        key = (claim.figure_start, claim.category)
        if key in seen:
            out.append(f"claims[{i}]: a second {claim.category!r} claim for the figure at "
                       f"{claim.figure_start}")
        seen.add(key)
    return out


def describe_error(exc: ValidationError) -> str:
    """The first problems pydantic found, `where: what`, for a person to read."""
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'record'}: {err['msg']}"
                     for err in exc.errors()[:3])


def iter_gold(path: Path) -> Iterator[tuple[int, GoldDocument | None, list[str]]]:
    """(line number, document or None, problems) for each non-blank line of `path`."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, [f"not valid JSON ({exc.msg}, column {exc.colno})"]
                continue
            try:
                doc = GoldDocument.model_validate(raw)
            except ValidationError as exc:
                yield number, None, [describe_error(exc)]
                continue
            yield number, doc, document_problems(doc)


def read_gold(path: Path) -> GoldFile:
    """Every document of a gold file and every problem found, `file:line: id: what`."""
    result = GoldFile(path)
    ids: dict[str, int] = {}
    for number, doc, problems in iter_gold(path):
        where = f"{path}:{number}"
        if doc is not None:
            where += f": {doc.id}"
            if doc.id in ids:
                problems = [*problems, f"duplicate id (first on line {ids[doc.id]})"]
            ids.setdefault(doc.id, number)
            result.documents.append(doc)
        result.problems.extend(f"{where}: {p}" for p in problems)
    return result
