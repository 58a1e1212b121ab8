"""``akarclf evaluate``: recompute a model's card metrics on any labelled data.

Loads a model (the shipped default unless ``--model`` is given), predicts the titles of a
labelled CSV, prints the report of :func:`akarclf.evaluation.metrics.format_report`, and on request
writes the metrics as JSON (``--json``) and the confusion matrix and reliability diagram as a
PNG (``--png``). Anyone can so check the figures a model card claims against their own data.

Data loading goes through :func:`load_eval_data` and model loading through :func:`_load`, the
two seams for new data sources (e.g. a held-out split directory) and for tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from akarclf._version import __version__
from akarclf.cli.arguments import integer_at_least
from akarclf.evaluation.bootstrap import DEFAULT_RESAMPLES
from akarclf.evaluation.metrics import DEFAULT_N_BINS

#: Version of the layout of the JSON file written by ``--json``.
JSON_FORMAT = 1


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` sub-command to the ``akarclf`` parser."""
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a model on labelled titles (F1, accuracy, calibration, drift)",
        description="Predict the titles of a labelled CSV with a model and report accuracy, "
        "macro-F1, per-cluster precision/recall/F1, the confusion matrix, expected calibration "
        "error, and how often titles labelled 'other' are pulled into protected clusters.",
    )
    parser.add_argument(
        "--model",
        metavar="PATH",
        default=None,
        help="model file to evaluate (default: the model shipped with akarclf)",
    )
    parser.add_argument(
        "--data",
        metavar="FILE.csv|DIR",
        required=True,
        help="labelled CSV with a header row, one title and its cluster per row; or a training "
        "data folder, whose held-out split (--split) is evaluated",
    )
    parser.add_argument(
        "--split",
        choices=("test", "train"),
        default="test",
        help="with a data folder: which side of the training split to evaluate (default: the "
        "held-out test side, rebuilt with the model's own seed)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="with a data folder: split seed (default: the seed the model was trained with)",
    )
    parser.add_argument("--title-col", default="title", help="title column (default: title)")
    parser.add_argument("--label-col", default="label", help="label column (default: label)")
    parser.add_argument(
        "--name", default=None, help="name of the data in the report (default: file name)"
    )
    parser.add_argument(
        "--bins",
        type=integer_at_least(1),
        default=DEFAULT_N_BINS,
        help=f"equal-width bins for calibration error (default: {DEFAULT_N_BINS})",
    )
    parser.add_argument(
        "--bootstrap",
        type=integer_at_least(0),
        default=DEFAULT_RESAMPLES,
        metavar="N",
        help="bootstrap resamples for the 95 %% intervals of accuracy, macro-F1 and each "
        f"cluster's precision, recall and F1; 0 for none (default: {DEFAULT_RESAMPLES})",
    )
    parser.add_argument("--json", metavar="OUT.json", default=None, help="write metrics as JSON")
    parser.add_argument(
        "--png",
        metavar="OUT.png",
        default=None,
        help="write confusion matrix and reliability diagram as PNG (needs matplotlib)",
    )
    parser.set_defaults(func=run)


def load_eval_data(args: argparse.Namespace) -> tuple[list[str], list[str], str]:
    """Return ``(titles, labels, description)`` of the data named by ``args``.

    Today ``--data`` is a labelled CSV file read by
    :func:`akarclf.training.labelled.read_labelled_csv`.
    This is the one place to add other sources (e.g. ``--data DIR --split test`` for a held-out
    split): ``run`` only needs titles, labels and a one-line description.
    """
    from akarclf.training.labelled import read_labelled_csv

    path = Path(args.data)
    if path.is_dir():
        return _split_data(path, args.split, args.seed)
    titles, labels, _ids = read_labelled_csv(
        path, title_col=args.title_col, label_col=args.label_col
    )
    return titles, labels, f"{path} ({len(titles)} labelled titles)"


