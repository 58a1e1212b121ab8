"""The restriction gate: cluster probabilities + the seller's flag + the policy -> a decision.

The evidence for a restriction is the *protected mass*, the summed probability of the clusters
closed to cross-border sellers on the decision date (a title at 0.45 fashion and 0.40 crafts
carries 0.85 protected mass, even though no single protected cluster reaches 0.5).

Precedence, first rule that applies wins:

1. domestic seller -> ``allow`` (:data:`DOMESTIC_SELLER`), whatever the title: AKAR restricts
   only cross-border selling;
2. seller flag missing -> the policy's ``unknown_seller`` action (:data:`UNKNOWN_SELLER`);
3. cross-border seller, title without usable words -> the policy's ``empty_title`` action
   (:data:`EMPTY_TITLE`): the probabilities are then the model's prior, not evidence;
4. cross-border seller, no cluster closed on the decision date -> ``allow``
   (:data:`NOT_PROTECTED`), whatever the thresholds;
5. cross-border seller: protected mass >= block threshold -> ``block``
   (:data:`PROTECTED_CLUSTER`, naming the top protected cluster); review threshold <= mass <
   block threshold -> ``review`` (:data:`UNCERTAIN`); below -> ``allow`` (:data:`NOT_PROTECTED`);
6. cross-border seller, with the title's :class:`~akarclf.model.evidence.Evidence` and the
   policy's ``[evidence]`` rules: a window of the title whose protected mass reaches the block
   threshold gets the policy's ``segments`` action, a first window that reaches
   ``head_review`` at least review (:data:`PROTECTED_SEGMENT`); then a
   title longer than ``max_title_chars`` (:data:`LONG_TITLE`), one of whose words the model
   knows fewer than ``min_known_share`` (:data:`UNREADABLE_TITLE`), or one whose disguise the
   normaliser undid (:data:`OBFUSCATED_TITLE`, the policy's ``obfuscated`` action) gets at least
   that action; each keeps a stricter decision it already had. No evidence, not ``allow``: a
   title the model cannot read has the prior for probabilities, which say nothing.

:func:`gate` is the vectorised core (numpy arrays in, numpy arrays out, no loop over rows);
:func:`decide` is the one call for services, returning :class:`DecisionRecord` objects.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, overload

import numpy as np

from akarclf.clusters import CLUSTERS, check_cluster
from akarclf.gate.flags import (
    CROSS_BORDER,
    DOMESTIC,
    UNKNOWN_FLAG,
    check_ordered,
    is_missing,
    parse_cross_border,
    parse_cross_border_many,
)
from akarclf.gate.policy import Policy, as_date, load_policy, today_utc
from akarclf.gate.reasons import (
    DECISIONS as DECISIONS,
)
from akarclf.gate.reasons import (
    DOMESTIC_SELLER as DOMESTIC_SELLER,
)
from akarclf.gate.reasons import (
    EMPTY_TITLE as EMPTY_TITLE,
)
from akarclf.gate.reasons import (
    LONG_TITLE as LONG_TITLE,
)
from akarclf.gate.reasons import (
    NOT_PROTECTED as NOT_PROTECTED,
)
from akarclf.gate.reasons import (
    OBFUSCATED_TITLE as OBFUSCATED_TITLE,
)
from akarclf.gate.reasons import (
    PROTECTED_CLUSTER as PROTECTED_CLUSTER,
)
from akarclf.gate.reasons import (
    PROTECTED_SEGMENT as PROTECTED_SEGMENT,
)
from akarclf.gate.reasons import (
    REASONS as REASONS,
)
from akarclf.gate.reasons import (
    UNCERTAIN as UNCERTAIN,
)
from akarclf.gate.reasons import (
    UNKNOWN_SELLER as UNKNOWN_SELLER,
)
from akarclf.gate.reasons import (
    UNREADABLE_TITLE as UNREADABLE_TITLE,
)
from akarclf.text.normalize import check_title

if TYPE_CHECKING:
    from akarclf.model.evidence import Evidence

_DECISION_CODE: Final = {name: code for code, name in enumerate(DECISIONS)}
_REASON_CODE: Final = {name: code for code, name in enumerate(REASONS)}
_DECISION_NAMES: Final = np.array(DECISIONS)
_REASON_NAMES: Final = np.array(REASONS)


@dataclass(frozen=True)
class GateResult:
    """Per-row outcome of :func:`gate`, as parallel numpy arrays.

    ``cluster``/``confidence`` are the top cluster over all clusters and its probability;
    ``protected_mass`` the summed probability of the clusters protected on the decision date;
    ``protected_cluster`` the most probable of those ("" when none is protected that day).
    """

    decision: np.ndarray
    reason: np.ndarray
    cluster: np.ndarray
    confidence: np.ndarray
    protected_mass: np.ndarray
    protected_cluster: np.ndarray

    def __len__(self) -> int:
        return len(self.decision)


def _column_index(classes: Sequence[str], n_columns: int) -> dict[str, int]:
    names = [str(c) for c in classes]
    if len(names) != n_columns:
        raise ValueError(
            f"proba has {n_columns} columns but {len(names)} classes were given: {names}"
        )
    for name in names:
        check_cluster(name)
    if len(set(names)) != len(names):
        raise ValueError(f"classes contain a duplicate: {names}")
    return {name: i for i, name in enumerate(names)}


def protected_mass(
    proba: np.ndarray, classes: Sequence[str], protected: Sequence[str]
) -> np.ndarray:
    """Summed probability of the ``protected`` clusters per row (columns found by name).

    The gate and threshold tuning both use this function, so a tuned threshold is compared
    with exactly the number it was tuned on.
    """
    proba = np.asarray(proba, dtype=float)
    column = _column_index(classes, proba.shape[1])
    missing = [c for c in protected if c not in column]
    if missing:
        raise ValueError(
            f"the model has no probability for protected cluster(s) {', '.join(missing)}; "
            f"its classes: {', '.join(column)}"
        )
    mass = np.zeros(len(proba))
    for name in protected:  # column by column: no (n, k) temporary
        mass += proba[:, column[name]]
    return mass


def _check_inputs(
    proba: np.ndarray, cross_border: np.ndarray, blank: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2:
        raise ValueError(f"proba must be a 2-d array (rows x clusters), got shape {proba.shape}")
    n = len(proba)
    finite = np.isfinite(proba).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"proba row {row} is not finite: {proba[row].tolist()}")
    cross_border = np.asarray(cross_border)
    if cross_border.dtype.kind not in "iu":
        raise TypeError(
            "cross_border must be an integer code array (1, 0, UNKNOWN_FLAG); "
            f"got dtype {cross_border.dtype}: read flags with flags.parse_cross_border_many"
        )
    blank = np.asarray(blank)
    if blank.dtype != np.bool_:
        raise TypeError(f"blank must be a boolean array, got dtype {blank.dtype}")
    for name, array in (("cross_border", cross_border), ("blank", blank)):
        if array.shape != (n,):
            raise ValueError(f"{name} has shape {array.shape}, expected ({n},) like proba")
    bad = (cross_border != CROSS_BORDER) & (cross_border != DOMESTIC)
    bad &= cross_border != UNKNOWN_FLAG
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"cross_border code at row {row} is {cross_border[row]}, not 1, 0 or -1")
    return proba, cross_border, blank


def gate(
    proba: np.ndarray,
    classes: Sequence[str],
    cross_border: np.ndarray,
    blank: np.ndarray,
    policy: Policy,
    on: dt.date | None = None,
    evidence: Evidence | None = None,
) -> GateResult:
    """Decide every row at once (see the module docstring for the rule and its precedence).

    ``proba`` is (n, k) with columns named by ``classes`` (any order, e.g. a model's
    ``classes_``); ``cross_border`` the int codes from
    :func:`~akarclf.gate.flags.parse_cross_border_many`; ``blank`` the
    :func:`~akarclf.text.normalize.blank_mask` of the titles; ``on`` the decision date (default:
    today, UTC); ``evidence`` the :func:`~akarclf.model.evidence.assess` evidence of the same rows
    (None: rule 6 does not apply). Pure: no input is modified.
    """
    proba, cross_border, blank = _check_inputs(proba, cross_border, blank)
    on = today_utc() if on is None else as_date(on)
    protected = policy.protected_on(on)
    column = _column_index(classes, proba.shape[1])
    mass = protected_mass(proba, classes, protected)
    n = len(proba)
    names = np.array(list(column), dtype=str)

    top = proba.argmax(axis=1) if n else np.zeros(0, dtype=np.intp)
    cluster = names[top]
    confidence = np.take_along_axis(proba, top[:, None], axis=1)[:, 0] if n else np.zeros(0)
    if protected:
        protected_columns = [column[c] for c in protected]
        top_protected = proba[:, protected_columns].argmax(axis=1) if n else top
        protected_cluster = np.array(protected, dtype=str)[top_protected]
    else:
        protected_cluster = np.full(n, "", dtype="<U1")

    # Lowest precedence first; each later assignment overrides the earlier ones.
    decision = np.full(n, _DECISION_CODE["allow"], dtype=np.int8)
    reason = np.full(n, _REASON_CODE[NOT_PROTECTED], dtype=np.int8)
    if protected:  # with nothing closed yet, even a 0 threshold has no cluster to protect
        in_review = mass >= policy.review_threshold
        decision[in_review] = _DECISION_CODE["review"]
        reason[in_review] = _REASON_CODE[UNCERTAIN]
        blocked = mass >= policy.block_threshold
        decision[blocked] = _DECISION_CODE["block"]
        reason[blocked] = _REASON_CODE[PROTECTED_CLUSTER]
    if evidence is not None and protected:
        _apply_evidence(decision, reason, protected_cluster, evidence, classes, protected, policy)
    for mask, action, why in (
        (blank, policy.empty_title, EMPTY_TITLE),
        (cross_border == UNKNOWN_FLAG, policy.unknown_seller, UNKNOWN_SELLER),
        (cross_border == DOMESTIC, "allow", DOMESTIC_SELLER),
    ):
        decision[mask] = _DECISION_CODE[action]
        reason[mask] = _REASON_CODE[why]

    return GateResult(
        decision=_DECISION_NAMES[decision],
        reason=_REASON_NAMES[reason],
        cluster=cluster,
        confidence=confidence,
        protected_mass=mass,
        protected_cluster=protected_cluster,
    )


def _apply_evidence(
    decision: np.ndarray,
    reason: np.ndarray,
    protected_cluster: np.ndarray,
    evidence: Evidence,
    classes: Sequence[str],
    protected: Sequence[str],
    policy: Policy,
) -> None:
    """Rule 6 of the module docstring, in place on the gate's code arrays."""
    rules = policy.evidence
    n = len(decision)
    for name, array in (("window_proba", evidence.window_proba), ("n_chars", evidence.n_chars)):
        if len(array) != n:
            raise ValueError(f"evidence.{name} has {len(array)} rows, expected {n}")

    def at_least(mask: np.ndarray, action: str, why: str) -> None:
        stricter = mask & (decision > _DECISION_CODE[action])
        decision[stricter] = _DECISION_CODE[action]
        reason[stricter] = _REASON_CODE[why]

    if rules.segments != "allow":
        window_mass = protected_mass(evidence.window_proba, classes, protected)
        window_blocks = window_mass >= policy.block_threshold
        before = decision.copy()
        at_least(window_blocks, rules.segments, PROTECTED_SEGMENT)
        head_mass = protected_mass(evidence.head_proba, classes, protected)
        at_least(head_mass >= rules.head_review, "review", PROTECTED_SEGMENT)
        changed = decision != before
        if changed.any():
            column = _column_index(classes, evidence.window_proba.shape[1])
            window_top = evidence.window_proba[:, [column[c] for c in protected]].argmax(axis=1)
            protected_cluster[changed] = np.array(protected, dtype=str)[window_top[changed]]
    at_least(evidence.n_chars > rules.max_title_chars, "review", LONG_TITLE)
    at_least(evidence.known_share < rules.min_known_share, "review", UNREADABLE_TITLE)
    at_least(evidence.obfuscated, rules.obfuscated, OBFUSCATED_TITLE)


