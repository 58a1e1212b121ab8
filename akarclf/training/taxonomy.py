"""Marketplace category paths -> AKAR clusters, from the versioned data file ``taxonomy.toml``.

The training files carry the sellers' marketplace categories, not clusters. This module turns a
category path (in one of several marketplace formats, the *schemes*) into a cluster, following
``CLUSTERS.md``. Where a path cannot decide alone (a ``rumah-tangga/dekorasi`` item may be a
carved statue or a plastic flower) the file names a title rule, and the title decides; where
even that cannot decide, the title is dropped from training rather than guessed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from akarclf.clusters import CLUSTERS
from akarclf.errors import AkarclfError
from akarclf.text.normalize import normalize_title

#: Outcome meaning "the path cannot decide; leave the title out of training".
DROP = "drop"

SCHEMES = (
    "tokopedia_slug",
    "tokopedia_arrow",
    "tokopedia_department",
    "lazada_search",
    "bukalapak_leaf",
    "tokopedia_leaf",
    "shopee_keyword",
    "tokopedia_path",
    "unlabelled",
)

_SEPARATORS = {"tokopedia_slug": "/", "tokopedia_arrow": " > ", "tokopedia_path": "/"}


class TaxonomyError(AkarclfError, ValueError):
    """The taxonomy file is malformed: unknown cluster, unknown rule, bad pattern."""


@dataclass(frozen=True)
class TitleRule:
    """An ordered list of (pattern, outcome) steps tried on the normalised title."""

    name: str
    description: str
    steps: tuple[tuple[re.Pattern[str], str], ...]
    default: str

    def apply(self, normalized_title: str) -> str:
        """The outcome of the first step whose pattern occurs in the title, else the default."""
        for pattern, outcome in self.steps:
            if pattern.search(normalized_title):
                return outcome
        return self.default


@dataclass(frozen=True)
class Mapping:
    """Outcome of mapping one listing: the cluster (or None when dropped) and why."""

    cluster: str | None
    source: str  # "path" or "rule:<name>" or "unmapped"


class Taxonomy:
    """A loaded taxonomy file: per-scheme prefix tables and named title rules."""

    def __init__(self, data: dict[str, Any], origin: str) -> None:
        self.origin = origin
        self.version = str(data.get("version", ""))
        if not self.version:
            raise TaxonomyError(f"{origin}: missing 'version'")
        groups = {k: str(v) for k, v in data.get("groups", {}).items()}
        self.rules = {
            name: _compile_rule(name, spec, groups, origin)
            for name, spec in data.get("rules", {}).items()
        }
        self.schemes: dict[str, dict[str, str]] = {}
        for scheme, table in data.get("schemes", {}).items():
            if scheme not in SCHEMES:
                raise TaxonomyError(f"{origin}: unknown scheme {scheme!r}; known: {SCHEMES}")
            for prefix, outcome in table.items():
                self._check_outcome(outcome, f"schemes.{scheme}.{prefix!r}")
            self.schemes[scheme] = dict(table)

    def _check_outcome(self, outcome: str, where: str) -> None:
        if outcome.startswith("@"):
            if outcome[1:] not in self.rules:
                raise TaxonomyError(f"{self.origin}: {where} names unknown rule {outcome!r}")
        elif outcome != DROP and outcome not in CLUSTERS:
            raise TaxonomyError(
                f"{self.origin}: {where} has unknown cluster {outcome!r}; "
                f"valid: {', '.join(CLUSTERS)} or 'drop' or '@rule'"
            )

    def outcome_for_path(self, scheme: str, path: str) -> str | None:
        """The table entry of the longest prefix of ``path`` (whole segments), or None."""
        table = self.schemes.get(scheme)
        if table is None:
            raise TaxonomyError(f"unknown scheme {scheme!r}; known: {', '.join(self.schemes)}")
        path = path.strip()
        separator = _SEPARATORS.get(scheme)
        if separator is None:
            return table.get(path, table.get("*"))
        parts = [p.strip() for p in path.split(separator.strip())]
        for end in range(len(parts), 0, -1):
            key = separator.join(parts[:end])
            if key in table:
                return table[key]
        return table.get("*")

    def map(self, scheme: str, path: str, title: str) -> Mapping:
        """Cluster for one listing from its category path, and the title when a rule decides."""
        outcome = self.outcome_for_path(scheme, path)
        if outcome is None:
            return Mapping(None, "unmapped")
        if outcome.startswith("@"):
            rule = self.rules[outcome[1:]]
            result = rule.apply(normalize_title(title))
            return Mapping(None if result == DROP else result, f"rule:{rule.name}")
        return Mapping(None if outcome == DROP else outcome, "path")


def _compile_rule(
    name: str, spec: dict[str, Any], groups: dict[str, str], origin: str
) -> TitleRule:
    def expand(pattern: str) -> re.Pattern[str]:
        try:
            text = pattern.format(**groups)
            return re.compile(r"\b(?:" + text + r")\b")
        except (KeyError, IndexError, re.error) as error:
            raise TaxonomyError(
                f"{origin}: rule {name!r}: bad pattern {pattern!r}: {error}"
            ) from error

    steps = []
    for step in spec.get("steps", []):
        if len(step) != 2:
            raise TaxonomyError(
                f"{origin}: rule {name!r}: a step is [pattern, outcome], got {step}"
            )
        pattern, outcome = step
        if outcome != DROP and outcome not in CLUSTERS:
            raise TaxonomyError(f"{origin}: rule {name!r}: unknown outcome {outcome!r}")
        steps.append((expand(pattern), outcome))
    default = spec.get("default", DROP)
    if default != DROP and default not in CLUSTERS:
        raise TaxonomyError(f"{origin}: rule {name!r}: unknown default {default!r}")
    return TitleRule(name, str(spec.get("description", "")), tuple(steps), default)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load a taxonomy file; ``None`` loads the one shipped in the package (cached)."""
    if path is None:
        return _default_taxonomy()
    path = Path(path)
    with path.open("rb") as handle:
        return Taxonomy(tomllib.load(handle), str(path))


@lru_cache(maxsize=1)
def _default_taxonomy() -> Taxonomy:
    resource = resources.files("akarclf.training").joinpath("data", "taxonomy.toml")
    return Taxonomy(
        tomllib.loads(resource.read_text(encoding="utf-8")), "akarclf/training/data/taxonomy.toml"
    )
