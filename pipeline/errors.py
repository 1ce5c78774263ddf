"""Errors that reach the user, and the exit codes they map to."""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1      # a bug or an environment problem: not the user's input
EXIT_BAD_INPUT = 2     # the user's input cannot be used; the message says how to fix it
EXIT_INTERRUPTED = 130 # Ctrl-C


class InputError(Exception):
    """The user's input cannot be used. The message names the problem and the fix."""


class PhotoError(InputError):
    """The photo cannot be used (no face, too small, ...)."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


class AudioError(InputError):
    """The narration audio cannot be used (corrupt, silent, ...)."""


class ScriptError(InputError):
    """The script cannot be spoken (empty, only emoji, far too long, ...)."""


class OutputError(InputError):
    """The output path cannot be written."""