def _split_data(data_dir: Path, side: str, seed: int | None) -> tuple[list[str], list[str], str]:
    """One side of the deduplicated, near-duplicate-grouped training split of ``data_dir``.

    The split is rebuilt exactly as ``akarclf train`` built it (same taxonomy, hand labels and
    seed), so ``--split test`` gives the titles the model never trained on.
    """
    from akarclf.training.datasets import load_training_data
    from akarclf.training.splits import group_split

    split = group_split(load_training_data(data_dir).examples, seed=0 if seed is None else seed)
    examples = split.test if side == "test" else split.train
    description = (
        f"{data_dir} {side} split, seed {0 if seed is None else seed} ({len(examples)} titles)"
    )
    return [e.title for e in examples], [e.label for e in examples], description


def _load(model_path: str | None) -> Any:
    """Load the model to evaluate (None: the shipped default). Tests replace this function."""
    from akarclf.model.persistence import load_model

    return load_model(model_path)


def _model_version(model: Any) -> str | None:
    version = getattr(model, "model_version", None)
    return None if version is None else str(version)


def in_sample_warnings(model: Any, data_path: Path) -> list[str]:
    """Warn when the model was trained on the evaluation file: its figures are then in-sample.

    Relies on the model's ``metadata_["training_files"]``, a mapping from file name to the
    SHA-256 of its bytes, written by training. A model without it gets no warning (there is
    nothing to compare); a same-named file with other bytes is flagged too, as it is probably
    an edited copy of the training file.
    """
    metadata = getattr(model, "metadata_", None)
    files = metadata.get("training_files") if isinstance(metadata, dict) else None
    if not isinstance(files, dict) or not data_path.is_file():
        return []
    from akarclf.training.datasets import file_sha256

    digest = file_sha256(data_path)
    same_bytes = sorted(name for name, sha in files.items() if sha == digest)
    if same_bytes:
        return [
            f"the model was trained on this file ({', '.join(same_bytes)}): these figures are "
            "in-sample and overstate its quality; use out-of-fold figures (the model card) or "
            "data it has not seen"
        ]
    if data_path.name in files:
        return [
            f"the model was trained on a file also named {data_path.name} (different bytes): "
            "if it is an edited copy, these figures are largely in-sample"
        ]
    return []


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the report, write the requested files; returns the exit status."""
    from akarclf.evaluation.metrics import evaluate_model, format_report

    if args.png:
        from akarclf.evaluation.plots import require_matplotlib

        try:
            require_matplotlib()  # fail before the slow part, not after it
        except ImportError as error:
            print(f"akarclf evaluate: error: {error}", file=sys.stderr)
            return 1
    model = None
    if Path(args.data).is_dir():  # the split seed is the model's own: load it first
        model = _load(args.model)
        metadata = getattr(model, "metadata_", None)
        if args.seed is None and isinstance(metadata, dict):
            args.seed = metadata.get("seed")
    titles, labels, description = load_eval_data(args)  # a bad CSV fails before the model loads
    if model is None:
        model = _load(args.model)
    name = args.name or Path(args.data).name
    version = _model_version(model)
    metrics = evaluate_model(model, titles, labels, n_bins=args.bins, n_bootstrap=args.bootstrap)
    warnings = in_sample_warnings(model, Path(args.data))

    model_text = version or "unversioned model"
    source = args.model or "shipped default"
    print(f"model {model_text} ({source}) on {name}: {description}")
    print(format_report(metrics), end="")
    for warning in warnings:
        print(f"akarclf evaluate: warning: {warning}", file=sys.stderr)

    if args.json:
        document = {
            "format": JSON_FORMAT,
            "akarclf_version": __version__,
            "model": {"path": args.model, "version": version},
            "data": {"name": name, "description": description},
            "warnings": warnings,
            "metrics": metrics,
        }
        target = Path(args.json)
        target.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        print(f"wrote {target}", file=sys.stderr)
    if args.png:
        from akarclf.evaluation.plots import save_evaluation_png

        written = save_evaluation_png(metrics, args.png, title=f"{model_text} on {name}")
        print(f"wrote {written}", file=sys.stderr)
    return 0
