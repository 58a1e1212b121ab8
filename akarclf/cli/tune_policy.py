"""``akarclf tune-policy``: choose the policy thresholds from labelled data and report them.

The input is either precomputed probabilities (``--predictions FILE.csv`` with columns
``title``, ``label`` and ``p_<cluster>`` for every cluster, e.g. out-of-fold predictions) or a
model and labelled titles (``--model PATH --data FILE.csv``). The title column of a
predictions file is optional (titles only serve to find blank ones). Clusters, closing dates and
fallbacks come from ``--base-policy`` (default: the packaged policy); the thresholds are chosen
by :func:`akarclf.evaluation.tuning.tune_thresholds` (rules in :mod:`akarclf.evaluation.tuning`).
The written policy
records its provenance (data file and sha256, targets, rules, date) in a ``[provenance]``
table, and ``--report`` writes the JSON report that is shipped next to it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from akarclf.clusters import CLUSTERS

TITLE_COLUMN = "title"
LABEL_COLUMN = "label"
#: Probability column of each cluster in a ``--predictions`` file.
PROBA_COLUMNS = {cluster: f"p_{cluster}" for cluster in CLUSTERS}


def register(subparsers: Any) -> None:
    """Add the ``tune-policy`` sub-command to the ``akarclf`` parser."""
    from akarclf.evaluation.bootstrap import DEFAULT_RESAMPLES as DEFAULT_BOOTSTRAP
    from akarclf.evaluation.targets import DEFAULT_BLOCK_PRECISION, DEFAULT_PROTECTED_RECALL

    parser = subparsers.add_parser(
        "tune-policy",
        help="choose block/review thresholds from labelled data and write a policy file",
        description="Pick the block threshold as the lowest protected-mass cut whose block "
        "precision meets --block-precision (at that cut and at every higher cut blocking at least "
        "--min-support listings), and the review "
        "threshold as the highest cut whose protected recall meets --protected-recall; write "
        "the policy (with its provenance) and a report with bootstrap confidence intervals. "
        "Every labelled listing is treated as posted by a cross-border seller.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--predictions",
        metavar="FILE.csv",
        help="precomputed probabilities: columns title, label, "
        + ", ".join(PROBA_COLUMNS.values()),
    )
    source.add_argument(
        "--model", metavar="PATH", help="model file to run on --data (needs --data)"
    )
    parser.add_argument(
        "--data", metavar="FILE.csv", help="labelled titles (columns title, label) for --model"
    )
    parser.add_argument(
        "--out", metavar="policy.toml", help="write the tuned policy here (default: print it)"
    )
    parser.add_argument("--report", metavar="report.json", help="write the report as JSON")
    parser.add_argument(
        "--block-precision",
        type=float,
        metavar="P",
        default=DEFAULT_BLOCK_PRECISION,
        help="target share of blocked listings truly protected "
        f"(default {DEFAULT_BLOCK_PRECISION})",
    )
    parser.add_argument(
        "--protected-recall",
        type=float,
        metavar="R",
        default=DEFAULT_PROTECTED_RECALL,
        help="target share of protected listings blocked or reviewed "
        f"(default {DEFAULT_PROTECTED_RECALL})",
    )
    parser.add_argument(
        "--review-budget",
        type=float,
        metavar="R",
        default=None,
        help="cap on the share of listings sent to review (e.g. 0.05): the review threshold "
        "then stays where the band holds at most R, and the report says which protected "
        "recall that buys (default: no cap, the recall target decides)",
    )
    parser.add_argument(
        "--on",
        metavar="YYYY-MM-DD",
        help="decision date selecting the protected clusters (default: today, UTC)",
    )
    parser.add_argument(
        "--base-policy",
        metavar="PATH",
        help="policy whose id, clusters, dates and fallbacks are kept (default: packaged)",
    )
    parser.add_argument(
        "--policy-id", metavar="ID", help="id of the written policy (default: the base's)"
    )
    parser.add_argument(
        "--policy-version",
        metavar="VERSION",
        help="version of the written policy (default: the tuning date, e.g. 2026.11.22)",
    )
    parser.add_argument(
        "--min-support",
        type=int,
        metavar="N",
        default=None,
        help="fewest blocked listings at which block precision is checked "
        "(default: ceil(1 / (1 - block precision)))",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=DEFAULT_BOOTSTRAP,
        metavar="N",
        help=f"bootstrap resamples for confidence intervals (default {DEFAULT_BOOTSTRAP})",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.set_defaults(func=run)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_csv(path: Path, required: list[str]) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows with every ``required`` column, and the line each row starts on."""
    where = str(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader, [])]
            if not header:
                raise ValueError(f"{where}: empty file, expected a header row")
            missing = [name for name in required if name not in header]
            if missing:
                raise ValueError(
                    f"{where}: missing column(s) {', '.join(missing)}; "
                    f"columns are: {', '.join(header)}"
                )
            rows, lines = [], []
            start = reader.line_num + 1
            for row in reader:
                if any(cell.strip() for cell in row):
                    if len(row) < len(header):
                        raise ValueError(
                            f"{where} line {start}: {len(row)} fields, the header has {len(header)}"
                        )
                    rows.append(row)
                    lines.append(start)
                start = reader.line_num + 1
        except csv.Error as error:
            raise ValueError(f"{where} line {reader.line_num}: malformed CSV: {error}") from None
        except UnicodeDecodeError as error:
            raise ValueError(f"{where}: not UTF-8 text ({error})") from None
    if not rows:
        raise ValueError(f"{where}: no data rows")
    return header, rows, lines


