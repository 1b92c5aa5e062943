"""User-facing errors: each one becomes a single line on stderr and a non-zero exit code."""

from __future__ import annotations

from pathlib import Path

EXIT_ERROR = 1  # bad input, bad model file, failed step
EXIT_USAGE = 2  # argparse's own code for invalid arguments
EXIT_NO_DEVICE = 3  # a GPU was asked for but is not there: distinct, so pipelines never retry it


class VirnucproError(Exception):
    """An error the user can act on; the CLI prints its message on one line, without a traceback."""

    exit_code = EXIT_ERROR


class InputError(VirnucproError):
    """A problem with an input file or value."""


class DeviceError(VirnucproError):
    """The requested compute device is not available."""

    exit_code = EXIT_NO_DEVICE


def record_error(path: str | Path, number: int, record_id: str, problem: str) -> InputError:
    """Build the error for one FASTA record: file, 1-based record number, ID and the problem."""
    return InputError(f"{path}: record {number} (ID {record_id!r}): {problem}")
