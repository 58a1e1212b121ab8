"""The gate: decision rule, precedence, dated closures, records, and decide() for services.

The model here is a stub with the ClusterClassifier interface (fixed probabilities per
keyword), so these tests check the gate's own logic, not the classifier.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import akarclf
from akarclf.clusters import CLUSTERS, PROTECTABLE_CLUSTERS
from akarclf.gate import decision as gate_module
from akarclf.gate.decision import (
    DECISIONS,
    DOMESTIC_SELLER,
    EMPTY_TITLE,
    NOT_PROTECTED,
    PROTECTED_CLUSTER,
    REASONS,
    UNCERTAIN,
    UNKNOWN_SELLER,
    DecisionRecord,
    decide,
    gate,
)
from akarclf.gate.policy import Policy, load_policy

FIXTURES = Path(__file__).parent / "fixtures"
#: scikit-learn's sorted order, deliberately not CLUSTERS' order.
SKLEARN_CLASSES = ("crafts", "culinary", "other", "textile_fashion")
ON = dt.date(2026, 1, 1)
STRICTNESS = {"allow": 0, "review": 1, "block": 2}


def make_policy(block: float = 0.9, review: float = 0.5, **changes: object) -> Policy:
    closures = {c: dt.date(2021, 8, 1) for c in PROTECTABLE_CLUSTERS}
    fields: dict[str, object] = {
        "policy_id": "test",
        "version": "1",
        "closures": closures,
        "block_threshold": block,
        "review_threshold": review,
    }
    fields.update(changes)
    return Policy(**fields)  # type: ignore[arg-type]


def row(**proba: float) -> list[float]:
    """One probability row in SKLEARN_CLASSES order from keyword probabilities."""
    return [proba.get(c, 0.0) for c in SKLEARN_CLASSES]


def run_gate(
    rows: list[list[float]],
    flags: Sequence[int],
    blank: Sequence[bool] | None = None,
    policy: Policy | None = None,
    on: dt.date = ON,
) -> gate_module.GateResult:
    n = len(rows)
    return gate(
        np.array(rows, dtype=float),
        SKLEARN_CLASSES,
        np.array(flags, dtype=np.int8),
        np.array(blank if blank is not None else [False] * n, dtype=bool),
        policy or make_policy(),
        on,
    )


class StubModel:
    """The ClusterClassifier interface with fixed probabilities chosen by keywords."""

    classes_ = np.array(SKLEARN_CLASSES)
    model_version = "stub-model@0"
    TABLE: ClassVar[dict[str, list[float]]] = {
        "kaos": row(textile_fashion=0.95, other=0.05),
        "campur": row(textile_fashion=0.45, crafts=0.40, other=0.15),
        "kopi": row(culinary=0.6, other=0.4),
    }
    DEFAULT: ClassVar[list[float]] = row(
        other=0.85, crafts=0.05, culinary=0.05, textile_fashion=0.05
    )

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def predict_proba(self, titles: Sequence[str]) -> np.ndarray:
        self.seen.append(list(titles))
        rows = [next((p for k, p in self.TABLE.items() if k in t), self.DEFAULT) for t in titles]
        return np.array(rows, dtype=float).reshape(len(titles), len(SKLEARN_CLASSES))

    def explain(self, title: str, top: int = 10) -> list[tuple[str, float]]:
        return [(word, 0.5) for word in title.split()[:top]]


# --- the decision rule ------------------------------------------------------------------------


def test_protected_mass_sums_protected_clusters() -> None:
    result = run_gate(
        [row(textile_fashion=0.45, crafts=0.40, other=0.15)], [1], policy=make_policy(block=0.8)
    )
    assert result.protected_mass[0] == pytest.approx(0.85)
    assert result.decision[0] == "block"
    assert result.reason[0] == PROTECTED_CLUSTER
    assert result.protected_cluster[0] == "textile_fashion"
    assert result.cluster[0] == "textile_fashion"
    assert result.confidence[0] == pytest.approx(0.45)


@pytest.mark.parametrize(
    ("proba", "decision", "reason"),
    [
        (row(culinary=0.9, other=0.1), "block", PROTECTED_CLUSTER),  # mass == block: block
        (row(culinary=0.5, other=0.5), "review", UNCERTAIN),  # mass == review: review
        (row(culinary=0.3, crafts=0.3, other=0.4), "review", UNCERTAIN),
        (row(culinary=0.49, other=0.51), "allow", NOT_PROTECTED),
        (row(other=1.0), "allow", NOT_PROTECTED),
    ],
)
def test_thresholds(proba: list[float], decision: str, reason: str) -> None:
    result = run_gate([proba], [1])
    assert (result.decision[0], result.reason[0]) == (decision, reason)


def test_precedence_domestic_then_unknown_then_empty_then_mass() -> None:
    policy = make_policy(unknown_seller="allow", empty_title="block")
    strong = row(textile_fashion=1.0)
    weak = row(other=1.0)
    result = run_gate(
        [strong, strong, strong, weak, strong, weak],
        [0, 0, -1, -1, 1, 1],
        [False, True, True, False, True, False],
        policy,
    )
    assert result.reason.tolist() == [
        DOMESTIC_SELLER,
        DOMESTIC_SELLER,
        UNKNOWN_SELLER,
        UNKNOWN_SELLER,
        EMPTY_TITLE,
        NOT_PROTECTED,
    ]
    assert result.decision.tolist() == ["allow", "allow", "allow", "allow", "block", "allow"]


def test_fallback_actions_follow_the_policy() -> None:
    for action in DECISIONS:
        policy = make_policy(unknown_seller=action, empty_title=action)
        result = run_gate([row(other=1.0)] * 2, [-1, 1], [False, True], policy)
        assert result.decision.tolist() == [action, action]
        assert result.reason.tolist() == [UNKNOWN_SELLER, EMPTY_TITLE]


def test_dated_closures() -> None:
    policy = Policy.from_toml(FIXTURES / "policy_staggered.toml")  # crafts from 2023-01-15
    crafts = [row(crafts=0.95, other=0.05)]
    before = run_gate(crafts, [1], policy=policy, on=dt.date(2023, 1, 14))
    after = run_gate(crafts, [1], policy=policy, on=dt.date(2023, 1, 15))
    assert (before.decision[0], before.reason[0]) == ("allow", NOT_PROTECTED)
    assert before.protected_mass[0] == 0.0
    assert before.protected_cluster[0] == "textile_fashion"  # the only cluster closed then
    assert (after.decision[0], after.protected_cluster[0]) == ("block", "crafts")
    nothing_closed = run_gate(crafts, [1], policy=policy, on=dt.date(2020, 1, 1))
    assert nothing_closed.protected_cluster.tolist() == [""]
    zero = policy.replace(block_threshold=0.0, review_threshold=0.0)
    nothing_to_protect = run_gate(crafts, [1], policy=zero, on=dt.date(2020, 1, 1))
    assert (nothing_to_protect.decision[0], nothing_to_protect.reason[0]) == (
        "allow",
        NOT_PROTECTED,
    )


def test_column_order_does_not_matter() -> None:
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), size=200)
    flags = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=200)
    blank = rng.random(200) < 0.1
    policy = make_policy(block=0.7, review=0.3)
    first = gate(proba, SKLEARN_CLASSES, flags, blank, policy, ON)
    permutation = [3, 1, 0, 2]
    second = gate(
        proba[:, permutation], [SKLEARN_CLASSES[i] for i in permutation], flags, blank, policy, ON
    )
    for name in ("decision", "reason", "cluster", "protected_cluster"):
        assert getattr(first, name).tolist() == getattr(second, name).tolist()
    np.testing.assert_allclose(first.protected_mass, second.protected_mass)


def test_gate_does_not_modify_inputs_and_handles_no_rows() -> None:
    proba = np.array([row(textile_fashion=0.9, other=0.1)])
    flags = np.array([1], dtype=np.int8)
    blank = np.array([False])
    copies = proba.copy(), flags.copy(), blank.copy()
    run = gate(proba, SKLEARN_CLASSES, flags, blank, make_policy(), ON)
    assert run.decision.tolist() == ["block"]
    for before, after in zip(copies, (proba, flags, blank), strict=True):
        np.testing.assert_array_equal(before, after)
    empty = gate(
        np.zeros((0, 4)),
        SKLEARN_CLASSES,
        np.zeros(0, np.int8),
        np.zeros(0, bool),
        make_policy(),
        ON,
    )
    assert len(empty) == 0 and empty.decision.shape == (0,)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"proba": np.ones(4)}, ValueError, "must be a 2-d array"),
        ({"classes": SKLEARN_CLASSES[:3]}, ValueError, "4 columns but 3 classes"),
        (
            {"classes": ("crafts", "food", "other", "textile_fashion")},
            ValueError,
            "unknown cluster 'food'",
        ),
        ({"classes": ("crafts", "crafts", "other", "textile_fashion")}, ValueError, "duplicate"),
        (
            {"proba": np.array([row(other=1.0), [np.nan, 0, 0, 1]])},
            ValueError,
            "proba row 1 is not finite",
        ),
        ({"cross_border": np.array([1.0, 0.0])}, TypeError, "parse_cross_border_many"),
        ({"cross_border": np.array([1, 2])}, ValueError, "cross_border code at row 1 is 2"),
        ({"cross_border": np.array([1])}, ValueError, "cross_border has shape (1,)"),
        ({"blank": np.array([0, 1])}, TypeError, "blank must be a boolean array"),
        ({"blank": np.array([True])}, ValueError, "blank has shape (1,)"),
    ],
)
def test_gate_input_errors(change: dict[str, object], error: type, message: str) -> None:
    arguments: dict[str, object] = {
        "proba": np.array([row(other=1.0), row(crafts=1.0)]),
        "classes": SKLEARN_CLASSES,
        "cross_border": np.array([1, 0], dtype=np.int8),
        "blank": np.array([False, False]),
        "policy": make_policy(),
        "on": ON,
    }
    arguments.update(change)
    with pytest.raises(error, match=re.escape(message)):
        gate(**arguments)  # type: ignore[arg-type]


def test_model_without_a_protected_cluster_is_an_error() -> None:
    with pytest.raises(ValueError, match="no probability for protected cluster"):
        gate(
            np.array([[0.5, 0.5]]),
            ["other", "textile_fashion"],
            np.array([1]),
            np.array([False]),
            make_policy(),
            ON,
        )


# --- properties -------------------------------------------------------------------------------

probability_rows = (
    st.integers(1, 40)
    .flatmap(lambda n: hnp.arrays(np.float64, (n, 4), elements=st.floats(0.0, 1.0)))
    .map(lambda a: a / np.maximum(a.sum(axis=1, keepdims=True), 1e-12))
)
threshold_pairs = st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)).map(sorted)
dates = st.dates(dt.date(2019, 1, 1), dt.date(2026, 12, 31))


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    review, block = draw(threshold_pairs)
    clusters = draw(st.lists(st.sampled_from(PROTECTABLE_CLUSTERS), min_size=1, unique=True))
    return make_policy(
        block=block,
        review=review,
        closures={c: draw(dates) for c in clusters},
        unknown_seller=draw(st.sampled_from(DECISIONS)),
        empty_title=draw(st.sampled_from(DECISIONS)),
    )


@st.composite
def gate_inputs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    proba = draw(probability_rows)
    n = len(proba)
    flags = np.array(draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=n, max_size=n)))
    blank = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    return proba, flags.astype(np.int8), blank


@given(gate_inputs(), policies(), dates)
def test_domestic_seller_is_never_blocked(inputs: tuple, policy: Policy, on: dt.date) -> None:
    proba, flags, blank = inputs
    result = gate(proba, SKLEARN_CLASSES, flags, blank, policy, on)
    domestic = flags == 0
    assert set(result.decision[domestic]) <= {"allow"}
    assert set(result.reason[domestic]) <= {DOMESTIC_SELLER}


@given(probability_rows, st.sampled_from([-1, 0, 1]), st.booleans(), policies(), dates)
def test_decision_never_less_strict_as_protected_mass_grows(
    proba: np.ndarray, flag: int, blank: bool, policy: Policy, on: dt.date
) -> None:
    n = len(proba)
    result = gate(proba, SKLEARN_CLASSES, np.full(n, flag, np.int8), np.full(n, blank), policy, on)
    order = np.argsort(result.protected_mass, kind="stable")
    strictness = [STRICTNESS[d] for d in result.decision[order]]
    assert strictness == sorted(strictness)


@given(gate_inputs(), policies(), dates)
def test_cluster_before_its_closing_date_is_never_a_reason_to_block(
    inputs: tuple, policy: Policy, on: dt.date
) -> None:
    proba, flags, blank = inputs
    result = gate(proba, SKLEARN_CLASSES, flags, blank, policy, on)
    for cluster, reason in zip(result.protected_cluster, result.reason, strict=True):
        if reason == PROTECTED_CLUSTER:
            assert policy.closures[cluster] <= on
    # Moving probability between clusters that are not closed yet and 'other' changes nothing.
    open_columns = [SKLEARN_CLASSES.index(c) for c in CLUSTERS if c not in policy.protected_on(on)]
    shifted = proba.copy()
    shifted[:, open_columns] = shifted[:, open_columns][:, ::-1]
    again = gate(shifted, SKLEARN_CLASSES, flags, blank, policy, on)
    assert again.decision.tolist() == result.decision.tolist()
    assert again.reason.tolist() == result.reason.tolist()


ALLOWED_PAIRS = {
    DOMESTIC_SELLER: {"allow"},
    UNKNOWN_SELLER: set(DECISIONS),
    EMPTY_TITLE: set(DECISIONS),
    PROTECTED_CLUSTER: {"block"},
    UNCERTAIN: {"review"},
    NOT_PROTECTED: {"allow"},
}


@given(gate_inputs(), policies(), dates)
def test_every_valid_input_gets_exactly_one_decision(
    inputs: tuple, policy: Policy, on: dt.date
) -> None:
    proba, flags, blank = inputs
    result = gate(proba, SKLEARN_CLASSES, flags, blank, policy, on)
    n = len(proba)
    for name in (
        "decision",
        "reason",
        "cluster",
        "confidence",
        "protected_mass",
        "protected_cluster",
    ):
        assert getattr(result, name).shape == (n,)
    for decision, reason in zip(result.decision, result.reason, strict=True):
        assert decision in DECISIONS and reason in REASONS
        assert decision in ALLOWED_PAIRS[reason]
    np.testing.assert_array_equal(result.confidence, proba.max(axis=1))


# --- records and decide() -----------------------------------------------------------------------


def test_single_title_gives_one_record() -> None:
    record = decide("kaos polos hitam", "YA", model=StubModel(), policy=make_policy(), on=ON)
    assert isinstance(record, DecisionRecord)
    assert (record.decision, record.reason) == ("block", PROTECTED_CLUSTER)
    assert record.probabilities == {
        "textile_fashion": 0.95,
        "culinary": 0.0,
        "crafts": 0.0,
        "other": 0.05,
    }
    assert (record.model_version, record.policy_version) == ("stub-model@0", "test@1")
    assert record.evidence is None


def test_records_equal_normally_built_ones_and_stay_frozen() -> None:
    record = decide("kopi", True, model=StubModel(), policy=make_policy(), on=ON, explain=True)
    rebuilt = DecisionRecord(
        **{name: getattr(record, name) for name in record.__dataclass_fields__}
    )
    assert record == rebuilt and hash(record.decision) == hash(rebuilt.decision)
    assert repr(record) == repr(rebuilt)
    with pytest.raises(AttributeError):
        record.decision = "allow"  # type: ignore[misc]


def test_batch_with_mixed_flags() -> None:
    model = StubModel()
    records = decide(
        ["kaos anak", "kain campur", "kopi bubuk", "kaos", " !!! ", "casing hp"],
        ["true", "Yes", 1, "tidak", True, None],
        model=model,
        policy=make_policy(),
        on=ON,
    )
    assert [(r.decision, r.reason) for r in records] == [
        ("block", PROTECTED_CLUSTER),
        ("review", UNCERTAIN),  # 0.45 fashion + 0.40 crafts = 0.85: below block 0.9
        ("review", UNCERTAIN),
        ("allow", DOMESTIC_SELLER),
        ("review", EMPTY_TITLE),
        ("review", UNKNOWN_SELLER),
    ]
    assert records[1].protected_mass == pytest.approx(0.85)
    assert len(model.seen) == 1  # one predict_proba call for the batch


def test_one_flag_for_a_whole_batch_and_empty_batch() -> None:
    records = decide(["kaos", "kopi"], "tidak", model=StubModel(), policy=make_policy(), on=ON)
    assert [r.reason for r in records] == [DOMESTIC_SELLER, DOMESTIC_SELLER]
    assert decide([], [], model=StubModel(), policy=make_policy(), on=ON) == []


def test_record_to_dict_is_flat_and_json_ready() -> None:
    record = decide("kaos", True, model=StubModel(), policy=make_policy(), on=ON, explain=True)
    data = record.to_dict()
    assert list(data) == [
        "decision",
        "reason",
        "cluster",
        "confidence",
        "p_textile_fashion",
        "p_culinary",
        "p_crafts",
        "p_other",
        "protected_mass",
        "protected_cluster",
        "model_version",
        "policy_version",
        "decision_date",
        "known_share",
        "obfuscation",
        "obfuscated",
        "evidence",
    ]
    assert data["decision_date"] == "2026-01-01"
    assert data["evidence"] == [["kaos", 0.5]]
    assert json.loads(record.to_json()) == data
    plain = decide("kaos", True, model=StubModel(), policy=make_policy(), on=ON)
    assert "evidence" not in plain.to_dict()
    for value in data.values():
        assert not isinstance(value, (dict, np.generic))


def test_decide_uses_the_closing_date() -> None:
    policy = Policy.from_toml(FIXTURES / "policy_staggered.toml")  # culinary from 2022-03-01
    early = decide("kopi", 1, model=StubModel(), policy=policy, on="2022-02-28")
    late = decide("kopi", 1, model=StubModel(), policy=policy, on=dt.date(2022, 3, 1))
    assert (early.decision, early.reason, early.protected_mass) == ("allow", NOT_PROTECTED, 0.0)
    assert (late.decision, late.reason) == ("review", UNCERTAIN)


def test_decide_defaults_to_today_and_the_packaged_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gate_module, "today_utc", lambda: dt.date(2021, 7, 31))
    record = decide("kaos", True, model=StubModel())
    assert record.policy_version == load_policy().label
    assert record.decision_date == dt.date(2021, 7, 31)
    assert record.reason == NOT_PROTECTED  # nothing closed the day before AKAR


def test_decide_loads_the_default_model_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def load_model(path: object = None) -> StubModel:
        calls.append(1)
        return StubModel()

    monkeypatch.setattr(akarclf, "load_model", load_model, raising=False)
    record = decide("kaos", True, policy=make_policy(), on=ON)
    assert record.model_version == "stub-model@0" and calls == [1]


def test_decide_input_errors() -> None:
    model, policy = StubModel(), make_policy()
    with pytest.raises(ValueError, match=r"position 1 is not readable: 'maybe'"):
        decide(["kaos", "kopi"], ["ya", "maybe"], model=model, policy=policy, on=ON)
    with pytest.raises(ValueError, match="2 titles but 3 cross_border flags"):
        decide(["kaos", "kopi"], [1, 1, 0], model=model, policy=policy, on=ON)
    with pytest.raises(TypeError, match="title at position 1 must be a str, got NoneType"):
        decide(["kaos", None], [1, 1], model=model, policy=policy, on=ON)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="a single title takes a single cross_border flag"):
        decide("kaos", [1, 0], model=model, policy=policy, on=ON)
    with pytest.raises(ValueError, match="not readable: 'perhaps'"):
        decide("kaos", "perhaps", model=model, policy=policy, on=ON)
    assert model.seen == []  # bad input is rejected before the model runs


def test_decide_checks_the_model_output_shape() -> None:
    class Truncating(StubModel):
        def predict_proba(self, titles: Sequence[str]) -> np.ndarray:
            return super().predict_proba(titles)[:-1]

    with pytest.raises(ValueError, match=r"shape \(1, 4\) for 2 titles and 4 classes"):
        decide(["kaos", "kopi"], [1, 1], model=Truncating(), policy=make_policy(), on=ON)


flag_spellings = st.sampled_from(
    [True, False, 1, 0, 1.0, 0.0, None, math.nan, "", "true", "FALSE", "Yes", "no", "ya", "Tidak"]
)


@given(st.lists(st.tuples(st.text(max_size=30), flag_spellings), max_size=20), dates)
def test_decide_gives_one_record_per_listing(
    listings: list[tuple[str, object]], on: dt.date
) -> None:
    titles = [title for title, _flag in listings]
    flags = [flag for _title, flag in listings]
    records = decide(titles, flags, model=StubModel(), policy=make_policy(), on=on)
    assert len(records) == len(titles)
    for record, flag in zip(records, flags, strict=True):
        assert record.decision in ALLOWED_PAIRS[record.reason]
        if flag in (False, 0, "FALSE", "no", "Tidak"):
            assert record.reason == DOMESTIC_SELLER


def test_decide_accepts_pandas_columns() -> None:
    frame = pd.DataFrame({"title": ["kaos", "kopi", "lampu"], "xb": ["ya", None, "tidak"]})
    records = decide(frame["title"], frame["xb"], model=StubModel(), policy=make_policy(), on=ON)
    assert [r.reason for r in records] == [PROTECTED_CLUSTER, UNKNOWN_SELLER, DOMESTIC_SELLER]
