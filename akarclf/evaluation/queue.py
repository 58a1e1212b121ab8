"""The review queue: which listings a reviewer should read so that the model learns most.

Reviewer time is the scarce resource, so ``akarclf queue`` spends it where a label changes the
most, in three parts:

1. **Uncertain, in the gate's sense.** A listing teaches the model most where the model is
   least sure *and* the answer matters for a decision: its protected mass lies near the block
   or review threshold of the policy (a label there moves the thresholds and the decisions
   around them), or its two most likely clusters are close. Each listing gets
   ``uncertainty = (gate + margin) / 2``, with ``gate = exp(-d)``, ``d`` the distance in logits
   from its protected mass to the nearer threshold (logits, because the review threshold sits
   near 0 where plain differences say nothing), and ``margin = 1 - (p_first - p_second)``.
2. **Diverse.** The most uncertain listings are often copies of one product (variants of one
   listing, the same item from several shops) or of one confusion; reading twenty of them
   teaches what one does. Near-duplicates are collapsed with the grouping keys the training
   split uses (:func:`akarclf.training.splits.near_duplicate_groups`: same first words or same
   word set), keeping the most uncertain of each group, and groups holding a listing already
   reviewed are skipped. The most uncertain listings form a candidate set, and picks are made
   greedily: each next pick maximises ``uncertainty x distance`` to the picks so far, the
   distance being ``1 - cosine`` of word TF-IDF vectors (max-min diversity, weighted). The
   sheet says ``uncertain`` where the pick was also the most uncertain candidate left, and
   ``diverse`` where the distance term chose it.
3. **Random.** A share of the queue (``--random-share``, 10 % by default) is drawn uniformly
   from all eligible listings and marked ``random``. Uncertainty sampling is biased by design;
   those rows are what lets error rates, and the queue's own worth, be estimated without bias.

The sheet is a CSV a reviewer fills in; with its ``label``, ``reviewer``, ``reviewed_at``,
``round`` and ``note`` columns filled it is a review file that ``akarclf train --reviews``
reads (see :mod:`akarclf.training.reviews`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from akarclf.clusters import CLUSTERS
from akarclf.gate.policy import Policy
from akarclf.scoring import PROBA_COLUMNS, score_records
from akarclf.scoring.core import format_evidence
from akarclf.scoring.readers import format_for, open_input
from akarclf.scoring.rows import Reject
from akarclf.training.datasets import title_key
from akarclf.training.splits import near_duplicate_groups

#: Columns of the sheet, in order.
SHEET_COLUMNS: tuple[str, ...] = (
    "uid",
    "title",
    "title_key",
    "cluster",
    *PROBA_COLUMNS,
    "protected_mass",
    "evidence",
    "reason",
    "label",
    "reviewer",
    "reviewed_at",
    "round",
    "note",
)
#: Candidates considered for diversity, per listing asked for (and at least MIN_CANDIDATES).
CANDIDATES_PER_PICK = 10
MIN_CANDIDATES = 1000
EVIDENCE_TOP = 5
_EPS = 1e-6


@dataclass(frozen=True)
class Scored:
    """One listing of the catalogue with the model's view of it."""

    uid: str
    title: str
    cluster: str
    proba: tuple[float, ...]  # in CLUSTERS order
    protected_mass: float
    uncertainty: float


@dataclass(frozen=True)
class Pick:
    """A listing chosen for review, and why."""

    item: Scored
    reason: str  # "uncertain", "diverse" or "random"


def _logit(p: np.ndarray | float) -> Any:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def uncertainty(proba: np.ndarray, mass: np.ndarray, policy: Policy) -> np.ndarray:
    """Per listing, in [0, 1]: how near the gate's thresholds and how close the top two
    clusters are (see the module docstring)."""
    distance = np.minimum(
        np.abs(_logit(mass) - _logit(policy.block_threshold)),
        np.abs(_logit(mass) - _logit(policy.review_threshold)),
    )
    top_two = np.sort(proba, axis=1)[:, -2:]
    margin = 1.0 - (top_two[:, 1] - top_two[:, 0])
    result: np.ndarray = (np.exp(-distance) + margin) / 2
    return result


def read_catalogue(
    path: str | Path, *, id_col: str | None, title_col: str, fmt: str | None = None
) -> list[dict[str, Any]]:
    """The records of a CSV or JSONL catalogue (``.gz`` and ``-`` for stdin allowed), each with
    a ``uid``: the ``id_col`` value, else ``uid`` or ``id`` when the file has one, else the
    record number."""
    kind = format_for(path, fmt) or "csv"
    with open_input(path) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        if kind == "csv":
            records: list[dict[str, Any]] = list(csv.DictReader(text))
        else:
            records = []
            for number, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}:{number}: not a JSON object: {error}") from None
    if not records:
        raise ValueError(f"{path}: no rows")
    if title_col not in records[0]:
        raise ValueError(f"{path}: no column {title_col!r}; columns: {', '.join(records[0])}")
    column = id_col or next((c for c in ("uid", "id") if c in records[0]), None)
    if id_col is not None and id_col not in records[0]:
        raise ValueError(f"{path}: no id column {id_col!r}; columns: {', '.join(records[0])}")
    for number, record in enumerate(records, start=1):
        record["uid"] = str(record.get(column) or "") if column else str(number)
        if not record["uid"]:
            raise ValueError(f"{path}: record {number}: empty {column!r}")
    return records


