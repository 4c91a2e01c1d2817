"""Reading GTFS safely and preparing one service day, by stage.

==============  ==============================================================
``archive``     archive safety (entry names, sizes, ratios, count) and text
                decoding (UTF-8, UTF-16, GBK, Windows-1252); every table as
                stripped text; bounded streams of one large member
``tables``      column checks, coercion of numbers, coordinates, datum
                conversion, calendar/frequency repairs: :func:`feed_tables`
                (the one reader of the small tables), :func:`read_feed`
``calendar``    which services and trips run on a date; the default date
``columns``     the GTFS column types (as gtfs-kit's); ``stop_times.txt`` as
                integer-coded columns and its one check
``stream``      streaming ``stop_times.txt`` out of a feed into coded columns
                (numpy and pyarrow only; can start before pandas is loaded)
``coded``       a feed read with its stop times as coded columns: the small
                tables and the stream together, a fallback for odd files
``day``         the service day: interpolation, frequency expansion,
                :func:`read_day`, :func:`prepare_day`, :func:`feed_day`
==============  ==============================================================

The day itself, :class:`FeedDay`, is the engine's columnar representation
(:mod:`citybridge.engine`). Every name other modules use is importable from
``citybridge.feed``; each is loaded when first asked for, so the stream of
``stop_times.txt`` (:mod:`citybridge.feed.stream`, numpy and pyarrow only) can
start before pandas is loaded (``citybridge indicators`` does).
"""
from __future__ import annotations

import importlib

#: Where each public name lives (module relative to this package).
_HOME = {
    "FeedDay": "..engine", "times_to_seconds": "..periods",
    **dict.fromkeys(["MAX_COMPRESSION_RATIO", "MAX_MEMBERS", "MAX_UNCOMPRESSED_BYTES", "REQUIRED_FILES", "check_members",
                     "clean_csv", "decode_tables", "decode_text", "folder_tables", "read_member", "read_tables",
                     "require_files", "zip_errors", "zip_tables"], ".archive"),
    **dict.fromkeys(["active_services", "active_trips", "choose_date", "date_choice_note", "date_choice_text",
                     "feed_date_range", "to_date", "trips_by_date", "trips_per_template"], ".calendar"),
    **dict.fromkeys(["build_day", "copy_feed_folder", "day_tables", "expand_frequencies", "feed_day", "interpolate",
                     "interpolation_notes", "prepare_day", "read_day", "utm_crs"], ".day"),
    **dict.fromkeys(["HIGH_CAPACITY_MODES", "REQUIRED_COLUMNS", "FeedTables", "check_service_tables",
                     "convert_datum", "feed_tables", "mode_of", "no_rows", "read_feed", "require_rows"], ".tables"),
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
