"""The `claims` command line.

Exit status: 0 when every document succeeded, 1 when some became error records (which
are written all the same), 2 for usage errors. No Python traceback reaches the user.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nlp.batch import (
    UsageError,
    count_documents,
    expand_inputs,
    prepare_resume,
    read_inputs,
    skip_done,
)
from nlp.extract import BATCH_SIZE
from nlp.pipeline import NerOptions, spacy_model_config

if TYPE_CHECKING:
    from nlp.extract import Extractor, Incoming
    from nlp.schema import Result

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
stderr = Console(stderr=True, highlight=False)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claims", description="Casualty claims from news text (en, ar, tr, fa).")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ex = sub.add_parser("extract", help="extract claims from documents (JSON Lines out)",
                        description="Inputs: .jsonl files ({id, text, lang?, meta?} per line), "
                        ".txt files (one article each, id = file name), directories of them, "
                        "or - for standard input.")
    ex.add_argument("inputs", nargs="+", metavar="INPUT")
    ex.add_argument("-o", "--output", type=Path, help="output file (default: standard output)")
    ex.add_argument("--jobs", "-j", type=_positive, default=1, help="worker processes")
    ex.add_argument("--batch-size", type=_positive, default=BATCH_SIZE,
                    help=f"documents per batch (default {BATCH_SIZE})")
    ex.add_argument("--resume", action="store_true",
                    help="skip ids already in the output file and append the rest")
    ex.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary")
    ex.add_argument("--min-confidence", type=_probability, default=0.0, metavar="X",
                    help="keep only claims with confidence >= X (0..1; default: all)")
    ex.add_argument("--engine", choices=["local", "dask"], default="local",
                    help="local: --jobs processes on this machine (default); dask: a Dask "
                    "cluster (--scheduler, or a local one of --jobs processes)")
    ex.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                    help="with --engine dask: the scheduler of an existing cluster")
    ex.add_argument("--partitions-dir", type=Path, metavar="DIR",
                    help="with --engine dask: one part-N.jsonl per partition in DIR "
                    "(default: OUTPUT.parts beside -o OUTPUT; none when writing to stdout)")
    ex.add_argument("--partition-size", type=_positive, default=256, metavar="N",
                    help="with --engine dask: documents per partition, rounded up to whole "
                    "batches (default: 256)")
    _ner_options(ex)
    ex.set_defaults(run=cmd_extract)

    det = sub.add_parser("detect", help="detect each document's language: {id, lang, lang_score}")
    det.add_argument("inputs", nargs="+", metavar="INPUT")
    det.add_argument("-o", "--output", type=Path)
    det.set_defaults(run=cmd_detect)

    fig = sub.add_parser("figures", help="the figures of each input line, as JSON lines",
                         description="Each input line is a JSON record with 'text' (and "
                         "optionally 'id'), or plain text. One output line per input line.")
    fig.add_argument("input", nargs="?", default="-", metavar="FILE|-")
    fig.add_argument("--lang", required=True, choices=["en", "ar", "tr", "fa"])
    fig.set_defaults(run=cmd_figures)

    sch = sub.add_parser("schema", help="print the JSON Schema of input and output records")
    sch.set_defaults(run=cmd_schema)

    show = sub.add_parser("show", help="print the claims of an extract output as a table")
    show.add_argument("results", type=Path, help="output of `claims extract`")
    show.set_defaults(run=cmd_show)

    train = sub.add_parser("train", help="train a model from ../shared data")
    train_sub = train.add_subparsers(dest="what", required=True, metavar="WHAT")
    tner = train_sub.add_parser(
        "ner", help="train models/ner-LANG (spaCy NER, CPU, best epoch on dev)",
        description="Trains from SHARED/training/ner/LANG-{train,dev}.conll with "
        "nlp/configs/ner/train.cfg and the choices in nlp/configs/ner/languages.json, keeps "
        "the dev-best checkpoint in models/ner-LANG, scores it on dev and test, writes its card.")
    tner.add_argument("--lang", required=True, choices=["ar", "tr", "fa", "en"])
    tner.add_argument("--shared", type=Path, default=Path("../shared"),
                      help="the shared data folder (default: ../shared)")
    tner.add_argument("--output", type=Path, help="model folder (default: models/ner-LANG)")
    tner.add_argument("--seed", type=int, default=0)
    tner.add_argument("--set", dest="overrides", action="append", default=[],
                      metavar="KEY=VALUE", help="config override, e.g. training.max_epochs=5")
    tner.set_defaults(run=cmd_train_ner)

    tconf = train_sub.add_parser(
        "confidence", help="train models/confidence (calibrated claim confidence)",
        description="Fits the claim confidence model on the claims the pipeline proposes for "
        "the TRAIN and HELD_OUT gold files, calibrates it (Platt) on out-of-fold scores of "
        "HELD_OUT "
        "(claims the rules were not tuned on) and writes model.json and its card.")
    tconf.add_argument("--train", type=Path, nargs="+", metavar="GOLD",
                       default=sorted(Path("corpora").glob("*/dev.jsonl")),
                       help="gold files (default: corpora/*/dev.jsonl)")
    tconf.add_argument("--held-out", type=Path, nargs="+", metavar="GOLD",
                       default=sorted(Path("corpora").glob("*/calib.jsonl")),
                       help="gold files the calibration is fitted on "
                       "(default: corpora/*/calib.jsonl)")
    tconf.add_argument("--output", type=Path, help="model folder (default: models/confidence)")
    tconf.add_argument("-C", dest="c", type=float, default=1.0,
                       help="inverse regularisation strength (default: 1.0)")
    tconf.add_argument("--train-weight", type=float, default=0.3,
                       help="weight of the --train claims against held-out ones (default: 0.3; "
                       "chosen by nested cross-validation on the calib splits)")
    tconf.set_defaults(run=cmd_train_confidence)

    ev = sub.add_parser("eval-ner", help="NER precision/recall/F1 on a CoNLL file",
                        description="Runs our NER (model + gazetteer) on the file's tokens and "
                        "prints strict/exact/partial/type scores, per label and micro-averaged.")
    ev.add_argument("conll", type=Path, metavar="FILE.conll")
    ev.add_argument("--lang", required=True, choices=["en", "ar", "tr", "fa"])
    ev.add_argument("--json", action="store_true", help="print the scores as JSON")
    ev.add_argument("--no-gazetteer", action="store_true", help="the model alone")
    ev.add_argument("--errors", type=Path, help="write the sentences with errors (JSON Lines)")
    _ner_options(ev)
    ev.set_defaults(run=cmd_eval_ner)

    cev = sub.add_parser("eval", help="claim precision/recall/F1 against gold files",
                         description="Runs the pipeline on the gold documents (or reads "
                         "--pred) and scores claims as CLAIMS.md says: per language and "
                         "overall claim P/R/F1, figure-only F1, field accuracy on matched "
                         "claims, category confusion, calibration error, and the missed and "
                         "spurious claims with their sentences.")
    cev.add_argument("gold", nargs="*", type=Path, metavar="GOLD.jsonl")
    cev.add_argument("--review-db", metavar="URL",
                     help="also print agreement between annotators and between the model "
                     "and annotators in this review database (see `claims review`)")
    cev.add_argument("--pred", type=Path, metavar="PRED.jsonl",
                     help="predictions (output of `claims extract`) instead of running")
    cev.add_argument("--json", action="store_true", help="print the scores as JSON")
    cev.add_argument("--report", type=Path, metavar="FILE.md",
                     help="write a Markdown report (with the plots, given --plot)")
    cev.add_argument("--plot", type=Path, metavar="DIR",
                     help="write a reliability diagram and F1 bars (PNG) into DIR")
    cev.add_argument("--max-errors", type=int, default=40, metavar="N",
                     help="missed/spurious claims to print (all go to --report)")
    _ner_options(cev)
    cev.set_defaults(run=cmd_eval)

    val = sub.add_parser("validate", help="check gold files (CLAIMS.md gold format)",
                         description="Checks every line: JSON, fields and vocabularies, "
                         "figure offsets, bounds against the qualifier, substrings, ids.")
    val.add_argument("files", nargs="+", type=Path, metavar="FILE")
    val.set_defaults(run=cmd_validate)

    from nlp.review.cli import add_commands

    add_commands(sub, _ner_options)
    return parser


def _ner_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ner-model", metavar="PATH|PACKAGE",
                        help="spaCy NER model to use instead of the shipped one; with "
                        "--ner-backend transformers, a local Hugging Face model folder")
    parser.add_argument("--ner-backend", choices=["spacy", "transformers"], default="spacy")


def _ner_choice(args: argparse.Namespace, gazetteer: bool = True) -> NerOptions | None:
    if args.ner_backend == "transformers":
        if not args.ner_model:
            raise UsageError("--ner-backend transformers needs --ner-model DIR")
        if not Path(args.ner_model).is_dir():
            raise UsageError(f"--ner-model: no such folder: {args.ner_model}")
        return NerOptions(backend="transformers", model_path=args.ner_model,
                          gazetteer=gazetteer)
    if args.ner_model and spacy_model_config(args.ner_model) is None:
        raise UsageError(f"--ner-model: {args.ner_model} is neither a spaCy model folder "
                         "(with a config.cfg) nor an installed spaCy package")
    if args.ner_model or not gazetteer:
        return NerOptions(model=args.ner_model, gazetteer=gazetteer)
    return None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _probability(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return number


def _version() -> str:
    from nlp import __version__

    return f"claims {__version__}"


# -- extract ---------------------------------------------------------------------------------
def cmd_extract(args: argparse.Namespace) -> int:
    from nlp.extract import EngineError, Extractor

    files = expand_inputs(args.inputs)
    if args.resume and args.output is None:
        raise UsageError("--resume needs -o FILE: it continues that file")
    if args.engine != "dask" and (args.scheduler or args.partitions_dir):
        raise UsageError("--scheduler and --partitions-dir need --engine dask")
    done: set[str] = set()
    if args.resume:
        state = prepare_resume(args.output)
        done = state.done
        if not args.quiet and (done or state.truncated_bytes):
            stderr.print(f"resuming: {len(done)} documents already in {args.output}"
                         + (f", cut a half-written last line ({state.truncated_bytes} bytes)"
                            if state.truncated_bytes else ""))
    items = skip_done(read_inputs(files), done)
    show_progress = not args.quiet and sys.stderr.isatty()
    total = count_documents(files) if show_progress else None
    stats: Counter[str] = Counter()
    by_lang: Counter[str] = Counter()
    started = time.perf_counter()
    with ExitStack() as stack:
        out = _open_output(stack, args.output, append=args.resume)
        progress = _progress(stack, show_progress)
        task = progress.add_task("extracting", total=total) if progress else None
        extractor = Extractor(ner=_ner_choice(args), min_confidence=args.min_confidence)
        stack.enter_context(_warnings_to_stderr())
        results = stack.enter_context(closing(_results(args, extractor, items)))
        try:
            for result in results:
                out.write(result.to_json() + "\n")
                out.flush()
                stats["documents"] += 1
                stats["claims"] += len(result.claims)
                stats["errors"] += result.error is not None
                by_lang[result.lang] += 1
                if progress is not None and task is not None:
                    progress.advance(task)
        except EngineError as exc:
            stderr.print(f"claims extract: stopped after {stats['documents']} documents: {exc}",
                         markup=False)
            return EXIT_SOME_FAILED
    elapsed = time.perf_counter() - started
    if not args.quiet:
        _summary(stats, by_lang, elapsed, skipped=len(done))
    return EXIT_SOME_FAILED if stats["errors"] else EXIT_OK


def _results(args: argparse.Namespace, extractor: Extractor, items: Iterable[Incoming]
             ) -> Generator[Result, None, None]:
    """The results of the engine `--engine` names, in input order."""
    if args.engine == "local":
        return extractor.pipe(items, n_process=args.jobs, batch_size=args.batch_size)
    from nlp.distributed import pipe_dask, prepare_partitions

    parts: Path | None = args.partitions_dir
    if parts is None and args.output is not None:
        parts = args.output.with_name(args.output.name + ".parts")
    first = prepare_partitions(parts, args.resume) if parts is not None else 0
    return pipe_dask(items, extractor, scheduler=args.scheduler, n_workers=args.jobs,
                     batch_size=args.batch_size, partition_size=args.partition_size,
                     partitions_dir=parts, first_partition=first)


@contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Warnings of the engines (a worker that died, a partition retried) on stderr, even
    with --quiet: they say why a document became an error record."""

    class ToStderr(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            stderr.print(f"claims extract: {record.getMessage()}", markup=False,
                         soft_wrap=True)

    handler = ToStderr(logging.WARNING)
    logger = logging.getLogger("nlp")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _open_output(stack: ExitStack, path: Path | None, append: bool) -> IO[str]:
    if path is None:
        return sys.stdout
    try:
        return stack.enter_context(open(path, "a" if append else "w", encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror}") from None


def _progress(stack: ExitStack, enabled: bool) -> Progress | None:
    if not enabled:
        return None
    return stack.enter_context(Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=stderr, transient=True))


def _summary(stats: Counter[str], by_lang: Counter[str], elapsed: float, skipped: int) -> None:
    table = Table(title="claims extract", show_header=True)
    for col in ("documents", "claims", "errors", "per language", "seconds", "documents/s"):
        table.add_column(col)
    rate = stats["documents"] / elapsed if elapsed > 0 else 0.0
    langs = ", ".join(f"{k} {v}" for k, v in sorted(by_lang.items())) or "-"
    table.add_row(str(stats["documents"]), str(stats["claims"]), str(stats["errors"]), langs,
                  f"{elapsed:.1f}", f"{rate:.1f}")
    stderr.print(table)
    if skipped:
        stderr.print(f"({skipped} documents skipped: already in the output)")


# -- detect ----------------------------------------------------------------------------------
def cmd_detect(args: argparse.Namespace) -> int:
    from nlp.extract import Extractor, batched
    from nlp.schema import Result

    files = expand_inputs(args.inputs)
    extractor = Extractor()
    failed = 0
    with ExitStack() as stack:
        out = _open_output(stack, args.output, append=False)
        for batch in batched(read_inputs(files), 256):
            for item in extractor.preprocess(batch):
                row: dict[str, Any]
                if isinstance(item, Result):  # the document could not be read
                    failed += 1
                    row = {"id": item.id, "lang": "und", "lang_score": 0.0, "error": item.error}
                else:
                    row = {"id": item.id, "lang": item.lang, "lang_score": item.lang_score}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
    return EXIT_SOME_FAILED if failed else EXIT_OK


# -- figures ---------------------------------------------------------------------------------
def cmd_figures(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from nlp.numbers import find_figures

    if args.input != "-" and not Path(args.input).is_file():
        raise UsageError(f"{args.input}: no such file")
    failed = 0
    with ExitStack() as stack:
        stream = sys.stdin if args.input == "-" else stack.enter_context(
            open(args.input, encoding="utf-8", errors="replace"))
        for number, line in enumerate(stream, start=1):
            line = line.rstrip("\r\n")
            row: dict[str, Any] = {"line": number}
            text: Any = line
            if line.lstrip().startswith("{"):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    record = {"text": None, "error": f"not valid JSON: {exc.msg}"}
                text = record.get("text") if isinstance(record, dict) else None
                if isinstance(record, dict) and "id" in record:
                    row["id"] = record["id"]
            if isinstance(text, str):
                row["figures"] = [asdict(f) for f in find_figures(text, args.lang)]
            else:
                failed += 1
                row["error"] = "expected plain text or a JSON object with a string 'text'"
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    return EXIT_SOME_FAILED if failed else EXIT_OK


# -- schema, show ----------------------------------------------------------------------------
def cmd_schema(args: argparse.Namespace) -> int:
    from nlp.schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from nlp.schema import Result

    if not args.results.is_file():
        raise UsageError(f"{args.results}: no such file")
    console = Console()
    table = Table(title=f"Claims in {args.results}", show_lines=False)
    for col in ("id", "lang", "figure", "value", "qualifier", "category", "victims", "source",
                "places", "conf."):
        table.add_column(col, overflow="fold", no_wrap=col in ("lang", "qualifier", "category"))
    errors = []
    with open(args.results, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                result = Result.model_validate_json(line)
            except ValueError:
                raise UsageError(f"{args.results} line {number}: not a claims result") from None
            if result.error:
                errors.append(f"{result.id}: {result.error}")
            if not result.claims:
                table.add_row(result.id, result.lang, "-", "", "", "", "", "", "", "")
            for claim in result.claims:
                v = claim.victims
                table.add_row(
                    result.id, result.lang, claim.figure.text, str(claim.figure.value),
                    claim.figure.qualifier, claim.category,
                    f"{v.text} ({v.type})" if v else "-",
                    claim.source.text if claim.source else "-",
                    ", ".join(p.text for p in claim.places) or "-", f"{claim.confidence:.2f}")
    console.print(table)
    for message in errors:
        console.print(f"[red]error[/] {message}")
    return EXIT_OK


# -- train, eval-ner ------------------------------------------------------------------------
def cmd_train_ner(args: argparse.Namespace) -> int:
    from nlp.ner.train import train_ner
    from nlp.pipeline import models_dir

    overrides: dict[str, Any] = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set needs KEY=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    if not (args.shared / "training" / "ner").is_dir():
        raise UsageError(f"no training data in {args.shared}/training/ner (see --shared)")
    output = args.output or models_dir() / f"ner-{args.lang}"
    run = train_ner(args.lang, args.shared, output, seed=args.seed, overrides=overrides)
    stderr.print(f"saved {output} ({run.seconds / 60:.1f} min); card: {output / 'README.md'}")
    for split, scores in run.scores.items():
        stderr.print(f"{split}: P {scores['precision']:.3f} R {scores['recall']:.3f} "
                     f"F1 {scores['f1']:.3f}")
    return EXIT_OK


def cmd_train_confidence(args: argparse.Namespace) -> int:
    from nlp.confidence import train_confidence
    from nlp.pipeline import models_dir

    for path in [*args.train, *args.held_out]:
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
    if not args.train or not args.held_out:
        raise UsageError("need --train and --held-out gold files (none found in corpora/)")
    output = args.output or models_dir() / "confidence"
    try:
        model = train_confidence(args.train, args.held_out, output, c=args.c,
                                 train_weight=args.train_weight)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    stderr.print(f"saved {output / 'model.json'}; card: {output / 'README.md'}")
    for lang, r in model.info["held_out_out_of_fold"].items():
        stderr.print(f"held-out {lang}: {r['claims']} claims, precision {r['precision']:.3f}, "
                     f"ECE {r['ece']:.3f}, Brier {r['brier']:.3f}")
    return EXIT_OK


def cmd_eval_ner(args: argparse.Namespace) -> int:
    from nlp.evaluate.ner import evaluate_file, format_table
    from nlp.ner.conll import ConllError
    from nlp.pipeline import get_pipeline

    if not args.conll.is_file():
        raise UsageError(f"no such file: {args.conll}")
    try:
        pipeline = get_pipeline(args.lang, _ner_choice(args, gazetteer=not args.no_gazetteer))
        scores = evaluate_file(pipeline, args.conll)
    except (ConllError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    if args.errors:
        with args.errors.open("w", encoding="utf-8") as out:
            for error in scores.errors:
                out.write(json.dumps(error, ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(scores.summary(), indent=2))
    else:
        print(format_table(scores))
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from nlp.evaluate.claims import FIELDS, calibrated_text, evaluate, format_markdown
    from nlp.extract import Extractor
    from nlp.gold import read_gold
    from nlp.schema import Result

    if args.review_db:
        from nlp.review.cli import print_agreement

        print_agreement(args.review_db, as_json=args.json and not args.gold)
        if not args.gold:
            return EXIT_OK
    elif not args.gold:
        raise UsageError("give gold files to score (or --review-db URL)")
    documents = []
    for path in args.gold:
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
        gold = read_gold(path)
        if gold.problems:
            shown = "\n  ".join(gold.problems[:10])
            raise UsageError(f"{path} is not a valid gold file (`claims validate` lists all "
                             f"{len(gold.problems)} problems):\n  {shown}")
        documents.extend(gold.documents)
    if args.pred:
        if not args.pred.is_file():
            raise UsageError(f"no such file: {args.pred}")
        by_id: dict[str, Result] = {}
        for number, line in enumerate(args.pred.open(encoding="utf-8"), 1):
            if line.strip():
                try:
                    result = Result.model_validate_json(line)
                except ValueError as exc:
                    raise UsageError(f"{args.pred}:{number}: not a result record: "
                                     f"{str(exc).splitlines()[0]}") from None
                by_id[result.id] = result
        absent = [d.id for d in documents if d.id not in by_id]
        if absent:
            stderr.print(f"{len(absent)} gold document(s) have no prediction (scored as no "
                         f"claims): {', '.join(absent[:5])}")
        results = [by_id.get(d.id) or Result(id=d.id) for d in documents]
    else:
        extractor = Extractor(ner=_ner_choice(args))
        records = [{"id": d.id, "text": d.text, "lang": d.lang} for d in documents]
        results = list(extractor.pipe(records))
    scores = evaluate(zip(documents, results, strict=True))
    summary = scores.summary()
    images: list[str] = []
    if args.plot:
        from nlp.evaluate.plots import write_plots

        try:
            written = write_plots(summary, args.plot)
        except OSError as exc:
            raise UsageError(f"{args.plot}: cannot write the plots: {exc.strerror}") from None
        base = args.report.resolve().parent if args.report else Path.cwd()
        images = [os.path.relpath(p.resolve(), base) for p in written]
        stderr.print(f"plots: {', '.join(str(p) for p in written)}")
    if args.report:
        report = format_markdown(scores, images=images, summary=summary)
        args.report.write_text(report, encoding="utf-8")
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return EXIT_OK
    console = Console(highlight=False)
    table = Table(title="Claims (CLAIMS.md matching)")
    for column in ("", "docs", "gold", "P", "R", "F1", "figure F1", "ECE"):
        table.add_column(column, justify="left" if not column else "right")
    fields = Table(title="Field accuracy on matched claims")
    for column in ("", *FIELDS):
        fields.add_column(column, justify="left" if not column else "right")
    for name, s in summary.items():
        c = s["claims"]
        table.add_row(name, str(s["documents"]), str(s["gold_claims"]), f"{c['precision']:.3f}",
                      f"{c['recall']:.3f}", f"{c['f1']:.3f}", f"{s['figures']['f1']:.3f}",
                      f"{s['ece']:.3f}")
        fields.add_row(name, *("–" if s["fields"][f] is None else f"{s['fields'][f]:.3f}"
                               for f in FIELDS))
    console.print(table)
    console.print("ECE from sampling alone (a perfectly calibrated scorer on these confidences, "
                  "mean (95th percentile)): "
                  + ", ".join(f"{name} {calibrated_text(s)}" for name, s in summary.items()))
    console.print(fields)
    confusion = Table(title="Category confusion, all languages (gold → predicted; — = none)")
    confusion.add_column("gold → predicted")
    confusion.add_column("n", justify="right")
    for pair, n in summary["all"]["confusion"].items():
        confusion.add_row(pair, str(n))
    console.print(confusion)
    errors = scores.errors()
    for err in errors[: args.max_errors]:
        console.print(f"{err['kind'].upper()} {err['id']} {err['figure']!r} "
                      f"{err['category']}: {err['sentence']}", markup=False)
    if len(errors) > args.max_errors:
        console.print(f"… {len(errors) - args.max_errors} more (--report FILE lists all)")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from nlp.gold import read_gold

    failed = False
    for path in args.files:
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
        gold = read_gold(path)
        for problem in gold.problems:
            print(problem)
        claims = sum(len(d.claims) for d in gold.documents)
        status = f"{len(gold.problems)} problem(s)" if gold.problems else "ok"
        stderr.print(f"{path}: {len(gold.documents)} documents, {claims} claims: {status}")
        failed = failed or bool(gold.problems)
    return EXIT_SOME_FAILED if failed else EXIT_OK


# -- entry point -----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except UsageError as exc:
        stderr.print(f"claims {args.command}: error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        stderr.print("interrupted")
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`): nothing left to say
        return EXIT_OK
    except Exception as exc:  # a bug: say so plainly, without a traceback
        stderr.print(f"claims {args.command}: internal error: {type(exc).__name__}: {exc}\n"
                     "Please report this with the input that caused it.")
        return EXIT_SOME_FAILED


if __name__ == "__main__":
    sys.exit(main())
