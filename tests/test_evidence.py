"""Evidence beyond the probabilities: windows, known words, disguises, length; the [evidence]
rules of the gate; the same answer from decide and the batch scorer."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from akarclf.clusters import CLUSTERS, PROTECTABLE_CLUSTERS
from akarclf.gate.decision import (
    LONG_TITLE,
    NOT_PROTECTED,
    OBFUSCATED_TITLE,
    PROTECTED_CLUSTER,
    PROTECTED_SEGMENT,
    UNCERTAIN,
    UNREADABLE_TITLE,
    decide,
    gate,
)
from akarclf.gate.flags import CROSS_BORDER, DOMESTIC
from akarclf.gate.policy import EvidencePolicy, Policy, PolicyError, load_policy
from akarclf.model.classifier import ClusterClassifier
from akarclf.model.evidence import Evidence, known_shares, windows
from akarclf.scoring.core import score_columns
from tests.handwritten_titles import LABELS, TEXTS

ON = dt.date(2026, 1, 1)
OTHER = [0.0, 0.0, 0.0, 1.0]
FASHION = [1.0, 0.0, 0.0, 0.0]


def policy(**rules: object) -> Policy:
    return Policy(
        policy_id="test",
        version="1",
        closures={c: dt.date(2021, 8, 1) for c in PROTECTABLE_CLUSTERS},
        block_threshold=0.9,
        review_threshold=0.5,
        evidence=EvidencePolicy(**rules),  # type: ignore[arg-type]
    )


def run(
    rules: dict[str, object],
    *,
    proba: list[float] = OTHER,
    window: list[float] | None = None,
    head: list[float] | None = None,
    known: float = 1.0,
    obfuscated: bool = False,
    chars: int = 40,
    flag: int = CROSS_BORDER,
) -> tuple[str, str, str]:
    evidence = Evidence(
        window_proba=np.array([window or [0.0] * 4]),
        head_proba=np.array([head or [0.0] * 4]),
        known_share=np.array([known]),
        obfuscated=np.array([obfuscated]),
        obfuscation=("digits" if obfuscated else "",),
        n_chars=np.array([chars]),
    )
    result = gate(
        np.array([proba]),
        CLUSTERS,
        np.array([flag], dtype=np.int8),
        np.array([False]),
        policy(**rules),
        ON,
        evidence,
    )
    return str(result.decision[0]), str(result.reason[0]), str(result.protected_cluster[0])


def test_a_protected_window_blocks_a_diluted_title() -> None:
    assert run({"segments": "block"}, window=FASHION)[:2] == ("block", PROTECTED_SEGMENT)
    assert run({"segments": "review"}, window=FASHION)[:2] == ("review", PROTECTED_SEGMENT)
    assert run({"segments": "allow"}, window=FASHION)[:2] == ("allow", NOT_PROTECTED)
    # a window below the block threshold does nothing, even above the review threshold
    assert run({"segments": "block"}, window=[0.7, 0, 0, 0.3])[:2] == ("allow", NOT_PROTECTED)


def test_a_first_window_above_its_review_level_reviews() -> None:
    rules = {"segments": "block", "head_review": 0.6}
    assert run(rules, head=[0.7, 0, 0, 0.3])[:2] == ("review", PROTECTED_SEGMENT)
    assert run(rules, head=[0.55, 0, 0, 0.45])[:2] == ("allow", NOT_PROTECTED)
    # the level is the first window's: a later window at 0.7 does not review
    assert run(rules, window=[0.7, 0, 0, 0.3])[:2] == ("allow", NOT_PROTECTED)


def test_the_segment_names_the_window_cluster() -> None:
    assert run({"segments": "block"}, window=[0, 0.95, 0, 0.05])[2] == "culinary"


def test_knowledge_floor_length_limit_and_disguise_raise_to_review() -> None:
    assert run({"min_known_share": 0.5}, known=0.4)[:2] == ("review", UNREADABLE_TITLE)
    assert run({"min_known_share": 0.5}, known=0.5)[:2] == ("allow", NOT_PROTECTED)
    assert run({"max_title_chars": 100}, chars=101)[:2] == ("review", LONG_TITLE)
    assert run({"obfuscated": "review"}, obfuscated=True)[:2] == ("review", OBFUSCATED_TITLE)
    assert run({"obfuscated": "block"}, obfuscated=True)[:2] == ("block", OBFUSCATED_TITLE)


def test_rules_never_weaken_a_decision() -> None:
    rules = {"min_known_share": 0.9, "max_title_chars": 10, "obfuscated": "review"}
    assert run(rules, proba=FASHION, known=0.0, chars=50, obfuscated=True)[:2] == (
        "block",
        PROTECTED_CLUSTER,
    )
    assert run(rules, proba=[0.6, 0, 0, 0.4], known=0.0)[:2] == ("review", UNCERTAIN)


def test_rules_apply_to_cross_border_sellers_only() -> None:
    rules = {"min_known_share": 0.9, "obfuscated": "block", "segments": "block"}
    decision = run(rules, known=0.0, obfuscated=True, window=FASHION, flag=DOMESTIC)
    assert decision[0] == "allow"


def test_policy_without_evidence_table_applies_no_rule() -> None:
    assert run({}, known=0.0, obfuscated=True, window=FASHION, chars=19_999)[:2] == (
        "allow",
        NOT_PROTECTED,
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"min_known_share": 1.5}, "min_known_share"),
        ({"max_title_chars": 0}, "max_title_chars"),
        ({"obfuscated": "ban"}, "evidence.obfuscated"),
        ({"segments": True}, "evidence.segments"),
        ({"head_review": -0.1}, "head_review"),
        ({"floor": 0.5}, "unknown key"),
    ],
)
def test_bad_evidence_table_names_the_field(table: dict[str, object], message: str) -> None:
    data = load_policy().to_dict()
    data["evidence"] = table
    with pytest.raises(PolicyError, match=message):
        Policy.from_dict(data, source="p.toml")


def test_evidence_table_round_trips_through_toml(tmp_path) -> None:  # type: ignore[no-untyped-def]
    packaged = load_policy()
    assert packaged.evidence.min_known_share > 0  # the packaged policy turns the rules on
    path = tmp_path / "p.toml"
    path.write_text(packaged.to_toml(), encoding="utf-8")
    assert Policy.from_toml(path) == packaged


def test_windows_cover_the_whole_title() -> None:
    assert windows("a b c") == []
    cut = windows("w1 w2 w3 w4 w5 w6 w7", size=4, stride=2)
    assert windows("w1 w2 w3 w4 w5") == []  # the default window holds five words
    assert cut == ["w1 w2 w3 w4", "w3 w4 w5 w6", "w4 w5 w6 w7"]


@pytest.fixture(scope="module")
def fitted() -> ClusterClassifier:
    return ClusterClassifier(calibration_folds=3, min_df=1, char_ngrams=(2, 4)).fit(TEXTS, LABELS)


def test_known_share_counts_words_with_features(fitted: ClusterClassifier) -> None:
    shares = known_shares(fitted, ["kemeja batik", "kemeja qqqzz", "qqqzz xxyyq", "0", ""])
    assert shares.tolist() == [1.0, 0.5, 0.0, 0.0, 0.0]


def test_decide_and_batch_agree_on_evidence(fitted: ClusterClassifier) -> None:
    titles = [
        "K3MEJA B4TIK pria lengan panjang",
        "qqqzz xxyyq wwvvt 123",
        "Kabel data usb " + "charger mouse speaker " * 5 + "kemeja batik pria",
        "x" * 600 + " kopi bubuk",
        "Mouse wireless",
    ]
    # The packaged [evidence] rules, thresholds that leave the toy model's titles to them.
    packaged = load_policy().replace(block_threshold=0.99, review_threshold=0.9)
    records = decide(titles, True, model=fitted, policy=packaged, on=ON)
    columns = score_columns(
        titles, np.full(len(titles), CROSS_BORDER), model=fitted, policy=packaged, on=ON
    )
    assert [r.decision for r in records] == columns["decision"].tolist()
    assert [r.reason for r in records] == columns["reason"].tolist()
    assert [r.known_share for r in records] == columns["known_share"].tolist()
    assert [r.obfuscation for r in records] == columns["obfuscation"].tolist()
    assert records[0].obfuscated and records[0].obfuscation == "digits"
    assert records[1].reason == UNREADABLE_TITLE
    assert records[3].decision != "allow"
