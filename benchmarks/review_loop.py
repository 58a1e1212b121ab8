"""The review loop's learning curve: rounds of reviewer labels, drawn by the queue or at random.

The unlabelled pool is the four marketplace files that carry search keywords or thin categories
(:data:`akarclf.training.datasets.POOL_FILES`); every title in them is a candidate, keyed
``<file stem>:<line>`` like the hand labels. Two arms read the same number of titles per round:

- ``random`` draws the random arm: a seeded permutation of the pool, cut into rounds, so that the
  same command always gives the same titles.
- ``queue`` draws round K of the queue arm: a model is fitted (no ablation, no out-of-fold) on
  the training data plus the queue arm's reviews of rounds 1..K-1, then ``akarclf queue``'s
  selection runs on the pool without the listings already reviewed in that arm.

Sheets hold uid and title only (no model output, so the readers stay blind) and are written
outside the repository: titles never enter it, only the readers' labels do, as review files
keyed by uid and title hash (:mod:`akarclf.training.reviews`). The review files of an arm are
``<reviews dir>/<arm>_r<K>.reviews.csv``. A ``queue_rK.reasons.csv`` next to the sheet keeps
each queued uid's selection reason (uncertain, diverse, random) for the analysis, away from
the readers' sheet.

``measure`` trains with an arm's reviews of rounds 1..K (as ``akarclf train --no-ablation
--reviews ...``) and appends to a JSON file: gold out-of-fold macro-F1 and per-cluster F1,
culinary recall and precision on the mainstream food fixture, and the review rate of the
thresholds tuned on gold out-of-fold for block precision >= 0.98 and protected recall >= 0.97.
Round 0 (arm ``none``) is the model without reviews. ``curve`` turns that JSON into a Markdown
table and a PNG, queue against random per round.

    python benchmarks/review_loop.py random --data ../shared/data --rounds 4 --size 150 --out DIR
    python benchmarks/review_loop.py queue --data ../shared/data --round 1 --size 150 \\
        --reviews REVIEWS_DIR --out DIR
    python benchmarks/review_loop.py measure --data ../shared/data --arm none --round 0 \\
        --results benchmarks/results/review_loop.json
    python benchmarks/review_loop.py measure --data ../shared/data --arm queue --round 1 \\
        --reviews REVIEWS_DIR --results benchmarks/results/review_loop.json
    python benchmarks/review_loop.py curve --results benchmarks/results/review_loop.json \\
        --out benchmarks/results/review_loop
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from akarclf.clusters import CLUSTERS
from akarclf.training.datasets import read_pool

RANDOM_SEED = 2026
ARMS = ("queue", "random")
#: The shipped operating point the curve is measured at (issue 13).
BLOCK_PRECISION = 0.98
PROTECTED_RECALL = 0.97


def draw_random(pool: list[tuple[str, str]], rounds: int, size: int) -> list[list[tuple[str, str]]]:
    """The random arm: ``rounds`` disjoint draws of ``size`` pool titles (seeded)."""
    order = np.random.default_rng(RANDOM_SEED).permutation(len(pool))
    return [[pool[i] for i in order[r * size : (r + 1) * size]] for r in range(rounds)]


def write_sheet(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uid", "title"])
        writer.writerows(rows)


def review_files(reviews_dir: Path | None, arm: str, rounds: range) -> list[Path]:
    """The arm's review files of ``rounds``; a missing one is an error naming it."""
    if not rounds:
        return []
    if reviews_dir is None:
        raise SystemExit(f"--reviews DIR is needed for {arm} rounds {list(rounds)}")
    files = [reviews_dir / f"{arm}_r{k}.reviews.csv" for k in rounds]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"review files not found: {', '.join(missing)}")
    return files


