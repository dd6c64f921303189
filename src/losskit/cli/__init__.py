"""The ``losskit`` command: ``list``, ``explain``, ``recommend``, ``plot``, ``eval``.

Each subcommand is a module ``losskit.cli.<name>`` named in :data:`SUBCOMMANDS`; to add
one, write the module and append its name.  A subcommand module defines

- ``HELP``: a one-line description;
- ``add_arguments(parser)``: its arguments (``--json`` is added for every subcommand);
- ``run(args, out) -> int``: does the work, writes through ``out``
  (:class:`losskit.cli.output.Output`) and returns the exit code.

Errors in the input (unknown loss, bad option, unreadable or mismatched file) raise
:class:`~losskit.errors.LossInputError` or :class:`~losskit.cli.output.CommandError`;
``main`` prints them as ``losskit <command>: error: ...`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from losskit import __version__
from losskit.cli.output import CommandError, Output
from losskit.errors import LossInputError

__all__ = ["SUBCOMMANDS", "at_least", "build_parser", "main"]

#: Subcommand modules, in the order ``losskit --help`` lists them.
SUBCOMMANDS: tuple[str, ...] = ("list", "explain", "recommend", "plot", "eval", "lab", "completion")

#: Exit status for bad input, as argparse uses for bad usage.
USAGE_ERROR = 2
#: Exit status for a defect of losskit's, reported in one line.
INTERNAL_ERROR = 1


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` for a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}; got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of :data:`SUBCOMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="losskit",
        description="Explore, choose, plot and evaluate losskit's loss functions.",
    )
    parser.add_argument("--version", action="version", version=f"losskit {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", help="print machine-readable JSON instead of text"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        # importlib, not `from . import`: module names such as `list` and `eval` must not
        # shadow the builtins in this namespace.
        module = importlib.import_module(f"losskit.cli.{name}")
        sub = subparsers.add_parser(
            name, parents=[common], help=module.HELP, description=module.HELP
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``losskit`` command with ``argv`` (default: ``sys.argv[1:]``); return
    the exit status: 0 on success, 2 for bad usage or bad input, 1 for a defect of
    losskit's (one line; ``LOSSKIT_DEBUG=1`` re-raises it with its traceback), 130 on Ctrl-C."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help and on usage errors
        return int(exit_.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    out = Output(sys.stdout, json_mode=args.json)
    try:
        return int(args.run(args, out) or 0)
    except (LossInputError, CommandError) as error:
        print(f"losskit {args.command}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"losskit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`losskit list | head`): stop quietly, and point stdout at
        # devnull so the interpreter's final flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:  # a defect of losskit's: one line; the traceback on request
        if os.environ.get("LOSSKIT_DEBUG"):
            raise
        print(
            f"losskit {args.command}: internal error: {type(error).__name__}: "
            f"{' '.join(str(error).split())} "
            "(a bug: please report it; LOSSKIT_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return INTERNAL_ERROR
