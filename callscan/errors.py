"""One error type for problems a user can cause, and the documented exit codes."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of every callscan command (also listed in the README)."""

    OK = 0
    SOME_INPUTS_FAILED = 1
    USAGE = 2
    INTERRUPTED = 130


class CallscanError(Exception):
    """A problem with the user's input or setup, reported as one line (plus a hint)."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(CallscanError):
    """A single input file cannot be used; the batch goes on without it."""


class ModelError(CallscanError):
    """A model is missing, damaged or cannot be fetched."""
