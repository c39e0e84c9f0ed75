"""The report's charts: accuracy per model with its 95% interval as error bars, grouped by probe set, kind and
document (PNG, matplotlib's Agg backend: no display needed). Fed by `loreforge.evaluate.aggregate.summarize`;
written into the report folder by `loreforge.evaluate.report`. matplotlib comes with the `[train]` extra.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loreforge.errors import MissingDependency

CHARTS: tuple[tuple[str, str, str], ...] = (  # (group, file, title)
    ("set", "accuracy_by_set.png", "Accuracy by probe set"),
    ("kind", "accuracy_by_kind.png", "Accuracy by probe kind"),
    ("document", "accuracy_by_document.png", "Accuracy by document"),
)
COLOURS = {"base": "#8c8c8c", "rag": "#4c72b0", "tuned": "#dd8452"}
MAX_GROUPS = 30  # more bars than this are unreadable: the largest groups are drawn


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingDependency("matplotlib", extra="train", purpose="the report's charts") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def accuracy_chart(table: dict[str, dict[str, Any]], labels: Sequence[str], title: str, path: Path) -> Path:
    """Grouped bars: one group per row of `table` (name -> label -> proportion), one bar per model, the Wilson
    interval as the error bar and n under each group's name."""
    plt = _pyplot()
    names = sorted(table, key=lambda g: -max((table[g][m]["n"] for m in labels), default=0))[:MAX_GROUPS]
    names.sort()
    width = 0.8 / max(len(labels), 1)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 + 0.9 * len(names) * max(len(labels), 1) * 0.5), 3.6), dpi=110)
    for n, label in enumerate(labels):
        cells = [table[g][label] for g in names]
        rates = [c["rate"] or 0.0 for c in cells]
        below = [max(r - c["low"], 0.0) if c["n"] else 0.0 for r, c in zip(rates, cells, strict=True)]
        above = [max(c["high"] - r, 0.0) if c["n"] else 0.0 for r, c in zip(rates, cells, strict=True)]
        xs = [i + (n - (len(labels) - 1) / 2) * width for i in range(len(names))]
        ax.bar(xs, rates, width, yerr=[below, above], capsize=3, label=label, color=COLOURS.get(label))
    counts = [max((table[g][m]["n"] for m in labels), default=0) for g in names]
    ax.set_xticks(range(len(names)), [f"{g[:24]}\nn={c}" for g, c in zip(names, counts, strict=True)], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy (95% CI)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # a name in a script the bundled font lacks is drawn as boxes, not an error
        warnings.simplefilter("ignore", UserWarning)
        fig.savefig(path)
    plt.close(fig)
    return path


def write_charts(summary: dict[str, Any], folder: Path) -> list[Path]:
    """The report's PNG charts in `folder`; the paths written."""
    labels = summary["labels"]
    return [accuracy_chart(summary["groups"][group], labels, title, folder / name)
            for group, name, title in CHARTS if summary["groups"].get(group)]