def _labels(path: Path, header: list[str], rows: list[list[str]], lines: list[int]) -> list[str]:
    index = header.index(LABEL_COLUMN)
    labels = []
    for row, line in zip(rows, lines, strict=True):
        label = row[index].strip()
        if label not in CLUSTERS:
            raise ValueError(
                f"{path} line {line}: label {label!r} is not a cluster ({', '.join(CLUSTERS)})"
            )
        labels.append(label)
    return labels


def read_predictions(
    path: str | Path,
) -> tuple[np.ndarray, list[str], list[str], list[str] | None]:
    """``(proba, classes, labels, titles)`` from a predictions CSV (see the module docstring).

    ``classes`` is :data:`~akarclf.clusters.CLUSTERS` (the column order of ``proba``);
    ``titles`` is None when the file has no title column (e.g. the out-of-fold file of
    ``akarclf train``, which keeps titles out of its output): no title then counts as blank.
    Errors name the file, line and column.
    """
    path = Path(path)
    required = [LABEL_COLUMN, *PROBA_COLUMNS.values()]
    header, rows, lines = _read_csv(path, required)
    labels = _labels(path, header, rows, lines)
    columns = [header.index(name) for name in PROBA_COLUMNS.values()]
    proba = np.empty((len(rows), len(columns)))
    for i, (row, line) in enumerate(zip(rows, lines, strict=True)):
        for j, (column, name) in enumerate(zip(columns, PROBA_COLUMNS.values(), strict=True)):
            try:
                value = float(row[column])
            except ValueError:
                value = float("nan")
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"{path} line {line}: {name} = {row[column]!r} is not a probability in [0, 1]"
                )
            proba[i, j] = value
    if TITLE_COLUMN not in header:
        return proba, list(CLUSTERS), labels, None
    title_index = header.index(TITLE_COLUMN)
    return proba, list(CLUSTERS), labels, [row[title_index] for row in rows]


def read_labelled(path: str | Path) -> tuple[list[str], list[str]]:
    """``(titles, labels)`` from a labelled CSV with ``title`` and ``label`` columns."""
    path = Path(path)
    header, rows, lines = _read_csv(path, [TITLE_COLUMN, LABEL_COLUMN])
    labels = _labels(path, header, rows, lines)
    index = header.index(TITLE_COLUMN)
    return [row[index] for row in rows], labels


def _load_model(path: str) -> Any:
    """Load a model file with ``akarclf.load_model`` (imported late: it is heavy)."""
    load_model = getattr(importlib.import_module("akarclf"), "load_model", None)
    if load_model is None:
        raise ValueError("this akarclf has no model loader (akarclf.load_model)")
    return load_model(path)


def run(args: argparse.Namespace) -> int:
    """Tune, print the report, write the policy and report files; returns the exit status."""
    from akarclf._version import __version__
    from akarclf.evaluation.tuning import format_report, tune_thresholds
    from akarclf.gate.policy import load_policy, today_utc
    from akarclf.text.normalize import blank_mask

    if args.model and not args.data:
        raise ValueError("--model needs --data FILE.csv (labelled titles to run it on)")
    if args.predictions and args.data:
        raise ValueError("--data goes with --model; --predictions already holds the labels")
    if args.bootstrap < 0:
        raise ValueError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    base = load_policy(args.base_policy)

    provenance: dict[str, Any] = {"akarclf_version": __version__}
    titles: list[str] | None
    if args.predictions:
        data_path = Path(args.predictions)
        proba, classes, labels, titles = read_predictions(data_path)
        provenance["input"] = "predictions"
    else:
        data_path = Path(args.data)
        titles, labels = read_labelled(data_path)
        model = _load_model(args.model)
        proba = np.asarray(model.predict_proba(titles), dtype=np.float64)
        classes = [str(c) for c in model.classes_]
        provenance["input"] = "model"
        provenance["model_file"] = str(args.model)
        provenance["model_version"] = str(getattr(model, "model_version", "unknown"))
    provenance["data_file"] = str(data_path)
    provenance["data_sha256"] = sha256_of(data_path)
    if args.base_policy:
        provenance["base_policy_file"] = str(args.base_policy)

    result = tune_thresholds(
        proba,
        classes,
        labels,
        policy=base,
        on=args.on,
        block_precision=args.block_precision,
        protected_recall=args.protected_recall,
        n_bootstrap=args.bootstrap,
        seed=args.seed,
        blank=None if titles is None else blank_mask(titles),
        min_support=args.min_support,
        review_budget=args.review_budget,
        policy_id=args.policy_id,
        version=args.policy_version or today_utc().strftime("%Y.%m.%d"),
        provenance=provenance,
    )
    report = {"format": 1, **result.report}
    print(f"tuned on {data_path} ({len(labels)} labelled listings)")
    print(format_report(report))

    header = (
        f"Restriction policy {result.policy.label}, written by `akarclf tune-policy`.\n"
        f"Thresholds chosen on {data_path.name} (sha256 {provenance['data_sha256'][:16]}...)\n"
        f"for block precision >= {args.block_precision} and protected recall >= "
        f"{args.protected_recall}"
        + ("" if args.review_budget is None else f" within a review share <= {args.review_budget}")
        + ".\nSee [provenance] below and the report JSON for the "
        "measured figures."
    )
    text = result.policy.to_toml(header=header)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print()
        print(text, end="")
    if args.report:
        Path(args.report).write_text(
            json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
            encoding="utf-8",
        )
        print(f"wrote {args.report}", file=sys.stderr)
    return 0
