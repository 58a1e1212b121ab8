"""score_file: whole runs in-process with the stub model (formats, counts, order, atomicity)."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from test_batch_readers import CSV_REJECTS, CSV_SCORED_IDS, JSONL_REJECTS, JSONL_SCORED_IDS
from test_batch_stub import ArrivalLoggingStub, StubModel, stub_policy

from akarclf.scoring import OUTPUT_COLUMNS, ScoreSummary, UsageError
from akarclf.scoring import score_file as _score_file
from akarclf.scoring.writers import REJECT_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures"
INPUT_COLUMNS = ["id", "title", "cross_border", "seller_country"]


def score_file(*args: Any, **kwargs: Any) -> ScoreSummary:
    """:func:`akarclf.scoring.score_file` with the fixed test policy unless one is given."""
    kwargs.setdefault("policy", stub_policy())
    return _score_file(*args, **kwargs)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _catalogue(path: Path, n: int, slow_first: bool = False) -> Path:
    """A CSV of ``n`` made-up listings cycling through clusters and flags."""
    titles = ["Kemeja batik", "Keripik tempe", "Anyaman bambu", "Kabel USB", "Kopi robusta"]
    flags = ["1", "0", "", "ya"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "cross_border"])
        for i in range(n):
            title = titles[i % len(titles)] + f" {i}"
            if slow_first and i < 3:
                title += " lambat"
            writer.writerow([i, title, flags[i % len(flags)]])
    return path


def test_broken_csv_adds_up_with_right_lines(tmp_path: Path) -> None:
    out = tmp_path / "scored.csv"
    summary = score_file(FIXTURES / "broken_listings.csv", out, model=StubModel())
    rows = _rows(out)
    rejects = _rows(Path(f"{out}.rejects.csv"))
    assert [r["id"] for r in rows] == CSV_SCORED_IDS
    assert {int(r["line"]): r["reason"] for r in rejects} == CSV_REJECTS
    assert list(rows[0]) == INPUT_COLUMNS + list(OUTPUT_COLUMNS)
    assert list(rejects[0]) == list(REJECT_COLUMNS)
    assert summary.rows_read == len(rows) + len(rejects)
    assert (summary.rows_scored, summary.rows_rejected) == (len(rows), len(rejects))
    assert summary.exit_status == 3
    assert sum(summary.decisions.values()) == len(rows)
    assert sum(summary.clusters.values()) == len(rows)
    assert summary.reject_reasons["MALFORMED_CSV"] == 3
    # Input cells are written back unchanged (the multi-line title, the empty flag).
    assert rows[2]["title"] == "Tas anyaman pandan\nmotif bunga, buatan tangan"
    assert rows[3]["cross_border"] == "" and rows[3]["reason"] == "UNKNOWN_SELLER"
    assert "rejected: 7" in summary.report()


def test_broken_jsonl_adds_up(tmp_path: Path) -> None:
    out = tmp_path / "scored.jsonl"
    summary = score_file(FIXTURES / "broken_listings.jsonl", out, model=StubModel())
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    rejects = _rows(Path(f"{out}.rejects.csv"))
    assert [r["id"] for r in records] == JSONL_SCORED_IDS
    assert {int(r["line"]): r["reason"] for r in rejects} == JSONL_REJECTS
    assert list(records[1]) == ["id", "title", "cross_border", "tags", *OUTPUT_COLUMNS]
    assert records[1]["tags"] == ["oleh-oleh"]  # JSON values keep their types
    assert isinstance(records[0]["confidence"], float)
    assert records[4]["title"].endswith("\U0001f45e")  # non-ASCII written as is
    assert summary.rows_read == len(records) + len(rejects)
    assert summary.assumed_cross_border == 1
    assert "without a 'cross_border' key" in summary.report()


def test_clean_file_exits_0_and_has_a_header_only_rejects_file(tmp_path: Path) -> None:
    out = tmp_path / "scored.csv"
    summary = score_file(_catalogue(tmp_path / "in.csv", 12), out, model=StubModel())
    assert summary.exit_status == 0
    assert (summary.rows_read, summary.rows_scored, summary.rows_rejected) == (12, 12, 0)
    assert Path(f"{out}.rejects.csv").read_text(encoding="utf-8") == ",".join(REJECT_COLUMNS) + "\n"


def test_gzip_in_and_out(tmp_path: Path) -> None:
    plain = _catalogue(tmp_path / "in.csv", 30)
    packed = tmp_path / "in.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    score_file(plain, tmp_path / "a.csv", model=StubModel())
    score_file(packed, tmp_path / "b.csv.gz", model=StubModel())
    assert (
        gzip.decompress((tmp_path / "b.csv.gz").read_bytes()) == (tmp_path / "a.csv").read_bytes()
    )


def test_jobs_keep_input_order(tmp_path: Path) -> None:
    source = _catalogue(tmp_path / "in.csv", 60, slow_first=True)
    score_file(source, tmp_path / "one.csv", model=StubModel(), chunk_size=7)
    # The first chunk is slow in the workers, so later chunks finish first.
    slow = StubModel(slow_word="lambat")
    summary = score_file(source, tmp_path / "two.csv", model=slow, chunk_size=7, jobs=2)
    assert summary.rows_scored == 60
    one = (tmp_path / "one.csv").read_text(encoding="utf-8")
    assert (tmp_path / "two.csv").read_text(encoding="utf-8") == one
    assert [r["id"] for r in _rows(tmp_path / "two.csv")] == [str(i) for i in range(60)]


def test_jobs_send_the_model_once_per_worker_not_per_chunk(tmp_path: Path) -> None:
    source = _catalogue(tmp_path / "in.csv", 100)
    log = tmp_path / "arrivals.log"
    model = ArrivalLoggingStub(log)
    summary = score_file(source, tmp_path / "out.csv", model=model, chunk_size=5, jobs=2)
    assert summary.rows_scored == 100  # 20 chunks
    arrivals = log.read_text(encoding="utf-8").split()
    assert 1 <= len(arrivals) <= 2 and len(set(arrivals)) == len(arrivals), arrivals


def test_a_failure_in_a_worker_reaches_the_caller_and_leaves_no_output(tmp_path: Path) -> None:
    source = _catalogue(tmp_path / "in.csv", 50)
    out = tmp_path / "out" / "scored.csv"
    out.parent.mkdir()
    with pytest.raises(RuntimeError, match="exploded"):
        score_file(source, out, model=_Failing(), chunk_size=5, jobs=2)
    assert list(out.parent.iterdir()) == []


def test_without_cross_border_column_all_listings_are_cross_border(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,title\n1,Kemeja batik\n2,Kabel USB\n", encoding="utf-8")
    summary = score_file(source, tmp_path / "out.csv", model=StubModel())
    rows = _rows(tmp_path / "out.csv")
    assert [r["decision"] for r in rows] == ["block", "allow"]
    assert summary.cross_border_column is None and summary.assumed_cross_border == 2
    assert "every listing was treated as cross-border" in summary.report()


def test_explain_adds_evidence(tmp_path: Path) -> None:
    source = _catalogue(tmp_path / "in.csv", 3)
    score_file(source, tmp_path / "out.csv", model=StubModel(), explain=True)
    rows = _rows(tmp_path / "out.csv")
    assert list(rows[0])[-1] == "evidence"
    assert rows[0]["evidence"] == "kemeja=+1.000; batik=+1.000"


class _Failing(StubModel):
    """Fails on its third call, after output has been written."""

    def predict_proba(self, titles):  # type: ignore[no-untyped-def]
        if len(self.calls) == 2:
            raise RuntimeError("model exploded")
        return super().predict_proba(titles)


def test_a_failed_run_leaves_no_output_and_no_temporary_file(tmp_path: Path) -> None:
    source = _catalogue(tmp_path / "in.csv", 50)
    out = tmp_path / "out" / "scored.csv"
    out.parent.mkdir()
    out.write_text("previous result\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="exploded"):
        score_file(source, out, model=_Failing(), chunk_size=10)
    assert out.read_text(encoding="utf-8") == "previous result\n"  # untouched
    assert sorted(p.name for p in out.parent.iterdir()) == ["scored.csv"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"jobs": 0}, "--jobs"),
        ({"chunk_size": 0}, "--chunk-size"),
        ({"format": "xml"}, "xml"),
        ({"title_col": "nama"}, "no column 'nama'"),
        ({"cross_border_col": "seller"}, "no column 'seller'"),
        ({"model": "no-such-model.akarclf"}, "model file not found"),
    ],
)
def test_usage_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    source = _catalogue(tmp_path / "in.csv", 2)
    kwargs.setdefault("model", StubModel())
    with pytest.raises(UsageError, match=message):
        score_file(source, tmp_path / "out.csv", **kwargs)
    assert not (tmp_path / "out.csv").exists()


def test_input_and_output_formats_must_agree(tmp_path: Path) -> None:
    source = _catalogue(tmp_path / "in.csv", 2)
    with pytest.raises(UsageError, match="csv but output is jsonl"):
        score_file(source, tmp_path / "out.jsonl", model=StubModel())


def test_missing_input_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        score_file(tmp_path / "nope.csv", tmp_path / "out.csv", model=StubModel())


def test_output_columns_already_in_input(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("title,decision\nKaos,allow\n", encoding="utf-8")
    with pytest.raises(UsageError, match="decision"):
        score_file(source, tmp_path / "out.csv", model=StubModel())


def test_custom_rejects_path_and_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(stub_policy().to_toml().replace("block = 0.9", "block = 0.995"))
    summary = score_file(
        FIXTURES / "broken_listings.csv",
        tmp_path / "out.csv",
        model=StubModel(),
        policy=policy,
        rejects=tmp_path / "bad.csv",
    )
    assert summary.rejects == str(tmp_path / "bad.csv")
    assert len(_rows(tmp_path / "bad.csv")) == summary.rows_rejected
    # 0.97 is below the stricter block threshold: nothing is blocked.
    assert summary.decisions["block"] == 0


def test_stdin_and_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (FIXTURES / "broken_listings.csv").read_bytes()
    stdout = io.BytesIO()

    class _Std:
        def __init__(self, buffer: io.BytesIO) -> None:
            self.buffer = buffer

    monkeypatch.setattr("sys.stdin", _Std(io.BytesIO(data)))
    monkeypatch.setattr("sys.stdout", _Std(stdout))
    monkeypatch.chdir(tmp_path)
    summary = score_file("-", "-", model=StubModel())
    text = stdout.getvalue().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["id"] for r in rows] == CSV_SCORED_IDS
    assert summary.rejects == "stdout.rejects.csv"
    assert len(_rows(tmp_path / "stdout.rejects.csv")) == len(CSV_REJECTS)


def test_header_only_and_empty_jsonl_give_empty_outputs(tmp_path: Path) -> None:
    csv_in = tmp_path / "in.csv"
    csv_in.write_text("id,title,cross_border\n", encoding="utf-8")
    summary = score_file(csv_in, tmp_path / "out.csv", model=StubModel())
    assert (summary.rows_read, summary.exit_status) == (0, 0)
    header = (tmp_path / "out.csv").read_text(encoding="utf-8")
    assert header == ",".join(["id", "title", "cross_border", *OUTPUT_COLUMNS]) + "\n"
    jsonl_in = tmp_path / "in.jsonl"
    jsonl_in.write_text("\n", encoding="utf-8")
    summary = score_file(jsonl_in, tmp_path / "out.jsonl", model=StubModel())
    assert (summary.rows_read, summary.exit_status) == (0, 0)
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == ""
