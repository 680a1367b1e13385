"""Per-language spaCy pipelines, built from the config files in `nlp/configs/`.

Importing the component modules registers their factories; the configs then say which
components a language runs and with what settings. Pipelines are built lazily, once per
process and NER variant, on first use of a language.

Trained NER models are sourced from the models folder (`models/` beside the package, or
`$CLAIMS_MODELS`), which the configs reach through the `${paths.models}` variable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from thinc.api import Config, Model, NumpyOps

import nlp.claims
import nlp.confidence
import nlp.ner
import nlp.normalize
import nlp.numbers
import nlp.sentences  # noqa: F401  (these imports register the factories the configs name)
from nlp.attribute_rules import index_attribute_rulers
from nlp.ner.fill import NAME as ENTITY_FILL
from nlp.ner.retype import NAME as ENTITY_TYPES
from nlp.resources import language_data
from nlp.schema import SUPPORTED_LANGS

BACKENDS = ("spacy", "transformers")
# components fitted beside our NER and saved in its model folder, sourced from there with it
NER_COMPANIONS = (ENTITY_FILL, ENTITY_TYPES)
_BRACKET_EMOTICON = re.compile(r"[()\[\]]+[:;]+|[:;]+[()\[\]]+")
_DECIMAL = re.compile(r"^[0-9٠-٩۰-۹]+(?:[.,٫٬:/][0-9٠-٩۰-۹]+)+$")


@dataclass(frozen=True)
class NerOptions:
    """Which NER a pipeline runs. `model`: a spaCy model folder or package to source the
    `ner` component from (default: the config's choice); `backend="transformers"` with
    `model_path`: a local Hugging Face token-classification folder instead; `gazetteer`:
    whether gazetteer entities are merged in."""

    model: str | None = None
    backend: str = "spacy"
    model_path: str | None = None
    gazetteer: bool = True


def models_dir() -> Path:
    """Where shipped models live: `$CLAIMS_MODELS`, else `models/` of the source tree."""
    configured = os.environ.get("CLAIMS_MODELS")
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / "models"


def config_for(lang: str, ner: NerOptions | None = None, scorer: bool = True) -> Config:
    """The language's pipeline config; `scorer=False` leaves out the confidence model (to
    train it, or before it exists)."""
    if lang not in SUPPORTED_LANGS:
        raise ValueError(f"no pipeline for language {lang!r}; supported: {SUPPORTED_LANGS}")
    ner = ner or NerOptions()
    if ner.backend not in BACKENDS:
        raise ValueError(f"unknown NER backend {ner.backend!r}; choose one of {BACKENDS}")
    text = resources.files("nlp").joinpath(f"configs/{lang}.cfg").read_text("utf-8")
    config = Config().from_str(text, overrides={"paths.models": str(models_dir())})
    components = config["components"]
    if ner.backend == "transformers":
        if not ner.model_path:
            raise ValueError("the transformers NER backend needs model_path (a local folder)")
        components["ner"] = {"factory": "claims_transformers_ner", "model_path": ner.model_path}
        for name in NER_COMPANIONS:  # fitted beside our NER, not beside theirs
            _drop(config, name)
    elif ner.model:
        components["ner"] = {"source": ner.model}
        sourced = _sourced_pipeline(ner.model)
        for name in NER_COMPANIONS:  # they come from the same model, if it has them
            if name in components and name in sourced:
                components[name] = {"source": ner.model}
            else:
                _drop(config, name)
    if not ner.gazetteer:
        _drop(config, "claims_gazetteer")
    if not scorer:
        _drop(config, "claims_confidence")
    return config


def spacy_model_config(model: str) -> Path | None:
    """The config.cfg of a spaCy model folder or installed package; None if `model` is
    neither."""
    config = Path(model) / "config.cfg"
    if config.is_file():
        return config
    if spacy.util.is_package(model):  # its data sits in a folder named as spaCy's loader does
        package = spacy.util.get_package_path(model)
        meta = spacy.util.get_model_meta(package)
        return package / f"{meta['lang']}_{meta['name']}-{meta['version']}" / "config.cfg"
    return None


def _sourced_pipeline(model: str) -> list[str]:
    """The component names of a spaCy model (none if it is no model: sourcing its `ner`
    then fails with spaCy's own message)."""
    config = spacy_model_config(model)
    names: list[str] = [] if config is None else spacy.util.load_config(config)["nlp"]["pipeline"]
    return names


def _drop(config: Config, name: str) -> None:
    config["nlp"]["pipeline"] = [p for p in config["nlp"]["pipeline"] if p != name]
    config["components"].pop(name, None)


@cache
def get_pipeline(lang: str, ner: NerOptions | None = None, scorer: bool = True) -> Language:
    """The pipeline for `lang`, built on first use and kept for the life of the process."""
    config = config_for(lang, ner, scorer)
    model_source = config["components"]["ner"].get("source", "")
    if model_source.startswith(str(models_dir())) and not Path(model_source).is_dir():
        raise FileNotFoundError(
            f"NER model {model_source} is missing; train it with "
            f"`claims train ner --lang {lang}` (see README)")
    scorer_model = config["components"].get("claims_confidence", {}).get("model", "")
    if scorer_model and not Path(scorer_model).is_file():
        raise FileNotFoundError(
            f"confidence model {scorer_model} is missing; train it with "
            "`claims train confidence` (see README)")
    pipeline = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    pipeline.max_length = 2_000_000
    tokenizer: Tokenizer = pipeline.tokenizer
    if tokenizer.token_match is None:  # ۷.۹ and ١٢٫٥ stay one token, like 7.9
        tokenizer.token_match = _DECIMAL.match
    extra = language_data(lang, "normalization").get("tokenizer_suffixes", [])
    if extra:  # e.g. Arabic punctuation after a diacritic: شخصاً.
        suffixes = [*pipeline.Defaults.suffixes, *extra]  # type: ignore[misc]
        tokenizer.suffix_search = spacy.util.compile_suffix_regex(suffixes).search
    # spaCy keeps emoticons such as "):" whole; in news that is a bracket closing before a
    # colon: "هيئة الكوارث (آفاد): 1014 قتيلا", "(SOHR): 12 killed"
    rules = tokenizer.rules or {}
    kept = {text: tokens for text, tokens in rules.items()
            if not _BRACKET_EMOTICON.fullmatch(text)}
    if len(kept) < len(rules):
        tokenizer.rules = kept
    use_ops(pipeline, NumpyOps(use_blis=False))
    index_attribute_rulers(pipeline)  # en_core_web_sm's: same result, 3x as fast
    return pipeline


def use_ops(pipeline: Language, ops: NumpyOps) -> None:
    """Run spaCy's own models (en_core_web_sm's tok2vec, tagger and parser; the CNN NERs)
    on `ops`. Pipelines get `NumpyOps(use_blis=False)`: matrix products through numpy's
    OpenBLAS instead of thinc's default BLIS. Tags, parses and sentences are identical on all
    English corpus documents (tested), and the English tok2vec runs 3 times as fast (35.6 →
    11.9 µs a word on two cores, 17.2 on one)."""
    for _, component in pipeline.pipeline:
        model = getattr(component, "model", None)
        if isinstance(model, Model):
            for node in model.walk():
                node.ops = ops
