"""Per-language spaCy pipelines, built from the config files in `nlp/configs/`.

Importing the component modules registers their factories; the configs then say which
components a language runs and with what settings. Pipelines are built lazily, once per
process, on first use of a language.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import spacy
from spacy.language import Language
from thinc.api import Config

import nlp.claims
import nlp.ner
import nlp.normalize
import nlp.numbers  # noqa: F401  (registers the factories the configs name)
from nlp.schema import SUPPORTED_LANGS


def config_for(lang: str) -> Config:
    if lang not in SUPPORTED_LANGS:
        raise ValueError(f"no pipeline for language {lang!r}; supported: {SUPPORTED_LANGS}")
    text = resources.files("nlp").joinpath(f"configs/{lang}.cfg").read_text("utf-8")
    return Config().from_str(text)


@cache
def get_pipeline(lang: str) -> Language:
    """The pipeline for `lang`, built on first use and kept for the life of the process."""
    pipeline = spacy.util.load_model_from_config(config_for(lang), auto_fill=True, validate=True)
    pipeline.max_length = 2_000_000
    return pipeline
