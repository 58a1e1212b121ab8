"""``akarclf train``: train a model from a data folder, save it with its model card.

With ``--policy-out`` it also tunes the policy thresholds on the gold out-of-fold probabilities
(the shipped default policy is made this way) and adds the policy's report, on gold and on the
held-out split, to the card.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from akarclf.clusters import CLUSTERS
from akarclf.evaluation.targets import HELD_OUT, POLICY_GOLD


def register(subparsers: Any) -> None:
    """Add the ``train`` sub-command."""
    from akarclf.evaluation.targets import DEFAULT_BLOCK_PRECISION, DEFAULT_PROTECTED_RECALL

    parser = subparsers.add_parser(
        "train",
        help="train a model on a data folder and write it with its model card",
        description="Train the cluster classifier from the marketplace files in --data, "
        "evaluate it on the held-out split and out-of-fold on gold_dev.csv, and save it.",
    )
    parser.add_argument("--data", required=True, type=Path, help="folder with the training CSVs")
    parser.add_argument("--out", required=True, type=Path, help="model file to write (.akarclf)")
    parser.add_argument("--seed", type=int, default=0, help="seed of split and folds (default 0)")
    parser.add_argument(
        "--no-gold",
        action="store_true",
        help="do not train on gold_dev.csv (gold figures then are plain held-out)",
    )
    parser.add_argument(
        "--review-weight",
        type=float,
        default=3.0,
        help="sample weight of a title labelled by --reviews (default 3, like gold's)",
    )
    parser.add_argument(
        "--no-ablation",
        action="store_true",
        help="skip the word-form/char-n-gram ablation (faster)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="parallel fits (default 2)")
    parser.add_argument(
        "--params",
        type=json.loads,
        default={},
        help="ClusterClassifier parameters as JSON, e.g. '{\"C\": 0.3}'",
    )
    parser.add_argument(
        "--policy-out",
        type=Path,
        help="also tune a policy on gold out-of-fold probabilities and write it",
    )
    parser.add_argument(
        "--policy-report", type=Path, help="where to write the tuned policy's report (JSON)"
    )
    parser.add_argument(
        "--policy-version",
        default=None,
        help="version of the tuned policy (default: the decision date, YYYY.MM.DD)",
    )
    parser.add_argument(
        "--block-precision",
        type=float,
        default=DEFAULT_BLOCK_PRECISION,
        help=f"block precision target of the tuned policy (default {DEFAULT_BLOCK_PRECISION})",
    )
    parser.add_argument(
        "--min-block-support",
        type=int,
        default=None,
        help="smallest number of blocked listings on which block precision is checked "
        "(default: the tuner's, 1/(1 - target))",
    )
    parser.add_argument(
        "--protected-recall",
        type=float,
        default=DEFAULT_PROTECTED_RECALL,
        help=f"protected recall target of the tuned policy (default {DEFAULT_PROTECTED_RECALL})",
    )
    parser.add_argument(
        "--review-budget",
        type=float,
        default=None,
        help="cap on the share of gold listings the tuned policy sends to review "
        "(default: none; see akarclf tune-policy --review-budget)",
    )
    parser.add_argument(
        "--base-policy",
        type=Path,
        help="policy whose clusters and dates the tuned policy keeps "
        "(default: the packaged policy)",
    )
    parser.add_argument(
        "--reviews",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="reviewer-label files (uid,title_key,label,reviewer,reviewed_at,round,note): "
        "their majority labels override the taxonomy's; provenance goes in the card",
    )
    parser.add_argument(
        "--label-audit",
        type=Path,
        help="label-audit fixture (CSV uid,taxonomy_label,verdict) to summarise in the card",
    )
    parser.add_argument(
        "--second-read",
        type=Path,
        help="independent reads of hand labels (CSV uid,first_read,second_read,third_read) "
        "whose agreement the card reports, per side of the split",
    )
    parser.set_defaults(func=run)


def training_files(data_dir: Path, *, use_gold: bool) -> dict[str, str]:
    """SHA-256 of every file the model trained on, by name (``akarclf evaluate`` warns when it
    is asked to evaluate on one of them)."""
    from akarclf.training.datasets import GOLD_FILE, SOURCES, file_sha256

    names = [source.file for source in SOURCES] + ([GOLD_FILE] if use_gold else [])
    return {name: file_sha256(data_dir / name) for name in names}


def _write_oof(path: Path, report: Any) -> None:
    """Gold out-of-fold probabilities by gold id (no titles: the data stays where it is)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["hid", "label", *(f"p_{c}" for c in CLUSTERS)])
        for example, row in zip(report.gold, report.gold_oof_proba, strict=True):
            writer.writerow([example.uid, example.label, *(f"{p:.6f}" for p in row)])


def _warn_unused_reviews(reviews: dict[str, Any]) -> None:
    """Reviewer labels that could not be used are said on stderr, not only in the card."""
    for key, what in (
        ("ties", "tied reads (left out)"),
        ("title_conflicts", "reads of different titles (left out)"),
        ("stale", "rows that now hold another title (not applied)"),
        ("unmatched", "uids in no training file (not applied)"),
    ):
        if reviews[key]:
            print(
                f"reviews: {len(reviews[key])} {what}: {', '.join(reviews[key][:5])}",
                file=sys.stderr,
            )


