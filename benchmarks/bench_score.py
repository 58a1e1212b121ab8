"""Throughput, memory and cost split of ``akarclf score`` on a large resampled catalogue.

Targets (issue "batch scoring"), on the 2-core machine, 1,000,000 listings resampled from the
real titles in ``../shared/data`` with a random cross-border flag:

* ``akarclf score`` end to end, one process: >= 50,000 rows/s, and >= 0.5 x the throughput of
  bare ``model.predict_proba`` on the same titles already in memory;
* ``--jobs 2``: >= 1.5 x the one-process throughput (issue 16);
* peak resident memory <= 400 MB, and within 10 % of the figure for 100,000 rows.

What it does: writes the catalogues to a temporary directory (never into the repository),
times bare ``predict_proba`` in this process (chunks of ``--chunk-size``), runs
``akarclf score`` as child processes (peak RSS of the largest process from its VmHWM, and
the peak of the summed RSS of the process tree, sampled from /proc), and times each stage
in this process on the small catalogue for the cost split. The two large runs (one process,
``--jobs``) alternate ``--repeat`` times and each is reported by its median run. Prints one
table; asserts nothing.

Run: ``python benchmarks/bench_score.py [--rows 1000000] [--small-rows 100000] [--repeat 3]
[--model PATH]``
(default model: the shipped one).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_catalogue import read_titles, write_catalogue

REPO = Path(__file__).resolve().parents[1]

TARGET_ROWS_PER_S = 50_000
TARGET_VS_BARE = 0.5
TARGET_JOBS_SPEEDUP = 1.5
TARGET_PEAK_MB = 400
TARGET_PEAK_GROWTH = 0.10


# -- child processes ---------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Child pids of ``pid``, from ``/proc/PID/task/*/children`` (cheap: the sampler runs
    next to the processes it measures, and a scan of all of /proc took 3 ms a sample); a full
    scan only where the kernel does not offer those files."""
    tasks = Path(f"/proc/{pid}/task")
    try:
        lists = [task / "children" for task in tasks.iterdir()]
    except OSError:
        return []
    if lists and lists[0].exists():
        found = []
        for children in lists:
            try:
                found += [int(child) for child in children.read_text().split()]
            except OSError:
                continue
        return found
    return _children_by_scan(pid)


