"""Document-level counts against a peer's hand coding (run by `make bench`).

../shared/benchmarks/casualties/isaf-pressreleases-test.jsonl: 724 ISAF press releases
(English), each hand-coded with the minimum number of people killed and captured. From our
claims we derive the same two numbers per document (category killed, and detained for
captured) and print how often they agree: exactly, on whether there is any (count > 0),
and the mean absolute error. A document's count is the largest lower bound among its claims
(releases restate a figure: "killed two insurgents ... the two insurgents were"), and, for
comparison, the sum over claims.

Known difference of definitions: the coders count "an insurgent" or "a leader" as 1, while
our claims need a number word (CLAIMS.md: "a child was killed" is no claim).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from nlp.extract import Extractor
from nlp.schema import Claim

FIELDS = {"min_killed": "killed", "min_captured": "detained"}


def count(claims: list[Claim], category: str, how: str) -> int:
    lows = [c.figure.low or c.figure.value or 0 for c in claims if c.category == category]
    if not lows:
        return 0
    return max(lows) if how == "max" else sum(lows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=Path(
        "../shared/benchmarks/casualties/isaf-pressreleases-test.jsonl"))
    parser.add_argument("--limit", type=int, default=0, help="first N documents only")
    args = parser.parse_args()
    console = Console()
    if not args.file.is_file():
        console.print(f"ISAF benchmark skipped: {args.file} not found")
        return
    rows = [json.loads(line) for line in args.file.open(encoding="utf-8") if line.strip()]
    if args.limit:
        rows = rows[: args.limit]
    extractor = Extractor()
    results = list(extractor.pipe({"id": r["id"], "text": r["text"], "lang": "en"} for r in rows))
    table = Table(title=f"ISAF press releases: document-level counts ({len(rows)} documents)")
    for column in ("gold field", "our claims", "aggregate", "exact", "any > 0 agrees",
                   "gold > 0: exact", "gold = 0: we say 0", "MAE"):
        table.add_column(column, justify="left" if column in ("gold field", "our claims",
                                                              "aggregate") else "right")
    for field, category in FIELDS.items():
        for how in ("max", "sum"):
            ours = [count(res.claims, category, how) for res in results]
            gold = [int(r[field]) for r in rows]
            pairs = list(zip(gold, ours, strict=True))
            positive = [(g, o) for g, o in pairs if g > 0]
            zero = [(g, o) for g, o in pairs if g == 0]
            table.add_row(
                field, category, how,
                f"{sum(g == o for g, o in pairs) / len(pairs):.1%}",
                f"{sum((g > 0) == (o > 0) for g, o in pairs) / len(pairs):.1%}",
                f"{sum(g == o for g, o in positive) / max(1, len(positive)):.1%} ({len(positive)})",
                f"{sum(o == 0 for _, o in zero) / max(1, len(zero)):.1%} ({len(zero)})",
                f"{sum(abs(g - o) for g, o in pairs) / len(pairs):.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