# --- decision records and the service call ----------------------------------------------------


@dataclass(frozen=True)
class DecisionRecord:
    """One listing's decision with everything an audit log needs to explain it later.

    ``probabilities`` maps every cluster (in :data:`~akarclf.clusters.CLUSTERS` order) to its
    probability; ``evidence`` holds the (n-gram, weight) pairs from the model's ``explain``
    when :func:`decide` was asked for them, else None. ``known_share`` is the share of the
    title's words the model knows (1 when the model does not say); ``obfuscation`` names the
    de-obfuscation steps that changed the title (``+``-joined, "" for none) and ``obfuscated``
    whether one of them undid a disguise.
    """

    decision: str
    reason: str
    cluster: str
    confidence: float
    probabilities: Mapping[str, float]
    protected_mass: float
    protected_cluster: str
    model_version: str
    policy_version: str
    decision_date: dt.date
    evidence: tuple[tuple[str, float], ...] | None = None
    known_share: float = 1.0
    obfuscation: str = ""
    obfuscated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Flat mapping for audit logs: one ``p_<cluster>`` key per cluster, dates as ISO text,
        ``evidence`` (a list of ``[ngram, weight]`` pairs) only when present."""
        out: dict[str, Any] = {
            "decision": self.decision,
            "reason": self.reason,
            "cluster": self.cluster,
            "confidence": self.confidence,
        }
        for name in CLUSTERS:
            out[f"p_{name}"] = self.probabilities.get(name, 0.0)
        out["protected_mass"] = self.protected_mass
        out["protected_cluster"] = self.protected_cluster
        out["model_version"] = self.model_version
        out["policy_version"] = self.policy_version
        out["decision_date"] = self.decision_date.isoformat()
        out["known_share"] = self.known_share
        out["obfuscation"] = self.obfuscation
        out["obfuscated"] = self.obfuscated
        if self.evidence is not None:
            out["evidence"] = [[ngram, weight] for ngram, weight in self.evidence]
        return out

    def to_json(self) -> str:
        """:meth:`to_dict` as one line of JSON (UTF-8 text kept as is)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)