def _children_by_scan(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def _status_mb(pid: int, field: str) -> float:
    """A memory field of /proc/PID/status (VmRSS, VmHWM) in MB; 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _tree(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(_children(current))
    return found


def run_child(command: list[str]) -> dict[str, Any]:
    """Run ``command``; wall time, exit status, peak RSS of the largest process, of the tree.

    Peaks are read from /proc every 0.1 s: VmHWM (the kernel's high-water mark of each
    process since its exec) for single processes, the summed VmRSS for the tree. ``ru_maxrss``
    of ``wait4`` is not used: after a fork+exec from this (large) process it can report this
    process's size instead of the child's.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    high_water: dict[int, float] = {}
    cpu: dict[int, float] = {}
    peak_tree = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not done.is_set():
            pids = _tree(process.pid)
            for pid in pids:
                high_water[pid] = max(high_water.get(pid, 0.0), _status_mb(pid, "VmHWM"))
                cpu[pid] = max(cpu.get(pid, 0.0), _cpu_seconds(pid))
            peak_tree = max(peak_tree, sum(_status_mb(pid, "VmRSS") for pid in pids))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    process.wait()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return {
        "seconds": seconds,
        "status": process.returncode,
        "peak_mb": max(high_water.values(), default=0.0),
        "peak_tree_mb": peak_tree,
        "cpu_seconds": sum(cpu.values()),
        "busiest_cpu_seconds": max(cpu.values(), default=0.0),
        "load": os.getloadavg()[0],
        "stderr": stderr,
    }


#: How ``akarclf score`` is started: ``cli`` as the console script does (every sub-command
#: registered), ``module`` as ``python -m akarclf.cli.score`` (only ``score`` loaded).
ENTRIES = {
    "cli": ["-c", "import sys; from akarclf.cli import main; sys.exit(main())", "score"],
    "module": ["-m", "akarclf.cli.score"],
}


def score_command(
    source: Path, output: Path, model: str | None, *extra: str, entry: str = "cli"
) -> list[str]:
    command = [sys.executable, *ENTRIES[entry], str(source), "-o", str(output)]
    if model:
        command += ["--model", model]
    return [*command, "--no-progress", *extra]


# -- stage timings -----------------------------------------------------------------------------


def cost_split(source: Path, model: Any, chunk_size: int) -> dict[str, float]:
    """Seconds spent in each stage of scoring ``source``, stage by stage, in this process.

    For a ClusterClassifier the model is taken apart along its batch path
    (:class:`akarclf.model.sparse_scoring.BatchScorer`): normalisation, indexing the words (stemming
    and n-grams of words not seen before), TF-IDF, then SVM scores, calibration and prior.
    The model is the one ``main`` loaded, so its index is as warm as bare ``predict_proba``
    left it (the steady state of a long run); a model the scorer does not serve is timed as
    one stage.
    """

    from akarclf.clusters import CLUSTERS
    from akarclf.gate.decision import gate
    from akarclf.gate.policy import load_policy
    from akarclf.scoring.core import output_columns
    from akarclf.scoring.readers import CsvReader, open_input
    from akarclf.scoring.writers import format_csv_rows
    from akarclf.text.normalize import blank_mask, normalize_title

    policy = load_policy()
    scorer = model._batch_scorer() if hasattr(model, "_batch_scorer") else None
    split = dict.fromkeys(
        [
            "reading",
            *(_SCORER_STAGES if scorer is not None else ["predicting"]),
            "gating",
            "formatting + writing",
        ],
        0.0,
    )
    names = output_columns(False)
    classes = [str(c) for c in model.classes_]
    with open_input(source) as stream, open(os.devnull, "w", encoding="utf-8") as sink:
        chunks = CsvReader(stream).chunks(chunk_size, lambda reject: None)
        clock = _Clock(split)
        while True:
            chunk = next(chunks, None)
            clock.lap("reading")
            if chunk is None:
                break
            titles = chunk.titles
            if scorer is None:
                proba = np.asarray(model.predict_proba(titles))
                blank = blank_mask(titles)
                clock.lap("predicting")
            else:
                normalized = [normalize_title(t) for t in titles]
                blank = np.array([not text for text in normalized], dtype=bool)
                clock.lap(_SCORER_STAGES[0])
                resolved = scorer.resolve(normalized)
                clock.lap(_SCORER_STAGES[1])
                blocks = scorer.tfidf(resolved)
                clock.lap(_SCORER_STAGES[2])
                proba = model._apply_prior(scorer.view.calibrate(scorer.linear_scores(blocks)))
                clock.lap(_SCORER_STAGES[3])
            result = gate(proba, classes, chunk.flags, blank, policy, None)
            clock.lap("gating")
            n = len(titles)
            columns = {
                "cluster": result.cluster.astype(object),
                "confidence": result.confidence,
                **{f"p_{c}": proba[:, classes.index(c)] for c in CLUSTERS},
                "decision": result.decision.astype(object),
                "reason": result.reason.astype(object),
                "model_version": np.full(n, model.model_version, dtype=object),
                "policy_version": np.full(n, policy.label, dtype=object),
            }
            sink.write(format_csv_rows(chunk.rows, columns, names))
            clock.lap("formatting + writing")
    return split


#: Stages of ClusterClassifier's batch path, in order.
_SCORER_STAGES = [
    "normalising",
    "indexing words (stems, n-grams of new ones)",
    "vectorising (TF-IDF)",
    "predicting (SVM, calibration, prior)",
]


class _Clock:
    """Adds the time since the previous lap to a stage of ``split``."""

    def __init__(self, split: dict[str, float]) -> None:
        self._split = split
        self._last = time.perf_counter()

    def lap(self, stage: str) -> float:
        now = time.perf_counter()
        seconds = now - self._last
        self._split[stage] += seconds
        self._last = now
        return seconds


# -- main --------------------------------------------------------------------------------------


def bare_predict(titles: list[str], model: Any, chunk_size: int) -> tuple[float, float]:
    """Rows per wall second and per CPU second of ``model.predict_proba`` over ``titles`` in
    memory, ``chunk_size`` at a time."""
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(titles), chunk_size):
        model.predict_proba(titles[i : i + chunk_size])
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return len(titles) / wall, len(titles) / cpu


