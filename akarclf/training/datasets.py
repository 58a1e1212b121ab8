"""Read the marketplace title files of a data folder and label them through the taxonomy.

The data folder (``../shared/data`` in this project) holds one CSV per marketplace crawl, each
with its own columns and category format. :data:`SOURCES` says, per file, which column is the
title, which is the category and which taxonomy scheme reads it. Files are read from the path
the caller gives; nothing is copied.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from akarclf.clusters import CLUSTERS
from akarclf.text.normalize import key_text
from akarclf.training.taxonomy import Taxonomy, load_taxonomy

#: Labelled gold set kept apart from the training mix (hand-read clusters).
GOLD_FILE = "gold_dev.csv"


@dataclass(frozen=True)
class Source:
    """How to read one training file: its category column and taxonomy scheme (titles are in
    ``title``; rows are keyed by line number, so an id column is not needed)."""

    file: str
    scheme: str
    category_column: str | None  # None: the file has no category (every row needs a reader)


SOURCES: tuple[Source, ...] = (
    Source("tokopedia_umkm.csv", "tokopedia_slug", "category_path"),
    Source("tokopedia_electronics.csv", "tokopedia_arrow", "category_path"),
    Source("lazada_electronics_2019.csv", "lazada_search", "search_category"),
    Source("tokopedia_departments_2025.csv", "tokopedia_department", "department"),
    Source("bukalapak_products.csv", "bukalapak_leaf", "category"),
    # The review loop's pool: thin categories or none; the taxonomy labels what they can decide.
    Source("tokopedia_keywords_2025.csv", "tokopedia_leaf", "category"),
    Source("shopee_keywords_2023.csv", "shopee_keyword", "search_keyword"),
    Source("tokopedia_sample_2025.csv", "tokopedia_path", "category_path"),
    Source("qlapa_handmade_2016.csv", "unlabelled", None),
)


#: The review loop's unlabelled pool: files whose keywords or categories decide few titles.
POOL_FILES: tuple[str, ...] = (
    "tokopedia_keywords_2025.csv",
    "shopee_keywords_2023.csv",
    "tokopedia_sample_2025.csv",
    "qlapa_handmade_2016.csv",
)


@dataclass(frozen=True)
class Example:
    """One labelled title. ``uid`` is ``<file stem>:<line>``, stable across runs."""

    uid: str
    title: str
    label: str
    source: str
    category: str
    mapped_by: str
    taxonomy_label: str | None = None  # what the taxonomy alone said (None: it could not decide)


@dataclass
class LabelledData:
    """Labelled examples plus the bookkeeping a model card reports."""

    examples: list[Example]
    dropped: Counter[str] = field(default_factory=Counter)  # per source: no cluster decided
    read: Counter[str] = field(default_factory=Counter)  # per source: rows read
    fingerprint: str = ""  # SHA-256 over the files read, for the model's metadata
    taxonomy_version: str = ""
    hand_labelled: int = 0  # examples whose label comes from a hand label, not the taxonomy
    hand_changed: int = 0  # ... of which the hand label differs from the taxonomy's
    hand_stale: int = 0  # hand labels whose row now holds another title (not applied)
    reviewed: int = 0  # examples whose label comes from reviewer labels
    review_changed: int = 0  # ... of which the reviewers' label differs from the one it replaced
    review_stale: list[str] = field(default_factory=list)  # reviewed uids now holding another title
    review_unmatched: list[str] = field(default_factory=list)  # reviewed uids in no training file


def _rows(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            yield reader.line_num, row


def _feed(digest: Any, path: Path) -> None:
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)


def file_sha256(path: Path) -> str:
    """SHA-256 of one file's bytes."""
    digest = hashlib.sha256()
    _feed(digest, path)
    return digest.hexdigest()


