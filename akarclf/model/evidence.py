"""What the gate needs to know about a title besides its probabilities.

The model's probabilities alone can be gamed. Appending unrelated words dilutes a protected
product's features until the whole title looks like ``other``; a title the model cannot read
(another script, gibberish, a disguise the normaliser cannot undo) gets probabilities near the
prior, which the gate would otherwise read as evidence. So every title also gets:

- ``window_proba``: probabilities of the title's window (run of :data:`WINDOW_WORDS` words)
  with the most protected mass, so that a product hidden among other words still counts, and
  ``head_proba`` those of its first window, where Indonesian titles name the product (words
  appended to dilute it come after);
- ``known_share``: the share of the title's words that carry a word feature of the model;
- ``obfuscation``: the de-obfuscation steps that changed the title (see
  :mod:`akarclf.text.deobfuscate`) and whether one of them was a disguise;
- ``n_chars``: the raw title's length.

:func:`assess` computes them for a batch; the single-title ``decide`` and the batch scorer
both call it, so they agree.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from akarclf.text.normalize import check_title, clean_title

#: Words per window, and how far consecutive windows are apart.
WINDOW_WORDS: Final = 5
WINDOW_STRIDE: Final = 2

#: A word "leans protected" when its one-word title has at least this share of the protected
#: mass a window needs to act: only titles with such a word get their windows scored.
LEANING_SHARE: Final = 0.5
#: Words remembered per model and set of protected clusters before the memory is emptied.
LEANING_CACHE_SIZE: Final = 200_000

_WORD_MASS: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], dict[str, float]]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class Evidence:
    """Per-title evidence for :func:`akarclf.gate.decision.gate`, as parallel arrays.

    ``window_proba`` (the most protected window) and ``head_proba`` (the first window) rows are
    zero where no window was scored (short titles, rows the caller did not ask for);
    ``known_share`` is 1 where the model does not expose its vocabulary.
    """

    window_proba: np.ndarray
    head_proba: np.ndarray
    known_share: np.ndarray
    obfuscated: np.ndarray
    obfuscation: tuple[str, ...]
    n_chars: np.ndarray

    @classmethod
    def none(cls, n: int, k: int) -> Evidence:
        """Evidence that changes no decision: no windows, nothing measured, nothing disguised."""
        return cls(
            window_proba=np.zeros((n, k)),
            head_proba=np.zeros((n, k)),
            known_share=np.ones(n),
            obfuscated=np.zeros(n, dtype=bool),
            obfuscation=("",) * n,
            n_chars=np.zeros(n, dtype=np.int64),
        )


def windows(normalized: str, size: int = WINDOW_WORDS, stride: int = WINDOW_STRIDE) -> list[str]:
    """Overlapping runs of ``size`` words of a normalised title, ``stride`` words apart, the
    last one ending with the title; none for a title that fits in one window."""
    words = normalized.split()
    if len(words) <= size:
        return []
    starts = list(range(0, len(words) - size + 1, stride))
    if starts[-1] != len(words) - size:
        starts.append(len(words) - size)
    return [" ".join(words[s : s + size]) for s in starts]


def _normalized_scorer(model: Any) -> Callable[[Sequence[str]], np.ndarray] | None:
    """The model's scorer of normalised titles, when it has one (saves normalising twice)."""
    method = getattr(model, "predict_proba_normalized", None)
    if method is None:
        return None

    def score(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(method(texts), dtype=np.float64)

    return score


def _raw_scorer(model: Any) -> Callable[[Sequence[str]], np.ndarray]:
    def score(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(model.predict_proba(list(texts)), dtype=np.float64)

    return score


def _word_vectorizer(model: Any) -> Any:
    features = getattr(model, "features_", None)
    named = getattr(features, "named_transformers", None)
    if named is None or "word" not in named:
        return None
    vectorizer = named["word"]
    return vectorizer if hasattr(vectorizer, "unit_columns") else None


def known_shares(model: Any, normalized: Sequence[str]) -> np.ndarray:
    """Share of each title's words (digit runs left out) that carry at least one of the
    model's word features: the word, its stem or its lexicon mark. 0 for a title with no
    words. A model that does not expose its word vocabulary (a stand-in, another library's)
    cannot say: every title then gets 1, and the knowledge floor never applies to it."""
    vectorizer = _word_vectorizer(model)
    if vectorizer is None:
        return np.ones(len(normalized))
    token_lists = [[w for w in text.split() if not w.isdigit()] for text in normalized]
    distinct = sorted({w for words in token_lists for w in words})
    known = {
        w for w, columns in zip(distinct, vectorizer.unit_columns(distinct), strict=True) if columns
    }
    return np.array(
        [sum(w in known for w in words) / len(words) if words else 0.0 for words in token_lists]
    )


def leaning_words(
    model: Any,
    words: Sequence[str],
    mass_of: Callable[[np.ndarray], np.ndarray],
    protected: tuple[str, ...],
    level: float,
) -> set[str]:
    """The ``words`` that on their own, as a one-word title, carry a protected mass of at least
    ``level``. Word masses are remembered per model and set of protected clusters (bounded)."""
    try:
        per_model = _WORD_MASS.setdefault(model, {})
    except TypeError:  # a model that cannot be weakly referenced or hashed: no memory
        per_model = {}
    cache = per_model.setdefault(protected, {})
    missing = sorted({w for w in words if w not in cache})
    if missing:
        proba = (_normalized_scorer(model) or _raw_scorer(model))(missing)
        masses = np.asarray(mass_of(proba), dtype=float)
        if len(cache) + len(missing) > LEANING_CACHE_SIZE:
            cache.clear()
        cache.update(zip(missing, masses.tolist(), strict=True))
    return {w for w in words if cache.get(w, 1.0) >= level}


def assess(
    model: Any,
    titles: Sequence[str],
    mass_of: Callable[[np.ndarray], np.ndarray],
    need_windows: Callable[[np.ndarray], np.ndarray],
    protected: tuple[str, ...] = (),
    window_level: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, Evidence]:
    """Probabilities, the blank-title mask and the :class:`Evidence` of ``titles``.

    ``mass_of`` maps a probability matrix to each row's protected mass (the gate's own
    function, so windows are ranked by what the gate acts on; ``protected`` names the clusters
    it sums). Windows are scored only for the rows that ``need_windows`` marks given the whole
    titles' probabilities (a window cannot change a listing that is domestic or already
    blocked), and of those only for titles with a word whose own protected mass reaches
    :data:`LEANING_SHARE` of ``window_level``, the lowest mass at which a window acts
    (:func:`leaning_words`): a window of words that all lean ``other`` does not reach it, and
    most titles of a catalogue have none, which keeps windows a small part of the cost.
    """
    cleaned = [clean_title(check_title(t, i)) for i, t in enumerate(titles)]
    normalized = [c.text for c in cleaned]
    score = _normalized_scorer(model)
    if score is None:
        from akarclf.model.classifier import predict_with_blank

        proba, blank = predict_with_blank(model, titles)
    else:
        proba = score(normalized)
        blank = np.fromiter((not text for text in normalized), dtype=bool, count=len(titles))
    n, k = proba.shape
    window_proba = np.zeros((n, k))
    head_proba = np.zeros((n, k))
    owners: list[int] = []
    heads: list[int] = []
    texts: list[str] = []
    rows = [
        int(row)
        for row in np.flatnonzero(np.asarray(need_windows(proba), dtype=bool))
        if len(normalized[row].split()) > WINDOW_WORDS
    ]
    words = [w for row in rows for w in normalized[row].split()]
    level = LEANING_SHARE * window_level
    leaning = leaning_words(model, words, mass_of, protected, level) if rows else set()
    for row in rows:
        if leaning.isdisjoint(normalized[row].split()):
            continue
        heads.append(len(texts))
        for text in windows(normalized[row]):
            owners.append(int(row))
            texts.append(text)
    if texts:
        scored = (score or _raw_scorer(model))(texts)
        mass = np.asarray(mass_of(scored), dtype=np.float64)
        owner = np.asarray(owners)
        # The strongest window of each row: sort by (row, mass) and keep each row's last.
        order = np.lexsort((mass, owner))
        last = np.r_[owner[order][1:] != owner[order][:-1], True]
        best = order[last]
        window_proba[owner[best]] = scored[best]
        head_proba[owner[heads]] = scored[heads]
    evidence = Evidence(
        window_proba=window_proba,
        head_proba=head_proba,
        known_share=known_shares(model, normalized),
        obfuscated=np.fromiter((c.obfuscated for c in cleaned), dtype=bool, count=n),
        obfuscation=tuple("+".join(sorted(c.steps)) for c in cleaned),
        n_chars=np.fromiter(map(len, titles), dtype=np.int64, count=n),
    )
    return proba, blank, evidence