def _record(fields: dict[str, Any]) -> DecisionRecord:
    """A record from already checked values, without the frozen dataclass ``__init__``.

    That ``__init__`` sets each field through ``object.__setattr__``, a noticeable share of a
    prediction in batch; filling ``__dict__`` at once gives an equal, still frozen object.
    """
    record = object.__new__(DecisionRecord)
    record.__dict__.update(fields)
    return record


def assess_for_gate(
    model: Any,
    titles: Sequence[str],
    flags: np.ndarray,
    classes: Sequence[str],
    policy: Policy,
    on: dt.date | None,
) -> tuple[np.ndarray, np.ndarray, Evidence]:
    """Probabilities, blank mask and :class:`~akarclf.model.evidence.Evidence` of ``titles``,
    scoring windows only where they can change a decision: cross-border listings that the whole
    title does not already block, when the policy lets windows act. ``decide`` and the batch
    scorer both call this, so they agree."""
    from akarclf.model.evidence import assess

    on = today_utc() if on is None else as_date(on)
    protected = policy.protected_on(on)

    def mass_of(proba: np.ndarray) -> np.ndarray:
        return protected_mass(proba, classes, protected)

    def need_windows(proba: np.ndarray) -> np.ndarray:
        if policy.evidence.segments == "allow" or not protected:
            return np.zeros(len(proba), dtype=bool)
        cross_border = np.asarray(flags) == CROSS_BORDER
        return np.asarray(cross_border & (mass_of(proba) < policy.block_threshold), dtype=bool)

    level = min(policy.evidence.head_review, policy.block_threshold)
    return assess(model, titles, mass_of, need_windows, protected, level)


