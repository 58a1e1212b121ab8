"""Score one chunk into output text, in this process or in a pool of worker processes.

A chunk is scored by :func:`akarclf.scoring.core.score_columns` and formatted to text in the same
process. Worker processes load the model and policy once (in the pool initializer);
:class:`PoolScorer` hands their results back in input order, scores chunks itself when the
workers are busy, and keeps at most a few chunks in flight so memory does not grow with the
input. Chunks and their output text cross between processes as files in a private directory
(:class:`akarclf.scoring.spool.Spool`), not through the pool's pipe.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from akarclf.scoring.core import Model, output_columns, score_columns
from akarclf.scoring.owner import die_with_owner
from akarclf.scoring.readers import Chunk
from akarclf.scoring.spool import spool_or_none, spool_text, take_chunk, take_text
from akarclf.scoring.writers import format_csv_rows, format_jsonl_rows

if TYPE_CHECKING:
    from akarclf.gate.policy import Policy

#: Chunks in flight per worker: one being scored, one queued, so no worker waits for input.
IN_FLIGHT_PER_WORKER = 2


@dataclass(frozen=True)
class ScoringSetup:
    """Everything needed to score a chunk: picklable, sent once to each worker."""

    model: Model | str | Path | None
    policy: Policy
    fmt: str
    on: date | None = None
    explain: bool = False

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Policy holds read-only mapping proxies, which do not pickle: send its dict form.
        policy = self.policy.to_dict(), self.policy.source
        return _rebuild_setup, (self.model, policy, self.fmt, self.on, self.explain)


def _rebuild_setup(
    model: Model | str | Path | None,
    policy: tuple[dict[str, Any], str | None],
    fmt: str,
    on: date | None,
    explain: bool,
) -> ScoringSetup:
    from akarclf.gate.policy import Policy

    rebuilt = Policy.from_dict(policy[0], source=policy[1])
    return ScoringSetup(model=model, policy=rebuilt, fmt=fmt, on=on, explain=explain)


@dataclass
class ChunkResult:
    """A scored chunk: its output text and the counts the run summary needs."""

    text: str
    rows: int
    decisions: Counter[str]
    clusters: Counter[str]
    seconds_scoring: float
    seconds_formatting: float
    #: Set by a worker: the file that holds ``text`` (UTF-8), for the parent to take.
    text_file: str | None = None


def load_model(path: str | Path | None) -> Model:
    """Load a model file (None: the shipped default) with the package's loader."""
    import akarclf

    loader: Any = getattr(akarclf, "load_model", None)
    if loader is None:
        from akarclf import persistence

        loader = persistence.load_model
    model: Model = loader(path)
    return model


def load(setup: ScoringSetup) -> tuple[Model, ScoringSetup]:
    """The model object for ``setup`` (loading it when given as a path or None)."""
    model = setup.model
    if model is None or isinstance(model, (str, Path)):
        model = load_model(model)
    return model, setup


def score_chunk(chunk: Chunk, model: Model, setup: ScoringSetup) -> ChunkResult:
    """Score and format one chunk."""
    started = time.perf_counter()
    columns = score_columns(
        chunk.titles,
        chunk.flags,
        model=model,
        policy=setup.policy,
        on=setup.on,
        explain=setup.explain,
    )
    scored = time.perf_counter()
    names = output_columns(setup.explain)
    if setup.fmt == "csv":
        text = format_csv_rows(chunk.rows, columns, names)
    else:
        text = format_jsonl_rows(chunk.rows, columns, names)
    return ChunkResult(
        text=text,
        rows=len(chunk.rows),
        decisions=Counter(columns["decision"].tolist()),
        clusters=Counter(columns["cluster"].tolist()),
        seconds_scoring=scored - started,
        seconds_formatting=time.perf_counter() - scored,
    )


