"""User-facing errors: each one becomes a single line on stderr and a non-zero exit code."""

from __future__ import annotations

import errno
from pathlib import Path

EXIT_ERROR = 1  # bad input, bad model file, failed step
EXIT_USAGE = 2  # argparse's own code for invalid arguments
EXIT_NO_DEVICE = 3  # a GPU was asked for but is not there: distinct, so pipelines never retry it
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # SIGTERM (128 + SIGTERM), as a shell reports it


class VirnucproError(Exception):
    """An error the user can act on; the CLI prints its message on one line, without a traceback."""

    exit_code = EXIT_ERROR


class InputError(VirnucproError):
    """A problem with an input file or value."""


class OutputError(VirnucproError):
    """An output cannot be written (disk full, read-only, missing directory, ...); nothing half-written is left."""


class DeviceError(VirnucproError):
    """The requested compute device is not available."""

    exit_code = EXIT_NO_DEVICE


class Terminated(BaseException):
    """SIGTERM arrived (raised by the CLI's handler, so that temporary files are removed on the way out)."""


def record_error(path: str | Path, number: int, record_id: str, problem: str) -> InputError:
    """Build the error for one FASTA record: file, 1-based record number, ID and the problem."""
    return InputError(f"{path}: record {number} (ID {record_id!r}): {problem}")


def os_reason(exc: OSError) -> str:
    """A short reason for an OSError: 'no space left on device', 'read-only file system', ..."""
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def write_error(path: str | Path, exc: OSError) -> OutputError:
    """The error for a failed write of `path`."""
    return OutputError(f"{path}: cannot be written ({os_reason(exc)})")