def median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time (the lower middle one for an even count)."""
    ordered = sorted(results, key=lambda result: result["seconds"])
    return ordered[(len(ordered) - 1) // 2]


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    from akarclf.scoring.runner import DEFAULT_CHUNK_SIZE
    from akarclf.scoring.workers import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small-rows", type=int, default=100_000)
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each large measurement (median is kept)"
    )
    parser.add_argument("--skip-split", action="store_true", help="skip the cost split")
    parser.add_argument(
        "--entry",
        choices=sorted(ENTRIES),
        default="cli",
        help="start akarclf score as the console script does (cli) or as its own module",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    model = load_model(args.model)
    pool = read_titles()
    print(f"model: {model.model_version}; {len(pool):,} distinct source titles", flush=True)
    with tempfile.TemporaryDirectory(prefix="akarclf-bench-") as tmp:
        work = Path(tmp)
        big = write_catalogue(work / "big.csv", args.rows, seed=args.seed, titles=pool)
        small = write_catalogue(
            work / "small.csv", args.small_rows, seed=args.seed + 1, titles=pool
        )
        mb = big.stat().st_size / 2**20
        print(f"catalogues in {work}: {args.rows:,} rows ({mb:.0f} MB), {args.small_rows:,} rows")

        import csv

        with big.open(encoding="utf-8", newline="") as handle:
            titles = [row["title"] for row in csv.DictReader(handle)]
        bare, bare_cpu = bare_predict(titles, model, args.chunk_size)
        del titles
        print(
            f"bare predict_proba: {bare:,.0f} rows/s, {bare_cpu:,.0f} rows per CPU second, "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )

        # The two large runs alternate, ``--repeat`` times each, so that a slow spell of the
        # machine (run-to-run spread here is about +-8 %) hits both; each is judged on its
        # median run. Pairs go one way then the other (AB BA AB ...) so that a steady drift
        # over the run does not favour whichever comes first.
        jobs_name = f"--jobs {args.jobs}"
        one_run = ("1 process", big, ())
        jobs_run = (jobs_name, big, ("--jobs", str(args.jobs)))
        plan = [("1 process, small", small, ())]
        for i in range(args.repeat):
            plan += [one_run, jobs_run] if i % 2 == 0 else [jobs_run, one_run]
        every: dict[str, list[dict[str, Any]]] = {}
        for name, source, extra in plan:
            out = work / "out.csv"
            result = run_child(score_command(source, out, args.model, *extra, entry=args.entry))
            if result["status"] not in (0, 3):
                print(result["stderr"], file=sys.stderr)
                raise SystemExit(f"akarclf score failed ({name}): status {result['status']}")
            rows = args.small_rows if source is small else args.rows
            result["rows_per_s"] = rows / result["seconds"]
            every.setdefault(name, []).append(result)
            print(
                f"{name}: {result['seconds']:.1f} s, {result['rows_per_s']:,.0f} rows/s, "
                f"CPU {result['cpu_seconds']:.1f} s (busiest process "
                f"{result['busiest_cpu_seconds']:.1f} s), peak RSS {result['peak_mb']:.0f} MB "
                f"(tree {result['peak_tree_mb']:.0f} MB), load average {result['load']:.1f}",
                flush=True,
            )
            out.unlink()
        runs = {name: median_run(results) for name, results in every.items()}
        # Speed-up of each alternating pair: the spread the median hides.
        pair_speedups = [
            j["rows_per_s"] / o["rows_per_s"]
            for o, j in zip(every["1 process"], every[jobs_name], strict=True)
        ]

        split = None if args.skip_split else cost_split(small, model, args.chunk_size)

    one = runs["1 process"]
    jobs = runs[jobs_name]
    small_run = runs["1 process, small"]
    growth = one["peak_mb"] / small_run["peak_mb"] - 1
    speedup = jobs["rows_per_s"] / one["rows_per_s"]
    # Without other load, a run takes at least its busiest process's CPU time and at least
    # its total CPU time shared over the cores: the estimate the wall clock gives on an idle box.
    one_cpu = args.rows / one["cpu_seconds"]
    jobs_floor = max(jobs["busiest_cpu_seconds"], jobs["cpu_seconds"] / args.jobs)
    jobs_est = one["cpu_seconds"] / jobs_floor
    rows = [
        ("bare predict_proba (in memory)", f"{bare:,.0f} rows/s", "", ""),
        (
            f"akarclf score, 1 process (median of {args.repeat})",
            f"{one['rows_per_s']:,.0f} rows/s",
            f">= {TARGET_ROWS_PER_S:,}",
            _verdict(one["rows_per_s"] >= TARGET_ROWS_PER_S),
        ),
        (
            "  vs bare predict_proba",
            f"{one['rows_per_s'] / bare:.2f} x",
            f">= {TARGET_VS_BARE}",
            _verdict(one["rows_per_s"] / bare >= TARGET_VS_BARE),
        ),
        (
            "  same, per CPU second (load-independent)",
            f"{one_cpu:,.0f} rows/s = {one_cpu / bare_cpu:.2f} x bare ({bare_cpu:,.0f})",
            f">= {TARGET_VS_BARE}",
            _verdict(one_cpu / bare_cpu >= TARGET_VS_BARE),
        ),
        (
            f"akarclf score --jobs {args.jobs} (median of {args.repeat})",
            f"{jobs['rows_per_s']:,.0f} rows/s = {speedup:.2f} x",
            f">= {TARGET_JOBS_SPEEDUP} x",
            _verdict(speedup >= TARGET_JOBS_SPEEDUP),
        ),
        (
            "  speed-up of each alternating pair",
            ", ".join(f"{ratio:.2f}" for ratio in pair_speedups) + " x",
            "",
            "",
        ),
        (
            f"  --jobs {args.jobs} on {args.jobs} free cores (from CPU time)",
            f"{jobs_est:.2f} x",
            f">= {TARGET_JOBS_SPEEDUP} x",
            _verdict(jobs_est >= TARGET_JOBS_SPEEDUP),
        ),
        (
            f"peak RSS, {args.rows:,} rows",
            f"{one['peak_mb']:.0f} MB",
            f"<= {TARGET_PEAK_MB}",
            _verdict(one["peak_mb"] <= TARGET_PEAK_MB),
        ),
        (
            f"peak RSS, {args.small_rows:,} rows",
            f"{small_run['peak_mb']:.0f} MB ({growth:+.1%} at {args.rows:,})",
            f"<= {TARGET_PEAK_GROWTH:+.0%}",
            _verdict(growth <= TARGET_PEAK_GROWTH),
        ),
        (
            f"peak RSS, --jobs {args.jobs}",
            f"{jobs['peak_mb']:.0f} MB per process, {jobs['peak_tree_mb']:.0f} MB in all",
            "",
            "",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print()
    print(f"{'measure':<{width}}  {'value':<{value_width}}  {'target':<10}  verdict")
    for label, value, target, verdict in rows:
        print(f"{label:<{width}}  {value:<{value_width}}  {target:<10}  {verdict}")
    if split is not None:
        total = sum(split.values())
        print(f"\ncost split on {args.small_rows:,} rows (stage by stage, one process)")
        stage_width = max(len(stage) for stage in split)
        for stage, seconds in split.items():
            per_row = seconds / args.small_rows * 1e6
            print(f"  {stage:<{stage_width}} {per_row:7.1f} us/row  {seconds / total:6.1%}")
        print(f"  {'total':<{stage_width}} {total / args.small_rows * 1e6:7.1f} us/row")
    return 0


if __name__ == "__main__":
    sys.exit(main())
