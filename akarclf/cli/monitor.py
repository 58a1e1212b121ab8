"""``akarclf monitor``: compare two ``akarclf score`` outputs and alert when a limit is crossed.

A thin shell over :mod:`akarclf.evaluation.monitor`: it reads the two score outputs (CSV or
JSONL, ``.gz`` allowed) and an optional limits TOML, runs the comparison, writes the Markdown
(standard output unless ``--markdown``), JSON and PNG reports, and maps the outcome to the exit
status: 0 no limit crossed, 4 some limit crossed, 2 usage error or a bad input file (named with
its line and field), 1 anything else. A scheduled job alerts on status 4.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import tomllib
from array import array
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final

import numpy as np

from akarclf.cli import EXIT_FAILURE, EXIT_LIMIT_CROSSED, EXIT_OK, EXIT_USAGE
from akarclf.clusters import CLUSTERS
from akarclf.errors import AkarclfError
from akarclf.evaluation.monitor import (
    Limits,
    LimitsError,
    ScoreColumns,
    compare,
    draw_distributions,
    limits_from_mapping,
    render_markdown,
)
from akarclf.gate.reasons import DECISIONS
from akarclf.scoring.readers import format_for, open_input

#: Optional column with the share of a title's words the model knows (0 to 1): score outputs
#: written before the gate recorded it lack it.
KNOWN_SHARE: Final = "known_share"
#: The text columns the comparison reads, and every column it needs.
_TEXT_COLUMNS: Final = ("cluster", "decision", "reason", "model_version", "policy_version")
REQUIRED_COLUMNS: Final = (
    "cluster",
    *(f"p_{cluster}" for cluster in CLUSTERS),
    "decision",
    "reason",
    "model_version",
    "policy_version",
)

#: How far the probabilities of one row may sum from 1 (they are written with 6 decimals).
_SUM_TOLERANCE: Final = 0.01


class BadInputError(AkarclfError, ValueError):
    """A file that cannot be compared: missing, not a score output, or a bad value."""


def register(subparsers: Any) -> None:
    """Add the ``monitor`` sub-command to the ``akarclf`` parser."""
    parser = subparsers.add_parser(
        "monitor",
        help="compare two score outputs: what moved, with a verdict per limit",
        description="Compare two outputs of `akarclf score` (REFERENCE, e.g. last month's "
        "catalogue, and CURRENT) and report the change of decision, reason and cluster rates, "
        "the population stability index of each cluster probability and of the protected mass, "
        "the share of titles whose words the model barely knows (needs a known_share column) "
        "and the review rate, each with a verdict against its limit. Exit status: 0 no limit "
        "crossed, 4 a limit crossed, 2 usage error or bad input file, 1 other failure.",
    )
    parser.add_argument("reference", metavar="REFERENCE", help="score output (CSV/JSONL, .gz)")
    parser.add_argument("current", metavar="CURRENT", help="score output (CSV/JSONL, .gz)")
    parser.add_argument(
        "--limits",
        metavar="FILE.toml",
        help="TOML file overriding some of the default limits (see akarclf.evaluation.monitor."
        "Limits for keys and defaults)",
    )
    parser.add_argument("--json", metavar="OUT.json", help="write the report as JSON")
    parser.add_argument(
        "--markdown", metavar="OUT.md", help="write the Markdown report here (default: stdout)"
    )
    parser.add_argument(
        "--png", metavar="OUT.png", help="draw the distributions as PNG (needs matplotlib)"
    )
    parser.set_defaults(func=run)


# --- reading score outputs ------------------------------------------------------------------


def _rows(path: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """``(line, record)`` per record: its line number and its fields by name, as read."""
    if str(path) != "-" and not Path(path).is_file():
        raise BadInputError(f"{path}: file not found")
    with open_input(path) as raw:
        fmt = format_for(path) or _sniff(raw)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            if fmt == "jsonl":
                yield from _jsonl_rows(path, text)
            else:
                yield from _csv_rows(path, text)
        except UnicodeDecodeError as error:
            raise BadInputError(f"{path}: not UTF-8 text ({error.reason})") from None


def _sniff(raw: Any) -> str:
    head = bytes(raw.peek(64)).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "jsonl" if head[:1] == b"{" else "csv"


def _csv_rows(path: str, text: IO[str]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.reader(text)
    try:
        header = next(reader)
        for row in reader:
            if len(row) != len(header):
                raise BadInputError(
                    f"{path} line {reader.line_num}: {len(row)} fields, the header has "
                    f"{len(header)}"
                )
            yield reader.line_num, dict(zip(header, row, strict=True))
    except StopIteration:
        raise BadInputError(f"{path}: empty file, not an akarclf score output") from None
    except csv.Error as error:
        raise BadInputError(f"{path} line {reader.line_num}: malformed CSV: {error}") from None


def _jsonl_rows(path: str, text: IO[str]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise BadInputError(f"{path} line {number}: not JSON: {error.msg}") from None
        if not isinstance(record, dict):
            raise BadInputError(f"{path} line {number}: not a JSON object")
        yield number, record


def _number(value: Any, where: str) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise BadInputError(f"{where}: not a number: {value!r:.40}") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise BadInputError(f"{where}: not a number: {value!r:.40}")


def _share(value: Any, where: str) -> float:
    number = _number(value, where)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise BadInputError(f"{where}: {value!r:.40} is not within [0, 1]")
    return number


def _text(value: Any, where: str, allowed: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise BadInputError(f"{where}: expected text, got {value!r:.40}")
    if allowed is not None and value not in allowed:
        raise BadInputError(f"{where}: {value!r:.40} is not one of {', '.join(allowed)}")
    return sys.intern(value)


def read_score_output(path: str) -> ScoreColumns:
    """The columns of an ``akarclf score`` output; :class:`BadInputError` naming the file,
    line and field for anything that is not one.

    ``known_share`` is read when the output has it (an empty cell, a JSON null or a record
    without the key is NaN: a title without words has no share of known words).
    """
    texts: dict[str, list[str]] = {n: [] for n in _TEXT_COLUMNS}
    allowed = {"decision": DECISIONS, "cluster": CLUSTERS}
    # Floats in typed arrays (8 bytes each, not a Python object each): catalogues are large.
    probabilities = {c: array("d") for c in CLUSTERS}
    known = array("d")
    has_known = False
    for line, record in _rows(path):
        missing = [n for n in REQUIRED_COLUMNS if n not in record]
        if missing:
            raise BadInputError(
                f"{path} line {line}: not an akarclf score output: missing field(s) "
                f"{', '.join(missing)}"
            )
        where = f"{path} line {line}, field"
        for name, texts_of in texts.items():
            texts_of.append(_text(record[name], f"{where} {name}", allowed.get(name)))
        row_sum = 0.0
        for cluster, values in probabilities.items():
            values.append(_share(record[f"p_{cluster}"], f"{where} p_{cluster}"))
            row_sum += values[-1]
        if abs(row_sum - 1.0) > _SUM_TOLERANCE:
            raise BadInputError(f"{path} line {line}: the p_* fields sum to {row_sum:.4f}, not 1")
        value = record.get(KNOWN_SHARE)
        has_known |= KNOWN_SHARE in record
        missing_value = value is None or value == ""
        known.append(math.nan if missing_value else _share(value, f"{where} {KNOWN_SHARE}"))
    if not texts["decision"]:
        raise BadInputError(f"{path}: no scored rows, nothing to compare")
    return ScoreColumns(
        decision=texts["decision"],
        reason=texts["reason"],
        cluster=texts["cluster"],
        probabilities={c: np.frombuffer(v, dtype=np.float64) for c, v in probabilities.items()},
        model_version=texts["model_version"],
        policy_version=texts["policy_version"],
        known_share=np.frombuffer(known, dtype=np.float64) if has_known else None,
    )


def read_limits(path: str | None) -> Limits:
    """The default limits, overridden by the TOML file at ``path`` when given."""
    if path is None:
        return Limits()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LimitsError(f"limits file {path}: not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise LimitsError(f"limits file {path}: not valid TOML: {error}") from None
    return limits_from_mapping(data, source=f"limits file {path}")


# --- the command ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Run ``akarclf monitor``; returns the exit status."""

    def fail(status: int, message: str) -> int:
        print(f"akarclf monitor: error: {message}", file=sys.stderr)
        return status

    try:
        if args.png:
            from akarclf.evaluation.plots import require_matplotlib

            require_matplotlib()
        limits = read_limits(args.limits)
        reference = read_score_output(args.reference)
        current = read_score_output(args.current)
    except ImportError as error:
        return fail(EXIT_USAGE, f"--png: {error}")
    except (BadInputError, LimitsError) as error:
        return fail(EXIT_USAGE, str(error))
    try:
        report = compare(
            reference,
            current,
            limits,
            reference_name=args.reference,
            current_name=args.current,
        )
        markdown = render_markdown(report)
        if args.markdown:
            Path(args.markdown).write_text(markdown, encoding="utf-8")
        else:
            sys.stdout.write(markdown)
        if args.json:
            text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
            Path(args.json).write_text(text + "\n", encoding="utf-8")
        if args.png:
            draw_distributions(report).savefig(args.png, format="png")
    except Exception as error:  # every other failure: exit 1 with a message
        return fail(EXIT_FAILURE, f"{type(error).__name__}: {error}")
    alerts = report.alerts
    if alerts:
        crossed = ", ".join(c.label for c in alerts)
        print(f"akarclf monitor: {len(alerts)} limit(s) crossed: {crossed}", file=sys.stderr)
        return EXIT_LIMIT_CROSSED
    print("akarclf monitor: no limit crossed", file=sys.stderr)
    return EXIT_OK
