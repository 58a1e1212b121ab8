"""The hand audit of the taxonomy labels: the fixture's shape, that it holds no data text, that it
still matches the labelled data, and that the summary's figures are computed correctly.

The fixture ``akarclf/training/data/label_audit.csv`` keeps ids and clusters only; the titles stay
in
``../shared/data``. When the taxonomy changes and an audited title gets a different label, the
test that compares labels fails and lists the uids, so the audit is redone for them rather
than silently reporting accuracy for labels the model no longer trains on.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from akarclf.clusters import CLUSTERS
from akarclf.training.datasets import Example, LabelledData, load_training_data
from akarclf.training.label_audit import (
    AUDIT_COLUMNS,
    AuditError,
    draw_audit_sample,
    read_audit,
    summarise_audit,
    wilson_interval,
    write_audit,
)

FIXTURE = Path(__file__).resolve().parents[1] / "akarclf" / "training" / "data" / "label_audit.csv"
MIN_ROWS = 400
MIN_PER_CLUSTER = 80


@pytest.fixture(scope="module")
def audit_rows() -> list[dict[str, str]]:
    with FIXTURE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def labelled(shared_data: Path) -> LabelledData:
    return load_training_data(shared_data)


# --- the fixture itself ---------------------------------------------------------------------


def test_fixture_has_the_columns_and_enough_rows_per_cluster(
    audit_rows: list[dict[str, str]],
) -> None:
    with FIXTURE.open(encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    assert tuple(header) == AUDIT_COLUMNS
    assert len(audit_rows) >= MIN_ROWS
    per_cluster = Counter(row["taxonomy_label"] for row in audit_rows)
    thin = {c: per_cluster[c] for c in CLUSTERS if per_cluster[c] < MIN_PER_CLUSTER}
    assert not thin, f"clusters with fewer than {MIN_PER_CLUSTER} audited rows: {thin}"


def test_fixture_uses_only_valid_clusters_and_unique_uids(
    audit_rows: list[dict[str, str]],
) -> None:
    bad = [
        (row["uid"], row["taxonomy_label"], row["verdict"])
        for row in audit_rows
        if row["taxonomy_label"] not in CLUSTERS or row["verdict"] not in CLUSTERS
    ]
    assert not bad, f"rows with an unknown cluster: {bad}"
    repeated = [uid for uid, n in Counter(r["uid"] for r in audit_rows).items() if n > 1]
    assert not repeated, f"uids audited twice: {repeated}"
    # read_audit applies the same checks; the fixture must pass them too.
    assert len(read_audit(FIXTURE)) == len(audit_rows)


def _data_titles(data_dir: Path) -> set[str]:
    """Every title of every CSV in the data folder, lower-cased with spaces collapsed."""
    titles: set[str] = set()
    for path in sorted(data_dir.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                title = _squash(row.get("title") or "")
                if title:
                    titles.add(title)
    return titles


def _squash(text: str) -> str:
    return " ".join(text.casefold().split())


def _word_spans(text: str) -> set[str]:
    """Every run of whole words in ``text`` (the ways a title could sit inside a cell)."""
    words = text.split()
    return {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}


@pytest.mark.shared_data
def test_fixture_holds_no_title_from_the_data(
    audit_rows: list[dict[str, str]], shared_data: Path
) -> None:
    titles = _data_titles(shared_data)
    assert len(titles) > 10_000, "the data titles were not read"
    leaks = []
    for line, row in enumerate(audit_rows, start=2):
        for column, cell in row.items():
            cell = _squash(cell or "")
            # A title equal to the cell, or a title sitting inside it as whole words.
            found = _word_spans(cell) & titles
            if found:
                leaks.append((line, column, sorted(found)))
    assert not leaks, f"fixture cells that equal or contain a data title: {leaks}"


@pytest.mark.shared_data
def test_fixture_notes_quote_no_long_run_of_any_title(
    audit_rows: list[dict[str, str]], shared_data: Path
) -> None:
    """Notes are the auditor's words: no run of 6 words taken from a data title."""
    runs: set[str] = set()
    for title in _data_titles(shared_data):
        words = title.split()
        runs.update(" ".join(words[i : i + 6]) for i in range(len(words) - 5))
    quoted = [
        (row["uid"], sorted(_word_spans(_squash(row["note"])) & runs))
        for row in audit_rows
        if _word_spans(_squash(row["note"])) & runs
    ]
    assert not quoted, f"notes quoting data titles: {quoted}"


@pytest.mark.shared_data
def test_every_audited_uid_is_still_a_row_of_the_data(
    audit_rows: list[dict[str, str]], shared_data: Path
) -> None:
    """Audited uids name real rows (file stem and CSV line) of the data files."""
    import csv as _csv

    lines: dict[str, int] = {}
    for row in audit_rows:
        stem = row["uid"].rsplit(":", 1)[0]
        if stem not in lines:
            with (shared_data / f"{stem}.csv").open(encoding="utf-8", newline="") as handle:
                reader = _csv.reader(handle)
                for _ in reader:
                    pass
                lines[stem] = reader.line_num
        assert 2 <= int(row["uid"].rsplit(":", 1)[1]) <= lines[stem], row["uid"]


