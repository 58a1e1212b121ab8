"""What the evasion defences cost on honest titles: the gate on gold, out of fold.

Fits the same out-of-fold models as ``akarclf train`` (training split plus four gold folds,
predicting the fifth), tunes thresholds on the whole titles' out-of-fold probabilities with
the given targets, and prints block precision, protected recall (share of protected listings
not allowed) and review rate of the gate, every gold listing taken as cross-border, for
variants of the ``[evidence]`` rules (window size, what windows may do, knowledge floor,
disguise action).

    python benchmarks/evasion_gold.py --data ../shared/data --out /tmp/evasion_gold.npz
    python benchmarks/evasion_gold.py --load /tmp/evasion_gold.npz   # re-print, no fitting

With ``--whole-only`` it needs nothing newer than the gate itself, so the same command can be
run on a checkout without the defences (the baseline line of the comparison).
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

import numpy as np

WINDOW_VARIANTS: tuple[tuple[int, int], ...] = ((3, 1), (4, 2), (5, 2))


def _fold_job(params: dict[str, Any], train: Any, fit: Any, held: Any, whole_only: bool) -> dict:
    from akarclf.clusters import CLUSTERS
    from akarclf.training.pipeline import _fit

    model = _fit(params, train, fit, 3.0, 0)
    titles = [e.title for e in held]
    order = [list(model.classes_).index(c) for c in CLUSTERS]
    out: dict[str, Any] = {"proba": model.predict_proba(titles)[:, order]}
    if whole_only:
        return out
    from akarclf.model.evidence import known_shares, windows
    from akarclf.text.normalize import clean_title

    cleaned = [clean_title(t) for t in titles]
    out["known_share"] = known_shares(model, [c.text for c in cleaned])
    out["obfuscated"] = np.array([c.obfuscated for c in cleaned])
    out["n_chars"] = np.array([len(t) for t in titles])
    for size, stride in WINDOW_VARIANTS:
        owners, texts = [], []
        for row, c in enumerate(cleaned):
            for text in windows(c.text, size, stride):
                owners.append(row)
                texts.append(text)
        scored = model.predict_proba(texts)[:, order]
        out[f"windows_{size}_{stride}"] = (np.asarray(owners), scored)
        # The head window (a title's first words, where Indonesian titles name the product).
        head = np.zeros((len(titles), len(CLUSTERS)))
        seen: set[int] = set()
        for owner, row in zip(owners, scored, strict=True):
            if owner not in seen:
                seen.add(owner)
                head[owner] = row
        out[f"head_{size}_{stride}"] = head
    return out


def fit_folds(data: str, whole_only: bool, jobs: int) -> dict[str, np.ndarray]:
    from joblib import Parallel, delayed
    from sklearn.model_selection import StratifiedKFold

    from akarclf.clusters import CLUSTERS
    from akarclf.training.datasets import load_gold, load_training_data
    from akarclf.training.splits import group_split
    from akarclf.training.pipeline import TrainingConfig, _with_prior

    config = TrainingConfig()
    examples = load_training_data(data).examples
    split = group_split(examples, test_fraction=config.test_fraction, seed=config.seed)
    gold = load_gold(data)
    labels = np.array([e.label for e in gold])
    folds = list(
        StratifiedKFold(config.gold_folds, shuffle=True, random_state=config.seed).split(
            np.zeros(len(gold)), labels
        )
    )
    results = Parallel(n_jobs=jobs)(
        delayed(_fold_job)(
            _with_prior(config, config.params, [gold[i] for i in fit]),
            split.train,
            [gold[i] for i in fit],
            [gold[i] for i in held],
            whole_only,
        )
        for fit, held in folds
    )
    n = len(gold)
    arrays: dict[str, np.ndarray] = {"labels": labels, "proba": np.zeros((n, len(CLUSTERS)))}
    for (_, held), result in zip(folds, results, strict=True):
        arrays["proba"][held] = result["proba"]
        for key in ("known_share", "obfuscated", "n_chars"):
            if key in result:
                arrays.setdefault(key, np.zeros(n, dtype=result[key].dtype))[held] = result[key]
    if not whole_only:
        from akarclf.gate.decision import protected_mass

        for size, stride in WINDOW_VARIANTS:
            best = np.zeros((n, len(CLUSTERS)))
            best_mass = np.full(n, -1.0)
            for (_, held), result in zip(folds, results, strict=True):
                owners, scored = result[f"windows_{size}_{stride}"]
                mass = protected_mass(scored, CLUSTERS, CLUSTERS[:3])
                for owner, row_mass, row in zip(owners, mass, scored, strict=True):
                    target = held[owner]
                    if row_mass > best_mass[target]:
                        best_mass[target] = row_mass
                        best[target] = row
            arrays[f"windows_{size}_{stride}"] = best
            head = np.zeros((n, len(CLUSTERS)))
            for (_, held), result in zip(folds, results, strict=True):
                head[held] = result[f"head_{size}_{stride}"]
            arrays[f"head_{size}_{stride}"] = head
    return arrays


def evaluate(arrays: dict[str, np.ndarray], targets: tuple[float, float, int]) -> None:
    from akarclf.clusters import CLUSTERS
    from akarclf.evaluation.tuning import tune_thresholds
    from akarclf.gate.decision import gate
    from akarclf.gate.flags import CROSS_BORDER
    from akarclf.gate.policy import load_policy

    precision_target, recall_target, support = targets
    labels = arrays["labels"]
    proba = arrays["proba"]
    on = dt.date(2026, 12, 1)
    tuned = tune_thresholds(
        proba,
        CLUSTERS,
        labels,
        policy=load_policy(),
        on=on,
        block_precision=precision_target,
        protected_recall=recall_target,
        min_support=support,
    ).policy
    n = len(labels)
    truth = labels != "other"
    flags = np.full(n, CROSS_BORDER, dtype=np.int8)
    blank = np.zeros(n, dtype=bool)
    print(
        f"gold out-of-fold, n={n} (protected {int(truth.sum())}); thresholds tuned on whole "
        f"titles: block {tuned.block_threshold}, review {tuned.review_threshold}"
    )
    print(
        f"{'variant':44s} {'block prec':>10s} {'prot. recall':>12s} {'review':>7s} {'blocks':>6s}"
    )

    def line(name: str, evidence: Any, rules: Any) -> None:
        if rules is None:  # a checkout without the [evidence] rules
            result = gate(proba, CLUSTERS, flags, blank, tuned, on)
        else:
            result = gate(
                proba, CLUSTERS, flags, blank, tuned.replace(evidence=rules), on, evidence
            )
        blocked = result.decision == "block"
        precision = truth[blocked].mean() if blocked.any() else float("nan")
        recall = (result.decision[truth] != "allow").mean()
        review = (result.decision == "review").mean()
        print(f"{name:44s} {precision:10.4f} {recall:12.4f} {review:7.2%} {int(blocked.sum()):6d}")

    if "known_share" not in arrays:
        line("whole title only", None, None)
        return
    from akarclf.gate.policy import EvidencePolicy
    from akarclf.model.evidence import Evidence

    def evidence(windows: np.ndarray | None, head: np.ndarray | None = None) -> Evidence:
        return Evidence(
            window_proba=np.zeros_like(proba) if windows is None else windows,
            head_proba=np.zeros_like(proba) if head is None else head,
            known_share=arrays["known_share"],
            obfuscated=arrays["obfuscated"].astype(bool),
            obfuscation=("",) * n,
            n_chars=arrays["n_chars"],
        )

    line("whole title only", evidence(None), EvidencePolicy())
    for size, stride in WINDOW_VARIANTS:
        best = arrays[f"windows_{size}_{stride}"]
        head = arrays[f"head_{size}_{stride}"]
        for action in ("block", "review"):
            line(
                f"any {size}-word window at block -> {action}",
                evidence(best),
                EvidencePolicy(segments=action),
            )
        for level in (0.5, 0.7, 0.9):
            line(
                f"first {size}-word window >= {level} -> review",
                evidence(None, head),
                EvidencePolicy(segments="review", head_review=level),
            )
    for floor in (0.3, 0.5, 0.7):
        line(
            f"known share < {floor} -> review",
            evidence(None),
            EvidencePolicy(min_known_share=floor),
        )
    line("disguised -> review", evidence(None), EvidencePolicy(obfuscated="review"))
    line("titles > 500 chars -> review", evidence(None), EvidencePolicy(max_title_chars=500))
    from akarclf.model.evidence import WINDOW_STRIDE, WINDOW_WORDS

    key = f"{WINDOW_WORDS}_{WINDOW_STRIDE}"
    packaged = load_policy().evidence
    line(
        f"packaged [evidence], {WINDOW_WORDS}-word windows",
        evidence(arrays[f"windows_{key}"], arrays[f"head_{key}"]),
        packaged,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--out", help="save the out-of-fold arrays here (.npz)")
    parser.add_argument("--load", help="evaluate saved arrays instead of fitting")
    parser.add_argument("--whole-only", action="store_true", help="no evidence (baseline)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--block-precision", type=float, default=0.97)
    parser.add_argument("--protected-recall", type=float, default=0.99)
    parser.add_argument("--min-block-support", type=int, default=100)
    args = parser.parse_args()
    if args.load:
        with np.load(args.load) as saved:
            arrays = dict(saved)
    else:
        arrays = fit_folds(args.data, args.whole_only, args.jobs)
        if args.out:
            np.savez(args.out, **arrays)
    evaluate(arrays, (args.block_precision, args.protected_recall, args.min_block_support))


if __name__ == "__main__":
    main()
