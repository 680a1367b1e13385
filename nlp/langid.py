"""Language routing: en / ar / tr / fa, or `und` for anything else.

lingua does the statistics; `data/langid/routing.json` holds what lingua cannot know about
our setting (which languages compete, which ones it does not model, orthographic cues).
Nothing outside the four targets is ever forced into one of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from nlp.resources import package_data

UND: Final = "und"
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Detection:
    lang: str
    score: float
    reason: str = "model"


def _load_routing() -> dict[str, Any]:
    return package_data("langid/routing")


def _lingua(code: str) -> Language:
    return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))


def _script(ch: str) -> str:
    """Coarse script of a letter: 'latin', 'arabic' or 'other'."""
    name = unicodedata.name(ch, "")
    if name.startswith("LATIN"):
        return "latin"
    if name.startswith("ARABIC"):
        return "arabic"
    return "other"


@dataclass
class LanguageRouter:
    """Decides the language of a text; build once, call many times (lingua loads lazily)."""

    config: dict[str, Any] = field(default_factory=_load_routing)

    def __post_init__(self) -> None:
        cfg = self.config
        self.targets: tuple[str, ...] = tuple(cfg["targets"])
        self.sample_chars: int = int(cfg["sample_chars"])
        self.cue_share: float = float(cfg["cue_share"])
        self.cue_letter_weight: float = float(cfg["cue_letter_weight"])
        self._prior = {code: float(cfg["prior"]["target"]) for code in self.targets}
        self._prior.update({code: float(cfg["prior"]["distractor"]) for code in cfg["distractors"]})
        self._cue_letters = {lang: set(c["letters"]) for lang, c in cfg["cues"].items()}
        self._cue_words = {lang: set(c["words"]) for lang, c in cfg["cues"].items()}
        self._exclusive = {lang: set(letters) for lang, letters in cfg["exclusive_letters"].items()}

    @cached_property
    def _detector(self) -> LanguageDetector:
        languages = [_lingua(code) for code in self._prior]
        return LanguageDetectorBuilder.from_languages(*languages).build()

    # -- preprocess ----------------------------------------------------------------------
    def _cue_language(self, words: Sequence[str]) -> str | None:
        """A language that lingua does not separate from ours, recognised by its cues."""
        if not words:
            return None
        lang: str
        for lang in self._cue_letters:
            letters, vocab = self._cue_letters[lang], self._cue_words[lang]
            hits = sum(
                self.cue_letter_weight if not letters.isdisjoint(w) else 1.0
                for w in words
                if w in vocab or not letters.isdisjoint(w)
            )
            if hits / len(words) >= self.cue_share:
                return lang
        return None

    def _candidates(self, letters: str) -> list[str] | None:
        """Languages still possible after the script and exclusive-letter checks."""
        scripts: dict[str, int] = {}
        for ch in letters:
            scripts[_script(ch)] = scripts.get(_script(ch), 0) + 1
        main = max(scripts, key=lambda s: scripts[s])
        if main == "other":
            return None
        present = set(letters)
        ruled_out = {
            other
            for lang, own in self._exclusive.items()
            if not own.isdisjoint(present)
            for other, theirs in self._exclusive.items()
            if other != lang and theirs.isdisjoint(present)
        }
        return [code for code in self._prior if code not in ruled_out]

    # -- forward + postprocess -----------------------------------------------------------
    def _decide(self, candidates: list[str], values: dict[str, float]) -> Detection:
        posterior = {c: values.get(c, 0.0) * self._prior[c] for c in candidates}
        total = sum(posterior.values())
        if total <= 0.0:
            return Detection(UND, 1.0, "no-evidence")
        best = max(posterior, key=lambda c: posterior[c])
        if best not in self.targets:
            other = sum(p for c, p in posterior.items() if c not in self.targets)
            return Detection(UND, round(other / total, 4), f"model:{best}")
        return Detection(best, round(posterior[best] / total, 4))

    def _prepare(self, text: str) -> tuple[Detection | None, str, list[str] | None]:
        sample = unicodedata.normalize("NFKC", text[: self.sample_chars])
        letters = "".join(ch for ch in sample if ch.isalpha())
        if not letters:
            return Detection(UND, 1.0, "no-letters"), sample, None
        words = [w.lower() for w in _WORD.findall(sample) if not w.isdigit()]
        cue = self._cue_language(words)
        if cue is not None:
            return Detection(UND, 1.0, f"cue:{cue}"), sample, None
        candidates = self._candidates(letters)
        if candidates is None:
            return Detection(UND, 1.0, "script"), sample, None
        return None, sample, candidates

    def detect(self, text: str) -> Detection:
        return self.detect_many([text])[0]

    def detect_many(self, texts: Iterable[str]) -> list[Detection]:
        """Batch detection: lingua scores the undecided texts in parallel."""
        prepared = [self._prepare(t) for t in texts]
        pending = [i for i, (done, _, _) in enumerate(prepared) if done is None]
        scored = self._detector.compute_language_confidence_values_in_parallel(
            [prepared[i][1] for i in pending]
        ) if pending else []
        results: list[Detection] = [done or Detection(UND, 0.0) for done, _, _ in prepared]
        for i, confidences in zip(pending, scored, strict=True):
            values = {cv.language.iso_code_639_1.name.lower(): cv.value for cv in confidences}
            candidates = prepared[i][2]
            assert candidates is not None
            results[i] = self._decide(candidates, values)
        return results


_ROUTER: LanguageRouter | None = None


def get_router() -> LanguageRouter:
    """The process-wide router, so lingua's models are loaded once per process."""
    global _ROUTER
    if _ROUTER is None:
        _ROUTER = LanguageRouter()
    return _ROUTER


def detect(text: str) -> Detection:
    return get_router().detect(text)
