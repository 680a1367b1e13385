"""Pictures of a claim evaluation: a reliability diagram and F1 bars.

People read a diagram faster than a table: whether the confidence means what it says (the
reliability curve against the diagonal) and where the extractor is weak (per-language and
per-category F1). `claims eval --plot DIR` writes them; `--report` embeds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

RELIABILITY = "reliability.png"
F1_BARS = "f1.png"


def write_plots(summary: dict[str, Any], directory: Path) -> list[Path]:
    """Write the two PNGs for `ClaimScores.summary()` into `directory`; their paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    directory.mkdir(parents=True, exist_ok=True)
    return [_reliability(summary, directory / RELIABILITY), _f1_bars(summary, directory / F1_BARS)]


def _reliability(summary: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=110)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    for name, s in summary.items():
        bins = s["reliability"]
        if not bins:
            continue
        style = {"linewidth": 2.5, "color": "black"} if name == "all" else {"linewidth": 1.2}
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                markersize=4, label=f"{name} (ECE {s['ece']:.3f})", **style)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("mean confidence in bin")
    ax.set_ylabel("share of claims right")
    ax.set_title("Reliability of claim confidence (10 bins)")
    ax.legend(loc="upper left", fontsize=8)
    counts = summary["all"]["reliability"]
    inset = ax.inset_axes((0.55, 0.06, 0.42, 0.22))
    inset.bar([(b["low"] + b["high"]) / 2 for b in counts], [b["claims"] for b in counts],
              width=0.09, color="steelblue")
    inset.set_xlim(0, 1)
    inset.set_title("claims per bin", fontsize=7)
    inset.tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _f1_bars(summary: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, (by_lang, by_cat) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    langs = list(summary)
    _bars(by_lang, langs, [summary[n]["claims"]["f1"] for n in langs],
          [summary[n]["figures"]["f1"] for n in langs], ("claim F1", "figure F1"))
    by_lang.set_title("F1 by language")
    categories = summary["all"]["by_category"]
    names = list(categories)
    _bars(by_cat, names, [categories[c]["f1"] for c in names],
          [categories[c]["precision"] for c in names], ("F1", "precision"))
    by_cat.set_title("Claims by category (all languages)")
    by_cat.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _bars(ax: Any, names: list[str], first: list[float], second: list[float],
          labels: tuple[str, str]) -> None:
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], first, width=0.4, label=labels[0], color="steelblue")
    ax.bar([x + 0.2 for x in xs], second, width=0.4, label=labels[1], color="lightsteelblue")
    for x, value in zip(xs, first, strict=True):
        ax.text(x - 0.2, value + 0.01, f"{value:.2f}", ha="center", fontsize=7)
    ax.set_xticks(list(xs), names)
    ax.set_ylim(0, 1.1)
    ax.legend(fontsize=8, loc="lower right")
