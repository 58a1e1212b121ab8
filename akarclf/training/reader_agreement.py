"""How far two careful readers agree on the clusters of the same titles.

The hand labels were first one reader's verdicts. A second reader, who saw neither those
verdicts nor any model output, read the same titles against ``CLUSTERS.md``; where the two
differed a third blind reader decided, and the majority of three is the shipped label.
Agreement between the first two readers is the ceiling of what any model can score against
one reader's labels: if two people agree on crafts with an F1 of 0.8, a crafts F1 of 0.9
measured against either of them is mostly luck.

The reads are kept as a fixture of ids and clusters only (``akarclf/training/data/second_read.csv``:
``uid,first_read,second_read,third_read``; ``third_read`` is empty where the first two agree;
the titles stay in ``../shared/data``). :func:`summarise_agreement` turns it into what ``akarclf
train --second-read`` puts in the model card.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from akarclf.clusters import CLUSTERS
from akarclf.errors import AkarclfError
from akarclf.training.uid_labels import read_uid_labels

#: Columns of the fixture, in order. ``third_read`` is empty where the first two reads agree.
READ_COLUMNS: tuple[str, ...] = ("uid", "first_read", "second_read", "third_read")


class AgreementError(AkarclfError, ValueError):
    """The reads file is malformed: missing column, unknown cluster, repeated uid, or a third
    read missing where the first two differ."""


def read_reads(path: str | Path) -> list[dict[str, str]]:
    """Rows of a reads CSV, checked; raises :class:`AgreementError` naming file and line."""
    return read_uid_labels(
        path,
        required=READ_COLUMNS,
        labels=READ_COLUMNS[1:],
        may_be_blank=("third_read",),
        error=AgreementError,
        check=_third_read_where_needed,
    )


def _third_read_where_needed(row: Mapping[str, str]) -> str | None:
    if row["first_read"] != row["second_read"] and not row["third_read"]:
        return "the first two reads differ but there is no third"
    return None


def adjudicated(row: Mapping[str, str]) -> str:
    """The label the reads settle on: the first two when they agree, else the majority of the
    three, else (three different answers) the third reader's."""
    first, second, third = row["first_read"], row["second_read"], row["third_read"]
    if first == second:
        return first
    return first if third == first else second if third == second else third


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Cohen's kappa of two label sequences: agreement corrected for chance."""
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    a_counts, b_counts = Counter(first), Counter(second)
    expected = sum(a_counts[c] * b_counts[c] for c in a_counts) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def summarise_agreement(
    path: str | Path, side_of: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Agreement of the first two reads, per cluster and overall, and what the third changed.

    ``side_of`` maps uids to the side of the split they fell on (``train``/``test``); the
    summary then has one entry per side under ``sides`` (uids it does not know go under
    ``unknown``), else a single ``all``. ``per_cluster[c]["f1"]`` is the positive specific
    agreement, 2 x both / (first + second): the F1 one reader scores against the other on
    cluster ``c``, the same whichever is taken as the truth; ``first_vs_adjudicated_f1`` and
    ``second_vs_adjudicated_f1`` score each reader against the majority label that ships,
    which is what a model is measured against (optimistic, as each reader votes in it).
    """
    rows = read_reads(path)
    groups: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        side = "all" if side_of is None else side_of.get(row["uid"], "unknown")
        groups.setdefault(side, []).append(row)
    return {
        "description": (
            "A second reader, blind to the first reader's labels and to every model output, "
            "read hand-labelled titles again against CLUSTERS.md; where the two differed, a "
            "third blind reader decided (majority of three), and the shipped hand labels are "
            "those majorities. f1 is the score one reader gets against the other on that "
            "cluster: a ceiling for any model measured against one reader's labels."
        ),
        "source": Path(path).name,
        "rows": len(rows),
        "sides": {side: _agreement(groups[side]) for side in sorted(groups)},
    }


def _f1(truth: Sequence[str], guess: Sequence[str], cluster: str) -> float | None:
    """F1 of ``guess`` against ``truth`` on ``cluster`` (symmetric: 2 x both / (sum of both
    counts)); None when neither names the cluster."""
    both = sum(a == b == cluster for a, b in zip(truth, guess, strict=True))
    total = sum(label == cluster for label in truth) + sum(label == cluster for label in guess)
    return 2 * both / total if total else None


def _agreement(rows: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    first = [r["first_read"] for r in rows]
    second = [r["second_read"] for r in rows]
    settled = [adjudicated(r) for r in rows]
    per_cluster = {}
    for cluster in CLUSTERS:
        per_cluster[cluster] = {
            "first": sum(label == cluster for label in first),
            "second": sum(label == cluster for label in second),
            "both": sum(a == b == cluster for a, b in zip(first, second, strict=True)),
            "f1": _f1(first, second, cluster),
            # Each reader against the shipped (majority) label. Optimistic for a model's
            # ceiling, because the reader's own vote is part of that majority.
            "first_vs_adjudicated_f1": _f1(settled, first, cluster),
            "second_vs_adjudicated_f1": _f1(settled, second, cluster),
        }
    changed = Counter(
        (r["first_read"], adjudicated(r)) for r in rows if adjudicated(r) != r["first_read"]
    )
    return {
        "rows": len(rows),
        "agreement": sum(a == b for a, b in zip(first, second, strict=True)) / len(rows),
        "kappa": cohen_kappa(first, second),
        "per_cluster": per_cluster,
        "disagreements": sum(a != b for a, b in zip(first, second, strict=True)),
        "changed_by_adjudication": [
            {"first_read": a, "adjudicated": b, "count": n} for (a, b), n in changed.most_common()
        ],
    }
