"""A keyword stub with the ClusterClassifier interface, for the batch scoring tests.

Importable by worker processes (``--jobs``), so it lives in a module of its own. It holds no
test: its behaviour is checked through the tests that use it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from akarclf.gate.policy import Policy, load_policy

#: Words the stub reads as evidence for each cluster (titles written for these tests).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "textile_fashion": ("batik", "kaos", "kemeja", "sepatu", "jilbab"),
    "culinary": ("kopi", "keripik", "sambal", "kue"),
    "crafts": ("anyaman", "ukiran", "gerabah", "wayang"),
}


class StubModel:
    """Probability 0.97 for the cluster whose keyword the title contains, else mostly other.

    ``classes_`` is in scikit-learn's sorted order (not CLUSTERS order), as the real model's.
    ``delay`` seconds of sleep per call makes runs slow enough to interrupt; a call whose
    titles contain ``slow_word`` sleeps ``slow_delay`` seconds (so a chunk finishes late).
    """

    classes_ = np.array(["crafts", "culinary", "other", "textile_fashion"], dtype=object)

    def __init__(
        self,
        version: str = "stub-1",
        delay: float = 0.0,
        slow_word: str | None = None,
        slow_delay: float = 0.5,
    ) -> None:
        self.version = version
        self.delay = delay
        self.slow_word = slow_word
        self.slow_delay = slow_delay
        self.calls: list[int] = []

    @property
    def model_version(self) -> str:
        return self.version

    def _cluster(self, title: str) -> str:
        words = title.casefold().split()
        for cluster, keywords in KEYWORDS.items():
            if any(k in words for k in keywords):
                return cluster
        return "other"

    def predict_proba(self, titles: Sequence[str]) -> np.ndarray:
        if isinstance(titles, str):
            raise TypeError("expected a sequence of titles")
        self.calls.append(len(titles))
        if self.delay:
            time.sleep(self.delay)
        if self.slow_word and any(self.slow_word in t for t in titles):
            time.sleep(self.slow_delay)
        classes = list(self.classes_)
        proba = np.full((len(titles), 4), 0.01)
        for i, title in enumerate(titles):
            if not isinstance(title, str):
                raise TypeError(f"title at position {i} must be a str")
            proba[i, classes.index(self._cluster(title))] = 0.97
        return proba

    def explain(self, title: str, top: int = 10) -> list[tuple[str, float]]:
        words = title.casefold().split()
        hits = [w for w in words if any(w in k for k in KEYWORDS.values())]
        return [(w, 1.0) for w in hits[:top]]


class ArrivalLoggingStub(StubModel):
    """A :class:`StubModel` that appends a line to ``log`` each time a copy of it is unpickled,
    i.e. each time it is sent to a worker process."""

    def __init__(self, log: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.log = log

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")


def stub_policy() -> Policy:
    """A fixed policy for these tests (the shipped one is re-tuned as models change):
    all three clusters closed since 2021-08-01, block at 0.9, review at 0.5."""
    closed = dt.date(2021, 8, 1)
    return load_policy().replace(
        policy_id="test-policy",
        version="1",
        closures={"textile_fashion": closed, "culinary": closed, "crafts": closed},
        block_threshold=0.9,
        review_threshold=0.5,
        unknown_seller="review",
        empty_title="review",
    )


def write_stub_policy(path: Path) -> Path:
    """:func:`stub_policy` as a TOML file at ``path`` (for ``--policy``)."""
    path.write_text(stub_policy().to_toml(), encoding="utf-8")
    return path
