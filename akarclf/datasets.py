"""Read the marketplace title files of a data folder and label them through the taxonomy.

The data folder (``../shared/data`` in this project) holds one CSV per marketplace crawl, each
with its own columns and category format. :data:`SOURCES` says, per file, which column is the
title, which is the category and which taxonomy scheme reads it. Files are read from the path
the caller gives; nothing is copied.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from akarclf.taxonomy import Taxonomy, load_taxonomy

#: Labelled gold set kept apart from the training mix (hand-read clusters).
GOLD_FILE = "gold_dev.csv"


@dataclass(frozen=True)
class Source:
    """How to read one training file: its title, category and id columns and taxonomy scheme."""

    file: str
    scheme: str
    category_column: str
    id_column: str | None


SOURCES: tuple[Source, ...] = (
    Source("tokopedia_umkm.csv", "tokopedia_slug", "category_path", "id"),
    Source("tokopedia_electronics.csv", "tokopedia_arrow", "category_path", None),
    Source("lazada_electronics_2019.csv", "lazada_search", "search_category", "id"),
    Source("tokopedia_departments_2025.csv", "tokopedia_department", "department", "id"),
    Source("bukalapak_products.csv", "bukalapak_leaf", "category", "id"),
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


@dataclass
class LabelledData:
    """Labelled examples plus the bookkeeping a model card reports."""

    examples: list[Example]
    dropped: Counter[str] = field(default_factory=Counter)  # per source: no cluster decided
    read: Counter[str] = field(default_factory=Counter)  # per source: rows read
    fingerprint: str = ""  # SHA-256 over the files read, for the model's metadata
    taxonomy_version: str = ""


def _rows(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            yield reader.line_num, row


def file_fingerprint(paths: Iterable[Path]) -> str:
    """SHA-256 over the names and bytes of ``paths`` in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def load_training_data(data_dir: str | Path, taxonomy: Taxonomy | None = None) -> LabelledData:
    """Every training file in ``data_dir`` that :data:`SOURCES` knows, labelled by the taxonomy.

    A file that is missing raises ``FileNotFoundError`` naming it: training on a silently
    smaller mix would ship a different model under the same name.
    """
    data_dir = Path(data_dir)
    taxonomy = taxonomy or load_taxonomy()
    paths = [data_dir / source.file for source in SOURCES]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"training file not found: {path}")
    result = LabelledData(examples=[], taxonomy_version=taxonomy.version)
    result.fingerprint = file_fingerprint(paths)
    for source, path in zip(SOURCES, paths):
        stem = path.stem
        for line, row in _rows(path):
            result.read[stem] += 1
            title = (row.get("title") or "").strip()
            category = (row.get(source.category_column) or "").strip()
            mapping = taxonomy.map(source.scheme, category, title)
            if mapping.cluster is None or not title:
                result.dropped[stem] += 1
                continue
            result.examples.append(
                Example(f"{stem}:{line}", title, mapping.cluster, stem, category, mapping.source)
            )
    return result


def load_gold(data_dir: str | Path) -> list[Example]:
    """The hand-labelled gold set (``gold_dev.csv``) as examples; ``uid`` is its ``hid``."""
    path = Path(data_dir) / GOLD_FILE
    examples = []
    for line, row in _rows(path):
        title, label = row.get("title"), row.get("label")
        if not title or not label:
            raise ValueError(f"{path}:{line}: missing title or label")
        examples.append(
            Example(row.get("hid") or f"gold:{line}", title, label, "gold_dev",
                    row.get("category_path") or "", "hand")
        )
    return examples
