"""The README's quick start: ``akarclf score`` on the example listings, with the shipped model.

The example file mixes clusters, domestic and cross-border sellers, every accepted spelling of
the cross-border flag, one missing flag and three bad rows (an empty title, ``maybe`` as a flag
and a broken quote on the last line). This runs the command the README shows, through
:func:`akarclf.cli.main`, and checks that every row is accounted for: scored rows keep their
input columns and order, and the bad rows are in the rejects file with their line number and
reason. Decisions that do not depend on the model (domestic sellers, the missing flag) are
checked exactly. The README's Python examples are run as written.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from akarclf.cli import main
from akarclf.gate.decision import DECISIONS, DOMESTIC_SELLER, REASONS, UNKNOWN_SELLER
from akarclf.gate.flags import DOMESTIC, UNKNOWN_FLAG, parse_cross_border
from akarclf.gate.policy import load_policy
from akarclf.scoring.core import OUTPUT_COLUMNS
from akarclf.scoring.rows import BAD_CROSS_BORDER, EMPTY_TITLE, MALFORMED_CSV

README = Path(__file__).resolve().parents[1] / "README.md"
INPUT_COLUMNS = ["id", "title", "cross_border", "seller_country"]
#: The bad rows of the example file: physical line (the header is line 1) -> reject reason.
EXPECTED_REJECTS = {40: EMPTY_TITLE, 41: BAD_CROSS_BORDER, 42: MALFORMED_CSV}
#: Data rows in the example file, good and bad.
EXAMPLE_ROWS = 41
EXIT_REJECTS = 3


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def scored(examples_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """Exit status and output path of ``akarclf score notebooks/examples/listings.csv -o ...``."""
    output = tmp_path_factory.mktemp("quickstart") / "scored.csv"
    status = main(["score", str(examples_csv), "-o", str(output)])
    return status, output


def test_example_file_is_what_the_readme_describes(examples_csv: Path) -> None:
    lines = examples_csv.read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",") == INPUT_COLUMNS
    assert len(lines) - 1 == EXAMPLE_ROWS
    flags = {line.rsplit(",", 2)[-2].strip().casefold() for line in lines[1:]}
    for spellings in ({"true", "false"}, {"ya", "tidak"}, {"1", "0"}, {"yes", "no"}, {""}):
        assert spellings <= flags, f"the example lost the flag spellings {spellings}"


def test_score_exits_3_because_of_the_bad_rows(scored: tuple[int, Path]) -> None:
    status, output = scored
    assert status == EXIT_REJECTS
    assert output.is_file()


def test_every_row_is_scored_or_rejected(scored: tuple[int, Path], examples_csv: Path) -> None:
    _, output = scored
    rows = _read_csv(output)
    rejects = _read_csv(Path(f"{output}.rejects.csv"))
    assert len(rows) + len(rejects) == EXAMPLE_ROWS
    assert {int(r["line"]): r["reason"] for r in rejects} == EXPECTED_REJECTS
    rejected_ids = {str(line - 1) for line in EXPECTED_REJECTS}
    expected_ids = [str(i) for i in range(1, EXAMPLE_ROWS + 1) if str(i) not in rejected_ids]
    assert [r["id"] for r in rows] == expected_ids


def test_output_keeps_the_input_and_appends_the_decision(scored: tuple[int, Path]) -> None:
    _, output = scored
    with output.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == INPUT_COLUMNS + list(OUTPUT_COLUMNS)
    for row in _read_csv(output):
        assert row["decision"] in DECISIONS, row
        assert row["reason"] in REASONS, row
        assert row["title"].strip(), row


def test_decisions_that_do_not_depend_on_the_model(scored: tuple[int, Path]) -> None:
    _, output = scored
    unknown_action = load_policy().unknown_seller
    checked = 0
    for row in _read_csv(output):
        flag = parse_cross_border(row["cross_border"])
        if flag == DOMESTIC:
            assert (row["decision"], row["reason"]) == ("allow", DOMESTIC_SELLER), row
            checked += 1
        elif flag == UNKNOWN_FLAG:
            assert (row["decision"], row["reason"]) == (unknown_action, UNKNOWN_SELLER), row
            checked += 1
    assert checked == 11  # the example has 10 domestic sellers and one missing flag


def test_readme_quick_start_scores_this_file(examples_csv: Path, repo_root: Path) -> None:
    relative = examples_csv.relative_to(repo_root).as_posix()
    assert f"akarclf score {relative} -o scored.csv; head -5 scored.csv" in README.read_text(
        encoding="utf-8"
    )


def test_readme_python_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks, "the README has no Python example"
    for block in blocks:
        namespace: dict[str, object] = {}
        exec(compile(block, str(README), "exec"), namespace)