class InlineScorer:
    """Scores chunks one after another in this process."""

    def __init__(self, setup: ScoringSetup) -> None:
        self._model, self._setup = load(setup)

    def map(self, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
        for chunk in chunks:
            yield score_chunk(chunk, self._model, self._setup)

    def close(self) -> None:
        pass

    def __enter__(self) -> InlineScorer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _ready(item: Future[ChunkResult] | ChunkResult) -> bool:
    return not isinstance(item, Future) or item.done()


def _result(item: Future[ChunkResult] | ChunkResult) -> ChunkResult:
    if not isinstance(item, Future):
        return item
    result = item.result()
    if result.text_file is not None:
        result.text, result.text_file = take_text(result.text_file), None
    return result


# State of a worker process, set once by the pool initializer.
_WORKER: dict[str, Any] = {}

# The parent's loaded model and setup, for workers started by fork to take over as they are.
_INHERITED: dict[str, Any] = {}


def _init_worker(setup: ScoringSetup, owner: int) -> None:
    # Ctrl-C reaches the whole process group; only the parent decides what to do about it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's handler is not for workers
    die_with_owner(owner)
    if _INHERITED:
        _WORKER.update(_INHERITED)
    else:
        _WORKER["model"], _WORKER["setup"] = load(setup)
        # The worker is ours: keep the loaded model out of the cyclic collector's walks
        # (see akarclf.cli.score._load_model_for_good).
        gc.freeze()


def _score_in_worker(chunk: Chunk | str) -> ChunkResult:
    """Score a chunk given as is (through the pipe) or as a spool file (result spooled too)."""
    if isinstance(chunk, Chunk):
        return score_chunk(chunk, _WORKER["model"], _WORKER["setup"])
    result = score_chunk(take_chunk(chunk), _WORKER["model"], _WORKER["setup"])
    result.text, result.text_file = "", spool_text(result.text, chunk)
    return result


def _started() -> bool:
    return True


#: Modules the fork server imports before forking workers (scikit-learn via the gate and text).
_PRELOAD = [
    "akarclf.scoring.workers",
    "akarclf.gate.decision",
    "akarclf.model.classifier",
    "akarclf.text.normalize",
]


def start_method() -> str:
    """How worker processes are started.

    ``fork`` on Linux while this process has a single thread: the workers start at once with
    the model this process already loaded (shared copy-on-write, no second load, no second
    import of scikit-learn). Otherwise ``forkserver`` (or ``spawn``): forking a process that
    runs other threads (a notebook, a progress bar) can deadlock, and fork is unsafe on macOS.
    """
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


class PoolScorer:
    """Scores chunks in ``jobs`` processes: ``jobs - 1`` workers and this one; input order kept.

    Chunks go to the workers while they have fewer than :data:`IN_FLIGHT_PER_WORKER` chunks
    each in hand; otherwise this process, which reads and writes anyway, scores the chunk
    itself. So ``jobs`` processes score and load the model (once each), with no process that
    only waits, and at most ``jobs * IN_FLIGHT_PER_WORKER`` chunks are held at any time.
    """

    def __init__(self, setup: ScoringSetup, jobs: int) -> None:
        if jobs < 2:
            raise ValueError(f"a pool needs at least 2 jobs, got {jobs}")
        self.jobs = jobs
        self._model, self._setup = load(setup)
        self.start_method = start_method()
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            # Imported once in the fork server, so each worker starts with them loaded.
            context.set_forkserver_preload(_PRELOAD)
        elif self.start_method == "fork":
            _INHERITED.update(model=self._model, setup=self._setup)
        try:
            self._pool = ProcessPoolExecutor(
                max_workers=jobs - 1,
                mp_context=context,
                initializer=_init_worker,
                initargs=(setup, os.getpid()),
            )
            if self.start_method == "fork":
                # Fork now, before the caller opens files or starts threads (progress bar).
                try:
                    self._pool.submit(_started).result()
                except BaseException:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    raise
        finally:
            _INHERITED.clear()
        self._spool = spool_or_none()
        self.chunks_here = 0

    def map(self, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
        workers = self.jobs - 1
        window = self.jobs * IN_FLIGHT_PER_WORKER
        pending: deque[Future[ChunkResult] | ChunkResult] = deque()
        for chunk in chunks:
            busy = sum(1 for p in pending if isinstance(p, Future) and not p.done())
            if busy < workers * IN_FLIGHT_PER_WORKER:
                pending.append(self._submit(chunk))
            else:
                pending.append(score_chunk(chunk, self._model, self._setup))
                self.chunks_here += 1
            while pending and (len(pending) >= window or _ready(pending[0])):
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())

    def _submit(self, chunk: Chunk) -> Future[ChunkResult]:
        if self._spool is None:
            return self._pool.submit(_score_in_worker, chunk)
        return self._pool.submit(_score_in_worker, self._spool.put(chunk))

    def close(self, abort: bool = False) -> None:
        """Stop the workers; chunks not yet started are cancelled. ``abort`` (on Ctrl-C or an
        error) also stops the chunks being scored instead of waiting for them. The spool goes
        in either case, with any chunk or result not yet read."""
        try:
            if not abort:
                self._pool.shutdown(wait=True, cancel_futures=True)
                return
            # The executor has no public way to stop running work: end its worker processes.
            processes = dict(getattr(self._pool, "_processes", None) or {})
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes.values():
                process.terminate()
            for process in processes.values():
                process.join(timeout=5)
            for process in processes.values():
                if process.is_alive():  # so that none writes into the spool being removed
                    process.kill()
                    process.join(timeout=5)
        finally:
            if self._spool is not None:
                self._spool.remove()

    def __enter__(self) -> PoolScorer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(abort=exc_type is not None)
