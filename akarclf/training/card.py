"""The model card: what a trained model was trained on, how it scores, and how to re-measure it.

Built only from a :class:`~akarclf.training.pipeline.TrainingReport` and the evaluation/tuning
modules, so every figure in it was computed by the command that wrote it (``akarclf train``).
Written as JSON (for tools and tests) and Markdown (for people) next to the model file.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import numpy as np

from akarclf.clusters import CLUSTERS
from akarclf.evaluation.metrics import evaluate_predictions, interval_text
from akarclf.evaluation.targets import check_targets
from akarclf.training.pipeline import TrainingReport, label_counts


def machine_description() -> str:
    """Where the figures were measured: CPU count, OS and Python, as printed in the card."""
    import os

    return (
        f"{os.cpu_count()} CPU cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}"
    )


def build_card(
    report: TrainingReport,
    *,
    command: str,
    model_metadata: dict[str, Any] | None = None,
    policy_reports: dict[str, Any] | None = None,
    label_audit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The card as a JSON-ready dict (see :func:`render_markdown` for the human form)."""
    split = report.split
    test_labels = [e.label for e in split.test]
    card: dict[str, Any] = {
        "command": command,
        "machine": machine_description(),
        "training_seconds": round(report.seconds, 1),
        "model": model_metadata or {},
        "config": {
            "seed": report.config.seed,
            "test_fraction": report.config.test_fraction,
            "gold_folds": report.config.gold_folds,
            "gold_weight": report.config.gold_weight,
            "review_weight": report.config.review_weight,
            "use_gold": report.config.use_gold,
            "prior_from_gold": report.config.prior_from_gold,
            "class_prior": report.class_prior,
            "prior_strength": report.config.prior_strength,
            "params": report.config.params,
        },
        "data": {
            "fingerprint_sha256": report.data.fingerprint,
            "taxonomy_version": report.data.taxonomy_version,
            "rows_read": dict(report.data.read),
            "rows_dropped_by_taxonomy": dict(report.data.dropped),
            "labelled": label_counts(report.data.examples),
            "hand_labelled": report.data.hand_labelled,
            "hand_label_changed_taxonomy": report.data.hand_changed,
            "hand_labels_stale": report.data.hand_stale,
            "gold_rows": len(report.gold),
            "gold_labels": label_counts(report.gold),
        },
        "split": {
            "duplicates_removed": split.duplicates_removed,
            "conflicting_labels_removed": split.conflicting_removed,
            "near_duplicate_groups": split.groups,
            "train": label_counts(split.train),
            "test": label_counts(split.test),
            "train_rows": len(split.train),
            "test_rows": len(split.test),
        },
        "metrics": {
            "test": evaluate_predictions(test_labels, report.test_proba, list(CLUSTERS)),
        },
        "ablation": report.ablation,
    }
    if report.gold_oof_proba is not None:
        card["metrics"]["gold_out_of_fold"] = evaluate_predictions(
            [e.label for e in report.gold], report.gold_oof_proba, list(CLUSTERS)
        )
    if report.food_fixture is not None:
        food_labels, food_proba = report.food_fixture
        card["metrics"]["food_fixture"] = evaluate_predictions(
            food_labels, food_proba, list(CLUSTERS)
        )
    if policy_reports:
        card["policy"] = policy_reports
    if label_audit:
        card["label_audit"] = label_audit
    if report.reviews is not None:
        card["reviews"] = report.reviews
    card["targets"] = check_targets(card)
    return card


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _metrics_table(metrics: dict[str, dict[str, Any]]) -> list[str]:
    names = list(metrics)
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    # (row label, path of keys into an evaluation dict); figures with a bootstrap interval
    # find it at the same path under "intervals".
    rows: list[tuple[str, tuple[str, ...]]] = [
        ("macro-F1", ("macro_f1",)),
        ("accuracy", ("accuracy",)),
        *((f"F1 {c}", ("per_cluster", c, "f1")) for c in CLUSTERS),
        *((f"precision {c}", ("per_cluster", c, "precision")) for c in CLUSTERS),
        ("ECE (top label, 15 bins)", ("ece",)),
        ("classwise ECE", ("classwise_ece",)),
        ("Brier", ("brier",)),
        ("rows", ("n",)),
    ]
    for label, path in rows:
        cells = []
        for name in names:
            value: Any = metrics[name]
            interval: Any = metrics[name].get("intervals")
            for key in path:
                value = value[key]
                interval = interval.get(key) if isinstance(interval, dict) else None
            cells.append(_fmt(value) + interval_text(interval))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if any(m.get("intervals", {}).get("replicates") for m in metrics.values()):
        lines += ["", "95 % bootstrap intervals over titles in brackets."]
    return lines