@pytest.mark.shared_data
def test_current_taxonomy_is_rescored_on_the_audited_titles(
    audit_rows: list[dict[str, str]], labelled: LabelledData
) -> None:
    """The hand verdicts measure today's taxonomy too; crafts labels must not get worse."""
    from akarclf.training.label_audit import rescore_audit

    rescored = rescore_audit(FIXTURE, labelled.examples, labelled.taxonomy_version)
    checked = sum(r["checked"] for r in rescored["per_cluster"].values())
    assert checked + sum(rescored["dropped_by_verdict"].values()) == len(audit_rows)
    original = summarise_audit(FIXTURE)["per_cluster"]["crafts"]["accuracy"]
    assert rescored["per_cluster"]["crafts"]["accuracy"] >= original


# --- sampling -------------------------------------------------------------------------------


def _example(uid: str, label: str) -> Example:
    return Example(uid, f"title {uid}", label, uid.split(":")[0], "cat", "path")


def _toy_examples() -> list[Example]:
    counts = {"textile_fashion": 30, "culinary": 12, "crafts": 3, "other": 25}
    return [_example(f"f{c[:3]}:{i}", c) for c, n in counts.items() for i in range(n)]


def test_sample_is_stratified_capped_and_reproducible() -> None:
    examples = _toy_examples()
    sample = draw_audit_sample(examples, per_cluster=10, seed=3)
    assert Counter(e.label for e in sample) == {
        "textile_fashion": 10,
        "culinary": 10,
        "crafts": 3,  # all there are
        "other": 10,
    }
    assert len({e.uid for e in sample}) == len(sample)
    # Same seed, same sample, whatever order the examples come in.
    shuffled = list(reversed(examples))
    assert draw_audit_sample(shuffled, per_cluster=10, seed=3) == sample
    assert draw_audit_sample(examples, per_cluster=10, seed=4) != sample
    # Grouped by cluster in CLUSTERS order, sorted by uid within a cluster.
    labels = [e.label for e in sample]
    assert labels == sorted(labels, key=CLUSTERS.index)
    for cluster in CLUSTERS:
        uids = [e.uid for e in sample if e.label == cluster]
        assert uids == sorted(uids)


def test_sample_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="per_cluster"):
        draw_audit_sample(_toy_examples(), per_cluster=0)
    with pytest.raises(ValueError, match="unknown cluster labels: fashion"):
        draw_audit_sample([_example("a:1", "fashion")])


# --- summary figures ------------------------------------------------------------------------