class ClusterModel(Protocol):
    """What :func:`decide` needs from a model (``akarclf.ClusterClassifier`` provides it)."""

    @property
    def classes_(self) -> Any: ...

    @property
    def model_version(self) -> str: ...

    def predict_proba(self, titles: Sequence[str]) -> np.ndarray: ...

    def explain(self, title: str, top: int = 10) -> list[tuple[str, float]]: ...


def _default_model() -> ClusterModel:
    package = importlib.import_module("akarclf")
    load_model = getattr(package, "load_model", None)
    if load_model is None:
        raise RuntimeError("akarclf has no default model loader yet: pass model=...")
    model: ClusterModel = load_model()
    return model


def _is_scalar_flag(value: object) -> bool:
    return isinstance(value, (str, bool, int, float, np.generic)) or is_missing(value)


def _check_model_and_policy(model: object, policy: object) -> None:
    """A path (or anything else) given where a loaded model or policy belongs is a TypeError
    that says what to pass, before any work."""
    if isinstance(model, (str, bytes, os.PathLike)):
        raise TypeError(
            f"model must be a loaded model, not the path {model!r}: "
            "pass model=akarclf.load_model(path)"
        )
    if model is not None and not callable(getattr(model, "predict_proba", None)):
        raise TypeError(
            f"model must be a classifier with predict_proba and classes_ "
            f"(akarclf.load_model()), got {type(model).__name__}"
        )
    if isinstance(policy, (str, bytes, os.PathLike)):
        raise TypeError(
            f"policy must be a Policy, not the path {policy!r}: "
            "pass policy=akarclf.load_policy(path)"
        )
    if policy is not None and not isinstance(policy, Policy):
        raise TypeError(
            f"policy must be an akarclf Policy (akarclf.load_policy()), got {type(policy).__name__}"
        )


