"""``akarclf score`` as a command: exit statuses, stdin/stdout, summary, progress, interruption.

The stub model stands in for the shipped one through the ``akarclf.scoring.workers.load_model``
seam (in-process with monkeypatch, in subprocesses through a small driver), and for ``--jobs``
runs as the model object handed to ``score_file`` (so that it reaches the worker processes).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_batch_readers import CSV_REJECTS, CSV_SCORED_IDS
from test_batch_stub import StubModel, write_stub_policy

from akarclf.cli.score import build_parser
from akarclf.scoring import workers

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
REPO = TESTS.parent

DRIVER = """
import sys
import time
sys.path[:0] = [{repo!r}, {tests!r}]
from test_batch_stub import StubModel, write_stub_policy
import akarclf.scoring.workers as workers
workers.load_model = lambda path: StubModel(delay={delay})
from akarclf.cli.score import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(autouse=True)
def _policy(tmp_path: Path) -> None:
    # The fixed test policy, not the shipped one (re-tuned as models change).
    write_stub_policy(tmp_path / "test_policy.toml")


def main(args: list[str]) -> int:
    """``akarclf score ARGS`` in-process, with the test policy unless one is given."""
    if "--policy" not in args:
        policy = Path(args[args.index("-o") + 1]).parent / "test_policy.toml"
        if policy.is_file():
            args = [*args, "--policy", str(policy)]
    parsed = build_parser().parse_args(["score", *args])
    return int(parsed.func(parsed))


POOL_DRIVER = """
import sys
sys.path[:0] = [{repo!r}, {tests!r}]
if __name__ == "__main__":
    from test_batch_stub import StubModel
    import akarclf.scoring.runner as runner
    real_score_file = runner.score_file
    def with_stub(*args, **kwargs):
        return real_score_file(*args, **{{**kwargs, "model": StubModel(delay=0.05)}})
    runner.score_file = with_stub
    from akarclf.cli.score import main
    sys.exit(main(sys.argv[1:]))
"""


def _policy_arg(tmp_path: Path) -> list[str]:
    return ["--policy", str(tmp_path / "test_policy.toml")]


def _driver(delay: float = 0.0) -> list[str]:
    return [sys.executable, "-c", DRIVER.format(repo=str(REPO), tests=str(TESTS), delay=delay)]


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "load_model", lambda path: StubModel())


