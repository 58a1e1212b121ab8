"""Rows per second versus local workers: ``akarclf score --jobs N``, Dask and Spark.

A catalogue of ``--rows`` listings is resampled from the real titles in ``../shared/data``
(with :mod:`make_catalogue`, into a temporary directory, never the repository). For each
number of local workers in ``--workers`` it times:

* ``cli``: ``akarclf score CATALOGUE -o OUT.csv --jobs N`` as a child process (start-up and
  model load included: the CLI has no warm state to reuse);
* ``dask``: a ``distributed.LocalCluster`` of N single-threaded worker processes;
  ``dd.read_csv`` -> :func:`akarclf.scoring.dask.score` -> ``to_parquet``;
* ``spark``: a ``local[N]`` Spark session; ``spark.read.csv`` ->
  :func:`akarclf.scoring.spark.score` -> ``write.parquet``.

For Dask and Spark the same job runs twice on one cluster: ``cold`` includes each worker's
one model load (and Spark's Python worker start), ``warm`` is the second run, with the model
already cached in every worker process. Cluster start-up is shown separately (Spark's JVM
starts once per run of this script, so only the first Spark row pays for it). Prints the
machine (cores), the 1-minute load average before each run, and one table; asserts nothing.

Run: ``python benchmarks/bench_scale.py [--rows 200000] [--workers 1 2] [--engines cli dask
spark] [--partitions 16]``. Needs the extras ``[dask]`` and ``[spark]`` (and Java for Spark);
an engine that is not installed is reported as such and skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_catalogue import DEFAULT_DATA, read_titles, write_catalogue

REPO = Path(__file__).resolve().parents[1]
ON = "2026-11-22"


@dataclass
class Row:
    engine: str
    workers: int
    start_s: float | None
    cold_s: float
    warm_s: float | None
    load_before: float


def _load1() -> float:
    return os.getloadavg()[0]


def _timed(job: Callable[[], Any]) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    return path


def run_cli(catalogue: Path, work: Path, workers: int) -> Row:
    load = _load1()
    out = work / f"cli_{workers}.csv"
    command = [sys.executable, "-c", "import sys; from akarclf.cli import main; sys.exit(main())"]
    command += ["score", str(catalogue), "-o", str(out)]
    command += ["--on", ON, "--jobs", str(workers), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    seconds = _timed(lambda: subprocess.run(command, check=True, env=env))
    return Row("cli", workers, None, seconds, None, load)


@contextlib.contextmanager
def _dask_client(workers: int) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_dask(catalogue: Path, work: Path, workers: int, partitions: int) -> Row:
    import dask.dataframe as dd

    from akarclf.scoring.dask import score

    load = _load1()
    started = time.perf_counter()
    with _dask_client(workers) as client:
        client.wait_for_workers(workers)
        start_s = time.perf_counter() - started
        blocksize = max(catalogue.stat().st_size // partitions, 1 << 16)

        def job() -> None:
            ddf = dd.read_csv(catalogue, dtype=str, keep_default_na=False, blocksize=blocksize)
            score(ddf, on=ON).to_parquet(_fresh(work / "dask_out"), write_index=False)

        cold = _timed(job)
        warm = _timed(job)
    return Row("dask", workers, start_s, cold, warm, load)


def run_spark(catalogue: Path, work: Path, workers: int, partitions: int) -> Row:
    from pyspark.sql import SparkSession

    from akarclf.scoring.spark import score

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
    )
    load = _load1()
    started = time.perf_counter()
    split = max(catalogue.stat().st_size // partitions, 1 << 16)
    spark = (
        SparkSession.builder.master(f"local[{workers}]")
        .appName("akarclf-bench-scale")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.files.maxPartitionBytes", str(split))
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        spark.range(1).collect()
        start_s = time.perf_counter() - started

        def job() -> None:
            df = spark.read.csv(str(catalogue), header=True, escape='"')
            out = str(_fresh(work / "spark_out"))
            score(df, on=ON).write.mode("overwrite").parquet(out)

        cold = _timed(job)
        warm = _timed(job)
    finally:
        spark.stop()
    return Row("spark", workers, start_s, cold, warm, load)


def _available(engine: str) -> str | None:
    """None when ``engine`` can run here, else why not."""
    modules = {"dask": ("dask.dataframe", "distributed"), "spark": ("pyspark",)}.get(engine, ())
    for module in modules:
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed"
    if engine == "spark" and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java"
    return None


def _rate(rows: int, seconds: float | None) -> str:
    return "" if seconds is None else f"{rows / seconds:,.0f}"


def _secs(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--engines", nargs="+", default=["cli", "dask", "spark"])
    parser.add_argument("--partitions", type=int, default=16, help="input partitions")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder")
    args = parser.parse_args(argv)
    unknown = set(args.engines) - {"cli", "dask", "spark"}
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(sorted(unknown))}")

    import akarclf

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"python {platform.python_version()}, akarclf {akarclf.__version__}", end="")
    for module in ("dask", "distributed", "pyspark", "pandas", "pyarrow"):
        with contextlib.suppress(ImportError):
            print(f", {module} {__import__(module).__version__}", end="")
    print(f"\nmodel {akarclf.load_model().model_version}; load average {os.getloadavg()}")

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="akarclf-bench-scale-") as tmp:
        work = Path(tmp)
        catalogue = write_catalogue(
            work / "catalogue.csv", args.rows, titles=read_titles(args.data)
        )
        print(
            f"catalogue: {args.rows:,} rows, {catalogue.stat().st_size / 1e6:.1f} MB, "
            f"{args.partitions} input partitions for dask/spark\n"
        )
        for engine in args.engines:
            missing = _available(engine)
            if missing:
                print(f"{engine}: skipped ({missing})")
                continue
            for workers in args.workers:
                if engine == "cli":
                    row = run_cli(catalogue, work, workers)
                elif engine == "dask":
                    row = run_dask(catalogue, work, workers, args.partitions)
                else:
                    row = run_spark(catalogue, work, workers, args.partitions)
                rows.append(row)
                print(f"  done {engine} x{workers}", file=sys.stderr)

    header = (
        "engine",
        "workers",
        "load1",
        "start s",
        "cold s",
        "cold rows/s",
        "warm s",
        "warm rows/s",
    )
    table = [header] + [
        (
            r.engine,
            str(r.workers),
            f"{r.load_before:.2f}",
            _secs(r.start_s),
            _secs(r.cold_s),
            _rate(args.rows, r.cold_s),
            _secs(r.warm_s),
            _rate(args.rows, r.warm_s),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
