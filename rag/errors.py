"""Errors a user can act on.

Every error the CLI shows is a :class:`RagError`: one line that says what is wrong and
where (file, line, setting), so the CLI prints it without a traceback.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class: a message meant for the user, printed on one line."""


class ConfigError(RagError):
    """A setting is unknown, has the wrong type, or names something that does not exist."""


class CorpusError(RagError):
    """An input collection file is malformed. Names the file and, where known, the line."""

    def __init__(self, path: str, line: int | None, problem: str):
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")


class IndexMissingError(RagError):
    """The store holds no index for the current embedding and chunking settings."""


class StoreBusyError(RagError):
    """Another process is writing the same index."""
