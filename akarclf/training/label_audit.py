"""Hand audit of the taxonomy labels: draw the sample, and summarise the verdicts.

Training labels are not read by hand: :mod:`akarclf.training.taxonomy` maps marketplace categories
to
clusters. How often that mapping is wrong bounds what the model can learn, so a random sample of
labelled titles was read by hand against ``CLUSTERS.md`` and the verdicts kept as a fixture of
ids and clusters only (``akarclf/training/data/label_audit.csv``; the titles stay in
``../shared/data``).

:func:`draw_audit_sample` draws that sample reproducibly (seeded, stratified by taxonomy label,
so that the thin clusters get enough rows to measure). :func:`summarise_audit` turns the fixture
into the per-cluster label accuracy, with 95 % Wilson intervals, that ``akarclf train
--label-audit`` puts in the model card.

The shipped fixture is ``draw_audit_sample(load_training_data("../shared/data").examples,
per_cluster=110, seed=0)`` under taxonomy version 2026.11.1 (110 titles per taxonomy label;
there were 245 crafts titles in all). A verdict the title could not settle is the likeliest
cluster, with a note containing "uncertain"; the summary reports how far those could move the
accuracy.
"""

from __future__ import annotations

import csv
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from akarclf.clusters import CLUSTERS
from akarclf.errors import AkarclfError
from akarclf.training.datasets import Example
from akarclf.training.uid_labels import read_uid_labels

#: Columns of the audit fixture, in order. ``note`` may be empty.
AUDIT_COLUMNS: tuple[str, ...] = ("uid", "taxonomy_label", "verdict", "note")

#: A note containing this word marks a verdict the auditor could not settle from the title.
UNCERTAIN_MARK = "uncertain"

#: Normal quantile of a two-sided 95 % interval.
_Z95 = 1.959963984540054


class AuditError(AkarclfError, ValueError):
    """The audit file is malformed: missing column, unknown cluster, repeated uid."""


def draw_audit_sample(
    examples: Iterable[Example], per_cluster: int = 110, seed: int = 0
) -> list[Example]:
    """A seeded random sample of ``per_cluster`` examples of every taxonomy label.

    A cluster with fewer examples contributes all of them. Candidates are sorted by ``uid``
    before sampling, so the sample depends only on the labelled data and the seed, not on the
    order the files were read in. The result is grouped by cluster in :data:`CLUSTERS` order
    and sorted by ``uid`` within a cluster (easy to read and to diff).
    """
    if per_cluster < 1:
        raise ValueError(f"per_cluster must be at least 1, got {per_cluster}")
    by_label: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    unknown = sorted(set(by_label) - set(CLUSTERS))
    if unknown:
        raise ValueError(f"examples carry unknown cluster labels: {', '.join(unknown)}")
    rng = random.Random(seed)
    sample: list[Example] = []
    for cluster in CLUSTERS:
        pool = sorted(by_label.get(cluster, []), key=lambda e: e.uid)
        chosen = pool if len(pool) <= per_cluster else rng.sample(pool, per_cluster)
        sample.extend(sorted(chosen, key=lambda e: e.uid))
    return sample


