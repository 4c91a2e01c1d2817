"""The engine: the columnar service day and every indicator kernel that runs on it.

One service day is held once, as integer codes (:class:`FeedDay`): trips
sorted by ``trip_id`` (row *i* of ``day.trips`` is trip code *i*), the stops
served on the day sorted by ``stop_id`` (``day.stop_ids``), and one row per
stop time in four plain arrays (trip code, stop code, stop_sequence,
arrival and departure in seconds), sorted by trip then stop order. The
notebooks (through :func:`citybridge.feed.feed_day`) and ``citybridge
indicators`` (through :func:`citybridge.feed.read_day`) get the same object;
modules that still want row-wise stop times read :attr:`FeedDay.stop_times`,
a table built from the codes on first use.

The kernels here count and sort integer keys instead of grouping strings:
stop-to-stop links (:func:`links`), per-trip distance and duration
(:func:`trip_stats`), departures by stop and period (:func:`stop_departures`,
:func:`stop_stats`), segment runs (:func:`segment_runs`) and their
time-weighted aggregation (:func:`aggregate_segments`). The public functions
of :mod:`citybridge.service` and :mod:`citybridge.speed` are thin calls into
them; each indicator is written once.
"""
from __future__ import annotations

from .day import MODE_ORDER, FeedDay, codes_of, sorted_codes
from .segments import aggregate_segments, segment_runs, segment_stats
from .stops import stop_departures, stop_stats
from .trips import links, trip_stats

__all__ = ["MODE_ORDER", "FeedDay", "aggregate_segments", "codes_of", "links", "segment_runs", "segment_stats",
           "sorted_codes", "stop_departures", "stop_stats", "trip_stats"]
