"""Fuzz ``score_file`` with random hostile CSV and JSON Lines files, in one process and two.

Whatever the bytes, a run either ends with a named usage/input error and leaves nothing behind,
or it accounts for every row: rows read = scored + rejected, the output parses back to exactly
the scored rows and the rejects file to exactly the rejected ones, and one process and two
write the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_batch_stub import StubModel, stub_policy

from akarclf.scoring import InputError, ScoreSummary, UsageError, score_file
from akarclf.scoring.writers import REJECT_COLUMNS

#: Pieces of CSV records: well-formed ones and the ways real files break.
CSV_PIECES = [
    b"1,Kemeja batik,1",
    b"2,Kopi robusta,0",
    b"3,Anyaman bambu,",
    b'4,"Tas anyaman\npandan",ya',
    b'5,"Kaos ""oversize""",tidak',
    b"6,Sambal roa,maybe",
    b"7,,1",
    b"8,   ,1",
    b"9,Kabel USB",
    b"10,Kabel,USB,1",
    b'11,"unclosed,1',
    b'12,bad"quote,1',
    b"13,Kue \xff\xfe lapis,1",
    b"14,Kopi\rGayo,1",
    b"15,Batik \x00 tulis,1",
    b"16,\xef\xbb\xbfWayang kulit,0",
    b'"17","Ukiran jati","1"',
    b"",
    b",",
    b'"',
]
JSONL_PIECES = [
    b'{"id": 1, "title": "Kemeja batik", "cross_border": true}',
    b'{"id": 2, "title": "Kopi robusta", "cross_border": 0}',
    b'{"id": 3, "title": "Anyaman bambu", "cross_border": null}',
    b'{"id": 4, "title": "Keripik tempe"}',
    b'{"id": 5, "title": "Kaos", "cross_border": "maybe"}',
    b'{"id": 6, "title": 42, "cross_border": 1}',
    b'{"id": 7, "title": "", "cross_border": 1}',
    b'{"id": 8, "title": "Kue", "cross_border": 1, "cross_border": 0}',
    b'{"id": 9, "title": "Sambal", "decision": "allow"}',
    b'{"id": 10, "title": "Tas \\ud800", "cross_border": 1}',
    b'{"id": 11, "title": "Kue \xff lapis"}',
    b'{"id": 12, "title": "Batik", "x": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    b'["title", "Batik"]',
    b'{"id": 13, "title": "Kopi"',
    b"abc\rdef",
    b"{}",
    b"   ",
    b'\xef\xbb\xbf{"title": "Wayang"}',
]
#: Line ends seen in the wild, including csv.writer's on Windows without newline=''.
ENDS = [b"\n", b"\r\n", b"\r\r\n"]

CSV_HEADERS = [
    b"id,title,cross_border",
    b'\xef\xbb\xbf"id","title","cross_border"',
    b"title",
    b"id,title,cross_border,cross_border",
    b"id,name,cross_border",
    b"id,title,decision",
    b"",
    b'"unclosed,title',
]


def _file(header: bytes | None, pieces: list[bytes], ends: list[bytes], noise: bytes) -> bytes:
    lines = [] if header is None else [header]
    lines += pieces
    body = b"".join(line + ends[i % len(ends)] for i, line in enumerate(lines))
    return body + noise


csv_files = st.builds(
    _file,
    st.sampled_from(CSV_HEADERS),
    st.lists(st.sampled_from(CSV_PIECES), max_size=12),
    st.lists(st.sampled_from(ENDS), min_size=1, max_size=3),
    st.binary(max_size=6),
)
jsonl_files = st.builds(
    _file,
    st.none(),
    st.lists(st.sampled_from(JSONL_PIECES), max_size=12),
    st.lists(st.sampled_from(ENDS), min_size=1, max_size=3),
    st.binary(max_size=6),
)


def _run(source: Path, folder: Path, fmt: str, jobs: int) -> ScoreSummary | None:
    """One run into the empty ``folder``; None when it ended with a usage or input error."""
    folder.mkdir()
    out = folder / f"out.{fmt}"
    try:
        summary = score_file(
            source, out, model=StubModel(), policy=stub_policy(), chunk_size=2, jobs=jobs
        )
    except (UsageError, InputError) as error:
        assert str(error)
        assert list(folder.iterdir()) == [], "a failed run left files behind"
        return None
    assert sorted(p.name for p in folder.iterdir()) == [out.name, f"{out.name}.rejects.csv"]
    assert summary.rows_read == summary.rows_scored + summary.rows_rejected
    text = out.read_bytes().decode("utf-8")
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        assert len(rows) == 1 + summary.rows_scored
        assert {len(row) for row in rows} == {len(rows[0])}
    else:
        records = [json.loads(line) for line in text.split("\n")[:-1]]
        assert len(records) == summary.rows_scored
        assert all(isinstance(r, dict) and "decision" in r for r in records)
    rejects_text = Path(f"{out}.rejects.csv").read_bytes().decode("utf-8")
    rejects = list(csv.reader(io.StringIO(rejects_text, newline=""), strict=True))
    assert rejects[0] == list(REJECT_COLUMNS)
    assert len(rejects) == 1 + summary.rows_rejected
    assert all(len(row) == len(REJECT_COLUMNS) for row in rejects)
    assert sum(summary.reject_reasons.values()) == summary.rows_rejected
    return summary


def _check_both_ways(data: bytes, fmt: str, suffix: str = "") -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source = folder / f"in.{fmt}{suffix}"
        source.write_bytes(data)
        one = _run(source, folder / "jobs1", fmt, jobs=1)
        two = _run(source, folder / "jobs2", fmt, jobs=2)
        assert (one is None) == (two is None)
        if one is not None and two is not None:
            assert (one.rows_read, one.rows_scored) == (two.rows_read, two.rows_scored)
            for produced in (f"out.{fmt}", f"out.{fmt}.rejects.csv"):
                first = (folder / "jobs1" / produced).read_bytes()
                assert first == (folder / "jobs2" / produced).read_bytes()


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(csv_files)
def test_hostile_csv_accounts_for_every_row(data: bytes) -> None:
    _check_both_ways(data, "csv")


@FUZZ
@given(jsonl_files)
def test_hostile_jsonl_accounts_for_every_row(data: bytes) -> None:
    _check_both_ways(data, "jsonl")


@settings(FUZZ, max_examples=20)
@given(
    st.one_of(csv_files.map(lambda d: (d, "csv")), jsonl_files.map(lambda d: (d, "jsonl"))),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_cut_gzip_files_are_named_or_account_for_every_row(
    file: tuple[bytes, str], keep: float
) -> None:
    data, fmt = file
    packed = gzip.compress(data)
    _check_both_ways(packed[: round(len(packed) * keep)], fmt, ".gz")
