"""Scheduled speed (chapter 04_speed): by segment, route and hour; slow corridors.

All speeds are *scheduled* speeds from the timetable, over straight-line
distances between consecutive stops in the day's local metric CRS
(:meth:`citybridge.feed.FeedDay.stops_xy`). Straight lines are shorter than
the street path, so these speeds are a lower bound of the true scheduled
speed (noticeably so on winding routes).

Zero run times
--------------
Timetables published to the minute often give two consecutive stops the
same time, which would make an infinite speed. :func:`segment_speeds` merges
every link whose run time is zero or negative with the link(s) that follow
it in the same trip, up to the next link with a positive run time: the
merged segment runs from the first stop to the last, its distance is the sum
of the links' straight lines and its run time the sum of the run times
(with the dwell at the merged stops). Links still without a positive run
time at the end of a trip, and links touching a stop without a position, are
dropped; the counts are kept in ``seg.attrs`` (``merged_links``,
``dropped_zero_run_links``, ``dropped_unknown_position_links``).
"""
from __future__ import annotations

import weakref

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import engine as E
from .columns import take_text
from .engine import FeedDay
from .i18n import ngettext
from .periods import Periods, period_table
from .service import trip_table
from .texts import FORMATTER, Text, resolve, tr

#: id of a table of :func:`segment_speeds` -> (weak reference to it, the day's codes of its rows)
_CODES: dict[int, tuple] = {}


