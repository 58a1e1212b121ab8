"""Hostile but realistic input to ``akarclf score``: each test is one way a file once gave a
wrong answer, lost data or an unnamed error (issue 15), run in-process with the stub model."""

from __future__ import annotations

import csv
import gzip
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from test_batch_stub import StubModel, stub_policy, write_stub_policy

from akarclf.cli.score import build_parser
from akarclf.scoring import InputError, ScoreSummary, UsageError, workers, writers
from akarclf.scoring import score_file as _score_file
from akarclf.scoring.rows import MAX_FIELD_CHARS

HEADER = "id,title,cross_border"


def score_file(*args: Any, **kwargs: Any) -> ScoreSummary:
    kwargs.setdefault("policy", stub_policy())
    kwargs.setdefault("model", StubModel())
    return _score_file(*args, **kwargs)


def cli(args: list[str], policy: Path) -> int:
    parsed = build_parser().parse_args(["score", *args, "--policy", str(policy)])
    return int(parsed.func(parsed))


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The stub model behind the CLI; returns the test policy file."""
    monkeypatch.setattr(workers, "load_model", lambda path: StubModel())
    return write_stub_policy(tmp_path / "policy.toml")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def leftovers(folder: Path, *keep: Path) -> list[str]:
    """Files in ``folder`` other than ``keep``: what a run left behind."""
    return sorted(p.name for p in folder.iterdir() if p not in keep)


# 1. Lines ending in \r\r\n -------------------------------------------------------------------


def test_crcrlf_line_ends_keep_every_row_whole(tmp_path: Path) -> None:
    source = tmp_path / "windows.csv"
    source.write_bytes(b"id,title,cross_border\r\r\n1,Kemeja batik,1\r\r\n2,Kopi robusta,0\r\r\n")
    out = tmp_path / "out.csv"
    summary = score_file(source, out)
    assert (summary.rows_read, summary.rows_scored) == (2, 2)
    assert b"\r" not in out.read_bytes()
    rows = read_csv(out)
    assert [(r["id"], r["cross_border"], r["decision"]) for r in rows] == [
        ("1", "1", "block"),
        ("2", "0", "allow"),
    ]


def test_quoted_cells_keep_their_line_breaks(tmp_path: Path) -> None:
    source = tmp_path / "quoted.csv"
    source.write_bytes(b'id,title,cross_border\r\r\n1,"Kemeja\r\r\nbatik",1\r\r\n')
    out = tmp_path / "out.csv"
    score_file(source, out)
    assert [r["title"] for r in read_csv(out)] == ["Kemeja\r\r\nbatik"]


# 2. A byte order mark before a quoted header ---------------------------------------------------


def test_bom_before_a_quoted_header_keeps_the_flag_column(tmp_path: Path) -> None:
    source = tmp_path / "bom.csv"
    text = '\ufeff"cross_border","title"\n"false","Kemeja batik"\n"true","Kemeja batik"\n'
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = score_file(source, out)
    assert summary.cross_border_column == "cross_border" and summary.assumed_cross_border == 0
    rows = read_csv(out)
    assert list(rows[0])[:2] == ["cross_border", "title"]
    assert [r["decision"] for r in rows] == ["allow", "block"]


def test_bom_before_the_first_jsonl_record(tmp_path: Path) -> None:
    source = tmp_path / "bom.jsonl"
    source.write_text('\ufeff{"title": "Kemeja batik", "cross_border": false}\n', "utf-8")
    out = tmp_path / "out.jsonl"
    summary = score_file(source, out)
    assert summary.rows_scored == 1
    assert json.loads(out.read_text(encoding="utf-8"))["decision"] == "allow"


# 3. Output or rejects on a file the run reads ------------------------------------------------


@pytest.mark.parametrize(
    ("output", "rejects", "named"),
    [
        ("in.csv", None, "output in.csv is the input file"),
        ("out.csv", "in.csv", "is the input file"),
        ("model.bin", None, "is the model file"),
        ("out.csv", "policy.toml", "is the policy file"),
        ("link.csv", None, "is the input file"),  # a hard link to the input
    ],
)
def test_a_run_never_writes_over_a_file_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, rejects: str | None, named: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(workers, "load_model", lambda path: StubModel())
    source = Path("in.csv")
    source.write_text(f"{HEADER}\n1,Kemeja batik,1\n2,,1\n", encoding="utf-8")
    os.link(source, "link.csv")
    model = Path("model.bin")
    model.write_bytes(b"model")
    policy = write_stub_policy(Path("policy.toml"))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(UsageError, match=named):
        _score_file(source, output, model=str(model), policy=policy, rejects=rejects)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_cli_refuses_output_on_input_with_exit_2(
    stub: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"{HEADER}\n1,Kemeja batik,1\n", encoding="utf-8")
    assert cli([str(source), "-o", str(tmp_path / "o.csv"), "--rejects", str(source)], stub) == 2
    assert "is the input file" in capsys.readouterr().err
    assert source.read_text(encoding="utf-8") == f"{HEADER}\n1,Kemeja batik,1\n"


# 4. Duplicate column names ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "column"),
    [("title,cross_border,cross_border", "cross_border"), ("title,title,cross_border", "title")],
)
def test_a_column_read_twice_is_refused(tmp_path: Path, header: str, column: str) -> None:
    source = tmp_path / "dup.csv"
    source.write_text(f"{header}\nKemeja batik,false,true\n", encoding="utf-8")
    with pytest.raises(UsageError, match=rf"2 columns '{column}' \(columns \d, \d\)"):
        score_file(source, tmp_path / "out.csv")
    assert leftovers(tmp_path, source) == []


def test_a_duplicate_column_not_read_is_kept(tmp_path: Path) -> None:
    source = tmp_path / "dup.csv"
    source.write_text("note,title,note,cross_border\na,Kemeja batik,b,0\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert score_file(source, out).rows_scored == 1
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("a,Kemeja batik,b,0,")


def test_a_jsonl_key_given_twice_rejects_the_record(tmp_path: Path) -> None:
    source = tmp_path / "dup.jsonl"
    source.write_text(
        '{"title": "Kemeja batik", "cross_border": false, "cross_border": true}\n'
        '{"title": "Kemeja batik", "\\u0063ross_border": false, "cross_border": true}\n'
        '{"title": "Kemeja batik", "cross_border": false, "x": {"cross_border": 1}}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    summary = score_file(source, out)
    rejects = read_csv(Path(f"{out}.rejects.csv"))
    assert [(r["line"], r["reason"]) for r in rejects] == [("1", "BAD_JSON"), ("2", "BAD_JSON")]
    assert "'cross_border' appears more than once" in rejects[0]["detail"]
    assert summary.rows_scored == 1  # a nested key of the same name is not a duplicate


# 5. A JSONL line nested too deeply -------------------------------------------------------


def test_a_deeply_nested_jsonl_line_is_that_lines_rejection(tmp_path: Path) -> None:
    source = tmp_path / "deep.jsonl"
    deep = b'{"title": "Kopi", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    source.write_bytes(b'{"title": "Kopi robusta", "cross_border": 1}\n' + deep)
    out = tmp_path / "out.jsonl"
    summary = score_file(source, out)
    assert (summary.rows_read, summary.rows_scored, summary.rows_rejected) == (2, 1, 1)
    rejects = read_csv(Path(f"{out}.rejects.csv"))
    assert [(r["line"], r["reason"]) for r in rejects] == [("2", "BAD_JSON")]
    assert "nested too deeply" in rejects[0]["detail"]
    # The raw text is cut to what any CSV reader takes in one field.
    assert rejects[0]["raw"].startswith('{"title": "Kopi", "x": [[[')
    assert rejects[0]["raw"].endswith(f"[cut: {len(deep) - 1:,} characters]")


# 6. Rejects that hold a bare CR ----------------------------------------------------------


def test_a_rejected_line_with_a_bare_cr_reads_back_as_one_row(tmp_path: Path) -> None:
    source = tmp_path / "cr.jsonl"
    source.write_bytes(b'{"title": "Kopi robusta"}\nabc\rdef\n')
    out = tmp_path / "out.jsonl"
    summary = score_file(source, out)
    rejects = read_csv(Path(f"{out}.rejects.csv"))
    assert summary.rows_rejected == len(rejects) == 1
    assert rejects[0]["raw"] == "abc\rdef"


def test_a_header_cell_with_a_bare_cr_stays_one_cell(tmp_path: Path) -> None:
    source = tmp_path / "cr.csv"
    source.write_bytes(b'"a\rb",title\nx,Kopi robusta\n')
    out = tmp_path / "out.csv"
    score_file(source, out)
    rows = read_csv(out)
    assert len(rows) == 1 and rows[0]["a\rb"] == "x"


# 7. A failed run leaves no file ----------------------------------------------------------


def test_an_output_directory_is_refused_before_any_row_is_scored(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"{HEADER}\n1,Kemeja batik,1\n2,,1\n", encoding="utf-8")
    target = tmp_path / "out"
    target.mkdir()
    model = StubModel()
    with pytest.raises(UsageError, match="is a directory"):
        score_file(source, target, model=model)
    assert model.calls == []
    assert leftovers(tmp_path, source, target) == []


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_output_that_fails_at_the_last_flush_leaves_no_rejects_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"{HEADER}\n1,Kemeja batik,1\n2,,1\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    finish = writers.AtomicTextFile.finish

    def disk_full(self: writers.AtomicTextFile) -> None:
        if self.path == str(out):
            raise OSError(28, "No space left on device")
        finish(self)

    monkeypatch.setattr(writers.AtomicTextFile, "finish", disk_full)
    with pytest.raises(OSError, match="No space left"):
        score_file(source, out, jobs=jobs)
    assert leftovers(tmp_path, source) == []


# 8. Inputs that cannot be read are named, exit 2 -------------------------------------------


def test_a_truncated_gzip_input_is_named(stub: Path, tmp_path: Path) -> None:
    rows = "".join(f"{i},Kemeja batik {i},1\n" for i in range(5000))
    data = gzip.compress(f"{HEADER}\n{rows}".encode())
    source = tmp_path / "cut.csv.gz"
    source.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=rf"{source}: compressed data is truncated or corrupt"):
        score_file(source, tmp_path / "out.csv")
    assert leftovers(tmp_path, source, stub) == []


def test_a_corrupt_gzip_input_exits_2_naming_it(
    stub: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(gzip.compress(f"{HEADER}\n1,Kemeja batik,1\n".encode() * 50))
    data[20:30] = b"\xff" * 10
    source = tmp_path / "bad.csv.gz"
    source.write_bytes(bytes(data))
    assert cli([str(source), "-o", str(tmp_path / "out.csv")], stub) == 2
    err = capsys.readouterr().err
    assert f"{source}: compressed data is truncated or corrupt" in err
    assert "Traceback" not in err
    assert leftovers(tmp_path, source, stub) == []


def test_an_input_directory_is_named_as_one(
    stub: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "listings"
    folder.mkdir()
    assert cli([str(folder), "-o", str(tmp_path / "out.csv")], stub) == 2
    assert f"input {folder} is a directory" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_input_is_read_like_standard_input(tmp_path: Path) -> None:
    fifo = tmp_path / "listings.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("w", encoding="utf-8") as handle:
            handle.write(f"{HEADER}\n1,Kemeja batik,1\n2,Kopi robusta,0\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    out = tmp_path / "out.csv"
    summary = score_file(fifo, out)
    writer.join(timeout=10)
    assert summary.rows_scored == 2
    assert [r["decision"] for r in read_csv(out)] == ["block", "allow"]


def test_an_empty_input_exits_2(stub: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert cli([str(empty), "-o", str(tmp_path / "out.csv")], stub) == 2
    assert leftovers(tmp_path, empty, stub) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[policy]\nid = "caf\xe9"\n', "not UTF-8 text (byte 18"),
        (
            b"[policy]\nid = 'p'\nversion = '1'\n[thresholds]\nblock = 0.9\nreview = 0.5\n"
            b"[[protected]]\ncluster = ['crafts']\nclosed_from = 2021-08-01\n",
            "cluster must be a string, got list",
        ),
        (b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested too deeply"),
    ],
)
def test_a_policy_that_cannot_be_used_exits_2_naming_it(
    stub: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"{HEADER}\n1,Kemeja batik,1\n", encoding="utf-8")
    policy = tmp_path / "bad.toml"
    policy.write_bytes(content)
    assert cli([str(source), "-o", str(tmp_path / "out.csv")], policy) == 2
    err = capsys.readouterr().err
    assert f"{policy}: " in err and message in err
    assert not (tmp_path / "out.csv").exists()


def test_a_missing_policy_file_exits_2(
    stub: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"{HEADER}\n1,Kemeja batik,1\n", encoding="utf-8")
    assert cli([str(source), "-o", str(tmp_path / "out.csv")], tmp_path / "absent.toml") == 2
    assert "policy file not found" in capsys.readouterr().err


# 12. Exit statuses documented ----------------------------------------------------------------


def test_score_help_lists_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["score", "--help"])
    text = capsys.readouterr().out
    table = text[text.index("exit status:") :]
    for status, words in [
        (0, "success"),
        (1, "error"),
        (2, "usage error"),
        (3, "rejected"),
        (130, "interrupted"),
        (143, "SIGTERM"),
    ]:
        lines = table.splitlines()
        assert any(line.split()[:1] == [str(status)] and words in line for line in lines)


# Decisions on the "also worth a decision" list --------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_over_long_title_is_rejected_in_either_format(tmp_path: Path, fmt: str) -> None:
    title = "Kemeja batik " * (MAX_FIELD_CHARS // 13 + 1)
    source = tmp_path / f"long.{fmt}"
    if fmt == "csv":
        source.write_text(f"{HEADER}\n1,{title},1\n2,Kopi robusta,1\n", encoding="utf-8")
    else:
        lines = [{"id": 1, "title": title}, {"id": 2, "title": "Kopi robusta"}]
        source.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    out = tmp_path / f"out.{fmt}"
    summary = score_file(source, out)
    assert (summary.rows_scored, summary.rows_rejected) == (1, 1)
    assert summary.reject_reasons == {"FIELD_TOO_LONG": 1}


def test_blank_lines_of_a_one_column_csv_are_rejected_rows(tmp_path: Path) -> None:
    source = tmp_path / "titles.csv"
    source.write_text("title\nKemeja batik\n\nKopi robusta\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = score_file(source, out)
    assert (summary.rows_read, summary.rows_scored, summary.rows_rejected) == (3, 2, 1)
    rejects = read_csv(Path(f"{out}.rejects.csv"))
    assert [(r["line"], r["reason"]) for r in rejects] == [("3", "EMPTY_TITLE")]


def test_stdout_output_from_a_read_only_directory_names_the_rejects_option(
    stub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"{HEADER}\n1,Kemeja batik,1\n", encoding="utf-8")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    monkeypatch.chdir(locked)
    access = os.access  # root may write anywhere: answer as for any other user

    def no_write_here(path: Any, mode: int) -> bool:
        return access(path, mode) and not (mode & os.W_OK and Path(path).resolve() == locked)

    monkeypatch.setattr(writers.os, "access", no_write_here)
    try:
        assert cli([str(source), "-o", "-"], stub) == 2
    finally:
        locked.chmod(0o755)
    err = capsys.readouterr().err
    assert "rejects file stdout.rejects.csv: directory . is not writable" in err
    assert "name another with --rejects" in err
    assert list(locked.iterdir()) == []


def test_a_policy_closing_nothing_on_the_date_is_warned_about(
    stub: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"{HEADER}\n1,Kemeja batik,1\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert cli([str(source), "-o", str(out), "--on", "2021-07-31"], stub) == 0
    err = capsys.readouterr().err
    assert "warning: policy test-policy@1 closes no cluster on 2021-07-31" in err
    assert "first closed_from is 2021-08-01" in err
    assert cli([str(source), "-o", str(out), "--on", "2021-08-01"], stub) == 0
    assert "warning" not in capsys.readouterr().err
