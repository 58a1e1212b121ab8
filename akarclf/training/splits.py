"""Deduplicate labelled titles and split them so that near-duplicates never straddle the split.

The same product is listed by several shops and as several variants of one listing ("Kemeja
batik pria - merah", "... - biru"). A random split puts one copy in train and one in test and
the measured accuracy is too kind. Titles are therefore grouped: two titles are in one group
when they share their first words (variants of a listing) or the same set of words (the same
product re-worded by another shop), and whole groups go to one side, chosen by a seeded hash.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from akarclf.text.normalize import key_text
from akarclf.training.datasets import Example

#: ``Example.mapped_by`` of a reviewer label: such titles always train (see group_split).
REVIEW = "review"

#: How many leading words make two titles variants of one listing.
PREFIX_WORDS = 5


@dataclass(frozen=True)
class Split:
    """Train and test examples with the bookkeeping the model card reports."""

    train: list[Example]
    test: list[Example]
    duplicates_removed: int
    conflicting_removed: int
    groups: int
    seed: int
    test_fraction: float


def deduplicate(examples: Sequence[Example]) -> tuple[list[Example], int, int]:
    """Keep one example per normalised title.

    Titles that normalise to the same text with different labels are dropped altogether (the
    label noise cannot be settled from the path), unless a reviewer read one of them: a
    reviewer's label then stands for the title. Returns (kept, duplicates, conflicting).
    """
    labels_by_key: dict[str, Counter[str]] = {}
    first: dict[str, Example] = {}
    for example in examples:
        key = key_text(example.title)
        if not key:
            continue
        if example.mapped_by == REVIEW and first.get(key, example).mapped_by != REVIEW:
            first[key] = example
            labels_by_key[key] = Counter()
        elif key in first and first[key].mapped_by == REVIEW:
            continue
        labels_by_key.setdefault(key, Counter())[example.label] += 1
        first.setdefault(key, example)
    kept = [ex for key, ex in first.items() if len(labels_by_key[key]) == 1]
    conflicting = sum(sum(c.values()) for c in labels_by_key.values() if len(c) > 1)
    duplicates = len(examples) - len(first)
    return kept, duplicates, conflicting


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def near_duplicate_groups(titles: Sequence[str]) -> list[int]:
    """Group id per title: titles sharing their first words or their word set share a group."""
    finder = _UnionFind(len(titles))
    seen: dict[tuple[str, object], int] = {}
    for i, title in enumerate(titles):
        words = key_text(title).split()
        keys: list[tuple[str, object]] = [("bag", frozenset(words))]
        if len(words) >= PREFIX_WORDS:
            keys.append(("prefix", tuple(words[:PREFIX_WORDS])))
        for key in keys:
            j = seen.setdefault(key, i)
            if j != i:
                finder.union(i, j)
    return [finder.find(i) for i in range(len(titles))]


def _side(group_title: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{group_title}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def group_split(examples: Sequence[Example], *, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Deduplicate, group near-duplicates, and send each group wholly to train or test.

    The side of a group depends only on the seed and the group's first title, so the split is
    the same on every machine and every run. A group holding a reviewer-labelled title goes to
    train: reviewers read a title so that the model learns from it.
    """
    kept, duplicates, conflicting = deduplicate(examples)
    groups = near_duplicate_groups([ex.title for ex in kept])
    anchor = {g: key_text(kept[g].title) for g in set(groups)}
    reviewed = {g for ex, g in zip(kept, groups, strict=True) if ex.mapped_by == REVIEW}
    train: list[Example] = []
    test: list[Example] = []
    for example, group in zip(kept, groups, strict=True):
        to_test = group not in reviewed and _side(anchor[group], seed) < test_fraction
        (test if to_test else train).append(example)
    return Split(train, test, duplicates, conflicting, len(anchor), seed, test_fraction)
