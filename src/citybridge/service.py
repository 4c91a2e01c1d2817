"""Service indicators (chapter 02_service): trips per hour, headways, span,
service-km, service-hours and peak vehicles by stop, route and mode.

Every function takes a :class:`citybridge.feed.FeedDay` (or a table) first
and options after ``*``; every function is vectorised over the whole feed
(groupby, merge and numpy only) and returns a new table.

Conventions used throughout
---------------------------
* Times are seconds after midnight of the service day and may exceed 86,400
  (a trip at 24:50 is at 89,400 s). Periods are ``[start, end)`` in
  ``HH:MM``, ends may pass 24:00 (``"28:00"``).
* A trip belongs to the period in which it *starts* (its first departure).
* **Headways are one-way.** A route that runs six trips an hour in each
  direction has a 10-minute headway, not 5. For a route the headway of a
  period is ``period minutes / trips of its busiest direction``; for a stop
  it is ``period minutes / departures_one_way`` where ``departures_one_way``
  counts, for every route serving the stop, only the departures of that
  route's busiest direction at the stop, and sums over routes. This way a
  metro station whose single ``stop_id`` serves both directions is not
  counted twice as frequent, while a kerbside stop where several routes
  call in the same direction of travel (whatever their route-relative
  ``direction_id``) adds up all of them.
* Distances are straight lines between consecutive stops in the day's local
  metric CRS (:meth:`FeedDay.stops_xy`), so service-km slightly under-count
  curved alignments.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import engine as E
from .engine import FeedDay
from .i18n import N_
from .periods import (DEFAULT_PERIODS, OTHER, Periods, hhmm_to_seconds, order_periods, period_codes,  # noqa: F401
                      period_names, period_of, period_table, seconds_to_hhmm)

#: Labels of :func:`headway_class`, best first.
HEADWAY_CLASSES = ["≤5", "≤10", "≤15", "≤30", ">30", "none"]
#: How a reader sees a class of :data:`HEADWAY_CLASSES` whose label is not
#: self-explanatory (map legends, layer names, alternative texts); the others
#: show as they are. Translated at drawing time (catalog messages).
HEADWAY_CLASS_NAMES = {"none": N_("no service")}


# --------------------------------------------------------------------------
# Trips (the engine's kernels; shared with speed and access)
# --------------------------------------------------------------------------

#: One row per concrete trip of the day with its distance, duration and period
#: (the engine's :func:`citybridge.engine.trip_stats`; its docstring lists the columns).
trip_table = E.trip_stats


def _peak_active(trips: pd.DataFrame, keys: list[str], pt: pd.DataFrame | None) -> pd.DataFrame:
    """Maximum number of trips in service at once, by ``keys`` (and period).

    Event sweep: +1 at each trip start, -1 at each trip end, summed per
    instant (a trip ending when another starts does not overlap it), then
    cumulated in time order. A trip is in service on ``[start_s, end_s)``.
    With ``pt`` (a :func:`period_table`), the maximum is taken over each
    period: the level at the period's start and every event inside it.
    Trips with a missing key or time are left out (as a pandas groupby does).

    Returns
    -------
    DataFrame
        ``keys`` (and ``period``: every period of ``pt``, plus ``"other"``
        where events fall outside them) and ``peak_vehicles`` (count): one
        row per group with an event (and period), groups in sorted order.
    """
    n = len(trips)
    code = trips.groupby(keys, sort=True, dropna=True).ngroup().to_numpy(dtype=float) if n else np.zeros(0)
    code = np.where(np.isnan(code), -1, code).astype(np.int64)
    g = np.r_[code, code]
    t = np.r_[trips["start_s"].to_numpy(dtype=float), trips["end_s"].to_numpy(dtype=float)]
    d = np.r_[np.ones(n, np.int64), -np.ones(n, np.int64)]
    real = (g >= 0) & ~np.isnan(t)
    g, t, d = g[real], t[real], d[real]
    groups = np.unique(g)  # groups with at least one event, and the first trip of each
    first_trip = np.full(len(groups), n, dtype=np.int64)
    ok = np.flatnonzero(np.isin(code, groups))
    np.minimum.at(first_trip, np.searchsorted(groups, code[ok]), ok)
    P = 0 if pt is None else len(pt)
    # each period's start is probed by an event of weight 0, after the real events of that instant
    probe = np.r_[np.zeros(len(g), bool), np.ones(len(groups) * P, bool)]
    pk = np.tile(np.arange(P), len(groups))  # the period each probe stands for
    g = np.r_[g, np.repeat(groups, P)]
    t = np.r_[t, np.tile(pt["start_s"].to_numpy(dtype=float), len(groups)) if P else np.zeros(0)]
    d = np.r_[d, np.zeros(len(groups) * P, np.int64)]
    order = np.lexsort((probe, t, g))
    g, t, d, probe = g[order], t[order], d[order], probe[order]
    pk = np.r_[np.full(len(order) - len(pk), -1), pk][order]
    # level after each row within its group; an instant's level is read after all its real events
    cum = np.cumsum(d)
    head = np.maximum.accumulate(np.where(np.r_[True, g[1:] != g[:-1]], np.arange(len(g)), 0)) if len(g) else g
    active = cum - (cum[head] - d[head])
    more = np.r_[(g[1:] == g[:-1]) & (t[1:] == t[:-1]) & ~probe[1:], False]
    at = probe | ~more
    gi, lvl = np.searchsorted(groups, g[at]), active[at]
    rows = trips[keys].iloc[first_trip].reset_index(drop=True)
    B = np.iinfo(np.int64).min
    if pt is None:
        peak = np.full(len(groups), B)
        np.maximum.at(peak, gi, lvl)
        return rows.assign(peak_vehicles=peak)
    key = gi * (P + 1) + np.where(probe[at], pk[at], period_codes(t[at], pt))
    peak = np.full(len(groups) * (P + 1), B)
    np.maximum.at(peak, key, lvl)
    k = np.flatnonzero(peak > B)
    out = rows.iloc[k // (P + 1)].reset_index(drop=True)
    out["period"] = period_names(pt)[k % (P + 1)].astype(str)
    out["peak_vehicles"] = np.clip(peak[k], 0, None).astype(int)
    return out


# --------------------------------------------------------------------------
# Stops
# --------------------------------------------------------------------------

def stop_stats(day: FeedDay, *, periods: Periods | None = None) -> pd.DataFrame:
    """Departures, trips per hour and headway per stop and period.

    Counted per ``stop_id`` (platform or kerbside stop, not grouped by parent
    station; :func:`citybridge.access.stations` groups them). A departure is
    a trip leaving the stop, so the last stop of each trip is not counted;
    a stop served only as a terminus still gets rows, with zero departures.
    Headways are **one-way** (see the module notes): for each route serving
    the stop only its busiest direction counts, then routes are summed.

    Parameters
    ----------
    day
        The prepared service day.
    periods
        ``{name: ("HH:MM", "HH:MM")}``; default ``DEFAULT_PERIODS`` (pass
        ``city.periods``). Departures outside every period are not counted.

    Returns
    -------
    DataFrame
        One row per stop served on the day (by any trip) × period:

        - ``stop_id``, ``stop_name``
        - ``period``: period name (periods in the order given)
        - ``departures``: departures in the period, all routes and directions (count)
        - ``departures_one_way``: departures counting each route's busiest
          direction only (count)
        - ``routes``: routes departing in the period (count)
        - ``trips_per_hour``: ``departures_one_way`` per hour of the period (1/h)
        - ``mean_headway_min``: period minutes / ``departures_one_way`` (min);
          NaN when there is no departure
        - ``modes``: modes serving the stop on the day, comma-separated, sorted
    """
    return E.stop_stats(day, periods=periods)


# --------------------------------------------------------------------------
# Routes and modes
# --------------------------------------------------------------------------

def route_stats(day: FeedDay, *, periods: Periods | None = None,
                split_directions: bool = False) -> pd.DataFrame:
    """Trips, headway, service-km, service-hours and peak vehicles per route and period.

    Each trip is counted in the period in which it starts. Trips starting
    outside every period form an extra ``"other"`` row (only where there are
    some), so ``trips``, ``service_km`` and ``service_hours`` add up over a
    route's rows to the day's totals.

    Parameters
    ----------
    day
        The prepared service day.
    periods
        ``{name: ("HH:MM", "HH:MM")}``; default ``DEFAULT_PERIODS``.
    split_directions
        One row per route × direction × period instead of route × period.

    Returns
    -------
    DataFrame
        One row per route with trips on the day × period (× ``direction_id``):

        - ``route_id``, ``route_short_name``, ``route_long_name``, ``mode``
        - ``direction_id``: only with ``split_directions``
        - ``period``: period name, or ``"other"``
        - ``trips``: trips starting in the period, all directions (count)
        - ``trips_one_way``: trips of the busiest direction (count); equals
          ``trips`` with ``split_directions``
        - ``trips_per_hour``: ``trips_one_way`` per hour of the period (1/h);
          NaN for ``"other"``
        - ``mean_headway_min``: period minutes / ``trips_one_way`` (min); NaN
          when no trip starts, and for ``"other"``
        - ``service_km``: straight-line distance run by those trips (km);
          a trip touching a stop without a position adds nothing
        - ``service_hours``: summed duration of those trips, first departure
          to last arrival (h)
        - ``peak_vehicles``: most trips in service at once during the period
          (count; trips begun earlier included) — a lower bound of the fleet
          needed, since layovers are ignored
        - Route-level values, the same on every row of a route (or route ×
          direction):
          ``first_departure``, ``last_departure`` (``HH:MM``, may pass 24:00;
          earliest and latest trip start), ``first_departure_s``,
          ``last_departure_s`` (s), ``span_hours`` (h, from first to last
          departure), ``peak_vehicles_day`` (count, over the whole day).
    """
    return route_table(trip_table(day, periods=periods), day.routes, periods=periods,
                       split_directions=split_directions)


def route_table(t: pd.DataFrame, routes: pd.DataFrame, *, periods: Periods | None = None,
                split_directions: bool = False) -> pd.DataFrame:
    """:func:`route_stats` from a :func:`trip_table` (same periods) and the day's routes.

    Returns
    -------
    DataFrame
        The columns of :func:`route_stats`, with their units.
    """
    pt = period_table(periods)
    keys = ["route_id", "direction_id"] if split_directions else ["route_id"]
    # trips by period (and direction, for the one-way count)
    per_dir = t.groupby(["route_id", "direction_id", "period"]).agg(
        trips=("trip_id", "size"), service_km=("distance_km", "sum"),
        service_hours=("duration_h", "sum")).reset_index()
    if split_directions:
        agg = per_dir.assign(trips_one_way=per_dir["trips"])
    else:
        agg = per_dir.groupby(["route_id", "period"]).agg(
            trips=("trips", "sum"), trips_one_way=("trips", "max"),
            service_km=("service_km", "sum"), service_hours=("service_hours", "sum")).reset_index()
    # grid: every defined period, plus "other" where trips start outside them
    grid = t[keys].drop_duplicates().merge(pt[["period"]], how="cross")
    other = agg.loc[agg["period"] == OTHER, keys + ["period"]]
    grid = pd.concat([grid, other], ignore_index=True)
    out = grid.merge(agg, on=keys + ["period"], how="left")
    for c in ("trips", "trips_one_way"):
        out[c] = out[c].fillna(0).astype(int)
    for c in ("service_km", "service_hours"):
        out[c] = out[c].fillna(0.0)
    minutes = out["period"].map(dict(zip(pt["period"], pt["minutes"])))
    out["trips_per_hour"] = out["trips_one_way"] / (minutes / 60)
    out["mean_headway_min"] = minutes / out["trips_one_way"].where(out["trips_one_way"] > 0)
    # peak vehicles per period and over the day
    peak = _peak_active(t, keys, pt)
    out = out.merge(peak, on=keys + ["period"], how="left")
    out["peak_vehicles"] = out["peak_vehicles"].fillna(0).astype(int)
    span = t.groupby(keys).agg(first_departure_s=("start_s", "min"),
                               last_departure_s=("start_s", "max")).reset_index()
    span["first_departure"] = seconds_to_hhmm(span["first_departure_s"])
    span["last_departure"] = seconds_to_hhmm(span["last_departure_s"])
    span["span_hours"] = (span["last_departure_s"] - span["first_departure_s"]) / 3600
    span = span.merge(_peak_active(t, keys, None).rename(columns={"peak_vehicles": "peak_vehicles_day"}),
                      on=keys, how="left")
    out = out.merge(span, on=keys, how="left")
    r = routes.drop_duplicates("route_id")[["route_id", "route_short_name", "route_long_name", "mode"]]
    out = out.merge(r, on="route_id", how="left")
    out["mode"] = out["mode"].fillna("other")
    cols = (["route_id", "route_short_name", "route_long_name", "mode"]
            + (["direction_id"] if split_directions else [])
            + ["period", "trips", "trips_one_way", "trips_per_hour", "mean_headway_min",
               "service_km", "service_hours", "peak_vehicles", "first_departure", "last_departure",
               "first_departure_s", "last_departure_s", "span_hours", "peak_vehicles_day"])
    return order_periods(out[cols], pt, keys)


def route_totals(rs: pd.DataFrame) -> pd.DataFrame:
    """Collapse :func:`route_stats` to one row per route (or route × direction).

    Returns
    -------
    DataFrame
        - ``route_id``, ``route_short_name``, ``route_long_name``, ``mode``
          (and ``direction_id`` when ``rs`` has it)
        - ``trips``: trips of the day (count)
        - ``service_km`` (km), ``service_hours`` (h): day totals
        - ``first_departure``, ``last_departure`` (``HH:MM``), ``span_hours`` (h)
        - ``peak_vehicles``: most trips in service at once over the day (count)
    """
    keys = ["route_id", "direction_id"] if "direction_id" in rs.columns else ["route_id"]
    return rs.groupby(keys, as_index=False, sort=False).agg(
        route_short_name=("route_short_name", "first"), route_long_name=("route_long_name", "first"),
        mode=("mode", "first"), trips=("trips", "sum"), service_km=("service_km", "sum"),
        service_hours=("service_hours", "sum"), first_departure=("first_departure", "first"),
        last_departure=("last_departure", "first"), span_hours=("span_hours", "first"),
        peak_vehicles=("peak_vehicles_day", "first"))[
        ["route_id", "route_short_name", "route_long_name", "mode"] + keys[1:] +
        ["trips", "service_km", "service_hours", "first_departure", "last_departure", "span_hours",
         "peak_vehicles"]]


def mode_stats(day: FeedDay, *, periods: Periods | None = None) -> pd.DataFrame:
    """Route statistics aggregated by mode and period.

    Parameters
    ----------
    day
        The prepared service day.
    periods
        ``{name: ("HH:MM", "HH:MM")}``; default ``DEFAULT_PERIODS``.

    Returns
    -------
    DataFrame
        One row per mode with trips on the day × period (plus ``"other"``
        where trips start outside every period), modes in
        :meth:`FeedDay.modes` order:

        - ``mode``, ``period``
        - ``routes``: routes with at least one trip starting in the period (count)
        - ``trips``: trips starting in the period, all directions (count)
        - ``trips_per_hour``: ``trips`` per hour of the period, all
          directions (1/h); NaN for ``"other"``
        - ``median_headway_min``: median over those routes of their one-way
          ``mean_headway_min`` (min)
        - ``service_km`` (km), ``service_hours`` (h): of those trips
        - ``peak_vehicles``: most trips of the mode in service at once
          during the period (count)
        - ``first_departure``, ``last_departure``: earliest and latest trip
          start of the mode on the day (``HH:MM``; same on every row of a mode)
    """
    pt = period_table(periods)
    t = trip_table(day, periods=periods)
    rs = route_table(t, day.routes, periods=periods)
    run = rs[rs["trips"] > 0]
    agg = rs.groupby(["mode", "period"]).agg(
        trips=("trips", "sum"), service_km=("service_km", "sum"),
        service_hours=("service_hours", "sum")).reset_index()
    agg = agg.merge(run.groupby(["mode", "period"]).agg(
        routes=("route_id", "nunique"), median_headway_min=("mean_headway_min", "median")).reset_index(),
        on=["mode", "period"], how="left")
    agg["routes"] = agg["routes"].fillna(0).astype(int)
    minutes = agg["period"].map(dict(zip(pt["period"], pt["minutes"])))
    agg["trips_per_hour"] = agg["trips"] / (minutes / 60)
    agg = agg.merge(_peak_active(t, ["mode"], pt), on=["mode", "period"], how="left")
    agg["peak_vehicles"] = agg["peak_vehicles"].fillna(0).astype(int)
    span = t.groupby("mode").agg(first_s=("start_s", "min"), last_s=("start_s", "max")).reset_index()
    span["first_departure"] = seconds_to_hhmm(span["first_s"])
    span["last_departure"] = seconds_to_hhmm(span["last_s"])
    agg = agg.merge(span[["mode", "first_departure", "last_departure"]], on="mode", how="left")
    order = {m: i for i, m in enumerate(day.modes())}
    agg = agg.assign(_m=agg["mode"].map(order).fillna(len(order)))
    agg = order_periods(agg.sort_values("_m", kind="stable"), pt, ["_m"]).drop(columns="_m")
    return agg[["mode", "period", "routes", "trips", "trips_per_hour", "median_headway_min",
                "service_km", "service_hours", "peak_vehicles", "first_departure", "last_departure"]]


def departures_by_hour(day: FeedDay) -> pd.DataFrame:
    """Trip starts per hour of the service day and mode, for a chart.

    Returns
    -------
    DataFrame
        Every hour × every mode of the day (zeros included):

        - ``hour``: hour of the service day, 0..27 (more when trips start
          after 28:00; hour 25 is 01:00 of the next calendar day)
        - ``mode``: mode name, in :meth:`FeedDay.modes` order
        - ``departures``: trips starting in that hour (count)
    """
    hour = (day.trips["start_s"] // 3600).astype(int)
    counts = pd.DataFrame({"hour": hour, "mode": day.trips["mode"]}).groupby(
        ["hour", "mode"]).size().rename("departures").reset_index()
    hours = np.arange(0, max(27, int(hour.max()) if len(hour) else 27) + 1)
    grid = pd.MultiIndex.from_product([hours, day.modes()], names=["hour", "mode"]).to_frame(index=False)
    out = grid.merge(counts, on=["hour", "mode"], how="left")
    out["departures"] = out["departures"].fillna(0).astype(int)
    return out


def headway_class(minutes: pd.Series | np.ndarray) -> pd.Series:
    """Classify headways for the frequent-network map.

    Parameters
    ----------
    minutes
        Headways (min); NaN or infinite means no service.

    Returns
    -------
    Series
        Ordered Categorical with categories ``"≤5"``, ``"≤10"``, ``"≤15"``,
        ``"≤30"``, ``">30"``, ``"none"`` (best first; bounds inclusive),
        indexed like ``minutes`` when it is a Series.
    """
    index = minutes.index if isinstance(minutes, pd.Series) else None
    m = np.asarray(pd.to_numeric(pd.Series(np.asarray(minutes)), errors="coerce"), dtype=float)
    ok = np.isfinite(m)
    with np.errstate(invalid="ignore"):
        lab = np.select([ok & (m <= 5), ok & (m <= 10), ok & (m <= 15), ok & (m <= 30), ok],
                        HEADWAY_CLASSES[:5], default="none")
    return pd.Series(pd.Categorical(lab, categories=HEADWAY_CLASSES, ordered=True),
                     index=index, name="headway_class")


def route_window_stats(day: FeedDay, *, start: str = "07:00", end: str = "09:00") -> pd.DataFrame:
    """Trips and headways per route, defined as ``gtfs_kit.compute_route_stats`` does.

    This mirrors gtfs-kit 13 (``routes.compute_route_stats_0`` without
    ``split_directions``) so that results can be checked against it:

    * a trip's start is the departure at its first stop and its duration the
      last stop's departure minus the first stop's (stop_sequence order);
      trips of zero duration are ignored everywhere;
    * ``num_trips`` counts **all** the day's trips of the route (gtfs-kit
      does not restrict it to the window); ``window_trips`` gives the count
      inside the window;
    * headways are the gaps between consecutive trip starts with
      ``start <= trip start <= end`` (both ends inclusive), taken within each
      direction, and the gaps of both directions pooled.

    One difference remains: a feed without ``direction_id`` is read by
    :func:`citybridge.feed.prepare_day` as direction 0, while gtfs-kit then
    leaves headways empty (NaN).

    Parameters
    ----------
    day
        The prepared service day.
    start, end
        The headway window, ``HH:MM`` or ``HH:MM:SS`` (hours may exceed 24).

    Returns
    -------
    DataFrame
        One row per route with a trip of positive duration:

        - ``route_id``
        - ``num_trips``: the day's trips of positive duration (count)
        - ``window_trips``: those starting inside the window (count)
        - ``mean_headway``, ``min_headway``, ``max_headway``: mean, smallest
          and largest gap between consecutive starts in the window (min);
          NaN with fewer than two starts in every direction
    """
    a, b = hhmm_to_seconds(start), hhmm_to_seconds(end)
    starts = day.trip_starts()
    ends = np.r_[starts[1:], len(day.trip)] - 1
    has = ends >= starts
    t = day.trips[["trip_id", "route_id", "direction_id"]].assign(
        first=np.where(has, day.dep[np.minimum(starts, len(day.dep) - 1)], np.nan),
        last=np.where(has, day.dep[np.maximum(ends, 0)], np.nan))
    t = t[(t["last"] - t["first"]) > 0]
    out = t.groupby("route_id").size().rename("num_trips").to_frame()
    w = t[(t["first"] >= a) & (t["first"] <= b)].sort_values(["route_id", "direction_id", "first"])
    out["window_trips"] = w.groupby("route_id").size().reindex(out.index).fillna(0).astype(int)
    gaps = w.groupby(["route_id", "direction_id"], sort=False)["first"].diff().dropna() / 60
    hw = gaps.groupby(w.loc[gaps.index, "route_id"]).agg(["mean", "min", "max"])
    hw.columns = ["mean_headway", "min_headway", "max_headway"]
    out = out.join(hw)
    return out.reset_index()[["route_id", "num_trips", "window_trips", "mean_headway",
                              "min_headway", "max_headway"]]


def network_peak_vehicles(day: FeedDay) -> int:
    """The most trips in service at the same instant over the whole network.

    Unlike the sum of each route's own peak, this counts vehicles that are
    really out at once (all modes together).
    """
    t = day.trips[["start_s", "end_s"]].assign(_all=0)
    if t.empty:
        return 0
    return int(_peak_active(t, ["_all"], None)["peak_vehicles"].max())
