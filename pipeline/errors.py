"""The de06 error tree. Messages say what happened and what to do; only cli.py maps them to exit codes."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    ok = 0
    some_inputs_failed = 1
    usage = 2


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


class UsageError(De06Error):
    category = "usage"
    exit_code = ExitCode.usage
