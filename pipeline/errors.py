"""The de06 error tree. Messages say what happened and what to do; only cli.py maps them to exit codes."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """One code per failure class, decided in cli.py alone (OCRmyPDF's table is the model)."""

    ok = 0
    some_inputs_failed = 1
    """The run finished; at least one input failed (its reason is in `documents.error`)."""
    usage = 2
    output_not_writable = 4
    """`--out` is a file, unwritable, full, or locked by another run: nothing was processed."""
    interrupted = 130
    """Ctrl-C (SIGTERM gives 143): what finished is written, the rest listed as interrupted."""


class De06Error(Exception):
    """Base of every error de06 raises on purpose."""

    category = "error"
    exit_code = ExitCode.some_inputs_failed

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputFileError(De06Error):
    """The input cannot be read as a report."""

    category = "input"


class EmptyFileError(InputFileError):
    category = "empty"


class TooLargeError(InputFileError):
    category = "too_large"


class UnsupportedFormatError(InputFileError):
    category = "unsupported"


class EncodingError(InputFileError):
    category = "encoding"


class EncryptedPdfError(InputFileError):
    category = "encrypted"


class CorruptFileError(InputFileError):
    category = "corrupt"


class OcrError(De06Error):
    """Tesseract failed or is missing."""

    category = "ocr"


class OutputError(De06Error):
    """Outputs could not be written."""

    category = "output"
    exit_code = ExitCode.output_not_writable


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a run. A KeyboardInterrupt, so that no library's `except
    Exception` turns it into a failed task; `outcome` holds what was written before it surfaced."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum
        self.outcome: object = None


class UsageError(De06Error):
    category = "usage"
    exit_code = ExitCode.usage