def wilson_interval(correct: int, checked: int, z: float = _Z95) -> tuple[float, float] | None:
    """The Wilson score interval of ``correct / checked`` (None when nothing was checked).

    Wilson rather than the normal approximation because the accuracies here are close to 1,
    where the normal interval runs past 1 and is too narrow.
    """
    if checked < 0 or not 0 <= correct <= checked:
        raise ValueError(f"need 0 <= correct <= checked, got {correct} of {checked}")
    if checked == 0:
        return None
    p = correct / checked
    denominator = 1 + z * z / checked
    centre = (p + z * z / (2 * checked)) / denominator
    half = z * math.sqrt(p * (1 - p) / checked + z * z / (4 * checked * checked)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def read_audit(path: str | Path) -> list[dict[str, str]]:
    """Rows of an audit CSV, checked: the columns, known clusters, one row per uid.

    Raises :class:`AuditError` naming the file and line of the first bad row.
    """
    return read_uid_labels(
        path,
        required=AUDIT_COLUMNS[:3],
        labels=("taxonomy_label", "verdict"),
        optional=("note",),
        error=AuditError,
        empty="no audit rows",
    )


def is_uncertain(row: Mapping[str, str]) -> bool:
    """Whether the auditor marked this verdict as a best guess (the note says "uncertain")."""
    return UNCERTAIN_MARK in row.get("note", "").casefold()


@dataclass
class _Tally:
    """Counts behind one accuracy figure."""

    checked: int = 0
    correct: int = 0
    uncertain_agree: int = 0
    uncertain_disagree: int = 0

    def add(self, agrees: bool, uncertain: bool) -> None:
        self.checked += 1
        self.correct += agrees
        self.uncertain_agree += agrees and uncertain
        self.uncertain_disagree += not agrees and uncertain

    def report(self) -> dict[str, Any]:
        """The JSON-ready accuracy entry (see :func:`summarise_audit`)."""
        n, k = self.checked, self.correct
        interval = wilson_interval(k, n)
        return {
            "checked": n,
            "correct": k,
            "accuracy": k / n if n else None,
            "ci95": list(interval) if interval else None,
            "uncertain": self.uncertain_agree + self.uncertain_disagree,
            # Accuracy if every uncertain verdict went against / for the taxonomy label.
            "accuracy_bounds_uncertain": (
                [(k - self.uncertain_agree) / n, (k + self.uncertain_disagree) / n] if n else None
            ),
        }


def summarise_audit(
    path: str | Path, label_counts: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """Per-cluster accuracy of the taxonomy labels in an audit file, JSON-ready.

    ``per_cluster`` is keyed by the *taxonomy* label (the precision of the labels the model
    trains on), every cluster of :data:`CLUSTERS` present; ``overall`` pools all rows (the sample
    is stratified, so this is not the accuracy of the whole training mix); when
    ``label_counts`` (labelled examples per cluster in the training mix) is given,
    ``overall_weighted`` reweights the per-cluster accuracies to that mix. ``confusions`` lists
    every (taxonomy label, verdict) disagreement with its count and uids, commonest first;
    ``per_source`` gives the accuracy per data file (the uid's stem). Every accuracy entry has
    ``checked``, ``correct``, ``accuracy``, ``ci95`` (Wilson), ``uncertain`` (rows whose note
    says "uncertain") and ``accuracy_bounds_uncertain``.
    """
    rows = read_audit(path)
    per_cluster = {cluster: _Tally() for cluster in CLUSTERS}
    per_source: dict[str, _Tally] = defaultdict(_Tally)
    overall = _Tally()
    wrong: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows:
        label, verdict = row["taxonomy_label"], row["verdict"]
        agrees, uncertain = label == verdict, is_uncertain(row)
        for tally in (per_cluster[label], per_source[row["uid"].rsplit(":", 1)[0]], overall):
            tally.add(agrees, uncertain)
        if not agrees:
            wrong[(label, verdict)].append(row["uid"])
    summary: dict[str, Any] = {
        "description": (
            f"Hand audit of {len(rows)} training labels from the taxonomy: a seeded random "
            "sample stratified by taxonomy label "
            "(akarclf.training.label_audit.draw_audit_sample), each "
            "title read by hand against CLUSTERS.md. Accuracy is the share of sampled titles "
            "whose taxonomy label equals the hand verdict, per taxonomy label, with 95 % "
            "Wilson intervals; the overall figure pools the stratified sample. Verdicts the "
            "auditor marked uncertain (note) are counted as given; accuracy_bounds_uncertain "
            "shows the range if they all went one way or the other."
        ),
        "source": Path(path).name,
        "per_cluster": {c: tally.report() for c, tally in per_cluster.items()},
        "overall": overall.report(),
        "per_source": {s: per_source[s].report() for s in sorted(per_source)},
        "confusions": [
            {"taxonomy_label": label, "verdict": verdict, "count": len(uids), "uids": uids}
            for (label, verdict), uids in sorted(
                wrong.items(), key=lambda item: (-len(item[1]), item[0])
            )
        ],
    }
    if label_counts is not None:
        summary["overall_weighted"] = _weighted(summary["per_cluster"], label_counts)
    return summary


#: Taxonomy version whose labels the audit fixture sampled and records in ``taxonomy_label``.
AUDITED_TAXONOMY_VERSION = "2026.11.1"


def rescore_audit(
    path: str | Path, examples: Iterable[Example], taxonomy_version: str
) -> dict[str, Any]:
    """Accuracy of the *current* taxonomy's labels on the audited titles, JSON-ready.

    The hand verdicts do not depend on the taxonomy, so after a taxonomy edit the same audited
    titles measure the new labels: ``per_cluster`` is keyed by the current label, ``dropped``
    counts audited titles the current taxonomy no longer labels, per hand verdict. When the edit
    was guided by this very sample the figures are optimistic; the description says so.
    """
    rows = read_audit(path)
    current = {e.uid: e.taxonomy_label for e in examples if e.taxonomy_label is not None}
    per_cluster = {cluster: _Tally() for cluster in CLUSTERS}
    dropped: dict[str, int] = {cluster: 0 for cluster in CLUSTERS}
    for row in rows:
        label = current.get(row["uid"])
        if label is None:
            dropped[row["verdict"]] += 1
            continue
        per_cluster[label].add(label == row["verdict"], is_uncertain(row))
    return {
        "description": (
            f"The same {len(rows)} hand-read titles (sampled from taxonomy "
            f"{AUDITED_TAXONOMY_VERSION}) scored against the labels of taxonomy "
            f"{taxonomy_version}, per current label. The edits from {AUDITED_TAXONOMY_VERSION} "
            "were guided by this sample, so these figures are optimistic; a fresh sample is "
            "the unbiased check."
        ),
        "taxonomy_version": taxonomy_version,
        "per_cluster": {c: tally.report() for c, tally in per_cluster.items()},
        "dropped_by_verdict": dropped,
    }


def _weighted(per_cluster: Mapping[str, Mapping[str, Any]], counts: Mapping[str, int]) -> Any:
    """Accuracy of the whole mix: per-cluster accuracies weighted by the cluster's share."""
    total = sum(counts.get(c, 0) for c in CLUSTERS if per_cluster[c]["checked"])
    if total == 0:
        return None
    return sum(
        per_cluster[c]["accuracy"] * counts.get(c, 0) / total
        for c in CLUSTERS
        if per_cluster[c]["checked"]
    )


def write_audit(path: str | Path, rows: Sequence[Mapping[str, str]]) -> None:
    """Write audit rows (mappings with the :data:`AUDIT_COLUMNS` keys) as the fixture CSV."""
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=AUDIT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in AUDIT_COLUMNS})
