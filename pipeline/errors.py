"""Errors with a message a user can act on: which file, what is wrong (never the file's text)."""
from __future__ import annotations

from pathlib import Path


class NarrativError(Exception):
    """Base class for problems reported to the user without a traceback."""


class InputError(NarrativError):
    """A source file that cannot be read. The message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class StudyError(NarrativError):
    """A study folder or store that cannot be used as asked."""