def run_random(args: argparse.Namespace) -> None:
    pool = read_pool(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    for number, rows in enumerate(draw_random(pool, args.rounds, args.size), start=1):
        write_sheet(args.out / f"random_r{number}.csv", rows)
    print(f"pool {len(pool)} titles; {args.rounds} random rounds of {args.size} in {args.out}")


def run_queue(args: argparse.Namespace) -> None:
    from akarclf.evaluation.queue import describe, score_catalogue, select
    from akarclf.gate.policy import load_policy, today_utc
    from akarclf.training.reviews import read_reviews
    from akarclf.training.pipeline import TrainingConfig, fit_model

    earlier = review_files(args.reviews, "queue", range(1, args.round))
    start = time.perf_counter()
    model = fit_model(args.data, TrainingConfig(seed=args.seed, ablation=False), earlier)
    print(f"fitted on {len(earlier)} earlier review files in {time.perf_counter() - start:.0f} s")
    reads = read_reviews(earlier) if earlier else []
    pool = read_pool(args.data)
    items = score_catalogue(
        [{"uid": uid, "title": title} for uid, title in pool],
        model=model,
        policy=load_policy(),
        on=today_utc(),
    )
    picks = select(
        items,
        args.size,
        seed=args.seed + args.round,
        random_share=args.random_share,
        exclude={r.uid for r in reads},
        exclude_keys={r.title_key for r in reads},
    )
    args.out.mkdir(parents=True, exist_ok=True)
    sheet = args.out / f"queue_r{args.round}.csv"
    write_sheet(sheet, [(p.item.uid, p.item.title) for p in picks])
    with (args.out / f"queue_r{args.round}.reasons.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uid", "reason"])
        writer.writerows((p.item.uid, p.reason) for p in picks)
    print(f"{describe(picks)} -> {sheet}")


def measure(data: Path, reviews: list[Path], seed: int = 0, jobs: int = 2) -> dict[str, Any]:
    """Train with ``reviews`` (no ablation) and measure at the shipped operating point."""
    from akarclf.evaluation.metrics import evaluate_predictions
    from akarclf.evaluation.tuning import tune_thresholds
    from akarclf.gate.policy import load_policy
    from akarclf.text.normalize import blank_mask
    from akarclf.training.pipeline import TrainingConfig, train

    start = time.perf_counter()
    _, report = train(data, TrainingConfig(seed=seed, ablation=False, n_jobs=jobs), reviews)
    assert report.gold_oof_proba is not None
    labels = [e.label for e in report.gold]
    metrics = evaluate_predictions(labels, report.gold_oof_proba, list(CLUSTERS))
    tuned = tune_thresholds(
        report.gold_oof_proba,
        list(CLUSTERS),
        labels,
        policy=load_policy(),
        block_precision=BLOCK_PRECISION,
        protected_recall=PROTECTED_RECALL,
        blank=blank_mask([e.title for e in report.gold]),
        n_bootstrap=0,
        seed=seed,
    )
    gate = tuned.report["metrics"]
    food = {"recall": None, "precision": None}
    if report.food_fixture is not None:
        food_labels, food_proba = report.food_fixture
        culinary = evaluate_predictions(food_labels, food_proba, list(CLUSTERS))["per_cluster"]
        food = {k: culinary["culinary"][k] for k in food}
    return {
        "reviewed_listings": report.reviews["settled"] if report.reviews else 0,
        "applied": report.reviews["applied"] if report.reviews else 0,
        "gold_oof_macro_f1": metrics["macro_f1"],
        "gold_oof_f1": {c: metrics["per_cluster"][c]["f1"] for c in CLUSTERS},
        "thresholds": {
            "block": tuned.policy.block_threshold,
            "review": tuned.policy.review_threshold,
        },
        "tuning_status": tuned.report["status"],
        "review_rate": gate["review_rate"]["value"],
        "block_precision": gate["block_precision"]["value"],
        "protected_recall": gate["protected_recall"]["value"],
        "food_fixture_culinary": food,
        "seconds": round(time.perf_counter() - start, 1),
    }


def run_measure(args: argparse.Namespace) -> None:
    if (args.arm == "none") != (args.round == 0):
        raise SystemExit("round 0 is arm 'none' (no reviews); arms queue and random start at 1")
    files = (
        [] if args.arm == "none" else review_files(args.reviews, args.arm, range(1, args.round + 1))
    )
    entry = {
        "arm": args.arm,
        "round": args.round,
        **measure(args.data, files, args.seed, args.jobs),
    }
    results = json.loads(args.results.read_text()) if args.results.is_file() else []
    results = [r for r in results if (r["arm"], r["round"]) != (args.arm, args.round)]
    results.append(entry)
    results.sort(key=lambda r: (r["round"], r["arm"]))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(entry, indent=2))