def _write(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    write_audit(path, [dict(zip(AUDIT_COLUMNS, row, strict=True)) for row in rows])
    return path


@pytest.fixture()
def small_audit(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "audit.csv",
        [
            ("a:1", "textile_fashion", "textile_fashion", ""),
            ("a:2", "textile_fashion", "textile_fashion", "a guess, uncertain"),
            ("b:3", "textile_fashion", "other", ""),
            ("b:4", "culinary", "other", "Uncertain: jamu"),
            ("b:5", "other", "other", ""),
            ("a:6", "other", "other", ""),
            ("a:7", "other", "crafts", ""),
            ("a:8", "other", "textile_fashion", ""),
        ],
    )


def test_summary_counts_per_cluster_overall_and_source(small_audit: Path) -> None:
    summary = summarise_audit(small_audit)
    per = summary["per_cluster"]
    assert list(per) == list(CLUSTERS)
    assert (per["textile_fashion"]["checked"], per["textile_fashion"]["correct"]) == (3, 2)
    assert per["textile_fashion"]["accuracy"] == pytest.approx(2 / 3)
    assert (per["culinary"]["checked"], per["culinary"]["correct"]) == (1, 0)
    assert (per["other"]["checked"], per["other"]["correct"]) == (4, 2)
    assert per["other"]["accuracy"] == pytest.approx(0.5)
    # A cluster nobody audited is reported as such, not as 0 % or 100 %.
    assert per["crafts"] == {
        "checked": 0,
        "correct": 0,
        "accuracy": None,
        "ci95": None,
        "uncertain": 0,
        "accuracy_bounds_uncertain": None,
    }
    assert (summary["overall"]["checked"], summary["overall"]["correct"]) == (8, 4)
    assert summary["per_source"]["a"]["checked"] == 5
    assert summary["per_source"]["a"]["correct"] == 3
    assert summary["per_source"]["b"]["correct"] == 1
    assert "8" in summary["description"]


def test_summary_uncertain_bounds(small_audit: Path) -> None:
    per = summarise_audit(small_audit)["per_cluster"]
    # textile: 2 of 3 right, one of the right ones was a guess -> 1/3 .. 2/3.
    assert per["textile_fashion"]["uncertain"] == 1
    assert per["textile_fashion"]["accuracy_bounds_uncertain"] == pytest.approx([1 / 3, 2 / 3])
    # culinary: 0 of 1, the wrong one was a guess -> 0 .. 1.
    assert per["culinary"]["accuracy_bounds_uncertain"] == pytest.approx([0.0, 1.0])
    assert per["other"]["accuracy_bounds_uncertain"] == pytest.approx([0.5, 0.5])


def test_summary_lists_confusions_commonest_first(small_audit: Path) -> None:
    confusions = summarise_audit(small_audit)["confusions"]
    assert [(c["taxonomy_label"], c["verdict"], c["count"]) for c in confusions] == [
        ("culinary", "other", 1),
        ("other", "crafts", 1),
        ("other", "textile_fashion", 1),
        ("textile_fashion", "other", 1),
    ]
    assert confusions[1]["uids"] == ["a:7"]
    assert sum(c["count"] for c in confusions) == 4


def test_summary_weighted_overall(small_audit: Path) -> None:
    counts = {"textile_fashion": 300, "culinary": 100, "crafts": 50, "other": 600}
    summary = summarise_audit(small_audit, label_counts=counts)
    # crafts was not audited, so it carries no weight: (300*2/3 + 100*0 + 600*0.5) / 1000.
    assert summary["overall_weighted"] == pytest.approx((200 + 0 + 300) / 1000)
    assert "overall_weighted" not in summarise_audit(small_audit)


def test_summary_is_json_serialisable(small_audit: Path) -> None:
    summary = summarise_audit(small_audit, label_counts={c: 1 for c in CLUSTERS})
    assert json.loads(json.dumps(summary)) == summary


def test_summary_of_the_real_fixture_is_consistent() -> None:
    summary = summarise_audit(FIXTURE)
    per = summary["per_cluster"]
    assert sum(p["checked"] for p in per.values()) == summary["overall"]["checked"]
    assert sum(p["correct"] for p in per.values()) == summary["overall"]["correct"]
    wrong = summary["overall"]["checked"] - summary["overall"]["correct"]
    assert sum(c["count"] for c in summary["confusions"]) == wrong
    for entry in per.values():
        low, high = entry["ci95"]
        assert low <= entry["accuracy"] <= high
        lo, hi = entry["accuracy_bounds_uncertain"]
        assert lo <= entry["accuracy"] <= hi


# --- Wilson interval ------------------------------------------------------------------------


def test_wilson_interval_matches_the_formula_worked_by_hand() -> None:
    # 2 of 3 at z = 1.96: centre (2/3 + z²/6) / (1 + z²/3), half-width
    # z * sqrt(2/27 + z²/36) / (1 + z²/3).
    z = 1.959963984540054
    denominator = 1 + z * z / 3
    centre = (2 / 3 + z * z / 6) / denominator
    half = z * math.sqrt(2 / 27 + z * z / 36) / denominator
    assert wilson_interval(2, 3) == pytest.approx((centre - half, centre + half))
    assert wilson_interval(2, 3) == pytest.approx((0.2077, 0.9385), abs=1e-4)


@pytest.mark.parametrize(("correct", "checked"), [(0, 5), (5, 5), (1, 1), (37, 110), (109, 110)])
def test_wilson_interval_properties(correct: int, checked: int) -> None:
    interval = wilson_interval(correct, checked)
    assert interval is not None
    low, high = interval
    assert 0.0 <= low <= correct / checked <= high <= 1.0
    assert low < high
    if correct == 0:
        assert low == 0.0
    if correct == checked:
        assert high == pytest.approx(1.0)
    # Symmetric: the interval of the failures mirrors the interval of the successes.
    mirror = wilson_interval(checked - correct, checked)
    assert mirror == pytest.approx((1 - high, 1 - low))


def test_wilson_interval_narrows_with_more_checks() -> None:
    small, large = wilson_interval(9, 10), wilson_interval(90, 100)
    assert small is not None and large is not None
    assert large[1] - large[0] < small[1] - small[0]
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="0 <= correct <= checked"):
        wilson_interval(4, 3)


# --- malformed audit files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("uid,taxonomy_label\na:1,other\n", "missing column.*verdict"),
        ("uid,taxonomy_label,verdict,note\na:1,other,fashion,\n", r":2: verdict 'fashion'"),
        ("uid,taxonomy_label,verdict,note\na:1,other,other,\n,other,other,\n", ":3: empty uid"),
        (
            "uid,taxonomy_label,verdict,note\na:1,other,other,\na:2,crafts,other,\n"
            "a:1,crafts,crafts,\n",
            r":4: uid 'a:1' repeats line 2",
        ),
        ("uid,taxonomy_label,verdict,note\n", "no audit rows"),
    ],
)
def test_malformed_audit_files_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AuditError, match=re.compile(r"bad\.csv.*" + message, re.S)):
        summarise_audit(path)
