"""The package's own exception types.

Every error carries a message that names the file, and where it applies the
column and row, and says what to do. Command-line entry points print the
message and exit with a non-zero code instead of showing a traceback.
"""
from __future__ import annotations


class CitybridgeError(Exception):
    """Base class of every error raised on purpose by citybridge."""


class ProfileError(CitybridgeError):
    """A city profile (``city.yml``) is missing, malformed or invalid."""


class FeedError(CitybridgeError):
    """A GTFS feed cannot be read or fails a fatal check."""


class DataError(CitybridgeError):
    """A boundaries, population or bike-share file cannot be used."""


def where(file: object, column: str | None = None, row: int | None = None) -> str:
    """Format a location as ``file, column 'c', row r`` for messages.

    ``row`` is the 1-based data row (the header is row 0), as a spreadsheet
    user would count it below the header.
    """
    parts = [str(file)]
    if column is not None:
        parts.append(f"column '{column}'")
    if row is not None:
        parts.append(f"row {row}")
    return ", ".join(parts)


class ScenarioError(DataError):
    """A disruption scenario (``scenarios`` of ``city.yml`` or a chapter
    parameter) names an unknown stop, route or line, an empty or invalid
    polygon, or a time window outside the service day."""