def segment_speeds(day: FeedDay) -> pd.DataFrame:
    """Scheduled speed of every stop-to-stop segment of every trip.

    Consecutive stops are paired within each trip (vectorised, no per-trip
    loop); zero run times are merged with the following link (see the module
    notes).

    Parameters
    ----------
    day
        The prepared service day.

    Returns
    -------
    DataFrame
        One row per segment run:

        - ``trip_id``, ``route_id``, ``mode``, ``direction_id``
        - ``from_stop_id``, ``to_stop_id``: the segment's ends
        - ``departure_s``: departure from ``from_stop_id`` (s after midnight
          of the service day)
        - ``arrival_s``: arrival at ``to_stop_id`` (s)
        - ``hour``: hour of ``departure_s`` (0..27, more after 28:00)
        - ``distance_m``: straight-line distance, summed over merged links (m)
        - ``run_s``: ``arrival_s - departure_s`` (s), always > 0
        - ``speed_kmh``: ``distance_m / run_s`` × 3.6 (km/h)
        - ``n_links``: stop-to-stop links in the segment (1 unless merged)

        ``attrs`` holds ``merged_links``, ``dropped_zero_run_links`` and
        ``dropped_unknown_position_links``: links with a zero or negative
        run time merged into a kept segment, links dropped for lack of a
        positive run time, links dropped for lack of a stop position (counts).
    """
    r = E.segment_runs(day)
    run = r["arr"] - r["dep"]
    zero = ~(run > 0)
    unknown = np.isnan(r["dist"]) & ~zero
    dropped_zero = int(r["n_links"][zero].sum())
    dropped_unknown = int(r["n_links"][unknown].sum())
    ok = ~zero & ~unknown
    t = r["trip"][ok]
    trips = day.trips
    seg = pd.DataFrame({
        "trip_id": take_text(trips["trip_id"], t),
        "route_id": take_text(trips["route_id"], t),
        "mode": take_text(trips["mode"], t),
        "direction_id": trips["direction_id"].to_numpy()[t].astype(int),
        "from_stop_id": take_text(day.stop_ids, r["from_stop"][ok]),
        "to_stop_id": take_text(day.stop_ids, r["to_stop"][ok]),
        "departure_s": r["dep"][ok],
        "arrival_s": r["arr"][ok],
        "hour": (r["dep"][ok] // 3600).astype(int),
        "distance_m": r["dist"][ok],
        "run_s": run[ok],
    })
    seg["speed_kmh"] = seg["distance_m"] / seg["run_s"] * 3.6
    seg["n_links"] = r["n_links"][ok].astype(int)
    seg.attrs.update(merged_links=int((r["n_links"][ok] - 1).sum()), dropped_zero_run_links=dropped_zero,
                     dropped_unknown_position_links=dropped_unknown)
    mcode, mnames = E.codes_of(trips["mode"])
    rcode, _ = E.codes_of(trips["route_id"])
    _CODES[id(seg)] = (weakref.ref(seg), {
        "from_stop": r["from_stop"][ok], "to_stop": r["to_stop"][ok], "mode": mcode[t].astype(np.int16),
        "route": rcode[t].astype(np.int32), "stop_names": day.stop_ids, "mode_names": mnames})
    weakref.finalize(seg, _CODES.pop, id(seg), None)
    return seg


def _codes(seg: pd.DataFrame) -> dict | None:
    """The day's codes of a table made by :func:`segment_speeds` (None for any other table)."""
    hit = _CODES.get(id(seg))
    if hit is None or hit[0]() is not seg or len(hit[1]["mode"]) != len(seg):
        return None
    # rows sorted or dropped in place no longer follow the codes
    return hit[1] if seg.index.equals(pd.RangeIndex(len(seg))) else None


def mode_speeds(day: FeedDay) -> pd.DataFrame:
    """Scheduled speed by mode over every segment run of the day.

    The segments of :func:`segment_speeds` (zero run times merged, segments
    without a position or a positive run time dropped), summed without
    building their table.

    Returns
    -------
    DataFrame
        One row per mode with segments, in :meth:`FeedDay.modes` order:
        ``mode``, ``segments`` (count), ``distance_km`` (km), ``run_h`` (h),
        ``speed_kmh``: total distance / total run time (km/h).
    """
    r = E.segment_runs(day)
    run = r["arr"] - r["dep"]
    ok = (run > 0) & ~np.isnan(r["dist"])
    mcode, mnames = E.codes_of(day.trips["mode"])
    m = mcode[r["trip"][ok]]
    out = pd.DataFrame({"mode": mnames.astype(str) if len(mnames) else np.zeros(0, dtype=str),
                        "segments": np.bincount(m, minlength=len(mnames)),
                        "distance_km": np.bincount(m, weights=r["dist"][ok], minlength=len(mnames)) / 1000,
                        "run_h": np.bincount(m, weights=run[ok], minlength=len(mnames)) / 3600})
    out = out[out["segments"] > 0]
    out["speed_kmh"] = out["distance_km"] / out["run_h"]
    order = {mode: k for k, mode in enumerate(day.modes())}
    return out.sort_values("mode", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)


def segment_stats(seg: pd.DataFrame, *, periods: Periods | None = None) -> pd.DataFrame:
    """Speed per segment and mode (and period), over all trips running it.

    The mean speed is **time-weighted**: total distance / total run time of
    the trips over the segment, which is the harmonic mean of the trips'
    speeds (each trip runs the same distance). A slow trip therefore counts
    for as long as it occupies the segment, as a rider would feel it.

    Parameters
    ----------
    seg
        Output of :func:`segment_speeds`.
    periods
        When given (``{name: ("HH:MM", "HH:MM")}``), one row per period of
        departure as well; departures outside every period form ``"other"``.

    Returns
    -------
    DataFrame
        One row per ``from_stop_id`` × ``to_stop_id`` × ``mode`` (× ``period``),
        busiest first:

        - ``from_stop_id``, ``to_stop_id``, ``mode`` (and ``period``)
        - ``trips``: trips running the segment (count)
        - ``routes``: routes running it (count)
        - ``distance_m``: mean segment distance (m)
        - ``run_s``: mean run time (s)
        - ``speed_kmh``: total distance / total run time (km/h)
        - ``speed_kmh_min``, ``speed_kmh_max``: slowest and fastest trip (km/h)
    """
    pt = None if periods is None else period_table(periods)
    c = _codes(seg)
    if c is not None:        # straight from segment_speeds: its codes, no text to sort again
        return E.aggregate_segments(c["from_stop"], c["to_stop"], c["mode"], c["route"],
                                    seg["departure_s"].to_numpy(dtype=float), seg["distance_m"].to_numpy(dtype=float),
                                    seg["run_s"].to_numpy(dtype=float), stop_names=c["stop_names"],
                                    mode_names=c["mode_names"], pt=pt)
    stop_code, stop_names = E.codes_of(pd.concat([seg["from_stop_id"], seg["to_stop_id"]], ignore_index=True))
    mode_code, mode_names = E.codes_of(seg["mode"])
    route_code, _ = E.codes_of(seg["route_id"])
    n = len(seg)
    return E.aggregate_segments(stop_code[:n], stop_code[n:], mode_code, route_code,
                                seg["departure_s"].to_numpy(dtype=float), seg["distance_m"].to_numpy(dtype=float),
                                seg["run_s"].to_numpy(dtype=float), stop_names=stop_names, mode_names=mode_names,
                                pt=pt)


def route_speeds(day: FeedDay, *, by_hour: bool = False) -> pd.DataFrame:
    """Scheduled (commercial) speed per route, optionally by hour of trip start.

    Speed = total straight-line distance / total trip time, where trip time
    runs from the first departure to the last arrival (dwell at intermediate
    stops included, as a rider experiences it). Trips of zero duration or
    with a stop without a position are left out; their count is in
    ``attrs["dropped_trips"]``.

    Parameters
    ----------
    day
        The prepared service day.
    by_hour
        One row per route × hour of trip start instead of per route.

    Returns
    -------
    DataFrame
        - ``route_id``, ``route_short_name``, ``mode``
        - ``hour``: hour of trip start (0..27), only with ``by_hour``
        - ``trips``: trips used (count)
        - ``distance_km``: their total straight-line distance (km)
        - ``hours``: their total duration (h)
        - ``speed_kmh``: ``distance_km / hours`` (km/h)

        Trips without a duration or a distance (every stop at one position)
        are left out; ``attrs["dropped_trips"]`` counts them.
    """
    t = trip_table(day)
    # a trip with no distance (all its stops at one position, e.g. DTPM's airport shuttle BA,
    # which runs from a stop back to the same stop) has no measurable speed
    ok = (t["duration_h"] > 0) & (t["distance_km"] > 0)
    dropped = int((~ok).sum())
    t = t[ok].assign(hour=(t.loc[ok, "start_s"] // 3600).astype(int))
    keys = ["route_id", "hour"] if by_hour else ["route_id"]
    out = t.groupby(keys).agg(trips=("trip_id", "size"), distance_km=("distance_km", "sum"),
                              hours=("duration_h", "sum")).reset_index()
    out["speed_kmh"] = out["distance_km"] / out["hours"]
    r = day.routes.drop_duplicates("route_id")[["route_id", "route_short_name", "mode"]]
    out = out.merge(r, on="route_id", how="left")
    out["mode"] = out["mode"].fillna("other")
    out = out[["route_id", "route_short_name", "mode"] + keys[1:] +
              ["trips", "distance_km", "hours", "speed_kmh"]]
    out.attrs["dropped_trips"] = dropped
    return out


def slow_corridors(seg_stats: pd.DataFrame, *, max_speed_kmh: float = 15.0, min_trips: int = 100,
                   min_distance_m: float = 300.0, modes: tuple[str, ...] = ("bus",),
                   stops: pd.DataFrame | None = None) -> pd.DataFrame:
    """Slow segments with heavy service: candidates for bus priority.

    Parameters
    ----------
    seg_stats
        Output of :func:`segment_stats` (with or without periods).
    max_speed_kmh
        Keep segments whose time-weighted speed is at most this (km/h).
    min_trips
        Keep segments run by at least this many trips (per day, or per
        period when ``seg_stats`` is split by period). The default, 100 a
        day, is about one bus every 10 minutes over a 17-hour day.
    min_distance_m
        Ignore shorter segments: at minute-resolution timetables their
        speeds are dominated by rounding.
    modes
        Modes to consider.
    stops
        Optional stops table (``stop_id``, ``stop_name``, e.g.
        ``day.stops``) to add the stop names.

    Returns
    -------
    DataFrame
        The columns of ``seg_stats`` (slowest first), plus
        ``from_stop_name`` and ``to_stop_name`` when ``stops`` is given, and
        ``vehicle_hours``: ``trips × run_s`` / 3600, the time vehicles spend
        on the segment (h), a guide to the benefit of priority there.
    """
    s = seg_stats
    keep = (s["mode"].isin(list(modes)) & (s["speed_kmh"] <= max_speed_kmh) & (s["trips"] >= min_trips)
            & (s["distance_m"] >= min_distance_m))
    out = s[keep].copy()
    out["vehicle_hours"] = out["trips"] * out["run_s"] / 3600
    if stops is not None:
        names = stops.drop_duplicates("stop_id").set_index("stop_id")["stop_name"]
        out.insert(1, "from_stop_name", out["from_stop_id"].map(names).fillna(""))
        out.insert(3, "to_stop_name", out["to_stop_id"].map(names).fillna(""))
    return out.sort_values(["speed_kmh", "trips"], ascending=[True, False], kind="stable").reset_index(drop=True)


def slow_segments_sentence(slow: pd.DataFrame, *, city: str, max_speed_kmh: float, min_trips_per_hour: float,
                           period: str | Text) -> str:
    """One sentence on the slow segments with heavy service, in the language in force.

    Parameters
    ----------
    slow
        :func:`slow_corridors` (``distance_m`` in m, ``vehicle_hours`` in h).
    city
        The city's name.
    max_speed_kmh, min_trips_per_hour
        The thresholds used (km/h; buses per hour).
    period
        The period's name as readers see it (a :class:`~citybridge.texts.Text` is translated).

    Returns
    -------
    str
        E.g. ``"101 segments of Hangzhou run below 18 km/h with 8 or more buses
        per hour in the AM peak period, together 71.3 km and 93 bus-hours."``
    """
    values = dict(n=len(slow), city=city, speed=max_speed_kmh, trips=min_trips_per_hour, period=str(resolve(period)))
    if not len(slow):
        return tr("No segment of {city} runs below {speed:.0f} km/h with {trips:.0f} or more buses per hour in the "
                  "{period} period; try other thresholds above.", **values)
    text = ngettext("{n:,} segment of {city} runs below {speed:.0f} km/h with {trips:.0f} or more buses per hour in "
                    "the {period} period, together {km:,.1f} km and {hours:,.0f} bus-hours.",
                    "{n:,} segments of {city} run below {speed:.0f} km/h with {trips:.0f} or more buses per hour in "
                    "the {period} period, together {km:,.1f} km and {hours:,.0f} bus-hours.", len(slow))
    return FORMATTER.format(text, km=float(slow["distance_m"].sum()) / 1000,
                            hours=float(slow["vehicle_hours"].sum()), **values)


#: Speed classes of the speed map (km/h), slowest first, with their colours.
SPEED_CLASSES = {"< 12 km/h": "#a50f15", "12–18 km/h": "#fb6a4a", "18–25 km/h": "#fdae6b",
                 "25–35 km/h": "#74c476", "≥ 35 km/h": "#238b45"}
_SPEED_EDGES = [0, 12, 18, 25, 35, np.inf]


def segment_lines(seg_stats: pd.DataFrame, stops: pd.DataFrame) -> gpd.GeoDataFrame:
    """Segments of :func:`segment_stats` as straight lines, with a speed class.

    Parameters
    ----------
    seg_stats
        Rows of :func:`segment_stats` (any subset).
    stops
        ``stop_id``, ``stop_lon``, ``stop_lat`` (e.g. ``day.stops``).

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        The ``seg_stats`` columns plus ``speed_class`` (a key of
        :data:`SPEED_CLASSES`) and ``geometry`` (LineString from stop to
        stop). Segments with a stop lacking a position are dropped.
    """
    xy = stops.drop_duplicates("stop_id").set_index("stop_id")[["stop_lon", "stop_lat"]]
    a = xy.reindex(seg_stats["from_stop_id"]).to_numpy()
    b = xy.reindex(seg_stats["to_stop_id"]).to_numpy()
    ok = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    out = seg_stats[ok].copy()
    out["speed_class"] = pd.cut(out["speed_kmh"], _SPEED_EDGES, right=False,
                                labels=list(SPEED_CLASSES)).astype(str)
    geom = shapely.linestrings(np.stack([a[ok], b[ok]], axis=1))
    return gpd.GeoDataFrame(out, geometry=geom, crs="EPSG:4326")