def score_catalogue(
    records: Iterable[Mapping[str, Any]],
    *,
    model: Any,
    policy: Policy,
    on: date,
    title_col: str = "title",
    rejects: list[Reject] | None = None,
) -> list[Scored]:
    """Score every record as a cross-border listing; records that cannot be scored (empty
    title) are appended to ``rejects``."""
    sink: list[Reject] = [] if rejects is None else rejects
    rows = list(
        score_records(
            ({**r, "cross_border": 1} for r in records),
            model=model,
            policy=policy,
            on=on,
            title_col=title_col,
            on_reject=sink.append,
        )
    )
    if not rows:
        return []
    proba = np.array([[row[c] for c in PROBA_COLUMNS] for row in rows], dtype=float)
    protected = policy.protected_on(on)
    mass = proba[:, [CLUSTERS.index(c) for c in protected]].sum(axis=1)
    scores = uncertainty(proba, mass, policy)
    return [
        Scored(
            str(row["uid"]),
            str(row[title_col]),
            str(row["cluster"]),
            tuple(float(p) for p in proba[i]),
            float(mass[i]),
            float(scores[i]),
        )
        for i, row in enumerate(rows)
    ]


def select(
    items: Sequence[Scored],
    size: int,
    *,
    seed: int = 0,
    random_share: float = 0.1,
    exclude: Iterable[str] = (),
    exclude_keys: Iterable[str] = (),
) -> list[Pick]:
    """The ``size`` listings to review (fewer when the catalogue has fewer eligible ones).

    ``exclude`` are uids already reviewed; ``exclude_keys`` title keys already reviewed: such
    listings and their near-duplicates are never picked.
    """
    if size < 1:
        raise ValueError(f"queue size must be at least 1, got {size}")
    if not 0 <= random_share <= 1:
        raise ValueError(f"random share must be between 0 and 1, got {random_share}")
    done, done_keys = set(exclude), set(exclude_keys)
    groups = near_duplicate_groups([item.title for item in items])
    reviewed_groups = {
        g
        for item, g in zip(items, groups, strict=True)
        if item.uid in done or title_key(item.title) in done_keys
    }
    eligible = [i for i, g in enumerate(groups) if g not in reviewed_groups]
    rng = np.random.default_rng(seed)
    n_random = min(len(eligible), round(size * random_share))
    random_idx = [int(i) for i in rng.choice(eligible, size=n_random, replace=False)]
    picks = [Pick(items[i], "random") for i in random_idx]
    taken_groups = {groups[i] for i in random_idx}

    # One listing per near-duplicate group: its most uncertain.
    best: dict[int, int] = {}
    for i in eligible:
        g = groups[i]
        if g not in taken_groups and (
            g not in best or items[i].uncertainty > items[best[g]].uncertainty
        ):
            best[g] = i
    ranked = sorted(best.values(), key=lambda i: (-items[i].uncertainty, items[i].uid))
    candidates = ranked[: max(MIN_CANDIDATES, CANDIDATES_PER_PICK * size)]
    for i, reason in _max_min(items, candidates, size - len(picks)):
        picks.append(Pick(items[i], reason))
    return picks


def _max_min(items: Sequence[Scored], candidates: list[int], k: int) -> list[tuple[int, str]]:
    """Greedy uncertainty-weighted max-min picks over TF-IDF cosine distance."""
    if k <= 0 or not candidates:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer

    from akarclf.text.normalize import normalize_title

    texts = [normalize_title(items[i].title) or "_" for i in candidates]
    vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    weight = np.array([items[i].uncertainty for i in candidates])
    nearest = np.ones(len(candidates))  # distance to the nearest pick so far
    free = np.ones(len(candidates), dtype=bool)
    chosen: list[tuple[int, str]] = []
    for _ in range(min(k, len(candidates))):
        gain = np.where(free, weight * nearest, -1.0)
        pick = int(np.argmax(gain))
        most_uncertain = int(np.argmax(np.where(free, weight, -1.0)))
        reason = "uncertain" if weight[pick] >= weight[most_uncertain] else "diverse"
        chosen.append((candidates[pick], reason))
        free[pick] = False
        similarity = (vectors @ vectors[pick].T).toarray().ravel()
        nearest = np.minimum(nearest, 1.0 - similarity)
    return chosen


def write_sheet(path: str | Path, picks: Sequence[Pick], model: Any) -> None:
    """The reviewer's sheet: one row per pick, empty review columns (see :data:`SHEET_COLUMNS`)."""
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SHEET_COLUMNS)
        for pick in picks:
            item = pick.item
            evidence = format_evidence(model.explain(item.title, top=EVIDENCE_TOP))
            writer.writerow(
                [
                    item.uid,
                    item.title,
                    title_key(item.title),
                    item.cluster,
                    *(f"{p:.4f}" for p in item.proba),
                    f"{item.protected_mass:.4f}",
                    evidence,
                    pick.reason,
                    "",
                    "",
                    "",
                    "",
                    "",
                ]
            )


def describe(picks: Sequence[Pick]) -> str:
    """One line for stderr: how many of each reason, and the uncertainty they cover."""
    counts = {r: sum(p.reason == r for p in picks) for r in ("uncertain", "diverse", "random")}
    mean = sum(p.item.uncertainty for p in picks) / len(picks) if picks else math.nan
    return (
        f"{len(picks)} listings: {counts['uncertain']} uncertain, {counts['diverse']} diverse, "
        f"{counts['random']} random; mean uncertainty {mean:.3f}"
    )
