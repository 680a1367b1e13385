"""Where a NER model's encoder starts: `spacy pretrain` on unlabelled text, or a package's.

With 3,600 labelled Arabic sentences the encoder sees few word forms. Pretraining it first
to predict each word's first and last four characters from its context (spaCy's character
objective), on the training text plus unlabelled text, gives the NER a better start. The
text is language data listed in `configs/ner/languages.json` (`pretrain.text`): CoNLL files
of `../shared/training/ner` (words only, tags unused) and plain-text files of
`../shared/benchmarks` (one sentence a line). Tokens get our normaliser's NORM, as in
training, so the embedding rows the pretraining fills are the ones the NER reads.

Where an installed spaCy package has a NER trained on far more text (English: en_core_web_sm,
OntoNotes 5), `claims.PackageEncoder.v1` starts ours from its encoder instead
(`encoder_from` in `languages.json`): spaCy's `source` would also bring its label set.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry
from thinc.api import Config, Model

from nlp.ner.conll import read_conll
from nlp.normalize import NormalizerComponent

ARCHITECTURE = "claims.TransitionBasedParser.v1"  # exposes the encoder (nlp.ner.embed)
_PRETRAINING = {  # spaCy's [pretraining] block; add_pretraining adds max_epochs
    "dropout": 0.2, "n_save_every": None, "n_save_epoch": None,
    "component": "ner", "layer": "encoder", "corpus": "corpora.pretrain",
    "batcher": {"@batchers": "spacy.batch_by_words.v1", "size": 3000,
                "discard_oversize": False, "tolerance": 0.2, "get_length": None},
    "objective": {"@architectures": "spacy.PretrainCharacters.v1", "maxout_pieces": 3,
                  "hidden_size": 300, "n_characters": 4},
    "optimizer": {"@optimizers": "Adam.v1", "beta1": 0.9, "beta2": 0.999,
                  "L2_is_weight_decay": True, "L2": 0.01, "grad_clip": 1.0,
                  "use_averages": True, "eps": 1e-8, "learn_rate": 0.001},
}


@registry.readers("claims.TokenListCorpus.v1")  # type: ignore[untyped-decorator]
def token_list_corpus(path: str, lang: str) -> Callable[[Language], Iterator[Example]]:
    """JSON lines of {"tokens": [...]}, each a Doc with our normaliser's NORM."""
    def read(nlp: Language) -> Iterator[Example]:
        normalize = NormalizerComponent(lang)
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                doc = normalize(Doc(nlp.vocab, words=json.loads(line)["tokens"]))
                yield Example(doc, doc)
    return read


def write_raw_text(lang: str, shared: Path, sources: list[str], path: Path) -> int:
    """The unlabelled sentences of `sources` as token lists; returns the number of words."""
    tokenizer = spacy.blank(lang).tokenizer
    words = 0
    with path.open("w", encoding="utf-8") as out:
        for name in sources:
            for tokens in sentences_of(shared, name, tokenizer):
                if len(tokens) >= 3:
                    out.write(json.dumps({"tokens": tokens}, ensure_ascii=False) + "\n")
                    words += len(tokens)
    return words


def sentences_of(shared: Path, name: str, tokenizer: Any) -> Iterator[list[str]]:
    """The words of each sentence of an unlabelled-text source: a CoNLL file of
    `shared/training/ner` (tags unused), a text file of `shared/benchmarks` (a sentence a
    line), or a JSON Lines file of this project's `corpora/` (each paragraph of `text`)."""
    if name.startswith("corpora/"):
        corpus = Path(__file__).resolve().parents[2] / name
        if not corpus.is_file():
            raise FileNotFoundError(f"unlabelled text not found: {corpus}")
        for line in corpus.read_text("utf-8").splitlines():
            for paragraph in json.loads(line)["text"].split("\n"):
                words = [t.text for t in tokenizer(paragraph) if not t.is_space]
                if words:
                    yield words
        return
    conll = shared / "training" / "ner" / name
    if name.endswith(".conll"):
        if not conll.is_file():
            raise FileNotFoundError(f"pretraining text not found: {conll}")
        for sentence in read_conll(conll):
            yield [w for w in sentence.words if w.strip()]
        return
    text = shared / "benchmarks" / name
    if not text.is_file():
        raise FileNotFoundError(f"pretraining text not found: {text}")
    for line in text.read_text("utf-8").splitlines():
        if line.strip():
            yield [t.text for t in tokenizer(line.strip()) if not t.is_space]


def add_pretraining(config: Config, raw_text: Path, lang: str, epochs: int) -> Config:
    """The training config plus spaCy's [pretraining] block, which both `spacy pretrain`
    and the later training (to load the weights into the same layer) read."""
    config["components"]["ner"]["model"]["@architectures"] = ARCHITECTURE
    config["pretraining"] = {**_PRETRAINING, "max_epochs": epochs}
    config["corpora"]["pretrain"] = {"@readers": "claims.TokenListCorpus.v1",
                                     "path": str(raw_text), "lang": lang}
    return config


def pretrain_encoder(config: Config, output: Path) -> Path:
    """Run the pretraining of `config` (with `add_pretraining`); returns the last epoch's
    weights, for `[initialize] init_tok2vec`."""
    from spacy.training.pretrain import pretrain

    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    filled = nlp.config.copy()
    filled["pretraining"] = config["pretraining"]
    filled["corpora"] = config["corpora"]
    output.mkdir(parents=True, exist_ok=True)
    pretrain(filled.interpolate(), output, silent=True)
    weights = output / "model-last.bin"
    if not weights.is_file():
        raise RuntimeError(f"spacy pretrain wrote no {weights.name} in {output}")
    return weights


@registry.callbacks("claims.PackageEncoder.v1")  # type: ignore[untyped-decorator]
def package_encoder(package: str, component: str = "ner") -> Callable[[Language], Language]:
    """`[initialize] after_init`: copy an installed package's trained encoder (the `tok2vec`
    ref of spaCy's parser architecture: embedding, CNN and projection) into ours, after
    spaCy has initialised the pipeline, so training fine-tunes it rather than starting cold."""
    def load(nlp: Language) -> Language:
        try:
            source = spacy.load(package)
        except OSError as err:
            raise FileNotFoundError(f"spaCy package {package!r} is not installed; it is "
                                    "needed only to train this model") from err
        theirs = _encoder(source, component)
        ours = _encoder(nlp, component)
        try:
            ours.from_bytes(theirs.to_bytes())
        except ValueError as err:
            raise ValueError(
                f"the encoder of {package}'s {component!r} does not fit this config; its "
                "embedding rows and widths must be the same as "
                f"{source.config['components'][component]['model']['tok2vec']}: {err}") from err
        return nlp
    return load


def _encoder(nlp: Language, component: str) -> Model[Any, Any]:
    pipe = nlp.get_pipe(component)
    if not isinstance(pipe, TrainablePipe):
        raise ValueError(f"{component!r} of {nlp.meta.get('name')} has no trained model")
    encoder: Model[Any, Any] = pipe.model.get_ref("tok2vec")
    return encoder


def add_package_encoder(config: Config, spec: dict[str, str]) -> Config:
    """The training config with `claims.PackageEncoder.v1` as its after_init hook."""
    config["initialize"]["after_init"] = {"@callbacks": "claims.PackageEncoder.v1", **spec}
    return config
