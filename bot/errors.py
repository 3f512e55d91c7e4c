"""The project's own exceptions: raised where bad input enters, shown to users as one line."""

from __future__ import annotations


class WirebriefError(Exception):
    """Base class: the message is written for the person who ran the command."""


class ConfigError(WirebriefError):
    """A setting is missing or has a wrong value."""


class ImportFormatError(WirebriefError):
    """An import file (or one record of it) could not be read."""


class TopicError(WirebriefError):
    """A topics file is malformed, or a topic does not exist."""


class SpanError(WirebriefError):
    """A time or span argument could not be understood."""


class QueryError(WirebriefError):
    """A search query has nothing searchable in it."""


class StoreError(WirebriefError):
    """The database could not be opened or migrated."""
