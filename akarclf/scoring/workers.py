"""Score chunks into output text, in input order: in this process, or in worker processes.

A chunk is scored by :func:`akarclf.scoring.core.score_columns` and formatted to text in the
process that scores it. With ``jobs`` > 1, :func:`score_chunks` hands chunks to ``jobs`` worker
processes (a standard process pool; workers are spawned, not forked, so a parent that runs
threads cannot deadlock them) and yields their results in input order, with at most
:data:`IN_FLIGHT_PER_WORKER` chunks per worker in flight, so memory does not grow with the
input. Each worker loads the model once, on its first chunk.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Generator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from akarclf.scoring.core import Model, output_columns, score_columns
from akarclf.scoring.readers import Chunk
from akarclf.scoring.writers import format_csv_rows, format_jsonl_rows

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event

    from akarclf.gate.policy import Policy

#: Chunks in flight per worker: one being scored, one queued, so no worker waits for input.
IN_FLIGHT_PER_WORKER = 2

#: Seconds between a worker's checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 0.5


@dataclass(frozen=True)
class ScoringSetup:
    """Everything needed to score a chunk: picklable, sent once to each worker."""

    model: Model | str | Path | None
    policy: Policy
    fmt: str
    on: date | None = None
    explain: bool = False


@dataclass
class ChunkResult:
    """A scored chunk: its output text and the counts the run summary needs."""

    text: str
    rows: int
    decisions: Counter[str]
    clusters: Counter[str]
    seconds_scoring: float
    seconds_formatting: float


def load_model(path: str | Path | None) -> Model:
    """Load a model file (None: the shipped default) with the package's loader."""
    from akarclf.model.persistence import load_model as load

    model: Model = load(path)
    return model


def _model(setup: ScoringSetup) -> Model:
    """The model object of ``setup``, loading it when given as a path or None."""
    model = setup.model
    if model is None or isinstance(model, (str, Path)):
        return load_model(model)
    return model


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


def score_chunks(
    setup: ScoringSetup, chunks: Iterable[Chunk], jobs: int
) -> Generator[ChunkResult, None, None]:
    """Score ``chunks`` in this process (``jobs`` 1) or in ``jobs`` workers; input order kept.

    Close the generator when stopping early (Ctrl-C, an error while writing) so that the
    workers stop.
    """
    if jobs == 1:
        model = _model(setup)
        for chunk in chunks:
            yield score_chunk(chunk, model, setup)
        return
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_init_worker,
        initargs=(setup, os.getpid(), stop),
    )
    pending: deque[Future[ChunkResult]] = deque()
    try:
        for chunk in chunks:
            pending.append(pool.submit(_score_in_worker, chunk))
            if len(pending) >= jobs * IN_FLIGHT_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        if pending:  # stopped early: the workers end now, with the chunks in their hands
            stop.set()
        pool.shutdown(wait=not pending, cancel_futures=True)


# State of a worker process, set by the pool initializer and on the first chunk.
_WORKER: dict[str, Any] = {}


def _init_worker(setup: ScoringSetup, parent: int, stop: Event) -> None:
    # Ctrl-C reaches the whole process group; only the parent decides what to do about it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["setup"] = setup
    threading.Thread(target=_exit_on_stop, args=(parent, stop), daemon=True).start()


def _exit_on_stop(parent: int, stop: Event) -> None:
    """End this worker when the parent stops the run early, or is gone: a worker otherwise
    waits for work for ever after its parent is killed outright (SIGKILL)."""
    while os.getppid() == parent and not stop.wait(PARENT_CHECK_SECONDS):
        pass
    os._exit(1)


def _score_in_worker(chunk: Chunk) -> ChunkResult:
    setup: ScoringSetup = _WORKER["setup"]
    if "model" not in _WORKER:  # loaded here, not in the initializer, so errors reach the parent
        _WORKER["model"] = _model(setup)
        # The process is ours: keep the model's many objects out of the collector's walks.
        gc.freeze()
    return score_chunk(chunk, _WORKER["model"], setup)
