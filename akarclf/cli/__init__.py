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
COMMAND_MODULES = ("score", "train", "evaluate", "tune_policy")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="akarclf",
        description="Classify Indonesian product titles into AKAR clusters and gate "
        "cross-border listings.",
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
        return 130
    except (FileNotFoundError, ValueError, TypeError) as error:
        print(f"akarclf {args.command}: error: {error}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
