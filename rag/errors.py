"""Typed errors raised by the library; the CLI and UI turn them into one-line messages."""

from __future__ import annotations


class RagError(Exception):
    """Base class for every error a person may need to read."""


class SettingsError(RagError):
    """A setting has an unknown name or an invalid value."""


class BadFileError(RagError):
    """An article file cannot be ingested (empty, binary, undecodable, too large, unsafe path)."""


class IndexMissingError(RagError):
    """No index has been built yet."""


class IndexCorruptError(RagError):
    """The index directory exists but cannot be read."""


class IndexMismatchError(IndexCorruptError):
    """The index was built with another embedding model than the one this process uses."""


class StoreUnavailableError(RagError):
    """The Chroma server cannot be reached."""


class BadQuestionError(RagError):
    """The question is empty, too long, or otherwise unusable."""


class LLMUnavailableError(RagError):
    """The LLM backend cannot be reached, timed out, or failed."""
