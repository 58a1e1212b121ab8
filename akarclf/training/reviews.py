"""Reviewer labels: what people working the review queue decided, read back into training.

A review file is a UTF-8 CSV with one row per read of one listing::

    uid,title_key,label,reviewer,reviewed_at,round,note
    tokopedia_keywords_2025:118,3f2a9c0b41de,culinary,ayu,2026-12-02,queue-1,canned soft drink

- ``uid``: the listing id. For the training files it is ``<file stem>:<csv line>``, exactly as
  :func:`akarclf.training.datasets.load_training_data` numbers rows and as the hand labels do.
- ``title_key``: :func:`akarclf.training.datasets.title_key` of the title that was read, so a
  label is only used while the row still holds that title (the titles stay in the data).
- ``label``: one of the four clusters, read against ``CLUSTERS.md``.
- ``reviewer``: who read it; ``reviewed_at``: ISO date (or date-time) of the read;
  ``round``: a free label of the batch (``queue-1``, ``random-1``); ``note``: free text.

Several reads of one uid (two blind readers, a third where they differ) are settled by
majority. A tie, or reads of one uid that name different titles, is reported and the uid is
left out: a disagreement is never settled silently. Reviewer labels override the taxonomy's
and the hand labels. :func:`provenance` is what the model card shows: how many, which rounds,
and how far the first two readers of a listing agreed (raw agreement and Cohen's kappa).
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from akarclf.clusters import CLUSTERS
from akarclf.errors import AkarclfError

#: Columns of a review file, in order.
REVIEW_COLUMNS: tuple[str, ...] = (
    "uid",
    "title_key",
    "label",
    "reviewer",
    "reviewed_at",
    "round",
    "note",
)
_KEY = re.compile(r"^[0-9a-f]{12}$")


class ReviewError(AkarclfError, ValueError):
    """A review file is malformed; the message names the file, line and field."""


@dataclass(frozen=True)
class Review:
    """One read of one listing by one reviewer."""

    uid: str
    title_key: str
    label: str
    reviewer: str
    reviewed_at: str
    round: str
    note: str
    origin: str  # "<file>:<line>", for messages


@dataclass
class ResolvedReviews:
    """Reads settled per uid: the labels to train on and what could not be settled."""

    reads: list[Review]
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # uid -> (label, key)
    ties: list[str] = field(default_factory=list)  # uids whose reads tie
    title_conflicts: list[str] = field(default_factory=list)  # uids read as different titles
    reviewer_conflicts: list[str] = field(default_factory=list)  # a reviewer changed their label


def _parse_when(value: str) -> str | None:
    """The value when it is an ISO date or date-time, else None."""
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(value)
        except ValueError:
            continue
        return value
    return None


def _check(row: Mapping[str, str]) -> tuple[str, str] | None:
    """(field, problem) for the first bad field of a row, or None."""
    for name in ("uid", "title_key", "label", "reviewer", "reviewed_at", "round"):
        if not row[name]:
            return name, "is empty"
    if not _KEY.match(row["title_key"]):
        return "title_key", f"{row['title_key']!r} is not 12 lower-case hex digits"
    if row["label"] not in CLUSTERS:
        return "label", f"{row['label']!r} is not a cluster; valid: {', '.join(CLUSTERS)}"
    if _parse_when(row["reviewed_at"]) is None:
        return "reviewed_at", f"{row['reviewed_at']!r} is not an ISO date (YYYY-MM-DD)"
    return None


def read_review_file(path: str | Path) -> list[Review]:
    """Every read in one review file, checked; raises :class:`ReviewError` naming the file,
    line and field of the first problem (a missing column, an empty or invalid field, the
    same reviewer reading the same uid twice, a file without rows)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [c for c in REVIEW_COLUMNS if c not in header]
            if missing:
                raise ReviewError(f"{path}: missing column(s) {', '.join(missing)}")
            reader.fieldnames = header
            reads: list[Review] = []
            first_read: dict[tuple[str, str], int] = {}
            for row in reader:
                where = f"{path}:{reader.line_num}"
                clean = {c: (row.get(c) or "").strip() for c in REVIEW_COLUMNS}
                if not any(clean.values()):
                    continue
                problem = _check(clean)
                if problem is not None:
                    raise ReviewError(f"{where}: field {problem[0]}: {problem[1]}")
                pair = (clean["uid"], clean["reviewer"])
                if pair in first_read:
                    raise ReviewError(
                        f"{where}: field reviewer: {pair[1]!r} already read {pair[0]!r} "
                        f"on line {first_read[pair]}"
                    )
                first_read[pair] = reader.line_num
                reads.append(Review(**clean, origin=where))
    except UnicodeDecodeError as error:
        raise ReviewError(f"{path}: not UTF-8 text ({error})") from None
    except csv.Error as error:
        raise ReviewError(f"{path}: malformed CSV: {error}") from None
    if not reads:
        raise ReviewError(f"{path}: no review rows")
    return reads


