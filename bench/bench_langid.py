"""Language-routing benchmark over ../shared/benchmarks/langid (run by `make bench`)."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from nlp.langid import UND, LanguageRouter

TARGETS = ("en", "ar", "tr", "fa")
OTHERS = ("ur", "ps", "ckb", "ku", "az", "de", "fr")
KINDS = ("sentences", "wordpairs", "words")
# Done-when thresholds of issue 2: share of items routed right.
GOALS = {"sentences": 0.995, "wordpairs": 0.97, "words": 0.90, "und": 0.95}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("../shared/benchmarks/langid"))
    args = parser.parse_args()
    console = Console()
    if not args.root.is_dir():
        console.print(f"[yellow]skipped: {args.root} not found[/]")
        return
    router = LanguageRouter()
    table = Table(title="Language routing (claims detect) on shared/benchmarks/langid")
    for col in ("language", "kind", "items", "expected", "correct", "goal", "top confusions"):
        table.add_column(col)
    started, n_items = time.perf_counter(), 0
    for lang in TARGETS + OTHERS:
        for kind in KINDS:
            path = args.root / f"{lang}-{kind}.txt"
            if not path.exists() or (lang in OTHERS and kind != "sentences"):
                continue
            lines = [ln.strip() for ln in path.read_text("utf-8").splitlines() if ln.strip()]
            got = Counter(d.lang for d in router.detect_many(lines))
            n_items += len(lines)
            expected = lang if lang in TARGETS else UND
            share = got[expected] / len(lines)
            goal = GOALS[kind] if lang in TARGETS else GOALS["und"]
            mark = "[green]" if share >= goal else "[red]"
            confusions = ", ".join(f"{k} {v}" for k, v in got.most_common() if k != expected)
            table.add_row(lang, kind, str(len(lines)), expected, f"{mark}{share:.1%}[/]",
                          f"≥ {goal:.1%}", confusions[:40])
    console.print(table)
    elapsed = time.perf_counter() - started
    console.print(f"{n_items} items in {elapsed:.1f} s ({n_items / elapsed:.0f} items/s)")


if __name__ == "__main__":
    main()
