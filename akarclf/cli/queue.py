"""``akarclf queue``: the listings whose review would teach the model most, as a sheet to fill.

The strategy (uncertain in the gate's sense, diverse, plus a random slice) is documented in
:mod:`akarclf.evaluation.queue`. The catalogue is a CSV or JSONL file as ``akarclf score``
reads it, or, with ``--data DIR``, the review loop's unlabelled pool files in a data folder
(uids ``<file stem>:<line>``, as training numbers rows).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from akarclf.cli.arguments import integer_at_least


def register(subparsers: Any) -> None:
    """Add the ``queue`` sub-command."""
    parser = subparsers.add_parser(
        "queue",
        help="pick the listings whose review would teach the model most (a sheet to fill)",
        description="Score CATALOGUE (or the pool files of --data) and write the SIZE "
        "listings to review: near the gate's thresholds or between two clusters, no "
        "near-duplicates, spread over words, plus a random slice. The sheet has the model's "
        "view and empty label, reviewer, reviewed_at, round and note columns; filled in, it is "
        "a review file for `akarclf train --reviews`.",
    )
    parser.add_argument(
        "catalogue", nargs="?", metavar="CATALOGUE", help="CSV or JSONL listings (.gz, - = stdin)"
    )
    parser.add_argument("-o", "--output", required=True, type=Path, help="sheet to write (CSV)")
    parser.add_argument("--size", required=True, type=integer_at_least(1), help="listings to queue")
    parser.add_argument(
        "--data",
        type=Path,
        help="instead of CATALOGUE: the unlabelled pool files of this data folder",
    )
    parser.add_argument("--model", help="model file (default: the shipped one)")
    parser.add_argument("--policy", help="policy TOML (default: the shipped one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random slice")
    parser.add_argument(
        "--random-share",
        type=float,
        default=0.1,
        help="share of the queue drawn at random, for unbiased estimates (default 0.1)",
    )
    parser.add_argument(
        "--exclude",
        type=Path,
        nargs="+",
        default=[],
        metavar="REVIEWS",
        help="review files whose listings (and their near-duplicates) are not queued again",
    )
    parser.add_argument("--title-col", default="title", help="title column (default: title)")
    parser.add_argument(
        "--id-col", help="listing id column (default: uid or id if present, else row number)"
    )
    parser.add_argument(
        "--format", choices=("csv", "jsonl"), help="catalogue format (default: by extension)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Score, select, write the sheet; returns 0."""
    from akarclf.evaluation.queue import (
        describe,
        read_catalogue,
        score_catalogue,
        select,
        write_sheet,
    )
    from akarclf.gate.policy import load_policy, today_utc
    from akarclf.model.persistence import load_model
    from akarclf.scoring.rows import Reject
    from akarclf.training.reviews import read_reviews

    if (args.catalogue is None) == (args.data is None):
        raise ValueError("give either CATALOGUE or --data DIR")
    if args.data is not None:
        from akarclf.training.datasets import read_pool

        records: list[dict[str, Any]] = [
            {"uid": uid, args.title_col: title} for uid, title in read_pool(args.data)
        ]
    else:
        records = read_catalogue(
            args.catalogue, id_col=args.id_col, title_col=args.title_col, fmt=args.format
        )
    reads = read_reviews(args.exclude) if args.exclude else []
    model = load_model(args.model)
    policy = load_policy(args.policy)
    rejects: list[Reject] = []
    items = score_catalogue(
        records,
        model=model,
        policy=policy,
        on=today_utc(),
        title_col=args.title_col,
        rejects=rejects,
    )
    if rejects:
        lines = ", ".join(str(r.line) for r in rejects[:10])
        print(
            f"queue: {len(rejects)} records not scored ({rejects[0].reason}); records {lines}",
            file=sys.stderr,
        )
    picks = select(
        items,
        args.size,
        seed=args.seed,
        random_share=args.random_share,
        exclude={r.uid for r in reads},
        exclude_keys={r.title_key for r in reads},
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_sheet(args.output, picks, model)
    print(f"queue: {describe(picks)} -> {args.output}", file=sys.stderr)
    return 0