@overload
def decide(  # type: ignore[overload-overlap]
    titles: str,
    cross_border: object,
    *,
    model: ClusterModel | None = ...,
    policy: Policy | None = ...,
    on: dt.date | str | None = ...,
    explain: bool = ...,
) -> DecisionRecord: ...


@overload
def decide(
    titles: Iterable[str],
    cross_border: object,
    *,
    model: ClusterModel | None = ...,
    policy: Policy | None = ...,
    on: dt.date | str | None = ...,
    explain: bool = ...,
) -> list[DecisionRecord]: ...


def decide(
    titles: str | Iterable[str],
    cross_border: object,
    *,
    model: ClusterModel | None = None,
    policy: Policy | None = None,
    on: dt.date | str | None = None,
    explain: bool = False,
) -> DecisionRecord | list[DecisionRecord]:
    """Decide listings: a ``str`` title with one flag gives one record; a sequence of titles
    gives a list, with either one flag per title or one flag for all of them.

    ``cross_border`` accepts bools, 1/0 and true/false, yes/no, ya/tidak in any case; None,
    NaN or "" mean unknown (the policy's ``unknown_seller`` action); anything else raises
    ``ValueError`` naming its position. ``model`` defaults to ``akarclf.load_model()``,
    ``policy`` to the packaged default, ``on`` (the decision date that selects the protected
    clusters) to today in UTC. ``explain=True`` adds the model's evidence n-grams to each
    record (one ``explain`` call per title: slower).
    """
    _check_model_and_policy(model, policy)
    single = isinstance(titles, str)
    title_list: list[str]
    if isinstance(titles, str):
        if not _is_scalar_flag(cross_border):
            raise TypeError("a single title takes a single cross_border flag")
        title_list = [titles]
    else:
        checked = check_ordered(titles, "titles")
        title_list = [check_title(t, i) for i, t in enumerate(checked)]
    if _is_scalar_flag(cross_border):
        flags = np.full(len(title_list), parse_cross_border(cross_border), dtype=np.int8)
    elif isinstance(cross_border, Iterable):
        flags = parse_cross_border_many(cross_border)
        if len(flags) != len(title_list):
            raise ValueError(f"{len(title_list)} titles but {len(flags)} cross_border flags")
    else:
        raise TypeError(
            f"cross_border must be a flag or a sequence of flags, got {cross_border!r:.60}"
        )
    policy = load_policy() if policy is None else policy
    decision_date = today_utc() if on is None else as_date(on)
    if not title_list:
        return []
    model = _default_model() if model is None else model

    classes = [str(c) for c in model.classes_]
    proba, blank, ev = assess_for_gate(model, title_list, flags, classes, policy, decision_date)
    if proba.shape != (len(title_list), len(classes)):
        raise ValueError(
            f"the model returned probabilities of shape {proba.shape} for {len(title_list)} "
            f"titles and {len(classes)} classes"
        )
    result = gate(proba, classes, flags, blank, policy, decision_date, ev)
    model_version = str(model.model_version)
    present = [c for c in CLUSTERS if c in classes]
    ordered = proba[:, [classes.index(c) for c in present]].tolist()
    evidence: list[tuple[tuple[str, float], ...] | None] = [None] * len(title_list)
    if explain:
        evidence = [
            tuple((str(ngram), float(weight)) for ngram, weight in model.explain(title))
            for title in title_list
        ]
    label = policy.label
    records = [
        _record(
            {
                "decision": decision,
                "reason": reason,
                "cluster": cluster,
                "confidence": confidence,
                "probabilities": dict(zip(present, row, strict=True)),
                "protected_mass": mass,
                "protected_cluster": protected_cluster,
                "model_version": model_version,
                "policy_version": label,
                "decision_date": decision_date,
                "evidence": explained,
                "known_share": share,
                "obfuscation": steps,
                "obfuscated": disguised,
            }
        )
        for (
            decision,
            reason,
            cluster,
            confidence,
            row,
            mass,
            protected_cluster,
            explained,
            share,
            steps,
            disguised,
        ) in zip(
            result.decision.tolist(),
            result.reason.tolist(),
            result.cluster.tolist(),
            result.confidence.tolist(),
            ordered,
            result.protected_mass.tolist(),
            result.protected_cluster.tolist(),
            evidence,
            ev.known_share.tolist(),
            ev.obfuscation,
            ev.obfuscated.tolist(),
            strict=True,
        )
    ]
    return records[0] if single else records