def run(args: argparse.Namespace) -> int:
    """Train, save, write the card; returns 0."""
    from akarclf.training.card import save_with_card
    from akarclf.training.pipeline import TrainingConfig, train

    config = TrainingConfig(
        seed=args.seed,
        use_gold=not args.no_gold,
        review_weight=args.review_weight,
        ablation=not args.no_ablation,
        n_jobs=args.jobs,
        params=dict(args.params),
    )
    command = (
        "akarclf " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if sys.argv[1:]
        else "akarclf train"
    )
    print(f"training on {args.data} (seed {args.seed}) ...", file=sys.stderr)
    model, report = train(args.data, config, reviews=args.reviews)
    if report.reviews is not None:
        _warn_unused_reviews(report.reviews)

    policy_reports: dict[str, Any] = {}
    if args.policy_out is not None:
        policy_reports = _tune_policy(args, report)

    audit = None
    if args.label_audit is not None:
        from akarclf.training.label_audit import rescore_audit, summarise_audit
        from akarclf.training.pipeline import label_counts

        audit = {
            "as_sampled": summarise_audit(
                args.label_audit, label_counts=label_counts(report.data.examples)
            ),
            "current_taxonomy": rescore_audit(
                args.label_audit, report.data.examples, report.data.taxonomy_version
            ),
        }

    if args.second_read is not None:
        from akarclf.training.reader_agreement import summarise_agreement

        side_of = {e.uid: "train" for e in report.split.train}
        side_of.update((e.uid, "test") for e in report.split.test)
        audit = {**(audit or {}), "second_read": summarise_agreement(args.second_read, side_of)}

    path, card = save_with_card(
        model,
        report,
        args.out,
        command=command,
        policy_reports=policy_reports,
        label_audit=audit,
        metadata={"training_files": training_files(args.data, use_gold=config.use_gold)},
    )
    md_path = path.with_suffix(".md")
    if report.gold_oof_proba is not None:
        _write_oof(path.with_suffix(".gold_oof.csv"), report)
    size_mb = path.stat().st_size / 1e6
    test = card["metrics"]["test"]
    print(
        f"saved {path} ({size_mb:.1f} MB) in {report.seconds:.0f} s; card {md_path}",
        file=sys.stderr,
    )
    print(
        f"held-out split: macro-F1 {test['macro_f1']:.4f}, accuracy {test['accuracy']:.4f}, "
        f"ECE {test['ece']:.4f}"
    )
    if "gold_out_of_fold" in card["metrics"]:
        gold = card["metrics"]["gold_out_of_fold"]
        print(
            f"gold_dev out-of-fold: macro-F1 {gold['macro_f1']:.4f}, "
            f"accuracy {gold['accuracy']:.4f}, ECE {gold['ece']:.4f}"
        )
    return 0


def _tune_policy(args: argparse.Namespace, report: Any) -> dict[str, Any]:
    """Tune thresholds on gold out-of-fold probabilities; report on gold and on the test split."""
    from akarclf.evaluation.tuning import gate_report, tune_thresholds
    from akarclf.gate.policy import load_policy, today_utc
    from akarclf.text.normalize import blank_mask

    if report.gold_oof_proba is None:
        raise ValueError("--policy-out needs gold out-of-fold probabilities: drop --no-gold")
    base = load_policy(args.base_policy)
    gold_titles = [e.title for e in report.gold]
    result = tune_thresholds(
        report.gold_oof_proba,
        list(CLUSTERS),
        [e.label for e in report.gold],
        policy=base,
        blank=blank_mask(gold_titles),
        seed=args.seed,
        block_precision=args.block_precision,
        protected_recall=args.protected_recall,
        min_support=args.min_block_support,
        review_budget=args.review_budget,
        version=args.policy_version or today_utc().strftime("%Y.%m.%d"),
        provenance={
            "data": "gold_dev.csv out-of-fold probabilities of akarclf train",
            "training_data_sha256": report.data.fingerprint,
            "data_sha256": training_files(args.data, use_gold=True)["gold_dev.csv"],
        },
    )
    policy = result.policy
    args.policy_out.parent.mkdir(parents=True, exist_ok=True)
    args.policy_out.write_text(policy.to_toml(), encoding="utf-8")
    test_titles = [e.title for e in report.split.test]
    reports = {
        POLICY_GOLD: result.report,
        HELD_OUT: gate_report(
            report.test_proba,
            list(CLUSTERS),
            [e.label for e in report.split.test],
            policy,
            blank=blank_mask(test_titles),
            seed=args.seed,
        ),
    }
    if args.policy_report is not None:
        args.policy_report.write_text(json.dumps(result.report, indent=2) + "\n", encoding="utf-8")
    print(
        f"policy {policy.label}: block >= {policy.block_threshold}, "
        f"review >= {policy.review_threshold} -> {args.policy_out}",
        file=sys.stderr,
    )
    return {
        "thresholds": {"block": policy.block_threshold, "review": policy.review_threshold},
        "reports": reports,
    }
