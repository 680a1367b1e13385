"""`claims review` (import and serve) and `claims export`, registered by nlp.cli."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from nlp.batch import UsageError, expand_inputs

TOKEN_ENV = "CLAIMS_REVIEW_TOKEN"
DB_ENV = "CLAIMS_REVIEW_DB"
stderr = Console(stderr=True, highlight=False)


def add_commands(sub: Any, ner_options: Any) -> None:
    from nlp.review.export import FORMATS
    from nlp.review.store import DEFAULT_URL

    db_help = f"database URL (default: ${DB_ENV} or {DEFAULT_URL}; postgresql://… for a team)"
    rev = sub.add_parser(
        "review", help="web app where annotators correct extractions",
        description="Imports INPUT files (JSON Lines; documents without 'claims' go through "
        "the pipeline first) into the review database, then serves the app.")
    rev.add_argument("inputs", nargs="*", metavar="INPUT")
    rev.add_argument("--db", default=None, metavar="URL", help=db_help)
    rev.add_argument("--host", default="127.0.0.1",
                     help="address to bind (default 127.0.0.1; any other needs a token)")
    rev.add_argument("--port", type=int, default=8000)
    rev.add_argument("--token", default=None,
                     help=f"access token every request must carry (or ${TOKEN_ENV})")
    rev.add_argument("--no-serve", action="store_true", help="import, then exit")
    ner_options(rev)
    rev.set_defaults(run=cmd_review)

    exp = sub.add_parser("export", help="reviewed documents out of the review database",
                         description="gold: CLAIMS.md gold format (for claims eval / train); "
                         "label-studio: tasks with predictions and annotations; prodigy: "
                         "JSONL with character spans. Finished documents only, unless --all.")
    exp.add_argument("--db", default=None, metavar="URL", help=db_help)
    exp.add_argument("--format", required=True, choices=FORMATS)
    exp.add_argument("-o", "--output", type=Path, help="output file (default: standard output)")
    exp.add_argument("--all", action="store_true", help="also documents not marked done")
    exp.set_defaults(run=cmd_export)


def database_url(given: str | None) -> str:
    from nlp.review.store import DEFAULT_URL

    return given or os.environ.get(DB_ENV) or DEFAULT_URL


def open_store(url: str | None) -> Any:
    from nlp.review.store import ReviewError, Store

    try:
        return Store(database_url(url))
    except ReviewError as exc:
        raise UsageError(str(exc)) from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_review(args: argparse.Namespace) -> int:
    from nlp.cli import _ner_choice
    from nlp.extract import Extractor
    from nlp.review.importer import import_files

    token = args.token or os.environ.get(TOKEN_ENV) or None
    loopback = is_loopback(args.host)
    if not loopback and not token:
        raise UsageError(f"refusing to serve on {args.host} without a token: anyone who can "
                         f"reach it could read and change the data. Pass --token or set "
                         f"{TOKEN_ENV}.")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a port number")
    files = expand_inputs(args.inputs) if args.inputs else []
    store = open_store(args.db)
    failed = False
    if files:
        report = import_files(store, files, Extractor(ner=_ner_choice(args)))
        stderr.print(f"imported {len(report.added)} documents, {len(report.skipped)} already "
                     f"there, {len(report.errors)} refused")
        for error in report.errors[:20]:
            stderr.print(f"  {error}", markup=False)
        failed = bool(report.errors)
    if args.no_serve:
        return 1 if failed else 0
    serve(store, args.host, args.port, token, loopback)
    return 0


def serve(store: Any, host: str, port: int, token: str | None, loopback: bool) -> None:
    import uvicorn

    from nlp.review.app import LOOPBACK_HOSTS, create_app

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    app = create_app(store, token=token, allowed_hosts=LOOPBACK_HOSTS if loopback else None)
    shown = f"[{host}]" if ":" in host else host
    stderr.print(f"claims review: http://{shown}:{port}/"
                 + ("?token=…  (the token you gave)" if token else ""), markup=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def cmd_export(args: argparse.Namespace) -> int:
    from nlp.review.export import export

    store = open_store(args.db)
    written = 0
    with ExitStack() as stack:
        out: IO[str] = sys.stdout
        if args.output:
            try:
                out = stack.enter_context(open(args.output, "w", encoding="utf-8"))
            except OSError as exc:
                raise UsageError(f"{args.output}: cannot write: {exc.strerror}") from None
        for record in export(store, args.format, include_unfinished=args.all):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    stderr.print(f"exported {written} documents ({args.format})")
    return 0


def print_agreement(url: str | None, as_json: bool = False) -> None:
    """The agreement tables of a review database (for `claims eval --review-db`)."""
    from nlp.evaluate.claims import FIELDS as fields
    from nlp.review.agreement import agreement

    found = agreement(open_store(url))
    if as_json:
        print(json.dumps({"agreement": found}, indent=2, ensure_ascii=False))
        return
    console = Console(highlight=False)
    table = Table(title="Agreement in the review database: the model against annotators, "
                  f"and annotators against each other ({', '.join(found['annotators'])})")
    for column in ("", "docs", "P", "R", "F1", *fields):
        table.add_column(column, justify="left" if not column else "right")
    for name, key in (("model", "model_vs_annotators"), ("annotators", "between_annotators")):
        part = found[key]
        if not part["documents"]:
            table.add_row(name, "0", *["–"] * (3 + len(fields)))
            continue
        c = part["claims"]
        table.add_row(name, str(part["documents"]),
                      *(f"{c[k]:.3f}" for k in ("precision", "recall", "f1")),
                      *("–" if part["fields"][f] is None else f"{part['fields'][f]:.3f}"
                        for f in fields))
    console.print(table)
