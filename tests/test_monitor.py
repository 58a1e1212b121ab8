"""``akarclf monitor``: PSI, verdicts and exit status, bad inputs, version warnings, reports.

Score outputs are made by ``akarclf score`` (:func:`akarclf.scoring.score_file`) from small
catalogues written here, with the shipped model or the keyword stub; edge cases come from
score outputs written by hand.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_batch_stub import StubModel, stub_policy

from akarclf.cli import main
from akarclf.cli.monitor import REQUIRED_COLUMNS
from akarclf.clusters import CLUSTERS
from akarclf.evaluation.monitor import (
    PSI_EDGES,
    Limits,
    LimitsError,
    ScoreColumns,
    bin_shares,
    compare,
    limits_from_mapping,
    population_stability_index,
    render_markdown,
)
from akarclf.scoring import OUTPUT_COLUMNS, score_file

#: A mixed catalogue: six titles of each cluster.
MIXED_TITLES = [
    "Kemeja Flanel Pria Kotak Kotak Lengan Panjang",
    "Rok Plisket Wanita Panjang Premium",
    "Sepatu Pantofel Kulit Pria Hitam",
    "Kerudung Pashmina Ceruty Babydoll",
    "Blus Wanita Katun Motif Bunga",
    "Batik Tulis Solo Kain Primisima",
    "Keripik Tempe Renyah Khas Malang 200gr",
    "Sambal Roa Manado Botol 150ml",
    "Kopi Robusta Lampung Biji Sangrai 500gr",
    "Rendang Paru Kering Kemasan Toples",
    "Kue Bawang Gurih Renyah 250gr",
    "Gula Aren Cair Organik 500ml",
    "Tas Anyaman Purun Handmade Motif Etnik",
    "Ukiran Kayu Relief Jepara Pajangan Dinding",
    "Gerabah Tanah Liat Vas Bunga Lombok",
    "Wayang Golek Cepot Kayu Asli",
    "Tikar Pandan Anyaman Tangan",
    "Miniatur Kapal Pinisi Kayu",
    "Kabel Data USB Type C 1 Meter",
    "Powerbank 10000mAh Fast Charging",
    "Mouse Wireless Silent Click",
    "Sabun Cuci Piring Jeruk Nipis 800ml",
    "Obeng Set Magnetik 32 in 1",
    "Lampu LED Bohlam 12 Watt Putih",
]

#: A catalogue of household goods and electronics only (the mix has moved).
OTHER_TITLES = [
    "Keyboard Mekanikal RGB Blue Switch",
    "Flashdisk 64GB USB 3.0",
    "Headset Gaming Mic Noise Cancelling",
    "Speaker Bluetooth Portable Bass",
    "Kamera CCTV WiFi Indoor 1080p",
    "Router WiFi Dual Band",
    "Smartwatch Layar Sentuh Notifikasi",
    "Tripod Kamera HP 170cm",
    "Baterai AA Alkaline Isi 4",
    "Stop Kontak 4 Lubang Kabel 3 Meter",
    "Kipas Angin Meja 12 Inch",
    "Setrika Listrik Anti Lengket",
    "Rice Cooker Digital 1.8 Liter",
    "Blender Kaca 2 Liter",
    "Sapu Lantai Ijuk Gagang Besi",
    "Ember Plastik 20 Liter Tutup",
    "Gunting Serbaguna Stainless",
    "Kunci Inggris 10 Inch Baja",
    "Bor Listrik Cordless 12V",
    "Pasta Gigi Pemutih 190gr",
    "Shampoo Anti Ketombe 340ml",
    "Tisu Basah Bayi Isi 50",
    "Pensil 2B Isi 12 Batang",
    "Map Plastik Kancing A4",
]


def write_catalogue(path: Path, titles: Sequence[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title"])
        writer.writerows([f"L{i:03d}", title] for i, title in enumerate(titles))
    return path


def write_jsonl_catalogue(path: Path, titles: Sequence[str]) -> Path:
    lines = [json.dumps({"id": f"L{i:03d}", "title": t}) for i, t in enumerate(titles)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shipped_model() -> Any:
    import akarclf

    return akarclf.load_model()


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, shipped_model: Any) -> dict[str, Path]:
    """Score outputs of ``akarclf score`` with the shipped model and the fixed test policy."""
    folder = tmp_path_factory.mktemp("scored")
    mixed = write_catalogue(folder / "mixed.csv", MIXED_TITLES)
    other = write_catalogue(folder / "other.csv", OTHER_TITLES)
    mixed_jsonl = write_jsonl_catalogue(folder / "mixed.jsonl", MIXED_TITLES)
    outputs = {
        "mixed": (mixed, folder / "mixed.scored.csv"),
        "mixed_again": (mixed, folder / "mixed_again.scored.csv"),
        "other": (other, folder / "other.scored.csv"),
        "mixed_jsonl_gz": (mixed_jsonl, folder / "mixed.scored.jsonl.gz"),
    }
    for source, target in outputs.values():
        summary = score_file(source, target, model=shipped_model, policy=stub_policy())
        assert summary.rows_rejected == 0
    return {name: target for name, (_, target) in outputs.items()}


def monitor(*args: object) -> int:
    return main(["monitor", *(str(a) for a in args)])


# --- score outputs written by hand -------------------------------------------------------------


def score_row(
    cluster: str = "other",
    decision: str = "allow",
    reason: str = "NOT_PROTECTED",
    model: str = "m-1",
    policy: str = "p@1",
    **extra: object,
) -> dict[str, object]:
    """One scored listing: 0.97 on ``cluster``, 0.01 on every other."""
    row: dict[str, object] = {"id": "x", "title": "Judul Buatan Tangan"}
    row.update(cluster=cluster, confidence="0.970000")
    row.update({f"p_{c}": "0.970000" if c == cluster else "0.010000" for c in CLUSTERS})
    row.update(decision=decision, reason=reason, model_version=model, policy_version=policy)
    row.update(extra)
    return row


def write_scores(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


REVIEW = {"cluster": "crafts", "decision": "review", "reason": "UNCERTAIN"}


def columns(rows: Sequence[dict[str, object]]) -> ScoreColumns:
    """The columns :func:`akarclf.cli.monitor.read_score_output` would read from ``rows``."""
    known = [r.get("known_share") for r in rows]
    return ScoreColumns(
        decision=[str(r["decision"]) for r in rows],
        reason=[str(r["reason"]) for r in rows],
        cluster=[str(r["cluster"]) for r in rows],
        probabilities={c: np.array([float(str(r[f"p_{c}"])) for r in rows]) for c in CLUSTERS},
        model_version=[str(r["model_version"]) for r in rows],
        policy_version=[str(r["policy_version"]) for r in rows],
        known_share=None
        if all(k is None for k in known)
        else np.array([math.nan if k in (None, "") else float(str(k)) for k in known]),
    )


def check(report: Any, group: str, name: str) -> Any:
    return next(c for c in report.checks if c.group == group and c.name == name)


def test_the_monitor_does_not_load_the_classifier() -> None:
    script = "import sys, akarclf.cli.monitor; print('sklearn' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_psi_matches_a_hand_computed_value() -> None:
    reference = np.array([0.05, 0.5, 0.95, 0.95])  # bins [0.03,0.1), [0.5,0.6), [0.9,0.97)
    current = np.array([0.05, 0.05, 0.05, 0.95])  # 3/4 in [0.03,0.1), 1/4 in [0.9,0.97)
    # Shares: 0.25 -> 0.75, 0.25 -> 0 (floored to 0.0001), 0.5 -> 0.25.
    expected = (
        (0.75 - 0.25) * math.log(0.75 / 0.25)
        + (0.0001 - 0.25) * math.log(0.0001 / 0.25)
        + (0.25 - 0.5) * math.log(0.25 / 0.5)
    )
    assert expected == pytest.approx(2.6779, abs=1e-4)
    assert population_stability_index(reference, current) == pytest.approx(expected, rel=1e-12)
    assert population_stability_index(reference, reference) == 0.0


def test_bins_are_half_open_with_a_closed_last_bin() -> None:
    shares = bin_shares(np.array([0.0, 0.03, 0.0999, 0.999, 1.0]))
    assert len(shares) == len(PSI_EDGES) - 1
    assert shares[0] == 0.2  # 0.0 in [0, 0.001)
    assert shares[3] == 0.4  # 0.03 and 0.0999 in [0.03, 0.1)
    assert shares[-1] == 0.4  # 0.999 and 1.0 in [0.999, 1]
    assert shares.sum() == 1.0
    with pytest.raises(ValueError, match="outside"):
        bin_shares(np.array([1.5]))


# --- verdicts on hand-written columns ----------------------------------------------------------


def test_a_change_alerts_only_when_strictly_above_its_limit() -> None:
    reference = columns([score_row()] * 4)
    current = columns([score_row(**REVIEW)] + [score_row()] * 3)  # review 0 -> 25 %
    loose = Limits(decision_rate_change=0.25, reason_rate_change=0.25, cluster_rate_change=0.25,
                   review_rate=0.25, psi=100.0)  # fmt: skip
    report = compare(reference, current, loose)
    assert check(report, "decision", "review").value == 0.25
    assert check(report, "decision", "review").verdict == "ok"
    assert check(report, "review rate", "review").verdict == "ok"
    assert report.alerts == ()

    strict = compare(reference, current, Limits(decision_rate_change=0.24, psi=100.0))
    crossed = {(c.group, c.name) for c in strict.alerts}
    assert ("decision", "review") in crossed and ("decision", "allow") in crossed
    assert ("review rate", "review") in crossed  # 25 % > the default 10 %
    assert ("cluster", "crafts") in crossed and ("reason", "UNCERTAIN") in crossed


def test_psi_verdict_follows_the_limit() -> None:
    reference = columns([score_row("other")] * 4)
    current = columns([score_row("culinary")] + [score_row("other")] * 3)
    rates_ignored = Limits(
        psi=0.5, cluster_rate_change=1.0, decision_rate_change=1.0, reason_rate_change=1.0
    )
    report = compare(reference, current, rates_ignored)
    psi = check(report, "psi", "p_culinary")
    # [0.01, 0.03) holds 1 -> 0.75 and [0.97, 0.99) 0 -> 0.25 of p_culinary.
    expected = (0.75 - 1) * math.log(0.75 / 1) + (0.25 - 0.0001) * math.log(0.25 / 0.0001)
    assert psi.value == pytest.approx(expected)
    assert psi.verdict == "alert"
    assert check(report, "psi", "p_textile_fashion").value == 0.0
    mass = check(report, "psi", "protected_mass")  # 0.03 -> 0.99 for one title in four
    assert mass.value == pytest.approx(expected) and mass.verdict == "alert"


def test_barely_known_share_uses_the_known_share_column() -> None:
    reference = columns([score_row(known_share=k) for k in ("0.9", "0.8", "0.2", "1.0")])
    current = columns([score_row(known_share=k) for k in ("0.1", "0.2", "0.9", "")])
    report = compare(reference, current)
    known = check(report, "barely-known share", "known_share < 0.5")
    assert known.reference == 0.25
    assert known.current == pytest.approx(2 / 3)  # the empty value is left out
    assert known.verdict == "alert"
    assert compare(reference, current, Limits(barely_known_below=0.1)).alerts == ()


def test_barely_known_share_is_unavailable_without_the_column() -> None:
    with_column = columns([score_row(known_share="0.1")] * 3)
    without = columns([score_row()] * 3)
    report = compare(with_column, without)
    known = check(report, "barely-known share", "known_share < 0.5")
    assert known.verdict == "unavailable" and known.value is None
    assert known.reference == 1.0 and known.current is None
    assert report.notes == (
        "share of barely-known titles unavailable: no known_share column in the current run",
    )
    assert report.alerts == ()


def test_limits_from_a_mapping_name_the_bad_key() -> None:
    assert limits_from_mapping({"psi": 1, "review_rate": 0.2}) == Limits(psi=1.0, review_rate=0.2)
    with pytest.raises(LimitsError, match="unknown key 'review'; valid keys: psi, "):
        limits_from_mapping({"review": 0.2})
    with pytest.raises(LimitsError, match="key 'psi' must be a number, got 'high'"):
        limits_from_mapping({"psi": "high"})
    with pytest.raises(LimitsError, match=r"key 'review_rate' must be within \[0, 1\]"):
        limits_from_mapping({"review_rate": 10})
    with pytest.raises(LimitsError, match="key 'psi' must be above 0"):
        limits_from_mapping({"psi": 0})


# --- the command on real score outputs ----------------------------------------------------------


@pytest.fixture
def queue_of_half(tmp_path: Path) -> Path:
    """Limits allowing half the listings in review: the review ceiling is absolute (10 % by
    default) and how many of these few titles the shipped model sends to review is its
    business; these tests are about what moved."""
    path = tmp_path / "limits.toml"
    path.write_text("review_rate = 0.5\n", encoding="utf-8")
    return path


def test_same_catalogue_twice_exits_0(
    scored: dict[str, Path], queue_of_half: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert monitor(scored["mixed"], scored["mixed_again"], "--limits", queue_of_half) == 0
    out, err = capsys.readouterr()
    assert out.startswith("# akarclf monitor: ok, no limit crossed\n")
    assert "**ALERT**" not in out and "Warning" not in out
    assert err.strip() == "akarclf monitor: no limit crossed"


def test_a_jsonl_gz_score_output_compares_equal_to_its_csv(
    scored: dict[str, Path], queue_of_half: Path
) -> None:
    assert monitor(scored["mixed"], scored["mixed_jsonl_gz"], "--limits", queue_of_half) == 0


def test_a_moved_catalogue_exits_4_and_names_what_crossed(
    scored: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert monitor(scored["mixed"], scored["other"]) == 4
    out, err = capsys.readouterr()
    assert out.startswith("# akarclf monitor: ALERT, ")
    assert "cluster rate other" in err and "PSI protected_mass" in err


def test_a_limits_file_overrides_the_defaults(scored: dict[str, Path], tmp_path: Path) -> None:
    limits = tmp_path / "limits.toml"
    limits.write_text(
        "psi = 1000.0\ndecision_rate_change = 1.0\nreason_rate_change = 1.0\n"
        "cluster_rate_change = 1.0\nreview_rate = 1.0\n",
        encoding="utf-8",
    )
    assert monitor(scored["mixed"], scored["other"], "--limits", limits) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("review = 0.2\n", "limits.toml: unknown key 'review'"),
        ('psi = "high"\n', "key 'psi' must be a number"),
        ("psi = \n", "limits.toml: not valid TOML"),
    ],
)
def test_a_bad_limits_file_exits_2(
    scored: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    message: str,
) -> None:
    limits = tmp_path / "limits.toml"
    limits.write_text(text, encoding="utf-8")
    assert monitor(scored["mixed"], scored["mixed"], "--limits", limits) == 2
    assert message in capsys.readouterr().err


def test_different_model_and_policy_versions_are_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = write_catalogue(tmp_path / "mixed.csv", MIXED_TITLES)
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    score_file(catalogue, before, model=StubModel("stub-1"), policy=stub_policy())
    newer_policy = stub_policy().replace(version="2")
    score_file(catalogue, after, model=StubModel("stub-2"), policy=newer_policy)
    report_path = tmp_path / "report.json"
    assert monitor(before, after, "--json", report_path) == 0
    out = capsys.readouterr().out
    assert (
        "> **Warning:** model versions differ: reference stub-1, current stub-2; a shift may "
        "come from the model, not the catalogue" in out
    )
    assert "policy versions differ: reference test-policy@1, current test-policy@2" in out
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert len(report["warnings"]) == 2
    assert report["versions"]["current"] == {
        "model": {"stub-2": 24},
        "policy": {"test-policy@2": 24},
    }


def test_markdown_and_json_reports_carry_the_same_checks(
    scored: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    markdown, report_json = tmp_path / "report.md", tmp_path / "report.json"
    status = monitor(
        scored["mixed"], scored["other"], "--markdown", markdown, "--json", report_json
    )
    assert status == 4
    assert capsys.readouterr().out == ""  # the Markdown went to its file
    text = markdown.read_text(encoding="utf-8")
    report = json.loads(report_json.read_text(encoding="utf-8"))

    assert report["verdict"] == "alert"
    assert report["alerts"] == sum(c["verdict"] == "alert" for c in report["checks"]) > 0
    assert report["reference"] == {"name": str(scored["mixed"]), "rows": 24}
    assert report["psi_bins"]["edges"] == list(PSI_EDGES)
    assert report["limits"] == Limits().to_dict()
    for group in ("decision", "reason", "cluster"):
        rates = [c for c in report["checks"] if c["group"] == group]
        assert sum(c["reference"] for c in rates) == pytest.approx(1.0)
        assert sum(c["current"] for c in rates) == pytest.approx(1.0)
    other = next(c for c in report["checks"] if c["group"] == "cluster" and c["name"] == "other")
    assert other["value"] == pytest.approx(other["current"] - other["reference"])
    assert other["value"] > 0.05 and other["verdict"] == "alert"
    assert other["label"] == "cluster rate other"
    distributions = {d["name"]: d for d in report["distributions"]}
    assert list(distributions) == ["protected_mass", *(f"p_{c}" for c in CLUSTERS)]
    for dist in distributions.values():
        assert sum(dist["reference"]) == pytest.approx(1.0)
        assert len(dist["current"]) == len(PSI_EDGES) - 1

    assert text.startswith(f"# akarclf monitor: ALERT, {report['alerts']} limit(s) crossed\n")
    for heading in (
        "## Decisions",
        "## Reasons",
        "## Top clusters",
        "## Review rate",
        "## Distributions (population stability index)",
        "## Titles whose words the model barely knows",
    ):
        assert f"\n{heading}\n" in text
    assert text.count("**ALERT**") == report["alerts"]
    assert (
        f"| other | {100 * other['reference']:.1f} % | {100 * other['current']:.1f} % | "
        f"{100 * other['value']:+.1f} pp | ± 5.0 pp | **ALERT** |" in text
    )
    psi = distributions["protected_mass"]["psi"]
    assert f"| protected_mass | {psi:.3f} | ≤ 0.25 | **ALERT** |" in text
    assert "| known_share < 0.5 |" in text  # score outputs carry the known-word share


def test_png_of_the_distributions(scored: dict[str, Path], tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    assert monitor(scored["mixed"], scored["other"], "--png", png) == 4
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1100, 1300)  # five panels of 2.6 inches at 100 dpi


def test_png_without_matplotlib_exits_2_before_reading(
    scored: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    report_json = tmp_path / "report.json"
    status = monitor(
        scored["mixed"], scored["other"], "--png", tmp_path / "r.png", "--json", report_json
    )
    assert status == 2
    assert capsys.readouterr().err == (
        "akarclf monitor: error: --png: plotting needs matplotlib, an optional extra: "
        "pip install 'akarclf[plots]'\n"
    )
    assert not report_json.exists()


def test_a_report_that_cannot_be_written_exits_1(
    scored: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_folder = tmp_path / "no" / "such" / "report.json"
    assert monitor(scored["mixed"], scored["other"], "--json", missing_folder) == 1
    assert "FileNotFoundError" in capsys.readouterr().err


# --- bad input files ---------------------------------------------------------------------------


def bad_input(
    tmp_path: Path, rows: Sequence[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> str:
    """The error of ``akarclf monitor GOOD BAD`` (which must exit 2)."""
    good = write_scores(tmp_path / "good.csv", [score_row()] * 3)
    bad = write_scores(tmp_path / "bad.csv", rows)
    assert monitor(good, bad) == 2
    out, err = capsys.readouterr()
    assert out == ""
    return err.strip()


def test_a_missing_column_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{k: v for k, v in score_row().items() if k not in ("reason", "p_crafts")}]
    error = bad_input(tmp_path, rows, capsys)
    assert error == (
        f"akarclf monitor: error: {tmp_path / 'bad.csv'} line 2: not an akarclf score output: "
        "missing field(s) p_crafts, reason"
    )


def test_a_catalogue_that_was_never_scored_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = bad_input(tmp_path, [{"id": "1", "title": "Kaos Polos Hitam"}], capsys)
    assert "not an akarclf score output: missing field(s) " + ", ".join(REQUIRED_COLUMNS) in error


def test_a_non_numeric_probability_names_its_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [score_row(), score_row(), score_row(p_culinary="abc")]
    error = bad_input(tmp_path, rows, capsys)
    assert error.endswith(f"{tmp_path / 'bad.csv'} line 4, field p_culinary: not a number: 'abc'")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (score_row(p_other="1.5"), "line 2, field p_other: '1.5' is not within [0, 1]"),
        (score_row(p_other="nan"), "line 2, field p_other: 'nan' is not within [0, 1]"),
        (score_row(p_other="0.5"), "line 2: the p_* fields sum to 0.5300, not 1"),
        (score_row(decision="maybe"), "field decision: 'maybe' is not one of block, review"),
        (score_row(cluster="toys"), "field cluster: 'toys' is not one of textile_fashion"),
        (score_row(reason=""), "line 2, field reason: expected text, got ''"),
        (score_row(known_share="lots"), "line 2, field known_share: not a number: 'lots'"),
    ],
)
def test_bad_values_name_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], row: dict[str, object], message: str
) -> None:
    assert message in bad_input(tmp_path, [row], capsys)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", ": empty file, not an akarclf score output"),
        (",".join(["id", *OUTPUT_COLUMNS]) + "\n", ": no scored rows, nothing to compare"),
        ("a,b\n1,2,3\n", " line 2: 3 fields, the header has 2"),
    ],
)
def test_unusable_csv_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    good = write_scores(tmp_path / "good.csv", [score_row()])
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    assert monitor(good, bad) == 2
    assert capsys.readouterr().err == f"akarclf monitor: error: {bad}{message}\n"


def test_bad_jsonl_lines_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_scores(tmp_path / "good.csv", [score_row()])
    bad = tmp_path / "bad.jsonl"
    record = {**score_row(), "p_culinary": 0.01, "p_other": 0.97}
    lines = [json.dumps({**record, "p_crafts": 0.01}), json.dumps({**record, "p_crafts": "x"})]
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert monitor(good, bad) == 2
    assert f"{bad} line 2, field p_crafts: not a number: 'x'" in capsys.readouterr().err
    bad.write_text(lines[0] + "\n{oops\n", encoding="utf-8")
    assert monitor(good, bad) == 2
    assert f"{bad} line 2: not JSON" in capsys.readouterr().err


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_scores(tmp_path / "good.csv", [score_row()])
    assert monitor(good, tmp_path / "nowhere.csv") == 2
    assert f"{tmp_path / 'nowhere.csv'}: file not found" in capsys.readouterr().err


def test_markdown_of_an_unchanged_run_has_no_alert() -> None:
    rows = [score_row(), score_row("culinary", "block", "PROTECTED_CLUSTER")]
    text = render_markdown(compare(columns(rows), columns(rows)))
    assert text.startswith("# akarclf monitor: ok, no limit crossed\n")
    assert "| block | 50.0 % | 50.0 % | +0.0 pp | ± 5.0 pp | ok |" in text
    assert "| review | 0.0 % | 0.0 % | +0.0 pp | ≤ 10.0 % | ok |" in text
    assert "ALERT" not in text
