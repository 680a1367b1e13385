"""Shared fixtures. Tests that need ../shared skip where it is absent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from nlp.extract import Extractor

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# Size of the big tests: 1 keeps CI short; CLAIMS_SCALE=25 gives the sizes issue 8 names
# (10,000 documents with 500 broken lines, a 5 MB article).
SCALE = float(os.environ.get("CLAIMS_SCALE", "1"))


def scaled(n: int) -> int:
    return max(1, round(n * SCALE))


def needs_shared(sub: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not (SHARED / sub).exists(),
                              reason=f"../shared/{sub} is not here")


@pytest.fixture(scope="session")
def extractor() -> Extractor:
    return Extractor()


def write_jsonl(path: Path, records: Iterable[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def run_claims(*args: str, stdin: str | None = None, timeout: int = 300
               ) -> subprocess.CompletedProcess[str]:
    """The installed command line, as a user runs it."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "nlp.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


# NER training overrides small enough for a test to train a model in seconds.
TINY = {"components.ner.model.tok2vec.encode.width": 16,
        "components.ner.model.tok2vec.encode.depth": 1,
        "components.ner.model.hidden_width": 16,
        "components.ner.model.tok2vec.embed.rows": [200, 50, 50, 20],
        "training.max_epochs": 1, "training.eval_frequency": 10}


def write_ner_training(tmp_path: Path, lang: str,
                       sentences: list[list[tuple[str, str]]]) -> Path:
    """A made-up `shared/training/ner` with the same six-fold sentences as train and dev."""
    ner = tmp_path / "shared" / "training" / "ner"
    ner.mkdir(parents=True)
    conll = "\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences * 6) + "\n"
    for split in ("train", "dev"):
        (ner / f"{lang}-{split}.conll").write_text(conll, encoding="utf-8")
    return tmp_path / "shared"
