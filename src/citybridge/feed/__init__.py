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
``day``         the service day: interpolation, frequency expansion,
                :func:`read_day`, :func:`prepare_day`, :func:`feed_day`
==============  ==============================================================

The day itself, :class:`FeedDay`, is the engine's columnar representation
(:mod:`citybridge.engine`). Every name other modules use is importable from
``citybridge.feed``.
"""
from __future__ import annotations

from ..engine import FeedDay
from ..periods import times_to_seconds
from .archive import (MAX_COMPRESSION_RATIO, MAX_MEMBERS, MAX_UNCOMPRESSED_BYTES, REQUIRED_FILES, check_members,
                      clean_csv, decode_tables, decode_text, folder_tables, read_member, read_tables, require_files,
                      zip_errors, zip_tables)
from .calendar import (active_services, active_trips, choose_date, date_choice_note, date_choice_text,
                       feed_date_range, to_date, trips_by_date, trips_per_template)
from .day import (build_day, copy_feed_folder, day_tables, expand_frequencies, feed_day, interpolate,
                  interpolation_notes, prepare_day, read_day, utm_crs)
from .tables import (HIGH_CAPACITY_MODES, REQUIRED_COLUMNS, FeedTables, check_service_tables, convert_datum,
                     feed_tables, mode_of, no_rows, read_feed, require_rows)

__all__ = [
    "FeedDay", "FeedTables", "HIGH_CAPACITY_MODES", "MAX_COMPRESSION_RATIO", "MAX_MEMBERS",
    "MAX_UNCOMPRESSED_BYTES", "REQUIRED_COLUMNS", "REQUIRED_FILES", "active_services", "active_trips", "build_day",
    "check_members", "check_service_tables", "choose_date", "clean_csv", "convert_datum", "copy_feed_folder",
    "date_choice_note", "date_choice_text", "day_tables", "decode_tables", "decode_text", "expand_frequencies", "feed_date_range",
    "feed_day", "feed_tables", "folder_tables", "interpolate", "interpolation_notes", "mode_of", "no_rows",
    "prepare_day", "read_day", "read_feed", "read_member", "read_tables", "require_files", "require_rows",
    "times_to_seconds", "to_date", "trips_by_date", "trips_per_template", "utm_crs", "zip_errors", "zip_tables",
]
