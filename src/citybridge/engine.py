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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .columns import take_text
from .periods import Periods, period_codes, period_names, period_of, period_table

#: Order in which modes are listed.
MODE_ORDER = ["metro", "rail", "tram", "bus", "ferry", "aerial", "funicular", "other"]


def sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each (distinct) string in sorted order, and the sorted strings.

    Returns
    -------
    rank, sorted_values
        ``sorted_values[rank] == values``.
    """
    values = np.asarray(values, dtype=object)
    order = np.argsort(values.astype(str) if len(values) else values, kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank, values[order]


def codes_of(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer code of each value, codes in sorted order of the distinct values.

    Returns
    -------
    codes, uniques
        ``uniques[codes]`` gives the values back (int64 codes).
    """
    codes, uniq = pd.factorize(pd.Series(np.asarray(values, dtype=object)), sort=True)
    return codes.astype(np.int64), np.asarray(uniq, dtype=object)


@dataclass(eq=False)
class FeedDay:
    """One service day of a feed, held as integer codes.

    Attributes
    ----------
    feed : gtfs_kit.Feed
        The feed's tables as read (stops in WGS-84). Read through
        :func:`citybridge.feed.read_day` its ``stop_times`` is empty: stop
        times live in the arrays below.
    date : str
        The analysis date, ``YYYYMMDD``.
    crs : str
        The local metric CRS used for distances.
    stops : DataFrame
        ``stop_id``, ``stop_name``, ``stop_lat``, ``stop_lon`` (degrees,
        WGS-84), ``parent_station``, ``location_type``; every stop of the feed.
    routes : DataFrame
        ``route_id``, ``route_short_name``, ``route_long_name``,
        ``route_type``, ``mode``, ``route_color`` (and the feed's other columns).
    trips : DataFrame
        Concrete trips running on the date (frequencies expanded), sorted by
        ``trip_id``; row *i* is trip code *i*: ``trip_id``, ``template_id``,
        ``route_id``, ``mode``, ``service_id``, ``direction_id``,
        ``vehicle_energy`` (``diesel``/``electric``/``other``/``unknown``),
        ``start_s``, ``end_s`` (s after midnight of the service day; may
        exceed 86,400), ``n_stops`` (count).
    stop_ids : ndarray of str
        Stop id of each stop code, sorted; every stop served on the day.
    trip, stop : ndarray of int32
        Trip and stop code of each stop time; rows sorted by trip code then
        stop order.
    seq : ndarray of int64
        ``stop_sequence`` of each stop time.
    arr, dep : ndarray of float
        Arrival and departure (s after midnight of the service day).
    notes : list of str
        What was fixed or assumed while preparing the day.
    city_name : str
        The city's name, when the day belongs to a city.
    """

    feed: object
    date: str
    crs: str
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_ids: np.ndarray
    trip: np.ndarray
    stop: np.ndarray
    seq: np.ndarray
    arr: np.ndarray
    dep: np.ndarray
    notes: list[str] = field(default_factory=list)
    city_name: str = ""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache"] = {k: v for k, v in self._cache.items() if k == "xy"}
        return state

    @property
    def n_stop_times(self) -> int:
        """Number of stop times on the day."""
        return len(self.trip)

    @property
    def is_frequency_based(self) -> bool:
        """Whether the feed has ``frequencies.txt`` rows."""
        fr = getattr(self.feed, "frequencies", None)
        return fr is not None and not fr.empty

    def trip_starts(self) -> np.ndarray:
        """Row index of each trip's first stop time."""
        if "starts" not in self._cache:
            counts = np.bincount(self.trip, minlength=len(self.trips))
            self._cache["starts"] = np.cumsum(counts) - counts
        return self._cache["starts"]

    @property
    def stop_times(self) -> pd.DataFrame:
        """Stop times as a table, built from the codes on first use.

        Columns ``trip_id``, ``template_id``, ``route_id``, ``mode``,
        ``stop_id``, ``stop_sequence`` (int), ``arrival_s``, ``departure_s``
        (s after midnight of the service day); sorted by trip and stop order.
        Treat it as read-only.
        """
        if "stop_times" not in self._cache:
            self._cache["stop_times"] = self.stop_time_rows(None)
        return self._cache["stop_times"]

    def stop_time_rows(self, rows: np.ndarray | None) -> pd.DataFrame:
        """Some rows of :attr:`stop_times` (a boolean mask over the stop times;
        None: all), built without the others; the index is the rows' positions."""
        at = np.arange(len(self.trip)) if rows is None else np.flatnonzero(rows)
        t, trip = self.trips, self.trip[at]
        out = pd.DataFrame({
            "trip_id": take_text(t["trip_id"], trip),
            "template_id": take_text(t["template_id"], trip),
            "route_id": take_text(t["route_id"], trip),
            "mode": take_text(t["mode"], trip),
            "stop_id": take_text(self.stop_ids, self.stop[at]),
            "stop_sequence": self.seq[at],
            "arrival_s": self.arr[at],
            "departure_s": self.dep[at],
        })
        return out if rows is None else out.set_axis(at)

    def stops_xy(self) -> pd.DataFrame:
        """Stops with ``x``, ``y`` in metres in :attr:`crs`, indexed by stop_id."""
        if "xy" not in self._cache:
            from pyproj import Transformer

            tr = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
            x, y = tr.transform(self.stops["stop_lon"].to_numpy(), self.stops["stop_lat"].to_numpy())
            self._cache["xy"] = self.stops.assign(x=x, y=y).set_index("stop_id")
        return self._cache["xy"]

    def remember(self, key: str, compute):
        """The value kept under ``key`` for this day, from ``compute()`` on first use (never pickled)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def modes(self) -> list[str]:
        """Modes with at least one trip on the date, in a fixed order."""
        present = set(self.trips["mode"])
        return [m for m in MODE_ORDER if m in present]

    def select(self, rows: np.ndarray, trips: pd.DataFrame, *, notes: list[str] | None = None) -> FeedDay:
        """The same day keeping only some stop times (e.g. after a closure), without copying text.

        Parameters
        ----------
        rows
            Boolean mask over the day's stop times (the rows of :attr:`stop_times`).
        trips
            The trips to keep (rows of :attr:`trips`, ``start_s``/``end_s``/
            ``n_stops`` may be updated); kept rows of other trips are dropped.
        notes
            Notes of the new day (default: this day's).
        """
        t = trips.sort_values("trip_id", kind="stable").reset_index(drop=True)
        new_code = np.full(len(self.trips), -1, dtype=np.int64)
        old = pd.Index(self.trips["trip_id"]).get_indexer(t["trip_id"])
        new_code[old[old >= 0]] = np.flatnonzero(old >= 0)
        keep = np.asarray(rows, dtype=bool) & (new_code[self.trip] >= 0)
        used, stop = np.unique(self.stop[keep], return_inverse=True)
        out = FeedDay(feed=self.feed, date=self.date, crs=self.crs, stops=self.stops, routes=self.routes,
                      trips=t, stop_ids=self.stop_ids[used], trip=new_code[self.trip[keep]].astype(np.int32),
                      stop=stop.astype(np.int32), seq=self.seq[keep], arr=self.arr[keep], dep=self.dep[keep],
                      notes=list(self.notes if notes is None else notes), city_name=self.city_name)
        if "xy" in self._cache:
            out._cache["xy"] = self._cache["xy"]
        return out


# --------------------------------------------------------------------------
# Links and trips
# --------------------------------------------------------------------------

def links(day: FeedDay) -> dict[str, np.ndarray]:
    """Consecutive stop pairs within trips (computed once per day).

    Returns
    -------
    dict
        ``i``: row of the stop time leaving each link (int32; the link
        reaches row ``i + 1``); ``dist``: straight-line length in
        ``day.crs`` (m; NaN when a stop has no position).
    """
    if "links" in day._cache:
        return day._cache["links"]
    xy = day.stops_xy()
    xy = xy[~xy.index.duplicated()]
    pos = xy.index.get_indexer(day.stop_ids)
    known = pos >= 0
    sx = np.where(known, xy["x"].to_numpy(dtype=float)[pos], np.nan)
    sy = np.where(known, xy["y"].to_numpy(dtype=float)[pos], np.nan)
    i = np.flatnonzero(day.trip[1:] == day.trip[:-1]).astype(np.int32)
    a, b = day.stop[i], day.stop[i + 1]
    with np.errstate(invalid="ignore"):
        dist = np.hypot(sx[b] - sx[a], sy[b] - sy[a])
    dist[~np.isfinite(dist)] = np.nan
    day._cache["links"] = {"i": i, "dist": dist}
    return day._cache["links"]


def trip_stats(day: FeedDay, *, periods: Periods | None = None) -> pd.DataFrame:
    """One row per concrete trip of the day with its distance, duration and period.

    Parameters
    ----------
    day
        The prepared service day.
    periods
        Periods used for the ``period`` column; default ``DEFAULT_PERIODS``.

    Returns
    -------
    DataFrame
        Sorted by ``trip_id``:

        - ``trip_id``, ``template_id``, ``route_id``, ``mode``, ``direction_id``
        - ``start_s``: first departure (s after midnight of the service day)
        - ``end_s``: last arrival (s)
        - ``duration_h``: ``end_s - start_s`` (h)
        - ``distance_km``: sum of straight-line stop-to-stop distances (km);
          NaN when a stop of the trip has no position
        - ``period``: the period in which the trip starts (or ``"other"``)
    """
    lk = links(day)
    n = len(day.trips)
    ltrip = day.trip[lk["i"]]
    unknown = np.isnan(lk["dist"])
    dsum = np.bincount(ltrip, weights=np.where(unknown, 0.0, lk["dist"]), minlength=n)
    bad = np.bincount(ltrip[unknown], minlength=n) > 0
    t = day.trips[["trip_id", "template_id", "route_id", "mode", "direction_id", "start_s", "end_s"]].copy()
    t["duration_h"] = (t["end_s"] - t["start_s"]) / 3600
    t["distance_km"] = np.where(bad, np.nan, dsum / 1000)
    t["period"] = period_of(t["start_s"], periods).to_numpy()
    return t.reset_index(drop=True)


# --------------------------------------------------------------------------
# Stops
# --------------------------------------------------------------------------

def stop_departures(day: FeedDay, *, periods: Periods | None = None,
                    key: pd.Series | None = None) -> pd.DataFrame:
    """Departures per stop (or group of stops) and period, all directions and one-way.

    A departure is a stop time that is not the last stop (highest
    stop_sequence) of its trip; departures outside every period are not
    counted. For one-way counts only each route's busiest direction counts,
    then routes are summed.

    Parameters
    ----------
    day
        The service day.
    periods
        ``{name: ("HH:MM", "HH:MM")}``; default ``DEFAULT_PERIODS``.
    key
        Maps ``stop_id`` to a group (e.g. its parent station); None groups
        by ``stop_id``. Stops not in ``key`` are their own group.

    Returns
    -------
    DataFrame
        One row per group with a stop served on the day × period (groups
        sorted, periods in the order given):

        - ``key``: the group (``stop_id`` without ``key``)
        - ``period``: period name
        - ``departures``: departures, all routes and directions (count)
        - ``departures_one_way``: each route's busiest direction only (count)
        - ``routes``: routes departing (count)
        - ``trips_per_hour``: ``departures_one_way`` per hour of the period (1/h)
        - ``mean_headway_min``: period minutes / ``departures_one_way`` (min);
          NaN without departures
        - ``modes``: modes serving the group on the day, sorted, comma-separated
    """
    pt = period_table(periods)
    P = len(pt)
    if key is None:
        gname = day.stop_ids
        gstop = np.arange(len(gname), dtype=np.int64)
    else:
        k = pd.Series(day.stop_ids).map(key)
        k = k.where(k.notna(), pd.Series(day.stop_ids)).to_numpy(dtype=object)
        gstop, gname = codes_of(k)
    S = len(gname)
    trip = day.trip
    stop = gstop[day.stop] if len(day.stop) else np.zeros(0, np.int64)
    mcode, mnames = codes_of(day.trips["mode"])
    rcode, _ = codes_of(day.trips["route_id"])
    dcode, _ = codes_of(day.trips["direction_id"])
    M, R, D = max(len(mnames), 1), int(rcode.max(initial=0)) + 1, int(dcode.max(initial=0)) + 1
    pair = np.unique(stop * M + mcode[trip])
    has = np.zeros((S, M), dtype=bool)
    has[pair // M, pair % M] = True
    modes = np.full(S, "", dtype=object)
    for m in np.argsort(mnames.astype(str)):
        modes = modes + np.where(has[:, m], mnames[m] + ",", "")
    modes = pd.Series(modes, dtype=object).str.rstrip(",").to_numpy(dtype=object)
    starts = day.trip_starts()
    present = starts < len(trip)
    last = np.zeros(len(day.trips), np.int64)
    if present.any():
        last[present] = np.maximum.reduceat(day.seq, starts[present])
    keep = day.seq < last[trip]
    per = period_codes(day.dep[keep], pt)
    inside = per < P
    t_keep = trip[keep][inside]
    k4 = ((stop[keep][inside] * P + per[inside]) * R + rcode[t_keep]) * D + dcode[t_keep]
    del keep, per, inside, t_keep
    k4, n = np.unique(k4, return_counts=True)
    k3 = k4 // D
    b3 = np.flatnonzero(np.r_[True, k3[1:] != k3[:-1]]) if len(k3) else np.zeros(0, np.int64)
    s3 = np.add.reduceat(n, b3) if len(b3) else np.zeros(0, np.int64)
    m3 = np.maximum.reduceat(n, b3) if len(b3) else np.zeros(0, np.int64)
    k2 = k3[b3] // R
    dep = np.bincount(k2, weights=s3, minlength=S * P).astype(np.int64)
    one = np.bincount(k2, weights=m3, minlength=S * P).astype(np.int64)
    nr = np.bincount(k2, minlength=S * P).astype(np.int64)
    minutes = np.tile(pt["minutes"].to_numpy(dtype=float), S)
    out = pd.DataFrame({
        "key": np.repeat(gname, P).astype(str),
        "period": np.tile(pt["period"].to_numpy(dtype=object), S).astype(str),
        "departures": dep, "departures_one_way": one, "routes": nr,
    })
    out["trips_per_hour"] = one / (minutes / 60)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mean_headway_min"] = minutes / np.where(one > 0, one, np.nan)
    out["modes"] = np.repeat(modes, P).astype(str)
    return out


def stop_stats(day: FeedDay, *, periods: Periods | None = None) -> pd.DataFrame:
    """Departures, trips per hour and headway per stop and period.

    Returns
    -------
    DataFrame
        One row per stop served on the day × period (stops sorted):
        ``stop_id``, ``stop_name``, then the columns of
        :func:`stop_departures` after ``key``: ``period``, ``departures``,
        ``departures_one_way``, ``routes`` (counts), ``trips_per_hour``
        (1/h), ``mean_headway_min`` (min), ``modes``.
    """
    out = stop_departures(day, periods=periods).rename(columns={"key": "stop_id"})
    names = day.stops.drop_duplicates("stop_id").set_index("stop_id")["stop_name"]
    out.insert(1, "stop_name", out["stop_id"].map(names).fillna("").astype(str))
    return out


# --------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------

def segment_runs(day: FeedDay) -> dict[str, np.ndarray]:
    """Stop-to-stop segments run by every trip, zero run times merged forward.

    A link whose run time is zero or negative is merged with the link(s)
    after it in the same trip, up to the next link with a positive run time.

    Returns
    -------
    dict of arrays, one value per segment (before dropping any)
        ``trip`` (trip code), ``from_stop``, ``to_stop`` (stop codes),
        ``dep``, ``arr`` (s), ``dist`` (m, NaN when a stop has no position),
        ``n_links`` (count).
    """
    lk = links(day)
    i, dist = lk["i"], lk["dist"]
    j = i + 1
    n = len(i)
    ltrip = day.trip[i]
    pos = day.arr[j] - day.dep[i] > 0
    starts = np.ones(n, dtype=bool)
    if n:
        starts[1:] = ltrip[1:] != ltrip[:-1]
        starts[1:] |= pos[:-1]
    bs = np.flatnonzero(starts)
    be = np.r_[bs[1:] - 1, n - 1] if n else bs
    unknown = np.isnan(dist)
    if n:
        dsum = np.add.reduceat(np.where(unknown, 0.0, dist), bs)
        dsum[np.add.reduceat(unknown.astype(np.int64), bs) > 0] = np.nan
    else:
        dsum = np.zeros(0)
    return {"trip": ltrip[bs], "from_stop": day.stop[i[bs]], "to_stop": day.stop[j[be]],
            "dep": day.dep[i[bs]], "arr": day.arr[j[be]], "dist": dsum, "n_links": (be - bs + 1).astype(np.int32)}


def aggregate_segments(from_stop: np.ndarray, to_stop: np.ndarray, mode: np.ndarray, route: np.ndarray,
                       dep: np.ndarray, dist: np.ndarray, run: np.ndarray, *, stop_names: np.ndarray,
                       mode_names: np.ndarray, pt: pd.DataFrame | None) -> pd.DataFrame:
    """Speed per segment and mode (and period), time-weighted, over the runs given.

    The codes of ``from_stop``/``to_stop`` and of ``mode`` must follow the
    sorted order of ``stop_names`` and ``mode_names``; ``route`` is any
    integer code. Runs must have ``run > 0`` and a known ``dist``.

    Returns
    -------
    DataFrame
        One row per from × to × mode (× period when ``pt`` is given;
        ``"other"`` for departures outside every period), by period, then
        busiest first, then from and to stop id:

        - ``from_stop_id``, ``to_stop_id``, ``mode`` (and ``period``)
        - ``trips``, ``routes``: runs and distinct routes (counts)
        - ``distance_m`` (m), ``run_s`` (s): means
        - ``speed_kmh``: total distance / total run time (km/h)
        - ``speed_kmh_min``, ``speed_kmh_max``: slowest and fastest run (km/h)
    """
    P1 = 1 if pt is None else len(pt) + 1
    S, M = max(len(stop_names), 1), max(len(mode_names), 1)
    per = np.zeros(len(dep), np.int64) if pt is None else period_codes(dep, pt).astype(np.int64)
    key = ((from_stop.astype(np.int64) * S + to_stop) * M + mode) * P1 + per
    order = np.argsort(key, kind="stable")
    ks = key[order]
    new = np.r_[True, ks[1:] != ks[:-1]] if len(ks) else np.zeros(0, bool)
    gb = np.flatnonzero(new)
    gid = np.empty(len(ks), dtype=np.int64)
    gid[order] = np.cumsum(new) - 1
    G = len(gb)
    trips = np.bincount(gid, minlength=G).astype(np.int64)
    dist_sum = np.bincount(gid, weights=dist, minlength=G)
    run_sum = np.bincount(gid, weights=run, minlength=G)
    sp = (dist / run * 3.6)[order]
    smin = np.minimum.reduceat(sp, gb) if G else np.zeros(0)
    smax = np.maximum.reduceat(sp, gb) if G else np.zeros(0)
    R = int(route.max(initial=0)) + 1
    routes = np.bincount(np.unique(gid * R + route) // R, minlength=G).astype(np.int64)
    gkey = ks[gb]
    g_per, g_mode = gkey % P1, gkey // P1 % M
    g_to, g_from = gkey // P1 // M % S, gkey // P1 // M // S
    fin = np.lexsort((order[gb], g_to, g_from, -trips, g_per))
    out = pd.DataFrame({
        "from_stop_id": stop_names[g_from[fin]] if G else np.zeros(0, dtype=object),
        "to_stop_id": stop_names[g_to[fin]] if G else np.zeros(0, dtype=object),
        "mode": mode_names[g_mode[fin]] if G else np.zeros(0, dtype=object),
    })
    if pt is not None:
        out["period"] = period_names(pt)[g_per[fin]]
    for c in list(out.columns):
        out[c] = out[c].astype(str)
    out["trips"] = trips[fin]
    out["routes"] = routes[fin]
    out["distance_m"] = dist_sum[fin] / trips[fin]
    out["run_s"] = run_sum[fin] / trips[fin]
    out["speed_kmh"] = dist_sum[fin] / run_sum[fin] * 3.6
    out["speed_kmh_min"] = smin[fin]
    out["speed_kmh_max"] = smax[fin]
    return out


def segment_stats(day: FeedDay, *, periods: Periods | None = None) -> pd.DataFrame:
    """Speed per segment, mode and period of the day (default periods when None).

    Same table as ``speed.segment_stats(speed.segment_speeds(day),
    periods=periods)``; columns as :func:`aggregate_segments` with ``period``.
    """
    s = segment_runs(day)
    run = s.pop("arr") - s["dep"]
    ok = (run > 0) & ~np.isnan(s["dist"])
    mcode, mnames = codes_of(day.trips["mode"])
    rcode, _ = codes_of(day.trips["route_id"])
    t = s.pop("trip")[ok]
    kept = {k: s.pop(k)[ok] for k in ("from_stop", "to_stop", "dep", "dist")}
    run = run[ok]
    del s, ok  # each run array is dropped once its kept rows are taken (a metropolitan day has millions)
    return aggregate_segments(kept["from_stop"], kept["to_stop"], mcode[t], rcode[t], kept["dep"], kept["dist"], run,
                              stop_names=day.stop_ids, mode_names=mnames, pt=period_table(periods))
