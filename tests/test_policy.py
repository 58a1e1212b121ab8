"""The policy file: loading, dated closures, TOML round trip, and every validation message."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from akarclf.clusters import PROTECTABLE_CLUSTERS
from akarclf.evaluation.tuning import policy_summary
from akarclf.gate.policy import (
    MAX_POLICY_BYTES,
    Policy,
    PolicyError,
    as_date,
    closure_warning,
    load_policy,
)

FIXTURES = Path(__file__).parent / "fixtures"

VALID: dict[str, Any] = {
    "policy": {"id": "test", "version": "1"},
    "thresholds": {"block": 0.9, "review": 0.5},
    "fallbacks": {"unknown_seller": "review", "empty_title": "review"},
    "protected": [
        {"cluster": "textile_fashion", "closed_from": dt.date(2021, 8, 1)},
        {"cluster": "culinary", "closed_from": dt.date(2022, 1, 1)},
    ],
}


def _changed(path: str, value: Any) -> dict[str, Any]:
    """VALID with the field at dotted ``path`` set to ``value`` (``...`` deletes it)."""
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key: Any = int(last) if last.isdigit() else last
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return data


def test_valid_mapping_loads() -> None:
    policy = Policy.from_dict(VALID)
    assert policy.label == "test@1"
    assert dict(policy.closures) == {
        "textile_fashion": dt.date(2021, 8, 1),
        "culinary": dt.date(2022, 1, 1),
    }
    assert (policy.block_threshold, policy.review_threshold) == (0.9, 0.5)


def test_closures_follow_the_decision_date() -> None:
    policy = load_policy(FIXTURES / "policy_staggered.toml")
    assert policy.protected_on(dt.date(2021, 7, 31)) == ()
    assert policy.protected_on(dt.date(2021, 8, 1)) == ("textile_fashion",)
    assert policy.protected_on(dt.date(2022, 3, 1)) == ("textile_fashion", "culinary")
    assert policy.protected_on(dt.date(2023, 1, 14)) == ("textile_fashion", "culinary")
    assert policy.protected_on("2023-01-15") == ("textile_fashion", "culinary", "crafts")


def test_fixture_fields_and_source() -> None:
    path = FIXTURES / "policy_staggered.toml"
    policy = Policy.from_toml(path)
    assert policy.label == "test-staggered@1.2.3"
    assert (policy.unknown_seller, policy.empty_title) == ("block", "allow")
    assert policy.closures["culinary"] == dt.date(2022, 3, 1)  # an ISO string is accepted too
    assert policy.source == str(path)
    assert policy.provenance["targets"] == {"block_precision": 0.99}


def test_fallbacks_default_to_review() -> None:
    data = _changed("fallbacks", ...)
    policy = Policy.from_dict(data)
    assert (policy.unknown_seller, policy.empty_title) == ("review", "review")


def test_toml_round_trip_keeps_everything(tmp_path: Path) -> None:
    policy = load_policy(FIXTURES / "policy_staggered.toml")
    tuned = policy.replace(
        block_threshold=0.873,
        review_threshold=0.125,
        provenance={
            **policy.provenance,
            "tuned_at": dt.datetime(2026, 11, 22, 13, 5, tzinfo=dt.UTC),
            "decision_date": dt.date(2026, 11, 1),
            "rows": 1319,
            "ok": True,
            "key with space": [1, 2.5, "x"],
        },
    )
    path = tmp_path / "p.toml"
    path.write_text(tuned.to_toml(header="line one\nline two"), encoding="utf-8")
    assert path.read_text(encoding="utf-8").startswith("# line one\n# line two\n")
    again = Policy.from_toml(path)
    assert again == tuned
    assert again.source == str(path)


def test_default_policy_round_trips() -> None:
    policy = load_policy()
    assert Policy.from_dict(tomllib.loads(policy.to_toml())) == policy


def test_policy_hash_agrees_with_equality() -> None:
    first, second = Policy.from_dict(VALID), Policy.from_dict(VALID)
    assert first == second and hash(first) == hash(second)
    assert len({first, second, first.replace(block_threshold=0.95)}) == 2


def test_policy_is_frozen_and_its_closures_read_only() -> None:
    policy = Policy.from_dict(VALID)
    with pytest.raises(AttributeError):
        policy.block_threshold = 0.1  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.closures["crafts"] = dt.date(2020, 1, 1)  # type: ignore[index]


def test_replace_validates_and_rejects_unknown_fields() -> None:
    policy = Policy.from_dict(VALID)
    assert policy.replace(block_threshold=0.95).block_threshold == 0.95
    with pytest.raises(PolicyError, match="must be <="):
        policy.replace(review_threshold=0.99)
    with pytest.raises(TypeError, match="no field"):
        policy.replace(threshold=0.5)


def test_default_policy_is_cached_and_has_the_akar_dates() -> None:
    policy = load_policy()
    assert load_policy() is policy
    assert set(policy.closures) == set(PROTECTABLE_CLUSTERS)
    assert set(policy.closures.values()) == {dt.date(2021, 8, 1)}
    assert policy.protected_on(dt.date(2021, 7, 31)) == ()
    assert policy.protected_on(dt.date(2021, 8, 1)) == PROTECTABLE_CLUSTERS
    assert 0.0 <= policy.review_threshold <= policy.block_threshold <= 1.0


def test_shipped_policy_matches_its_report() -> None:
    policy = load_policy()
    text = (
        Path(__file__).resolve().parents[1] / "models" / "akarclf-default.policy_report.json"
    ).read_text()
    report = json.loads(text)
    assert report["policy"] == policy_summary(policy)
    status = policy.provenance["status"]
    assert report["status"] == status
    if status == "provisional":
        assert report["metrics"] is None  # nothing measured yet: no figures to show
        return
    tuning = report["tuning"]
    recorded = {
        key: value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
        for key, value in policy.provenance.items()
    }
    assert tuning["provenance"] == recorded  # same tuning run: data, targets, cuts, time
    assert tuning["targets"]["block_precision"] == policy.provenance["block_precision_target"]
    assert tuning["targets"]["protected_recall"] == policy.provenance["protected_recall_target"]
    metrics = report["metrics"]
    assert metrics["protected_recall"]["value"] >= tuning["targets"]["protected_recall"]
    if status == "block_precision_not_met":
        assert policy.block_threshold == 1.0  # nothing blocked automatically
    else:
        assert status == "tuned"
        assert metrics["block_precision"]["value"] >= tuning["targets"]["block_precision"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("thresholds.block", 1.5, "thresholds.block = 1.5 is not within [0, 1]"),
        ("thresholds.review", -0.1, "thresholds.review = -0.1 is not within [0, 1]"),
        ("thresholds.block", float("nan"), "thresholds.block = nan is not within [0, 1]"),
        ("thresholds.block", "0.9", "thresholds.block must be a number, got '0.9'"),
        ("thresholds.review", True, "thresholds.review must be a number, got True"),
        ("thresholds.review", 0.95, "thresholds.review (0.95) must be <= thresholds.block (0.9)"),
        ("thresholds.block", ..., "[thresholds] needs 'block'"),
        ("thresholds", ..., "missing the [thresholds] table"),
        ("thresholds", 0.9, "[thresholds] must be a table, got float"),
        ("policy", ..., "missing the [policy] table"),
        ("policy.version", ..., "[policy] needs 'version'"),
        ("policy.id", "", "policy id must be a non-empty string, got ''"),
        ("policy.version", 3, "policy version must be a non-empty string, got 3"),
        ("policy.id", "a@b", "policy id 'a@b' must not contain '@'"),
        (
            "protected.0.cluster",
            "fashion",
            "unknown protected cluster 'fashion'; valid clusters: "
            "textile_fashion, culinary, crafts",
        ),
        ("protected.0.cluster", "other", "unknown protected cluster 'other' ('other' is never"),
        ("protected.1.cluster", "textile_fashion", "duplicate cluster 'textile_fashion'"),
        (
            "protected.0.closed_from",
            "2021-8-1",
            "[[protected]] entry 1 ('textile_fashion'): closed_from '2021-8-1' is not a date",
        ),
        ("protected.0.closed_from", 20210801, "closed_from 20210801 is not a date (YYYY-MM-DD)"),
        ("protected.0.closed_from", "20210801", "closed_from '20210801' is not a date"),
        (
            "protected.0.closed_from",
            dt.datetime(2021, 8, 1, 12),
            "closed_from must be a date (YYYY-MM-DD), not a date-time",
        ),
        ("protected.0.closed_from", ..., "[[protected]] entry 1 needs 'closed_from'"),
        ("protected.0.cluster", ..., "[[protected]] entry 1 needs 'cluster'"),
        ("protected.0", "crafts", "[[protected]] entry 1 must be a table, got str"),
        ("protected", ..., "no [[protected]] entries; list at least one of textile_fashion"),
        ("protected", [], "no protected cluster; list at least one of textile_fashion"),
        ("protected", {"crafts": "2021-08-01"}, "'protected' must be an array of tables"),
        ("protected.0.since", "x", "unknown key(s) in [[protected]] entry 1: 'since'"),
        ("fallbacks.unknown_seller", "deny", "fallbacks.unknown_seller = 'deny' is not an action"),
        ("fallbacks.empty_title", "Review", "valid: block, review, allow"),
        ("fallbacks.missing_title", "review", "unknown key(s) in [fallbacks]: 'missing_title'"),
        ("threshold", {}, "unknown key(s) in top level: 'threshold'; allowed: policy,"),
        ("policy.name", "x", "unknown key(s) in [policy]: 'name'; allowed: id, version"),
        ("provenance", "me", "[provenance] must be a table, got str"),
    ],
)
def test_validation_messages(path: str, value: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)):
        Policy.from_dict(_changed(path, value))


def test_messages_from_a_mapping_name_its_source() -> None:
    with pytest.raises(PolicyError, match=re.escape("policy here.toml: thresholds.block = 2")):
        Policy.from_dict(_changed("thresholds.block", 2), source="here.toml")


def test_not_a_mapping() -> None:
    with pytest.raises(PolicyError, match="expected a table, got list"):
        Policy.from_dict([])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("policy_duplicate_cluster.toml", "duplicate cluster 'culinary' in [[protected]] entry 2"),
        ("policy_bad_date.toml", "entry 1 ('crafts'): closed_from '2021-13-01' is not a date"),
        ("policy_unknown_key.toml", "unknown key(s) in [thresholds]: 'reveiw'; allowed: block"),
        ("policy_not_toml.toml", "not valid TOML"),
    ],
)
def test_file_messages_name_the_file(fixture: str, message: str) -> None:
    path = FIXTURES / fixture
    with pytest.raises(PolicyError, match=re.escape(message)) as error:
        Policy.from_toml(path)
    assert str(error.value).startswith(f"policy {path}") or str(path) in str(error.value)


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_policy(tmp_path / "absent.toml")


def test_direct_construction_is_validated() -> None:
    with pytest.raises(PolicyError, match="unknown protected cluster 'toys'"):
        Policy("p", "1", {"toys": dt.date(2021, 1, 1)}, 0.9, 0.5)
    with pytest.raises(PolicyError, match="closing date of 'crafts' must be a date"):
        Policy("p", "1", {"crafts": "2021-01-01"}, 0.9, 0.5)  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
        ("2024-02-29", dt.date(2024, 2, 29)),
        (dt.datetime(2024, 2, 29, 23, 30), dt.date(2024, 2, 29)),
        (
            dt.datetime(2024, 3, 1, 5, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))),
            dt.date(2024, 2, 29),
        ),
    ],
)
def test_decision_dates(value: object, expected: dt.date) -> None:
    assert as_date(value) == expected


def test_bad_decision_dates() -> None:
    with pytest.raises(ValueError, match="'29/02/2024' is not an ISO date"):
        as_date("29/02/2024")
    with pytest.raises(TypeError, match="got int"):
        as_date(20240229)
    with pytest.raises(ValueError, match="'20240229' is not an ISO date"):
        as_date("20240229")


def test_policy_pickles_to_an_equal_policy() -> None:
    import pickle

    from akarclf.gate.policy import load_policy

    policy = load_policy()
    restored = pickle.loads(pickle.dumps(policy))
    assert restored == policy
    assert restored.label == policy.label
    assert dict(restored.provenance) == dict(policy.provenance)


# --- hostile policy files (issue 15, item 8) -------------------------------------------------

#: Every value TOML can parse to, nested a little.
toml_leaf = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["textile_fashion", "crafts", "other", "review", "block", "2021-08-01"]),
    st.dates(),
    st.datetimes(),
    st.times(),
)
toml_value = st.recursive(
    toml_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
FIELDS = [
    "policy",
    "policy.id",
    "policy.version",
    "thresholds",
    "thresholds.block",
    "thresholds.review",
    "fallbacks",
    "fallbacks.unknown_seller",
    "fallbacks.empty_title",
    "protected",
    "protected.0",
    "protected.0.cluster",
    "protected.0.closed_from",
    "provenance",
]


@given(st.sampled_from(FIELDS), toml_value)
def test_any_value_in_any_field_loads_or_is_a_policy_error(path: str, value: Any) -> None:
    try:
        policy = Policy.from_dict(_changed(path, value), source="fuzz.toml")
    except PolicyError as error:
        assert "fuzz.toml" in str(error)
    else:
        assert 0.0 <= policy.review_threshold <= policy.block_threshold <= 1.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe[\x00p\x00", r"not UTF-8 text \(byte 0"),
        (b"a = " + b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"x" * (MAX_POLICY_BYTES + 1), "bytes; a policy is at most"),
    ],
)
def test_unreadable_policy_files_are_policy_errors_naming_them(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(content)
    with pytest.raises(PolicyError, match=rf"policy file {re.escape(str(path))}.*{message}"):
        load_policy(path)


def test_a_directory_or_fifo_is_not_read_as_a_policy(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="is a directory"):
        load_policy(tmp_path)
    fifo = tmp_path / "policy.toml"
    os.mkfifo(fifo)  # reading it would block until a writer came: refused without opening
    with pytest.raises(PolicyError, match="is not a regular file"):
        load_policy(fifo)


def test_closure_warning_names_the_first_closing_date() -> None:
    policy = Policy.from_dict(_changed("protected.0.closed_from", dt.date(2099, 8, 1)))
    warning = closure_warning(policy, dt.date(2021, 12, 31))
    assert warning is not None
    assert "closes no cluster on 2021-12-31 (the first closed_from is 2022-01-01)" in warning
    assert closure_warning(policy, dt.date(2022, 1, 1)) is None
