"""``score_file``: the whole batch run behind ``akarclf score``, callable from Python.

Reads the input in chunks, scores them (in this process or in worker processes), writes the
output and the rejects atomically, and returns a :class:`ScoreSummary` whose row counts are
checked to add up: rows read = rows scored + rows rejected.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Final

from akarclf.clusters import CLUSTERS
from akarclf.errors import AkarclfError
from akarclf.scoring.core import Model, output_columns
from akarclf.scoring.progress import Progress
from akarclf.scoring.readers import (
    Chunk,
    CsvReader,
    UsageError,
    check_input,
    format_for,
    make_reader,
    open_input,
)
from akarclf.scoring.workers import ScoringSetup, score_chunks
from akarclf.scoring.writers import (
    AtomicTextFile,
    RejectsFile,
    check_targets,
    csv_header,
    default_rejects_path,
)

if TYPE_CHECKING:
    from akarclf.gate.policy import Policy

#: Rows per chunk: large enough for the vectorised model to run at full speed, small enough
#: that memory stays flat.
DEFAULT_CHUNK_SIZE: Final = 10_000

#: Decisions in summary order.
DECISIONS: Final = ("block", "review", "allow")


class CountMismatchError(AkarclfError, RuntimeError):
    """Rows read != rows scored + rows rejected: a bug, so the output is not committed."""


@dataclass
class ScoreSummary:
    """What a run did. ``exit_status`` is 0 when every row was scored, 3 when some were not."""

    output: str
    rejects: str
    rows_read: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    clusters: Counter[str] = field(default_factory=Counter)
    reject_reasons: Counter[str] = field(default_factory=Counter)
    cross_border_column: str | None = None
    assumed_cross_border: int = 0
    seconds: float = 0.0
    seconds_reading: float = 0.0
    seconds_scoring: float = 0.0
    seconds_formatting: float = 0.0
    seconds_writing: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_status(self) -> int:
        return 3 if self.rows_rejected else 0

    def report(self) -> str:
        """The human summary printed on stderr at the end of ``akarclf score``."""
        lines = [
            f"rows read: {self.rows_read:,}  scored: {self.rows_scored:,}  "
            f"rejected: {self.rows_rejected:,}  "
            f"({self.seconds:.1f} s, {self.rows_per_second:,.0f} rows/s)",
            "decisions: "
            + ", ".join(f"{d} {self.decisions[d]:,}" for d in _ordered(self.decisions, DECISIONS)),
            "clusters: "
            + ", ".join(f"{c} {self.clusters[c]:,}" for c in _ordered(self.clusters, CLUSTERS)),
        ]
        if self.rows_rejected:
            reasons = ", ".join(f"{r} {n:,}" for r, n in self.reject_reasons.most_common())
            lines.append(f"rejected rows ({reasons}) are in {self.rejects}")
        if self.assumed_cross_border:
            if self.cross_border_column is None:
                lines.append("no cross_border column: every listing was treated as cross-border")
            else:
                lines.append(
                    f"{self.assumed_cross_border:,} record(s) without a "
                    f"{self.cross_border_column!r} key were treated as cross-border"
                )
        return "\n".join(lines)


def _ordered(counts: Counter[str], known: tuple[str, ...]) -> list[str]:
    """``known`` keys first (even when zero), then any others alphabetically."""
    return [*known, *sorted(k for k in counts if k not in known)]


def resolve_formats(input: str | Path, output: str | Path, explicit: str | None) -> str:
    """The one format of a run: ``explicit``, else the extensions (``-`` follows the other)."""
    in_fmt = format_for(input, explicit)
    out_fmt = format_for(output, explicit)
    if in_fmt and out_fmt and in_fmt != out_fmt:
        raise UsageError(
            f"input is {in_fmt} but output is {out_fmt}; the output keeps the input's format"
        )
    return in_fmt or out_fmt or "csv"


def score_file(
    input: str | Path,
    output: str | Path,
    *,
    model: Model | str | Path | None = None,
    policy: Policy | str | Path | None = None,
    on: date | None = None,
    title_col: str = "title",
    cross_border_col: str | None = None,
    format: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    jobs: int = 1,
    explain: bool = False,
    rejects: str | Path | None = None,
    progress: bool = False,
) -> ScoreSummary:
    """Score the listings of a CSV or JSONL file into ``output``; return the run's summary.

    ``input``/``output`` may be ``-`` (stdin/stdout); ``.gz`` files are read and written
    transparently. ``model`` and ``policy`` are objects, paths, or None for the packaged
    defaults. ``cross_border_col`` None uses a ``cross_border`` column when there is one and
    otherwise treats every listing as cross-border. Rows that cannot be scored are written
    to ``rejects`` (default ``OUTPUT.rejects.csv``). With ``jobs`` > 1 chunks are scored in
    ``jobs`` worker processes (each loading the model once) and written in input order. Raises
    :class:`UsageError` for wrong arguments; the output appears only when the run completes.
    """
    from akarclf.gate.policy import load_policy

    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if chunk_size < 1:
        raise UsageError(f"--chunk-size must be at least 1, got {chunk_size}")
    fmt = resolve_formats(input, output, format)
    check_input(input)
    if isinstance(model, (str, Path)) and not Path(model).is_file():
        raise UsageError(f"model file not found: {model}")
    if model is None and jobs > 1:
        # Find the shipped model here, so a missing one is reported once, not by each worker.
        from akarclf.model.persistence import default_model_path

        model = default_model_path()
    policy_obj = policy if policy is not None and not isinstance(policy, (str, Path)) else None
    if policy_obj is None:
        policy_obj = load_policy(policy)  # type: ignore[arg-type]
    rejects_path = Path(rejects) if rejects is not None else default_rejects_path(output)
    check_targets(output, rejects_path, {"input": input, "model": model, "policy": policy})
    setup = ScoringSetup(model=model, policy=policy_obj, fmt=fmt, on=on, explain=explain)
    names = output_columns(explain)
    summary = ScoreSummary(output=str(output), rejects=str(rejects_path))

    started = time.perf_counter()
    meter = Progress(progress)
    try:
        with (
            open_input(input) as stream,
            AtomicTextFile(output) as out,
            RejectsFile(rejects_path) as rejected,
        ):
            reader = make_reader(
                fmt,
                stream,
                title_col=title_col,
                cross_border_col=cross_border_col,
                reserved=names,
                source=str(input),
            )
            summary.cross_border_column = reader.cross_border_col
            if isinstance(reader, CsvReader):
                out.write(csv_header([*reader.header, *names]))
            chunks = _timed(reader.chunks(chunk_size, rejected.add), summary)
            with closing(score_chunks(setup, chunks, jobs)) as results:
                for result in results:
                    tick = time.perf_counter()
                    out.write(result.text)
                    summary.seconds_writing += time.perf_counter() - tick
                    summary.rows_scored += result.rows
                    summary.decisions.update(result.decisions)
                    summary.clusters.update(result.clusters)
                    summary.seconds_scoring += result.seconds_scoring
                    summary.seconds_formatting += result.seconds_formatting
                    meter.update(result.rows)
            stats = reader.stats
            summary.rows_read = stats.rows_read
            summary.rows_rejected = rejected.count
            summary.reject_reasons.update(stats.reasons)
            summary.assumed_cross_border = stats.assumed_cross_border
            if summary.rows_read != summary.rows_scored + summary.rows_rejected:
                raise CountMismatchError(
                    f"rows read ({summary.rows_read}) != scored ({summary.rows_scored}) "
                    f"+ rejected ({summary.rows_rejected}); output not written"
                )
            tick = time.perf_counter()
            rejected.finish()  # the rejects file is moved into place only with the output
            out.commit()
            rejected.commit()
            summary.seconds_writing += time.perf_counter() - tick
    finally:
        meter.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _timed(chunks: Iterable[Chunk], summary: ScoreSummary) -> Iterator[Chunk]:
    """Pass ``chunks`` through, adding the time spent producing them to the summary."""
    iterator = iter(chunks)
    while True:
        tick = time.perf_counter()
        try:
            chunk = next(iterator)
        except StopIteration:
            summary.seconds_reading += time.perf_counter() - tick
            return
        summary.seconds_reading += time.perf_counter() - tick
        yield chunk
