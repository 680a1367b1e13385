"""Claim confidence: the model file, the scorer in the pipeline, training, and the report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from nlp.cli import main
from nlp.confidence import ConfidenceModel, load_model, train_confidence, vectorize
from nlp.evaluate.claims import calibrated_ece, expected_calibration_error, reliability_bins
from nlp.extract import Extractor
from nlp.pipeline import models_dir

ROOT = Path(__file__).resolve().parent.parent
EN_DEV = ROOT / "corpora" / "en" / "dev.jsonl"
SENTENCE = "At least 12 civilians were killed and 30 wounded in Idlib on Monday, SOHR said."


def test_model_round_trips_through_json_and_gives_probabilities() -> None:
    model = ConfidenceModel({"how=trigger": 1.5, "distance": -0.3}, 0.2, 1.1, -0.4)
    again = ConfidenceModel.from_json(json.loads(json.dumps(model.to_json())))
    near = {"how": "trigger", "distance": 1.0}
    far = {"how": "trigger", "distance": 12.0}
    assert again.probability(near) == pytest.approx(model.probability(near))
    z = 0.2 + 1.5 - 0.3
    assert model.probability(near) == pytest.approx(1 / (1 + math.exp(-(1.1 * z - 0.4))))
    assert 0.0 < model.probability(far) < model.probability(near) < 1.0
    assert vectorize({"how": "list", "distance": 2}) == {"how=list": 1.0, "distance": 2.0}


def test_a_model_file_of_another_format_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="retrain with `claims train confidence`"):
        ConfidenceModel.from_json({"format": 99, "weights": {}, "intercept": 0})


def test_shipped_model_is_trained_and_scores_every_claim() -> None:
    model = load_model(str(models_dir() / "confidence" / "model.json"))
    assert model.weights and "held_out_out_of_fold" in model.info
    result = Extractor()(SENTENCE, lang="en")
    assert len(result.claims) == 2
    assert all(0.0 < c.confidence < 1.0 for c in result.claims)


def test_min_confidence_keeps_only_sure_claims() -> None:
    everything = Extractor()(SENTENCE, lang="en").claims
    cut = max(c.confidence for c in everything)
    kept = Extractor(min_confidence=cut)(SENTENCE, lang="en").claims
    assert kept and all(c.confidence >= cut for c in kept)
    assert cut < 1.0 and Extractor(min_confidence=1.0)(SENTENCE, lang="en").claims == []


def test_extract_rejects_a_confidence_outside_0_1(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", str(EN_DEV), "--min-confidence", "1.5"])
    assert exit_info.value.code == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_train_confidence_writes_a_model_and_its_card(tmp_path: Path) -> None:
    lines = EN_DEV.read_text(encoding="utf-8").splitlines()
    train, held_out = tmp_path / "train.jsonl", tmp_path / "held.jsonl"
    train.write_text("\n".join(lines[:30]) + "\n", encoding="utf-8")
    held_out.write_text("\n".join(lines[30:]) + "\n", encoding="utf-8")
    model = train_confidence([train], [held_out], tmp_path / "model", c=1.0)
    saved = ConfidenceModel.from_json(json.loads((tmp_path / "model" / "model.json").read_text()))
    assert saved.weights == model.weights
    card = (tmp_path / "model" / "README.md").read_text(encoding="utf-8")
    assert "Held-out scores" in card and "| en |" in card
    report = model.info["held_out_out_of_fold"]["en"]
    assert 0.0 <= report["ece"] <= 1.0 and report["claims"] > 20


def test_train_confidence_needs_held_out_claims(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"id": "x", "lang": "en", "text": "Nothing here.",
                                 "claims": []}) + "\n", encoding="utf-8")
    code = main(["train", "confidence", "--train", str(empty), "--held-out", str(empty),
                 "--output", str(tmp_path / "m")])
    assert code == 2
    assert "held-out files need claims" in capsys.readouterr().err


def test_reliability_bins_agree_with_the_ece() -> None:
    scored = [(0.95, True), (0.92, True), (0.91, False), (0.55, True), (0.52, False),
              (0.15, False)]
    bins = reliability_bins(scored)
    assert [b["claims"] for b in bins] == [1, 2, 3]
    gap = sum(b["claims"] / len(scored) * abs(b["confidence"] - b["accuracy"]) for b in bins)
    assert gap == pytest.approx(expected_calibration_error(scored), abs=1e-3)


def test_calibrated_ece_is_the_ece_of_sampling_alone() -> None:
    assert calibrated_ece([1.0] * 50) == {"mean": 0.0, "p95": 0.0}
    assert calibrated_ece([]) == {"mean": 0.0, "p95": 0.0}
    # one bin: E|Binomial(n, 0.75)/n - 0.75| = sqrt(0.75 * 0.25 / n) * sqrt(2 / pi)
    hundred = calibrated_ece([0.75] * 100)
    assert 0.031 <= hundred["mean"] <= 0.039 and hundred["mean"] < hundred["p95"] < 0.1
    assert 0.009 <= calibrated_ece([0.75] * 1000)["mean"] <= 0.013
    assert calibrated_ece([0.75] * 100) == hundred  # seeded: reports do not change


def test_eval_writes_plots_and_embeds_them_in_the_report(tmp_path: Path) -> None:
    report = tmp_path / "out" / "report.md"
    report.parent.mkdir()
    code = main(["eval", str(EN_DEV), "--plot", str(tmp_path / "out" / "plots"),
                 "--report", str(report), "--max-errors", "0"])
    assert code == 0
    for name in ("reliability.png", "f1.png"):
        png = tmp_path / "out" / "plots" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = report.read_text(encoding="utf-8")
    assert "![reliability](plots/reliability.png)" in text
    assert "## By category" in text and "## Reliability" in text