def read_reviews(paths: Iterable[str | Path]) -> list[Review]:
    """The reads of several review files, in file order. A reviewer may read a listing again
    in another file (another round); :func:`resolve` counts such a reviewer once."""
    reads: list[Review] = []
    for path in paths:
        reads.extend(read_review_file(path))
    return reads


def _in_read_order(reads: Sequence[Review]) -> list[Review]:
    """Reads by date, then file order: the first two are the first two readers."""
    return sorted(reads, key=lambda r: r.reviewed_at)  # sorted() is stable


def resolve(reads: Sequence[Review]) -> ResolvedReviews:
    """One label per uid by majority of its reviewers; ties, title conflicts and a reviewer
    who gave one listing different labels in different rounds are reported, never used."""
    by_uid: dict[str, list[Review]] = defaultdict(list)
    for read in reads:
        by_uid[read.uid].append(read)
    result = ResolvedReviews(reads=list(reads))
    for uid, uid_reads in by_uid.items():
        keys = {r.title_key for r in uid_reads}
        if len(keys) > 1:
            result.title_conflicts.append(uid)
            continue
        by_reviewer: dict[str, set[str]] = defaultdict(set)
        for read in uid_reads:
            by_reviewer[read.reviewer].add(read.label)
        if any(len(labels) > 1 for labels in by_reviewer.values()):
            result.reviewer_conflicts.append(uid)
            continue
        ranked = Counter(labels.pop() for labels in by_reviewer.values()).most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            result.ties.append(uid)
            continue
        result.labels[uid] = (ranked[0][0], keys.pop())
    return result


def load_reviews(paths: Iterable[str | Path]) -> ResolvedReviews:
    """Read, check and settle review files (see :func:`read_review_file`, :func:`resolve`)."""
    return resolve(read_reviews(paths))


def reader_agreement(reads: Sequence[Review]) -> dict[str, Any]:
    """Agreement of the first two readers over the uids read by at least two reviewers."""
    from sklearn.metrics import cohen_kappa_score

    by_uid: dict[str, list[Review]] = defaultdict(list)
    for read in _in_read_order(reads):
        if all(r.reviewer != read.reviewer for r in by_uid[read.uid]):
            by_uid[read.uid].append(read)  # a reviewer's later reads of a listing count once
    pairs = [rs[:2] for rs in by_uid.values() if len(rs) >= 2]
    first = [p[0].label for p in pairs]
    second = [p[1].label for p in pairs]
    agreement = None
    kappa = None
    if pairs:
        agreement = sum(a == b for a, b in zip(first, second, strict=True)) / len(pairs)
        kappa = (
            1.0
            if len(set(first) | set(second)) == 1
            else float(cohen_kappa_score(first, second, labels=list(CLUSTERS)))
        )
    return {
        "listings_read_twice": len(pairs),
        "raw_agreement": agreement,
        "cohen_kappa": kappa,
        "disagreements": sum(a != b for a, b in zip(first, second, strict=True)),
        "third_reader": sum(len(rs) >= 3 for rs in by_uid.values()),
    }


def provenance(
    resolved: ResolvedReviews,
    files: Sequence[str | Path],
    *,
    applied: int,
    changed: int,
    stale: Sequence[str],
    unmatched: Sequence[str],
) -> dict[str, Any]:
    """What the model card says about the reviewer labels a model trained on.

    ``applied``: settled labels that reached a training row; ``changed``: of which differ from
    the taxonomy's or hand label; ``stale``: uids whose row now holds another title;
    ``unmatched``: uids that are in no training file.
    """
    reads = resolved.reads
    rounds = Counter(r.round for r in reads)
    return {
        "files": [Path(f).name for f in files],
        "reads": len(reads),
        "listings": len({r.uid for r in reads}),
        "rounds": dict(sorted(rounds.items())),
        "reviewers": len({r.reviewer for r in reads}),
        "settled": len(resolved.labels),
        "labels": dict(Counter(label for label, _ in resolved.labels.values())),
        "applied": applied,
        "changed_training_label": changed,
        "ties": sorted(resolved.ties),
        "title_conflicts": sorted(resolved.title_conflicts),
        "reviewer_conflicts": sorted(resolved.reviewer_conflicts),
        "stale": sorted(stale),
        "unmatched": sorted(unmatched),
        "agreement": reader_agreement(reads),
    }