def _catalogue(path: Path, n: int) -> Path:
    lines = ["id,title,cross_border"] + [f"{i},Kemeja batik {i},1" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_all_scored_exits_0_with_summary(
    stub: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main([str(_catalogue(tmp_path / "in.csv", 5)), "-o", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert status == 0
    assert "rows read: 5  scored: 5  rejected: 0" in err
    assert "decisions: block 5, review 0, allow 0" in err
    assert "clusters: textile_fashion 5" in err
    assert "rows/s" in err
    assert "scoring" not in err  # no progress bar when stderr is not a terminal


def test_rejected_rows_exit_3(
    stub: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.csv"
    assert main([str(FIXTURES / "broken_listings.csv"), "-o", str(out)]) == 3
    err = capsys.readouterr().err
    assert f"rejected: {len(CSV_REJECTS)}" in err
    assert f"{out}.rejects.csv" in err


def test_progress_on_request(
    stub: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _catalogue(tmp_path / "in.csv", 5)
    assert main([str(source), "-o", str(tmp_path / "o.csv"), "--progress"]) == 0
    assert "rows" in capsys.readouterr().err.split("rows read")[0]


@pytest.mark.parametrize(
    "args",
    [
        ["--title-col", "nama"],
        ["--cross-border-col", "seller"],
        ["--model", "missing.akarclf"],
    ],
)
def test_usage_errors_exit_2(
    stub: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    source = _catalogue(tmp_path / "in.csv", 2)
    assert main([str(source), "-o", str(tmp_path / "out.csv"), *args]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("args", [["--jobs", "0"], ["--on", "yesterday"], ["--chunk-size", "x"]])
def test_bad_option_values_exit_2(stub: None, tmp_path: Path, args: list[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main([str(_catalogue(tmp_path / "in.csv", 2)), "-o", str(tmp_path / "o.csv"), *args])
    assert stop.value.code == 2


def test_missing_input_and_bad_policy_exit_2(stub: None, tmp_path: Path) -> None:
    assert main([str(tmp_path / "none.csv"), "-o", str(tmp_path / "o.csv")]) == 2
    policy = tmp_path / "p.toml"
    policy.write_text("[policy]\nid = 3\n", encoding="utf-8")
    source = _catalogue(tmp_path / "in.csv", 2)
    assert main([str(source), "-o", str(tmp_path / "o.csv"), "--policy", str(policy)]) == 2


def test_unreadable_input_exits_2_and_model_failure_exits_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    monkeypatch.setattr(workers, "load_model", lambda path: StubModel())
    assert main([str(empty), "-o", str(tmp_path / "o.csv")]) == 2
    assert f"{empty}: empty" in capsys.readouterr().err

    class Broken(StubModel):
        def predict_proba(self, titles):  # type: ignore[no-untyped-def]
            raise RuntimeError("weights corrupted")

    monkeypatch.setattr(workers, "load_model", lambda path: Broken())
    source = _catalogue(tmp_path / "in.csv", 2)
    assert main([str(source), "-o", str(tmp_path / "o.csv")]) == 1
    assert "weights corrupted" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_on_date_reaches_the_gate(stub: None, tmp_path: Path) -> None:
    # Before AKAR's closures (August 2021) nothing is protected, so nothing is blocked.
    source = _catalogue(tmp_path / "in.csv", 3)
    out = tmp_path / "o.csv"
    assert main([str(source), "-o", str(out), "--on", "2020-01-01"]) == 0
    with out.open(encoding="utf-8", newline="") as handle:
        assert {r["decision"] for r in csv.DictReader(handle)} == {"allow"}


def test_stdin_to_stdout_gzip_and_jsonl_in_a_subprocess(tmp_path: Path) -> None:
    data = (FIXTURES / "broken_listings.csv").read_bytes()
    run = subprocess.run(
        [
            *_driver(),
            "-",
            "-o",
            "-",
            "--rejects",
            str(tmp_path / "rej.csv"),
            *_policy_arg(tmp_path),
        ],
        input=gzip.compress(data),
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 3, run.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(run.stdout.decode("utf-8"), newline="")))
    assert [r["id"] for r in rows] == CSV_SCORED_IDS
    assert b"rows read: 13" in run.stderr
    with (tmp_path / "rej.csv").open(encoding="utf-8", newline="") as handle:
        assert {int(r["line"]) for r in csv.DictReader(handle)} == set(CSV_REJECTS)

    jsonl = subprocess.run(
        [*_driver(), "-", "-o", "-", "--format", "jsonl", *_policy_arg(tmp_path)],
        input=(FIXTURES / "broken_listings.jsonl").read_bytes(),
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert jsonl.returncode == 3, jsonl.stderr.decode()
    assert len(jsonl.stdout.decode("utf-8").splitlines()) == 5
    assert (tmp_path / "stdout.rejects.csv").is_file()


def _wait_until_writing(process: subprocess.Popen[bytes], out_dir: Path) -> None:
    """Wait until the run writes its temporary output and is well into the run."""
    deadline = time.monotonic() + 30
    while not any(p.suffix == ".part" for p in out_dir.iterdir()):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.05)
    time.sleep(0.5)  # well into the run (80 model calls of 0.05 s)
    assert process.poll() is None, "the run finished before it could be interrupted"


def _interrupt_when_writing(process: subprocess.Popen[bytes], out_dir: Path, signum: int) -> bytes:
    """Wait until the run writes its temporary output, then send ``signum``; its stderr."""
    _wait_until_writing(process, out_dir)
    os.kill(process.pid, signum)
    return process.communicate(timeout=30)[1]


def _still_running(pids: set[int], seconds: float = 15) -> set[int]:
    """Those of ``pids`` still running after up to ``seconds``; they are then killed, so that a
    failing test leaves none behind."""
    deadline = time.monotonic() + seconds
    while (alive := {pid for pid in pids if _running(pid)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return alive


def _start_pool_run(
    tmp_path: Path, stderr: int = subprocess.PIPE
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """Start ``akarclf score --jobs 2`` on 400 listings (the stub model, slowed down) in a child
    process; return it, its output directory and its TMPDIR (empty at the start)."""
    source = _catalogue(tmp_path / "in.csv", 400)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    script = tmp_path / "pool_driver.py"  # a file: worker processes re-import the main module
    script.write_text(POOL_DRIVER.format(repo=str(REPO), tests=str(TESTS)), encoding="utf-8")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    command = [str(script), str(source), "-o", str(out_dir / "scored.csv"), "--jobs", "2"]
    process = subprocess.Popen(
        [sys.executable, *command, "--chunk-size", "5", *_policy_arg(tmp_path)],
        stderr=stderr,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    return process, out_dir, temporary


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree in /proc")
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_jobs_run_leaves_no_output_file_and_no_worker(
    tmp_path: Path, signum: int, status: int
) -> None:
    process, out_dir, temporary = _start_pool_run(tmp_path)
    _wait_until_writing(process, out_dir)
    below = _descendants(process.pid)
    assert below, "the run has no worker process"
    os.kill(process.pid, signum)
    err = process.communicate(timeout=30)[1]
    assert process.returncode == status, err.decode()
    assert b"interrupted" in err
    assert list(out_dir.iterdir()) == []  # no output, no rejects, no temporary file
    assert list(temporary.iterdir()) == []
    assert _still_running(below) == set(), "workers outlived the interrupted run"


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid``, from /proc/PID/task/*/children."""
    found: set[int] = set()
    stack = [pid]
    while stack:
        current = stack.pop()
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                kids = [int(k) for k in children.read_text().split()]
            except OSError:
                continue
            found.update(kids)
            stack.extend(kids)
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and has not exited (a zombie waiting to be reaped has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree in /proc")
def test_killing_the_owner_outright_leaves_no_worker(tmp_path: Path) -> None:
    process, out_dir, _ = _start_pool_run(tmp_path, stderr=subprocess.DEVNULL)
    _wait_until_writing(process, out_dir)
    below = _descendants(process.pid)
    assert below, "the run has no worker process"
    process.kill()  # SIGKILL: no handler runs, the pool is never shut down
    process.wait(timeout=10)
    alive = _still_running(below)
    assert alive == set(), f"processes still running after their owner was killed: {alive}"


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_run_leaves_no_output_file(tmp_path: Path, signum: int, status: int) -> None:
    source = _catalogue(tmp_path / "in.csv", 400)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    process = subprocess.Popen(
        [
            *_driver(delay=0.05),
            str(source),
            "-o",
            str(out_dir / "scored.csv"),
            "--chunk-size",
            "5",
            *_policy_arg(tmp_path),
        ],
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    err = _interrupt_when_writing(process, out_dir, signum)
    assert process.returncode == status, err.decode()
    assert b"interrupted" in err
    assert list(out_dir.iterdir()) == []  # no output, no rejects, no temporary file