def file_fingerprint(paths: Iterable[Path]) -> str:
    """SHA-256 over the names and bytes of ``paths`` in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        _feed(digest, path)
    return digest.hexdigest()


def title_key(title: str) -> str:
    """Short fingerprint of a normalised title: ties a hand label to the title it was given
    for, without storing the title (the data stays where it is)."""
    return hashlib.sha256(key_text(title).encode()).hexdigest()[:12]


def load_hand_labels(path: str | Path | None = None) -> dict[str, tuple[str, str]]:
    """Hand labels by uid, as (label, title key): the packaged ``hand_labels.csv``.

    Columns: uid, title_key (:func:`title_key` of the title that was read), label, origin,
    note. They were read title by title against CLUSTERS.md (the label audit's verdicts and
    titles with craft words that the marketplace categories label unreliably); a hand label
    overrides the taxonomy's label for its row, and labels rows the taxonomy drops, but only
    while the row still holds the title it was given for.
    """
    if path is None:
        text = (
            resources.files("akarclf.training")
            .joinpath("data", "hand_labels.csv")
            .read_text("utf-8")
        )
        origin = "akarclf/training/data/hand_labels.csv"
    else:
        text = Path(path).read_text(encoding="utf-8")
        origin = str(path)
    labels: dict[str, tuple[str, str]] = {}
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        uid, label = (row.get("uid") or "").strip(), (row.get("label") or "").strip()
        key = (row.get("title_key") or "").strip()
        if not uid or not key or label not in CLUSTERS:
            raise ValueError(f"{origin}:{reader.line_num}: bad hand label {uid!r} -> {label!r}")
        if labels.get(uid, (label, key)) != (label, key):
            raise ValueError(f"{origin}:{reader.line_num}: {uid} has two different hand labels")
        labels[uid] = (label, key)
    return labels


def load_training_data(
    data_dir: str | Path,
    taxonomy: Taxonomy | None = None,
    hand_labels: dict[str, tuple[str, str]] | None = None,
    reviews: dict[str, tuple[str, str]] | None = None,
) -> LabelledData:
    """Every training file in ``data_dir`` that :data:`SOURCES` knows, labelled.

    Labels come from the taxonomy, overridden by hand labels (default: the packaged ones; pass
    ``{}`` for the taxonomy alone), overridden in turn by settled reviewer labels (``reviews``,
    uid -> (label, title key), see :mod:`akarclf.training.reviews`); a hand or reviewer label
    applies only while its row holds the title it was given for. A file that is missing raises
    ``FileNotFoundError`` naming it: training on a silently smaller mix would ship a different
    model under the same name.
    """
    data_dir = Path(data_dir)
    taxonomy = taxonomy or load_taxonomy()
    hand = load_hand_labels() if hand_labels is None else hand_labels
    paths = [data_dir / source.file for source in SOURCES]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"training file not found: {path}")
    result = LabelledData(examples=[], taxonomy_version=taxonomy.version)
    result.fingerprint = file_fingerprint(paths)
    reviews = reviews or {}
    reviews_seen: set[str] = set()
    for source, path in zip(SOURCES, paths, strict=True):
        stem = path.stem
        for line, row in _rows(path):
            result.read[stem] += 1
            title = (row.get("title") or "").strip()
            column = source.category_column
            category = (row.get(column) or "").strip() if column else ""
            mapping = taxonomy.map(source.scheme, category, title)
            uid = f"{stem}:{line}"
            label, mapped_by = mapping.cluster, mapping.source
            if uid in hand:
                hand_label, key = hand[uid]
                if key == title_key(title):
                    result.hand_labelled += 1
                    result.hand_changed += hand_label != label
                    label, mapped_by = hand_label, "hand"
                else:
                    result.hand_stale += 1
            if uid in reviews:
                reviews_seen.add(uid)
                review_label, key = reviews[uid]
                if key == title_key(title):
                    result.reviewed += 1
                    result.review_changed += review_label != label
                    label, mapped_by = review_label, "review"
                else:
                    result.review_stale.append(uid)
            if label is None or not title:
                result.dropped[stem] += 1
                continue
            result.examples.append(
                Example(uid, title, label, stem, category, mapped_by, mapping.cluster)
            )
    result.review_unmatched = sorted(set(reviews) - reviews_seen)
    return result


def read_pool(data_dir: str | Path) -> list[tuple[str, str]]:
    """(uid, title) of every title of :data:`POOL_FILES`, in file order, once per title key and
    without titles that are in gold (gold is read out-of-fold; its titles are not re-read)."""
    data_dir = Path(data_dir)
    gold = {title_key(e.title) for e in load_gold(data_dir)}
    pool: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in POOL_FILES:
        path = data_dir / name
        for line, row in _rows(path):
            title = (row.get("title") or "").strip()
            key = title_key(title) if title else ""
            if not title or key in gold or key in seen:
                continue
            seen.add(key)
            pool.append((f"{path.stem}:{line}", title))
    return pool


def load_gold(data_dir: str | Path) -> list[Example]:
    """The hand-labelled gold set (``gold_dev.csv``) as examples; ``uid`` is its ``hid``."""
    path = Path(data_dir) / GOLD_FILE
    examples = []
    for line, row in _rows(path):
        title, label = row.get("title"), row.get("label")
        if not title or not label:
            raise ValueError(f"{path}:{line}: missing title or label")
        examples.append(
            Example(
                row.get("hid") or f"gold:{line}",
                title,
                label,
                "gold_dev",
                row.get("category_path") or "",
                "hand",
            )
        )
    return examples