def _series(results: list[dict[str, Any]], arm: str) -> list[dict[str, Any]]:
    """The arm's rounds, starting from the shared round 0."""
    start = [r for r in results if r["arm"] == "none"]
    return start + sorted((r for r in results if r["arm"] == arm), key=lambda r: r["round"])


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def curve_markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "# Review loop: learning curve, queue against random",
        "",
        "Each round adds the reviewer labels of that round (two blind readers per title, a "
        "third on disagreement) to the training data. Gold out-of-fold figures; review rate of "
        f"the thresholds tuned on gold out-of-fold for block precision >= {BLOCK_PRECISION} "
        f"and protected recall >= {PROTECTED_RECALL}; food: culinary on the mainstream food "
        "fixture (– where not measured). Round 0 is the model without reviews. "
        "Produced by `python benchmarks/review_loop.py curve` from the `measure` results.",
        "",
        "| arm | round | reviewed | macro-F1 | "
        + " | ".join(f"F1 {c}" for c in CLUSTERS)
        + " | review rate | block precision | protected recall | food recall | food precision |",
        "|---" * (10 + len(CLUSTERS) - 1) + "|",
    ]
    for r in sorted(results, key=lambda r: (r["round"], r["arm"])):
        f1 = " | ".join(f"{r['gold_oof_f1'][c]:.3f}" for c in CLUSTERS)
        food = r.get("food_fixture_culinary") or {}
        lines.append(
            f"| {r['arm']} | {r['round']} | {r['reviewed_listings']} | "
            f"{r['gold_oof_macro_f1']:.3f} | {f1} | {100 * r['review_rate']:.1f} % | "
            f"{r['block_precision']:.3f} | {r['protected_recall']:.3f} | "
            f"{_fmt(food.get('recall'))} | {_fmt(food.get('precision'))} |"
        )
    return "\n".join(lines) + "\n"


def curve_png(results: list[dict[str, Any]], path: Path) -> None:
    from akarclf.evaluation.plots import require_matplotlib

    figure_cls, canvas_cls = require_matplotlib()
    figure = figure_cls(figsize=(10, 4))
    canvas_cls(figure)
    panels = (
        ("gold_oof_macro_f1", "gold out-of-fold macro-F1"),
        ("review_rate", f"review rate at {BLOCK_PRECISION}/{PROTECTED_RECALL}"),
    )
    for index, (key, title) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, 2, index)
        for arm, style in (("queue", "o-"), ("random", "s--")):
            series = _series(results, arm)
            if len(series) > (1 if series and series[0]["arm"] == "none" else 0):
                axes.plot([r["round"] for r in series], [r[key] for r in series], style, label=arm)
        axes.set_xlabel("round")
        axes.set_title(title)
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def run_curve(args: argparse.Namespace) -> None:
    results = json.loads(args.results.read_text())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    markdown = args.out.with_suffix(".md")
    markdown.write_text(curve_markdown(results), encoding="utf-8")
    curve_png(results, args.out.with_suffix(".png"))
    print(f"{markdown} and {args.out.with_suffix('.png')}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rnd = sub.add_parser("random", help="write the random arm's sheets")
    rnd.add_argument("--data", type=Path, required=True)
    rnd.add_argument("--rounds", type=int, default=4)
    rnd.add_argument("--size", type=int, default=150)
    rnd.add_argument("--out", type=Path, required=True)
    rnd.set_defaults(func=run_random)
    que = sub.add_parser("queue", help="write the queue arm's sheet of one round")
    que.add_argument("--data", type=Path, required=True)
    que.add_argument("--round", type=int, required=True)
    que.add_argument("--size", type=int, default=150)
    que.add_argument("--random-share", type=float, default=0.1)
    que.add_argument("--seed", type=int, default=0)
    que.add_argument("--reviews", type=Path, help="folder of <arm>_r<K>.reviews.csv files")
    que.add_argument("--out", type=Path, required=True)
    que.set_defaults(func=run_queue)
    mea = sub.add_parser("measure", help="train with an arm's reviews and append its figures")
    mea.add_argument("--data", type=Path, required=True)
    mea.add_argument("--arm", choices=("none", *ARMS), required=True)
    mea.add_argument("--round", type=int, required=True)
    mea.add_argument("--reviews", type=Path, help="folder of <arm>_r<K>.reviews.csv files")
    mea.add_argument("--results", type=Path, required=True)
    mea.add_argument("--seed", type=int, default=0)
    mea.add_argument("--jobs", type=int, default=2)
    mea.set_defaults(func=run_measure)
    cur = sub.add_parser("curve", help="table (Markdown) and PNG from the measure results")
    cur.add_argument("--results", type=Path, required=True)
    cur.add_argument("--out", type=Path, required=True, help="path without suffix")
    cur.set_defaults(func=run_curve)
    args = parser.parse_args(argv)
    if getattr(args, "round", 1) < 0:
        sys.exit("--round must be >= 0")
    args.func(args)


if __name__ == "__main__":
    main()