def _digits_near(bound: float, *values: Any) -> int:
    """3 decimals, or 4 where one of ``values`` would round onto ``bound`` and so hide which
    side of it it lies (0.9897 is not 0.990)."""
    near = any(
        isinstance(v, float) and v != bound and round(v, 3) == round(bound, 3) for v in values
    )
    return 4 if near else 3


def _targets_section(targets: list[dict[str, Any]]) -> list[str]:
    lines = [
        "Each target the project set for the default model and policy, measured by this "
        'command. "within noise" means the 95 % bootstrap interval crosses the bound: '
        "another sample of the same size could land on the other side. The policy was tuned "
        "on gold, so its gold figures are optimistic.",
        "",
        "| data | figure | target | measured | verdict |",
        "|---|---|---|---|---|",
    ]
    for row in targets:
        digits = _digits_near(row["bound"], row["value"], *(row["ci95"] or ()))
        measured = _fmt(row["value"], digits) + interval_text(row["ci95"], digits)
        bound = row["target"].replace(">=", "≥").replace("<=", "≤")
        lines.append(
            f"| {row['data']} | {row['figure']} | {bound} | {measured} | {row['verdict']} |"
        )
    return lines


def _drift_table(metrics: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| data | cluster | `other` titles predicted as it | rate | rate (95 % upper) | "
        "precision at 90 % `other` |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in metrics.items():
        drift = m["other_drift"]
        for cluster, d in drift["per_cluster"].items():
            at90 = next(
                (
                    p["precision"]
                    for p in d.get("precision_at_other_share", [])
                    if abs(p["other_share"] - 0.9) < 1e-9
                ),
                None,
            )
            lines.append(
                f"| {name} | {cluster} | {d['predicted']} of {drift['n_other']} | "
                f"{_fmt(d['rate'], 4)} | {_fmt(d['rate_upper95'], 4)} | {_fmt(at90)} |"
            )
    return lines


def _confusion(m: dict[str, Any]) -> list[str]:
    clusters = m["confusion_matrix"]["clusters"]
    lines = [
        "| true \\ predicted | " + " | ".join(clusters) + " |",
        "|---" * (len(clusters) + 1) + "|",
    ]
    for c, row in zip(clusters, m["confusion_matrix"]["counts"], strict=True):
        lines.append(f"| {c} | " + " | ".join(str(v) for v in row) + " |")
    return lines


def render_markdown(card: dict[str, Any]) -> str:
    """The card for people: same figures as the JSON, as tables."""
    data, split = card["data"], card["split"]
    out = [
        f"# Model card: {card['model'].get('model_version', 'akarclf model')}",
        "",
        f"Produced by `{card['command']}` in {card['training_seconds']} s on "
        f"{card['machine']}. Every figure below was computed by that command; re-run it to "
        "reproduce them (fixed seed).",
        "",
        "## Model",
        "",
        "TF-IDF word n-grams (surface forms and Sastrawi stems, plus `lex=<cluster>` features "
        "from the curated product-noun lexicon) and character n-grams, a linear SVM with "
        "balanced class weights, and a sigmoid calibration fitted on 5-fold cross-validated "
        "scores (data the scoring SVM did not see).",
        "",
        f"Parameters: `{json.dumps(card['config']['params'] or 'defaults')}`; "
        f"seed {card['config']['seed']}.",
        "",
        *(
            ["## Targets", "", *_targets_section(card["targets"]), ""]
            if card.get("targets")
            else []
        ),
        "## Data",
        "",
        f"Training files (SHA-256 `{data['fingerprint_sha256'][:16]}…`), labelled through "
        f"taxonomy `{data['taxonomy_version']}`:",
        "",
        "| file | rows read | dropped (category cannot decide) |",
        "|---|---|---|",
    ]
    for name, rows in data["rows_read"].items():
        out.append(f"| {name} | {rows} | {data['rows_dropped_by_taxonomy'].get(name, 0)} |")
    out += [
        "",
        f"{data['hand_labelled']} rows carry a hand label "
        "(`akarclf/training/data/hand_labels.csv`, read "
        f"against CLUSTERS.md), which replaced the taxonomy's label in "
        f"{data['hand_label_changed_taxonomy']} cases; {data['hand_labels_stale']} hand labels "
        "no longer matched their row's title and were not applied.",
        "",
        "Labelled titles per cluster: "
        + ", ".join(f"{c} {n}" for c, n in data["labelled"].items())
        + f". Gold set (`gold_dev.csv`, hand-read): {data['gold_rows']} titles ("
        + ", ".join(f"{c} {n}" for c, n in data["gold_labels"].items())
        + ").",
        "",
        "## Split",
        "",
        f"Deduplicated on normalised titles ({split['duplicates_removed']} duplicates removed, "
        f"{split['conflicting_labels_removed']} titles with conflicting labels removed), "
        f"grouped into {split['near_duplicate_groups']} near-duplicate groups (shared first "
        "five words or the same word set), whole groups assigned to one side by a seeded hash "
        f"(test fraction {card['config']['test_fraction']}).",
        "",
        "| side | rows | " + " | ".join(CLUSTERS) + " |",
        "|---" * (len(CLUSTERS) + 2) + "|",
        f"| train | {split['train_rows']} | "
        + " | ".join(str(split["train"][c]) for c in CLUSTERS)
        + " |",
        f"| test | {split['test_rows']} | "
        + " | ".join(str(split["test"][c]) for c in CLUSTERS)
        + " |",
        "",
        "The shipped model trains on the training split"
        + (
            f" (reviewer-labelled titles weighted {card['config']['review_weight']})"
            if card["config"].get("review_weight", 1.0) != 1.0
            else ""
        )
        + (
            f" plus all of gold (weight {card['config']['gold_weight']}); gold figures are "
            f"therefore out-of-fold ({card['config']['gold_folds']} stratified folds, each "
            "fold's model trained on the training split plus the other gold folds)."
            if card["config"]["use_gold"]
            else "."
        ),
        "",
        (
            "Probabilities are shifted from the training mix's cluster shares towards gold_dev's ("
            + ", ".join(f"{c} {p:.3f}" for c, p in card["config"]["class_prior"].items())
            + "), the closest thing here to a real catalogue, with strength "
            + f"{card['config']['prior_strength']} (1 = all the way, in log space); each "
            "out-of-fold model uses the shares of its own training folds."
            if card["config"].get("class_prior")
            else "Probabilities keep the training mix's cluster shares."
        ),
        "",
        "## Metrics",
        "",
    ]
    metrics = card["metrics"]
    names = {"test": "held-out split"}
    if "gold_out_of_fold" in metrics:
        names["gold_out_of_fold"] = "gold_dev (out-of-fold)"
    out += _metrics_table({names[k]: metrics[k] for k in names})
    out += ["", "### Drift towards protected clusters on `other` titles", ""]
    out += _drift_table({names[k]: metrics[k] for k in names})
    for key, title in names.items():
        out += ["", f"### Confusion matrix, {title}", "", *_confusion(metrics[key])]
    if card.get("ablation"):
        out += [
            "",
            "## Ablation: word forms and character n-grams",
            "",
            "Each variant trained on the training split only (no gold), scored on the held-out "
            "split and on all of gold.",
            "",
            "| words | char n-grams | test macro-F1 | test crafts F1 | gold macro-F1 "
            "| gold crafts F1 |",
            "|---|---|---|---|---|---|",
        ]
        for row in card["ablation"]:
            chars = (
                "–"
                if row["char_ngrams"] is None
                else f"{row['char_ngrams'][0]}–{row['char_ngrams'][1]}"
            )
            out.append(
                f"| {row['word_features']} | {chars} | {_fmt(row['test']['macro_f1'])} | "
                f"{_fmt(row['test']['f1']['crafts'])} | "
                f"{_fmt(row['gold_no_gold_training']['macro_f1'])} | "
                f"{_fmt(row['gold_no_gold_training']['f1']['crafts'])} |"
            )
    if card.get("policy"):
        out += ["", "## Default policy", "", *_policy_section(card["policy"])]
    if card.get("label_audit"):
        out += ["", "## Label audit", "", *_audit_section(card["label_audit"])]
    if card.get("reviews"):
        out += ["", "## Reviewer labels", "", *_reviews_section(card["reviews"])]
    return "\n".join(out) + "\n"


def _reviews_section(reviews: dict[str, Any]) -> list[str]:
    agreement = reviews["agreement"]
    rounds = ", ".join(f"{name} ({n} reads)" for name, n in reviews["rounds"].items())
    out = [
        f"{reviews['reads']} reads of {reviews['listings']} listings by "
        f"{reviews['reviewers']} reviewers, from {', '.join(reviews['files'])}; rounds: "
        f"{rounds}.",
        f"Settled by majority: {reviews['settled']} ({_counts(reviews['labels'])}); "
        f"{reviews['applied']} reached a training row and override its taxonomy or hand "
        f"label ({reviews['changed_training_label']} changed it).",
        f"First two readers: {agreement['listings_read_twice']} listings read twice, raw "
        f"agreement {_fmt(agreement['raw_agreement'])}, Cohen's kappa "
        f"{_fmt(agreement['cohen_kappa'])}; {agreement['disagreements']} disagreements, "
        f"{agreement['third_reader']} went to a third reader.",
    ]
    for key, what in (
        ("ties", "tied reads, left out"),
        ("title_conflicts", "read as different titles, left out"),
        ("reviewer_conflicts", "given different labels by one reviewer in two rounds, left out"),
        ("stale", "rows now holding another title, not applied"),
        ("unmatched", "uids in no training file, not applied"),
    ):
        if reviews.get(key):
            shown = ", ".join(reviews[key][:10]) + (" ..." if len(reviews[key]) > 10 else "")
            out.append(f"{len(reviews[key])} {what}: {shown}.")
    return [line for text in out for line in (f"- {text}",)]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{c} {counts.get(c, 0)}" for c in CLUSTERS)


def _policy_section(policy: dict[str, Any]) -> list[str]:
    out = []
    thresholds = policy.get("thresholds", {})
    if thresholds:
        out.append(
            f"Tuned by the same command on gold out-of-fold probabilities: block threshold "
            f"{thresholds.get('block')}, review threshold {thresholds.get('review')}."
        )
        out.append("")
    out += [
        "| data | block precision | protected recall | review rate | allow rate |",
        "|---|---|---|---|---|",
    ]
    for name, rep in policy.get("reports", {}).items():
        m = rep["metrics"]

        def cell(key: str, m: dict[str, Any] = m) -> str:
            entry = m.get(key) or {}
            value, ci = entry.get("value"), entry.get("ci95") or [None, None]
            return f"{_fmt(value)} [{_fmt(ci[0])}, {_fmt(ci[1])}]"

        out.append(
            f"| {name} | {cell('block_precision')} | {cell('protected_recall')} | "
            f"{cell('review_rate')} | {cell('allow_rate')} |"
        )
    out += ["", "Every listing treated as cross-border; 95 % bootstrap intervals in brackets."]
    return out


def _audit_section(audit: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, title in (
        ("as_sampled", "Taxonomy labels as sampled"),
        ("current_taxonomy", "Current taxonomy on the same titles"),
    ):
        part = audit.get(key)
        if not part:
            continue
        out += [
            f"### {title}",
            "",
            part.get("description", ""),
            "",
            "| cluster (taxonomy label) | checked | correct | accuracy | 95 % interval |",
            "|---|---|---|---|---|",
        ]
        for cluster, row in part["per_cluster"].items():
            ci = row.get("ci95") or [None, None]
            out.append(
                f"| {cluster} | {row['checked']} | {row['correct']} | "
                f"{_fmt(row['accuracy'])} | [{_fmt(ci[0])}, {_fmt(ci[1])}] |"
            )
        if part.get("overall_weighted") is not None:
            out += ["", f"Weighted by the training mix: {_fmt(part['overall_weighted'])}."]
        if part.get("dropped_by_verdict"):
            dropped = ", ".join(f"{c} {n}" for c, n in part["dropped_by_verdict"].items())
            out += [
                "",
                f"Audited titles the current taxonomy no longer labels, by verdict: {dropped}.",
            ]
        out.append("")
    if audit.get("second_read"):
        out += _second_read_section(audit["second_read"])
    return out


def _second_read_section(reads: dict[str, Any]) -> list[str]:
    names = {"test": "held-out split", "train": "training split", "all": "all titles"}
    out = ["### Second read of the hand labels", "", reads.get("description", ""), ""]
    for side, part in reads["sides"].items():
        out += [
            f"{names.get(side, side)}: {part['rows']} titles, agreement "
            f"{_fmt(part['agreement'])}, Cohen's kappa {_fmt(part['kappa'])}.",
            "",
            "| cluster | first reader | second reader | both | F1 of one reader against the "
            "other | F1 of each reader against the majority label (first, second) |",
            "|---|---|---|---|---|---|",
        ]
        for cluster, row in part["per_cluster"].items():
            out.append(
                f"| {cluster} | {row['first']} | {row['second']} | {row['both']} | "
                f"{_fmt(row['f1'])} | {_fmt(row.get('first_vs_adjudicated_f1'))}, "
                f"{_fmt(row.get('second_vs_adjudicated_f1'))} |"
            )
        changed = ", ".join(
            f"{c['first_read']} -> {c['adjudicated']} {c['count']}"
            for c in part.get("changed_by_adjudication", [])
        )
        out += [
            "",
            f"{part['disagreements']} disagreements went to the third reader; the majority "
            f"changed the first reader's label in these cases: {changed or 'none'}.",
            "",
        ]
    out += [
        "A model is scored against the majority label. The last column is the nearest "
        "human comparison, and an optimistic one: each reader's own vote is part of the "
        "majority it is scored against.",
        "",
    ]
    return out


#: Keys of the saved file's metadata that the card's ``model`` section shows.
CARD_MODEL_KEYS = (
    "model_version",
    "created_at",
    "akarclf_version",
    "sklearn_version",
    "sha256",
    "labels",
)


def save_with_card(
    model: Any,
    report: TrainingReport,
    path: str | Path,
    *,
    command: str,
    policy_reports: dict[str, Any] | None = None,
    label_audit: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Save a trained model with the card's figures in its metadata, then write the card.

    The card is computed once: its metrics go into the model file's metadata, and the saved
    file's version and hash into the card. ``metadata`` adds to what the report provides.
    Returns the model path and the card.
    """
    from akarclf.model.persistence import read_metadata, save_model

    card = build_card(
        report, command=command, policy_reports=policy_reports, label_audit=label_audit
    )
    full = {
        "training_data_sha256": report.data.fingerprint,
        "taxonomy_version": report.data.taxonomy_version,
        "lexicon_version": getattr(model, "lexicon_version_", None),
        "params": model.get_params(),
        "seed": report.config.seed,
        "split": card["split"],
        "metrics": {
            name: {k: m[k] for k in ("macro_f1", "accuracy", "ece")}
            | {"f1": {c: m["per_cluster"][c]["f1"] for c in CLUSTERS}}
            for name, m in card["metrics"].items()
        },
        **(metadata or {}),
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    saved_path = save_model(model, target, metadata=full)
    saved = read_metadata(saved_path)
    card["model"] = {k: saved.get(k) for k in CARD_MODEL_KEYS}
    write_card(card, saved_path)
    return saved_path, card


def write_card(card: dict[str, Any], model_path: Path) -> tuple[Path, Path]:
    """Write ``<model>.card.json`` and ``<model>.md`` beside the model file."""
    json_path = model_path.with_suffix(".card.json")
    md_path = model_path.with_suffix(".md")
    json_path.write_text(json.dumps(card, indent=2, default=_to_json) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(card), encoding="utf-8")
    return json_path, md_path


def _to_json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
