"""Command-line interface: parses arguments and calls one step function per subcommand.

Each subcommand lives in `virnucpro.commands.<module>` with `HELP`, `configure(parser)` and `run(args) -> int`.
Command modules import only light modules at import time, so `--help` and CPU steps never load torch.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

from virnucpro import __version__
from virnucpro.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    Terminated,
    VirnucproError,
    os_reason,
)

# subcommand name -> module under virnucpro.commands, in the order `--help` lists them
COMMANDS: dict[str, str] = {
    "prepare": "prepare",
    "embed-dnabert": "embed_dnabert",
    "embed-esm": "embed_esm",
    "merge": "merge",
    "predict": "predict",
    "report": "report",
    "run": "run",
    "train": "train",
    "evaluate": "evaluate",
    "export-classifier": "export_classifier",
    "check-dnabert": "check_dnabert",
    "fetch-models": "fetch_models",
    "make-test-models": "make_test_models",
}

log = logging.getLogger("virnucpro")


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: `virnucpro CMD: error: ...`."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def common_options() -> argparse.ArgumentParser:
    """Options every subcommand accepts."""
    parent = Parser(add_help=False)
    group = parent.add_mutually_exclusive_group()
    group.add_argument(
        "-v", "--verbose", action="store_true", help="more log detail; progress even when stderr is not a terminal"
    )
    group.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The `virnucpro` parser with one subparser per command."""
    parser = Parser(prog="virnucpro", description="VirNucPro viral short-sequence identification.")
    parser.add_argument("--version", action="version", version=f"virnucpro {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parent = common_options()
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"virnucpro.commands.{module_name}")
        sub = subparsers.add_parser(
            name, help=module.HELP, description=module.HELP, parents=[parent], prog=f"virnucpro {name}"
        )
        module.configure(sub)
        sub.set_defaults(run=module.run)
    return parser


def configure_logging(verbose: bool, quiet: bool) -> None:
    """Log to stderr: INFO by default, DEBUG with --verbose, WARNING with --quiet."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[virnucpro] %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """While a command runs, SIGTERM raises `Terminated`, so temporary files are removed on the way out."""

    def handler(signum: int, frame: object) -> NoReturn:
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (an embedding application): keep the default
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; return its exit code. Every failure prints one line on stderr, never a traceback
    (an unexpected one says "internal error"; -v adds the traceback for a bug report)."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    prog = f"virnucpro {args.command}"
    try:
        with sigterm_raises():
            return int(args.run(args) or 0)
    except VirnucproError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print(f"{prog}: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except MemoryError:
        print(f"{prog}: error: out of memory", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # a file operation no step anticipated: still one line naming the file
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{prog}: error: {where}{os_reason(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        if args.verbose:
            traceback.print_exc()
        text = " ".join(str(exc).split())[:300] or "no message"
        print(f"{prog}: internal error: {type(exc).__name__}: {text} (please report it; -v shows the traceback)",
              file=sys.stderr)  # fmt: skip
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
