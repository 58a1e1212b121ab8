"""The ``akarclf`` console command: one sub-command per job (train, evaluate, tune-policy, score).

Each sub-command lives in its own module under :mod:`akarclf.cli` and exposes
``register(subparsers)``; this module only wires them together and maps failures to exit codes,
so that ``akarclf --help`` stays fast (heavy imports happen inside the chosen command).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from akarclf._version import __version__

#: Sub-command modules, in the order ``--help`` lists them.
COMMAND_MODULES = ("score", "monitor", "queue", "train", "evaluate", "tune_policy")

#: Exit statuses of every ``akarclf`` command (``score`` uses them all).
EXIT_OK = 0
#: An error: the message on stderr names the file, row or field.
EXIT_FAILURE = 1
#: Wrong usage, or an input file or policy that cannot be used.
EXIT_USAGE = 2
#: ``score`` finished but some rows were rejected (they are in the rejects file).
EXIT_REJECTS = 3
#: ``monitor`` found a limit crossed (for a scheduled job to alert on).
EXIT_LIMIT_CROSSED = 4
#: Interrupted by Ctrl-C (SIGINT); no partial output file is left.
EXIT_INTERRUPTED = 130
#: Stopped by SIGTERM; no partial output file is left.
EXIT_TERMINATED = 143

#: The table printed by ``--help``.
EXIT_STATUS_HELP = f"""exit status:
  {EXIT_OK:<4} success
  {EXIT_FAILURE:<4} error (the message on stderr names the file, row or field)
  {EXIT_USAGE:<4} usage error, or an input file or policy that cannot be used
  {EXIT_REJECTS:<4} score finished but some rows were rejected (see the rejects file)
  {EXIT_LIMIT_CROSSED:<4} monitor found a limit crossed
  {EXIT_INTERRUPTED:<4} interrupted (Ctrl-C); no partial output file is left
  {EXIT_TERMINATED:<4} stopped by SIGTERM; no partial output file is left"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="akarclf",
        description="Classify Indonesian product titles into AKAR clusters and gate "
        "cross-border listings.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"akarclf {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"akarclf.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(arguments)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("akarclf: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (FileNotFoundError, ValueError, TypeError) as error:
        print(f"akarclf {args.command}: error: {error}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
