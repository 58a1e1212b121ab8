"""Draw an evaluation as one PNG: confusion matrix and reliability diagram side by side.

Input is the dict from :func:`akarclf.evaluation.metrics.evaluate_predictions`, so a plot can be
redrawn from a saved metrics JSON without the model or the data.

matplotlib is an optional extra (``pip install 'akarclf[plots]'``) imported only when a plot is
drawn. The figure is rendered with the Agg canvas directly, without pyplot, so drawing never
changes the caller's global matplotlib backend (a notebook keeps its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any


def require_matplotlib() -> tuple[Any, Any]:
    """Return ``(Figure, FigureCanvasAgg)``, or raise ImportError saying how to install."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "plotting needs matplotlib, an optional extra: pip install 'akarclf[plots]'"
        ) from error
    return Figure, FigureCanvasAgg


def _draw_confusion(axes: Any, metrics: Mapping[str, Any]) -> Any:
    """Confusion matrix normalised by true row (colour), with raw counts annotated."""
    confusion = metrics["confusion_matrix"]
    names: list[str] = list(confusion["clusters"])
    counts: list[list[int]] = confusion["counts"]
    shares = [[count / sum(row) if sum(row) else 0.0 for count in row] for row in counts]
    image = axes.imshow(shares, vmin=0.0, vmax=1.0, cmap="Blues")
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            axes.text(
                j,
                i,
                f"{count}\n{shares[i][j]:.0%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if shares[i][j] > 0.5 else "black",
            )
    axes.set_xticks(range(len(names)), labels=names, rotation=30, ha="right")
    axes.set_yticks(range(len(names)), labels=names)
    axes.set_xlabel("predicted cluster")
    axes.set_ylabel("true cluster")
    axes.set_title(
        f"confusion (row-normalised)\naccuracy {metrics['accuracy']:.3f}, "
        f"macro-F1 {metrics['macro_f1']:.3f}, n={metrics['n']}",
        fontsize=10,
    )
    return image


def _draw_reliability(axes: Any, metrics: Mapping[str, Any]) -> None:
    """Top-label reliability diagram: accuracy per confidence bin against the diagonal."""
    bins = [b for b in metrics["reliability"]["bins"] if b["count"]]
    centres = [(b["lower"] + b["upper"]) / 2 for b in bins]
    widths = [b["upper"] - b["lower"] for b in bins]
    axes.bar(
        centres,
        [b["accuracy"] for b in bins],
        width=widths,
        edgecolor="black",
        color="#4c72b0",
        alpha=0.8,
        label="accuracy in bin",
    )
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    axes.plot(
        [b["mean_confidence"] for b in bins],
        [b["accuracy"] for b in bins],
        marker="o",
        color="#dd8452",
        label="accuracy vs mean confidence",
    )
    for centre, b in zip(centres, bins, strict=True):
        axes.text(centre, 0.02, str(b["count"]), ha="center", fontsize=6, rotation=90)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("confidence (largest probability); numbers: rows per bin")
    axes.set_ylabel("accuracy")
    axes.set_title(
        f"reliability, ECE {metrics['ece']:.3f} ({metrics['reliability']['n_bins']} bins)\n"
        f"classwise ECE {metrics['classwise_ece']:.3f}, Brier {metrics['brier']:.3f}",
        fontsize=10,
    )
    axes.legend(loc="upper left", fontsize=7)


def save_evaluation_png(
    metrics: Mapping[str, Any], path: str | PathLike[str], *, title: str | None = None
) -> Path:
    """Write the confusion matrix and reliability diagram of ``metrics`` to a PNG at ``path``.

    ``title`` goes above both panels (e.g. model version and data name). Returns the path
    written. Raises ImportError with install instructions when matplotlib is missing.
    """
    figure_class, canvas_class = require_matplotlib()
    figure = figure_class(figsize=(12, 5.2), dpi=100, layout="constrained")
    canvas_class(figure)
    confusion_axes, reliability_axes = figure.subplots(1, 2)
    image = _draw_confusion(confusion_axes, metrics)
    figure.colorbar(image, ax=confusion_axes, fraction=0.046, label="share of true row")
    _draw_reliability(reliability_axes, metrics)
    if title:
        figure.suptitle(title)
    target = Path(path)
    figure.savefig(target, format="png")
    return target
