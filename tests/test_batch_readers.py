"""Reading listings: every unreadable row becomes a reject with its line and reason."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import numpy as np
import pytest

from akarclf.gate.flags import UNKNOWN_FLAG
from akarclf.scoring.readers import (
    CsvReader,
    InputError,
    JsonlReader,
    UsageError,
    format_for,
    open_input,
)
from akarclf.scoring.rows import (
    BAD_CROSS_BORDER,
    BAD_ENCODING,
    BAD_JSON,
    BAD_TITLE,
    EMPTY_TITLE,
    MALFORMED_CSV,
    MISSING_TITLE,
    OUTPUT_KEY_CLASH,
    Reject,
)

FIXTURES = Path(__file__).parent / "fixtures"

#: broken_listings.csv: physical line -> reject reason (header is line 1).
CSV_REJECTS = {
    6: EMPTY_TITLE,
    7: EMPTY_TITLE,
    8: BAD_CROSS_BORDER,
    9: MALFORMED_CSV,
    10: BAD_ENCODING,
    11: MALFORMED_CSV,
    13: MALFORMED_CSV,
}
CSV_SCORED_IDS = ["1", "2", "3", "11", "12", "13"]

#: broken_listings.jsonl: line -> reject reason.
JSONL_REJECTS = {
    3: BAD_JSON,
    4: BAD_JSON,
    5: MISSING_TITLE,
    6: MISSING_TITLE,
    7: BAD_TITLE,
    8: EMPTY_TITLE,
    9: BAD_CROSS_BORDER,
    10: BAD_ENCODING,
    13: BAD_ENCODING,
    15: OUTPUT_KEY_CLASH,
}
JSONL_SCORED_IDS = [1, 2, 12, 14, 16]


def _read_all(reader: CsvReader | JsonlReader, size: int = 1000) -> tuple[list, list[Reject]]:
    rejects: list[Reject] = []
    chunks = list(reader.chunks(size, rejects.append))
    return chunks, rejects


def _fields(row_text: str) -> list[str]:
    """Parse the text of one CSV record back into its fields."""
    return next(csv.reader(io.StringIO(row_text, newline="")))


def _csv(data: bytes, **kwargs: object) -> CsvReader:
    return CsvReader(io.BytesIO(data), **kwargs)  # type: ignore[arg-type]


def test_broken_csv_fixture_rejects_each_bad_row_at_its_line() -> None:
    with open_input(FIXTURES / "broken_listings.csv") as stream:
        reader = CsvReader(stream, reserved=("decision",))
        chunks, rejects = _read_all(reader)
    assert {r.line: r.reason for r in rejects} == CSV_REJECTS
    assert [r.line for r in rejects] == sorted(CSV_REJECTS)  # written in line order
    rows = [_fields(row) for chunk in chunks for row in chunk.rows]
    assert [row[0] for row in rows] == CSV_SCORED_IDS
    assert reader.stats.rows_read == len(CSV_SCORED_IDS) + len(CSV_REJECTS)
    assert reader.stats.rejected == len(CSV_REJECTS)
    # A multi-line quoted title is one record, kept whole.
    assert rows[2][1] == "Tas anyaman pandan\nmotif bunga, buatan tangan"
    by_line = {r.line: r for r in rejects}
    assert by_line[10].raw == "8,Ukiran kayu jati \\xff\\xfe relief,1,CN"  # bad bytes shown
    assert by_line[8].raw == "6,Kopi arabika gayo 250gr,maybe,CN"
    assert "maybe" in by_line[8].detail


def test_unclosed_quote_rejects_one_line_and_reads_the_rest() -> None:
    data = b'id,title\n1,"Kaos polos\n2,Kemeja flanel\n3,Celana "chino" panjang\n4,Topi\n'
    chunks, rejects = _read_all(_csv(data))
    assert [(r.line, r.reason) for r in rejects] == [(2, MALFORMED_CSV)]
    assert rejects[0].raw == '1,"Kaos polos'
    assert [_fields(row)[0] for row in chunks[0].rows] == ["2", "3", "4"]
    assert chunks[0].titles[1] == 'Celana "chino" panjang'  # a quote inside a bare field is text


def test_line_numbers_count_physical_lines_of_multiline_records() -> None:
    data = b'id,title,cross_border\n1,"a\nb\nc",1\n2,,1\n3,"d\r\ne",0\n4,x,maybe\n'
    chunks, rejects = _read_all(_csv(data))
    assert [(r.line, r.reason) for r in rejects] == [(5, EMPTY_TITLE), (8, BAD_CROSS_BORDER)]
    assert chunks[0].titles == ["a\nb\nc", "d\r\ne"]
    assert chunks[0].first_line == 2


def test_rows_keep_the_exact_text_of_the_record() -> None:
    data = b'id,title,note\r\n1,"Kaos ""polos""\r\nputih",  x \r\n2,Topi,"a,b"\n3,Sal,'
    chunks, rejects = _read_all(_csv(data))
    assert rejects == []
    assert chunks[0].rows == ['1,"Kaos ""polos""\r\nputih",  x ', '2,Topi,"a,b"', "3,Sal,"]
    assert chunks[0].titles == ['Kaos "polos"\r\nputih', "Topi", "Sal"]


def test_flags_are_parsed_and_missing_is_unknown() -> None:
    data = b"title,cross_border\nA,1\nB,0\nC,\nD,Ya\nE, false \n"
    chunks, rejects = _read_all(_csv(data))
    assert rejects == []
    assert chunks[0].flags.dtype == np.int8
    assert chunks[0].flags.tolist() == [1, 0, UNKNOWN_FLAG, 1, 0]


def test_without_a_cross_border_column_every_row_is_cross_border() -> None:
    reader = _csv(b"id,title\n1,A\n2,B\n")
    chunks, _ = _read_all(reader)
    assert reader.cross_border_col is None
    assert chunks[0].flags.tolist() == [1, 1]
    assert reader.stats.assumed_cross_border == 2


def test_named_columns() -> None:
    reader = _csv(b"nama,lintas\nA,0\n", title_col="nama", cross_border_col="lintas")
    chunks, _ = _read_all(reader)
    assert chunks[0].titles == ["A"] and chunks[0].flags.tolist() == [0]


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (b"id,name\n1,A\n", {}, "no column 'title'"),
        (b"id,title\n1,A\n", {"cross_border_col": "seller"}, "no column 'seller'"),
        (b"id,title,cluster\n1,A,x\n", {"reserved": ("cluster", "decision")}, "cluster"),
    ],
)
def test_header_problems_are_usage_errors(data: bytes, kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        _csv(data, **kwargs)


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty"), (b"\n\n", "empty"), (b"id,\xfftitle\n", "UTF-8"), (b'"id,title\n', "CSV")],
)
def test_unreadable_header_is_an_input_error(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        _csv(data)


def test_bom_and_crlf_and_blank_lines() -> None:
    data = b"\xef\xbb\xbfid,title\r\n1,Kaos\r\n\r\n2,Topi\r\n"
    reader = _csv(data)
    chunks, rejects = _read_all(reader)
    assert reader.header == ["id", "title"]
    assert rejects == []
    assert chunks[0].titles == ["Kaos", "Topi"]
    assert reader.stats.rows_read == 2


def test_chunks_are_bounded_and_ordered() -> None:
    data = b"title\n" + b"".join(f"t{i}\n".encode() for i in range(25))
    chunks, _ = _read_all(_csv(data), size=10)
    assert [len(c.rows) for c in chunks] == [10, 10, 5]
    assert [t for c in chunks for t in c.titles] == [f"t{i}" for i in range(25)]
    assert [c.first_line for c in chunks] == [2, 12, 22]


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(UsageError):
        list(_csv(b"title\na\n").chunks(0, lambda r: None))


def test_broken_jsonl_fixture_rejects_each_bad_line() -> None:
    with open_input(FIXTURES / "broken_listings.jsonl") as stream:
        reader = JsonlReader(stream, reserved=("cluster", "decision"))
        chunks, rejects = _read_all(reader)
    assert {r.line: r.reason for r in rejects} == JSONL_REJECTS
    records = [json.loads(row) for chunk in chunks for row in chunk.rows]
    assert [r["id"] for r in records] == JSONL_SCORED_IDS
    assert list(records[1]) == ["id", "title", "cross_border", "tags"]  # key order kept
    assert chunks[0].flags.tolist() == [1, 0, 1, UNKNOWN_FLAG, 1]
    assert reader.stats.assumed_cross_border == 1  # line 12 has no cross_border key
    assert reader.stats.rows_read == len(JSONL_SCORED_IDS) + len(JSONL_REJECTS)


def test_gzip_input_is_recognised_by_content(tmp_path: Path) -> None:
    path = tmp_path / "listings.csv.gz"
    path.write_bytes(gzip.compress(b"title\nKaos\n"))
    with open_input(path) as stream:
        chunks, _ = _read_all(CsvReader(stream))
    assert chunks[0].titles == ["Kaos"]


@pytest.mark.parametrize(
    ("path", "explicit", "expected"),
    [
        ("a.csv", None, "csv"),
        ("a.CSV.gz", None, "csv"),
        ("a.jsonl", None, "jsonl"),
        ("a.ndjson.gz", None, "jsonl"),
        ("-", None, None),
        ("a.txt", None, None),
        ("a.txt", "jsonl", "jsonl"),
    ],
)
def test_format_follows_extension(path: str, explicit: str | None, expected: str | None) -> None:
    assert format_for(path, explicit) == expected


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="parquet"):
        format_for("a.csv", "parquet")
