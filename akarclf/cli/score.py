"""``akarclf score``: classify and gate a whole catalogue file, streaming, with a rejects file.

A thin shell over :func:`akarclf.scoring.score_file`: it parses the options, turns SIGTERM into
the same clean stop as Ctrl-C (no partial output file), prints the run summary on stderr and
maps the outcome to the exit status (the table in :mod:`akarclf.cli`): 0 every row scored,
3 some rows rejected, 2 usage error or an input file or policy that cannot be used, 1 any other
error, 130 interrupted by Ctrl-C, 143 by SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import textwrap
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from akarclf.cli import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_STATUS_HELP,
    EXIT_TERMINATED,
    EXIT_USAGE,
)
from akarclf.cli.arguments import integer_at_least

if TYPE_CHECKING:
    from akarclf.gate.policy import Policy


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def register(subparsers: Any) -> None:
    """Add the ``score`` sub-command to the ``akarclf`` parser."""
    from akarclf.scoring.runner import DEFAULT_CHUNK_SIZE

    parser = subparsers.add_parser(
        "score",
        help="score a CSV or JSONL file of listings (cluster, probabilities, decision)",
        description=textwrap.fill(
            "Classify every listing of INPUT and decide block/review/allow for cross-border "
            "sellers. Every input column is kept and cluster, confidence, p_<cluster>, "
            "decision, reason, model_version and policy_version are appended. Rows that "
            "cannot be scored go to the rejects file with their line number and reason."
        ),
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="INPUT", help="CSV or JSONL file, .gz allowed, - = stdin")
    parser.add_argument(
        "-o", "--output", required=True, metavar="OUTPUT", help="output file, - = stdout"
    )
    parser.add_argument("--model", metavar="PATH", help="model file (default: the shipped one)")
    parser.add_argument("--policy", metavar="PATH", help="policy TOML (default: the shipped one)")
    parser.add_argument(
        "--on", type=_date, metavar="DATE", help="decision date YYYY-MM-DD (default: today, UTC)"
    )
    parser.add_argument("--title-col", default="title", help="title column (default: title)")
    parser.add_argument(
        "--cross-border-col",
        default=None,
        metavar="NAME",
        help="seller flag column (default: cross_border if present; without one every "
        "listing is treated as cross-border)",
    )
    parser.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        help="format of input and output (default: by file extension, csv for -)",
    )
    parser.add_argument(
        "--chunk-size",
        type=integer_at_least(1),
        default=DEFAULT_CHUNK_SIZE,
        metavar="N",
        help=f"rows scored at a time (default: {DEFAULT_CHUNK_SIZE})",
    )
    parser.add_argument(
        "--jobs",
        type=integer_at_least(1),
        default=1,
        metavar="N",
        help="worker processes that score; output stays in input order (default: 1, score here)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="add an evidence column (n-grams and weights)"
    )
    parser.add_argument(
        "--rejects", metavar="PATH", help="rejects CSV (default: OUTPUT.rejects.csv)"
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )
    parser.set_defaults(func=run)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so the run stops like on Ctrl-C."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def _install_sigterm() -> Any:
    """Make SIGTERM stop the run cleanly; returns the handler to restore (None: not installed)."""
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        return None
    return signal.SIG_DFL if previous is None else previous


def _load_model_for_good(path: str | None) -> None:
    """Load the model (the loader caches it for the run) and keep everything this process
    holds out of the cyclic garbage collector's walks (:func:`gc.freeze`): the model's many
    long-lived objects would otherwise be walked again at every full collection. A command
    owns its process and may do this; :func:`akarclf.score_file`, a library call, leaves the
    host's collector alone (its ``--jobs`` workers do the same for themselves)."""
    import gc

    from akarclf.scoring.workers import load_model

    load_model(path)
    gc.freeze()


def _policy_and_date(args: argparse.Namespace) -> tuple[Policy, dt.date]:
    """The policy and decision date of the run; a warning on stderr when the policy closes no
    cluster on that date (every cross-border listing would be allowed: likely a typo)."""
    from akarclf.gate.policy import PolicyError, closure_warning, load_policy, today_utc

    try:
        policy = load_policy(args.policy)
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {args.policy}") from None
    on = today_utc() if args.on is None else args.on
    warning = closure_warning(policy, on)
    if warning:
        print(f"akarclf score: warning: {warning}", file=sys.stderr)
    return policy, on


def run(args: argparse.Namespace) -> int:
    """Run ``akarclf score``; returns the exit status."""
    from akarclf.gate.policy import PolicyError
    from akarclf.scoring.readers import InputError, UsageError, check_input
    from akarclf.scoring.runner import score_file

    def fail(status: int, message: str) -> int:
        print(f"akarclf score: error: {message}", file=sys.stderr)
        return status

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    previous = _install_sigterm()
    try:
        check_input(args.input)  # before the model loads: a wrong path is reported at once
        policy, on = _policy_and_date(args)
        if args.jobs == 1:
            _load_model_for_good(args.model)
        summary = score_file(
            args.input,
            args.output,
            model=args.model,
            policy=policy,
            on=on,
            title_col=args.title_col,
            cross_border_col=args.cross_border_col,
            format=args.format,
            chunk_size=args.chunk_size,
            jobs=args.jobs,
            explain=args.explain,
            rejects=args.rejects,
            progress=progress,
        )
    except KeyboardInterrupt as stop:
        print("akarclf score: interrupted; no output file was written", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(stop, _Terminated) else EXIT_INTERRUPTED
    except (UsageError, InputError, PolicyError) as error:
        return fail(EXIT_USAGE, str(error))
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`): silence the final flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return fail(EXIT_FAILURE, "output closed before the run ended")
    except Exception as error:  # every other failure: exit 1 with a message
        return fail(EXIT_FAILURE, f"{type(error).__name__}: {error}")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print(summary.report(), file=sys.stderr)
    return summary.exit_status


def build_parser() -> argparse.ArgumentParser:
    """A parser with only the ``score`` sub-command."""
    parser = argparse.ArgumentParser(prog="akarclf")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``akarclf score`` as a process of its own (``python -m akarclf.cli.score ARGS``)."""
    args = build_parser().parse_args(["score", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
