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

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .city import DEFAULT_PERIODS
from .errors import ProfileError
from .feed import FeedDay

#: Name given to times outside every period.
OTHER = "other"

#: Labels of :func:`headway_class`, best first.
HEADWAY_CLASSES = ["≤5", "≤10", "≤15", "≤30", ">30", "none"]

_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")

Periods = Mapping[str, tuple[str, str]]


# --------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------

def hhmm_to_seconds(t: str) -> int:
    """``HH:MM`` or ``HH:MM:SS`` (hours may exceed 24) to seconds after midnight.

    Raises
    ------
    ProfileError
        The text is not a time.
    """
    m = _HHMM.match(str(t))
    if not m:
        raise ProfileError(f"time '{t}' is not HH:MM (for example 07:30 or 25:00); "
                           "check the 'periods' of city.yml or the argument you passed")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    return h * 3600 + mi * 60 + s


def seconds_to_hhmm(sec: pd.Series) -> pd.Series:
    """Seconds after midnight to ``HH:MM`` strings (hours may exceed 24);
    NaN becomes an empty string. Vectorised."""
    s = pd.to_numeric(sec, errors="coerce")
    ok = s.notna()
    r = s.where(ok, 0).round().astype(np.int64)
    out = (r // 3600).astype(str).str.zfill(2) + ":" + (r % 3600 // 60).astype(str).str.zfill(2)
    return out.where(ok, "")


def period_table(periods: Periods | None = None) -> pd.DataFrame:
    """The periods as a table, in the order given.

    Parameters
    ----------
    periods
        ``{name: ("HH:MM", "HH:MM")}``, ``[start, end)``; the end may pass
        24:00. Default :data:`citybridge.city.DEFAULT_PERIODS`.

    Returns
    -------
    DataFrame
        - ``period``: name
        - ``start``, ``end``: ``HH:MM`` as given
        - ``start_s``, ``end_s``: seconds after midnight of the service day
        - ``minutes``: length of the period (min)

    Raises
    ------
    ProfileError
        A time is not ``HH:MM``, a period ends before it starts, or the name
        ``other`` (reserved for times outside every period) is used.
    """
    periods = dict(DEFAULT_PERIODS if periods is None else periods)
    if not periods:
        raise ProfileError("no periods given; pass e.g. {'am_peak': ('07:00', '09:00')}")
    rows = []
    for name, (start, end) in periods.items():
        if name == OTHER:
            raise ProfileError(f"period name '{OTHER}' is reserved for times outside every "
                               "period; rename it in the 'periods' of city.yml")
        a, b = hhmm_to_seconds(start), hhmm_to_seconds(end)
        if b <= a:
            raise ProfileError(f"period '{name}' ends ({end}) before it starts ({start}); "
                               "write times past midnight as 24:00–28:00")
        rows.append((name, start, end, a, b, (b - a) / 60))
    return pd.DataFrame(rows, columns=["period", "start", "end", "start_s", "end_s", "minutes"])


def period_of(seconds: pd.Series | np.ndarray, periods: Periods | None = None) -> pd.Series:
    """Name of the period each time falls in (``[start, end)``), else ``"other"``.

    Parameters
    ----------
    seconds
        Seconds after midnight of the service day (may exceed 86,400).
    periods
        ``{name: ("HH:MM", "HH:MM")}``; default ``DEFAULT_PERIODS``. Where
        periods overlap the first one listed wins.

    Returns
    -------
    Series
        Period names (str), indexed like ``seconds`` when it is a Series.
        NaN times are ``"other"``.
    """
    pt = period_table(periods)
    index = seconds.index if isinstance(seconds, pd.Series) else None
    s = np.asarray(pd.to_numeric(pd.Series(np.asarray(seconds)), errors="coerce"), dtype=float)
    conds = [(s >= a) & (s < b) for a, b in zip(pt["start_s"], pt["end_s"])]
    out = np.select(conds, pt["period"].to_numpy(dtype=object), default=OTHER) if conds else \
        np.full(len(s), OTHER, dtype=object)
    return pd.Series(out, index=index, dtype=str, name="period")


def _order_periods(df: pd.DataFrame, pt: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    order = {p: i for i, p in enumerate(list(pt["period"]) + [OTHER])}
    df = df.assign(_o=df["period"].map(order))
    return df.sort_values(keys + ["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


# --------------------------------------------------------------------------
# Links and trips (shared with speed and access)
# --------------------------------------------------------------------------

def _links(day: FeedDay) -> pd.DataFrame:
    """Consecutive stop pairs of every trip (one row per stop-to-stop link).

    Columns: trip_id, route_id, mode, direction_id, from_stop_id, to_stop_id,
    from_sequence, departure_s (at from), arrival_s (at to), distance_m
    (straight line; NaN when a stop has no position), run_s.
    """
    st = day.stop_times.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    xy = day.stops_xy()
    xy = xy[~xy.index.duplicated()]
    pos = xy.index.get_indexer(st["stop_id"])
    known = pos >= 0
    x = np.where(known, xy["x"].to_numpy(dtype=float)[pos], np.nan)
    y = np.where(known, xy["y"].to_numpy(dtype=float)[pos], np.nan)
    code = pd.factorize(st["trip_id"])[0]
    same = code[1:] == code[:-1]
    i = np.flatnonzero(same)          # link from row i to row i + 1
    j = i + 1
    with np.errstate(invalid="ignore"):
        dist = np.hypot(x[j] - x[i], y[j] - y[i])
    dist[~np.isfinite(dist)] = np.nan
    dep = st["departure_s"].to_numpy(dtype=float)
    arr = st["arrival_s"].to_numpy(dtype=float)

    def take(col: str, rows: np.ndarray) -> pd.Series:
        return st[col].take(rows).reset_index(drop=True)

    trips = day.trips.drop_duplicates("trip_id").set_index("trip_id")
    tpos = trips.index.get_indexer(take("trip_id", i))
    direction = np.where(tpos >= 0, trips["direction_id"].to_numpy()[tpos], 0).astype(int)
    links = pd.DataFrame({
        "trip_id": take("trip_id", i),
        "route_id": take("route_id", i),
        "mode": take("mode", i),
        "direction_id": direction,
        "from_stop_id": take("stop_id", i),
        "to_stop_id": take("stop_id", j),
        "from_sequence": st["stop_sequence"].to_numpy()[i],
        "departure_s": dep[i],
        "arrival_s": arr[j],
        "distance_m": dist,
    })
    links["run_s"] = links["arrival_s"] - links["departure_s"]
    return links


def trip_table(day: FeedDay, *, periods: Periods | None = None) -> pd.DataFrame:
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
        - ``trip_id``, ``template_id``, ``route_id``, ``mode``, ``direction_id``
        - ``start_s``: first departure (s after midnight of the service day)
        - ``end_s``: last arrival (s)
        - ``duration_h``: ``end_s - start_s`` (h)
        - ``distance_km``: sum of straight-line stop-to-stop distances (km);
          NaN when a stop of the trip has no position
        - ``period``: the period in which the trip starts (or ``"other"``)
    """
    links = _links(day)
    dist = links.groupby("trip_id", sort=False)["distance_m"].sum(min_count=1)
    unknown = links.loc[links["distance_m"].isna(), "trip_id"].unique()
    dist[dist.index.isin(unknown)] = np.nan
    t = day.trips[["trip_id", "template_id", "route_id", "mode", "direction_id", "start_s", "end_s"]].copy()
    t["duration_h"] = (t["end_s"] - t["start_s"]) / 3600
    t["distance_km"] = t["trip_id"].map(dist / 1000).fillna(0.0)
    t.loc[t["trip_id"].isin(unknown), "distance_km"] = np.nan
    t["period"] = period_of(t["start_s"], periods).to_numpy()
    return t.reset_index(drop=True)


def _peak_active(trips: pd.DataFrame, keys: list[str], pt: pd.DataFrame | None) -> pd.DataFrame:
    """Maximum number of trips in service at once, by ``keys`` (and period).

    Event sweep: +1 at each trip start, -1 at each trip end, summed per
    instant (a trip ending when another starts does not overlap it), then
    cumulated in time order. A trip is in service on ``[start_s, end_s)``.
    With ``pt`` (a :func:`period_table`), the maximum is taken over each
    period: the level at the period's start and every event inside it.
    """
    ev = pd.concat([
        trips[keys].assign(time=trips["start_s"].to_numpy(dtype=float), d=1),
        trips[keys].assign(time=trips["end_s"].to_numpy(dtype=float), d=-1),
    ], ignore_index=True)
    ev = ev.groupby(keys + ["time"], as_index=False, sort=True)["d"].sum()
    ev["active"] = ev.groupby(keys, sort=False)["d"].cumsum()
    if pt is None:
        return ev.groupby(keys, as_index=False)["active"].max().rename(columns={"active": "peak_vehicles"})
    periods = dict(zip(pt["period"], zip(pt["start"], pt["end"])))
    ev["period"] = period_of(ev["time"], periods).to_numpy()
    inside = ev.groupby(keys + ["period"], as_index=False)["active"].max()
    # level already reached when each period starts (trips begun earlier)
    grid = ev[keys].drop_duplicates().merge(pt[["period", "start_s"]], how="cross")
    grid = grid.assign(start_s=grid["start_s"].astype(float)).sort_values("start_s", kind="stable")
    lvl = pd.merge_asof(grid, ev[keys + ["time", "active"]].sort_values("time", kind="stable"),
                        left_on="start_s", right_on="time", by=keys, direction="backward")
    lvl = lvl[keys + ["period", "active"]].fillna({"active": 0})
    both = pd.concat([inside, lvl], ignore_index=True)
    out = both.groupby(keys + ["period"], as_index=False)["active"].max()
    out["active"] = out["active"].clip(lower=0).astype(int)
    return out.rename(columns={"active": "peak_vehicles"})


# --------------------------------------------------------------------------
# Stops
# --------------------------------------------------------------------------

def _join_modes(km: pd.DataFrame) -> pd.Series:
    """``key``/``mode`` pairs to one sorted, comma-separated string per key
    (vectorised over keys: one column per mode, of which there are few)."""
    has = pd.crosstab(km["key"], km["mode"]) > 0
    out = pd.Series("", index=has.index, dtype=object)
    for m in sorted(has.columns):
        out = out + np.where(has[m].to_numpy(), m + ",", "")
    return out.str.rstrip(",").astype(str)


def _stop_departures(day: FeedDay, key: pd.Series | None, pt: pd.DataFrame) -> pd.DataFrame:
    """Departures per stop key × period (all directions and one-way).

    ``key`` maps stop_id to the grouping key (e.g. the parent station); None
    groups by stop_id. The last stop of each trip is not a departure.
    """
    st = day.stop_times
    # every stop served (arrivals included) gets rows, with its modes
    k_all = st["stop_id"] if key is None else st["stop_id"].map(key).fillna(st["stop_id"])
    modes = _join_modes(pd.DataFrame({"key": k_all.to_numpy(), "mode": st["mode"].to_numpy()}))
    last = st.groupby("trip_id", sort=False)["stop_sequence"].transform("max")
    keep = (st["stop_sequence"] < last).to_numpy()
    st, k = st[keep], k_all[keep]
    direction = day.trips.set_index("trip_id")["direction_id"]
    periods = dict(zip(pt["period"], zip(pt["start"], pt["end"])))
    d = pd.DataFrame({
        "key": k.to_numpy(),
        "route_id": st["route_id"].to_numpy(),
        "direction_id": st["trip_id"].map(direction).fillna(0).astype(int).to_numpy(),
        "mode": st["mode"].to_numpy(),
        "period": period_of(st["departure_s"], periods).to_numpy(),
    })
    d = d[d["period"] != OTHER]
    per_dir = d.groupby(["key", "period", "route_id", "direction_id"]).size().rename("n").reset_index()
    per_route = per_dir.groupby(["key", "period", "route_id"])["n"].agg(["sum", "max"]).reset_index()
    agg = per_route.groupby(["key", "period"]).agg(
        departures=("sum", "sum"), departures_one_way=("max", "sum"), routes=("route_id", "nunique"),
    ).reset_index()
    grid = pd.DataFrame({"key": modes.index}).merge(pt[["period", "minutes"]], how="cross")
    out = grid.merge(agg, on=["key", "period"], how="left")
    out[["departures", "departures_one_way", "routes"]] = \
        out[["departures", "departures_one_way", "routes"]].fillna(0).astype(int)
    hours = out["minutes"] / 60
    out["trips_per_hour"] = out["departures_one_way"] / hours
    out["mean_headway_min"] = (out["minutes"] / out["departures_one_way"].where(out["departures_one_way"] > 0))
    out["modes"] = out["key"].map(modes)
    return out.drop(columns="minutes")


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
    pt = period_table(periods)
    out = _stop_departures(day, None, pt).rename(columns={"key": "stop_id"})
    names = day.stops.drop_duplicates("stop_id").set_index("stop_id")["stop_name"]
    out.insert(1, "stop_name", out["stop_id"].map(names).fillna(""))
    out = out[["stop_id", "stop_name", "period", "departures", "departures_one_way", "routes",
               "trips_per_hour", "mean_headway_min", "modes"]]
    return _order_periods(out, pt, ["stop_id"])


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
    return _route_stats(day, trip_table(day, periods=periods), periods, split_directions)


def _route_stats(day: FeedDay, t: pd.DataFrame, periods: Periods | None,
                 split_directions: bool) -> pd.DataFrame:
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
    r = day.routes.drop_duplicates("route_id")[["route_id", "route_short_name", "route_long_name", "mode"]]
    out = out.merge(r, on="route_id", how="left")
    out["mode"] = out["mode"].fillna("other")
    cols = (["route_id", "route_short_name", "route_long_name", "mode"]
            + (["direction_id"] if split_directions else [])
            + ["period", "trips", "trips_one_way", "trips_per_hour", "mean_headway_min",
               "service_km", "service_hours", "peak_vehicles", "first_departure", "last_departure",
               "first_departure_s", "last_departure_s", "span_hours", "peak_vehicles_day"])
    return _order_periods(out[cols], pt, keys)


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
    rs = _route_stats(day, t, periods, False)
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
    agg = _order_periods(agg.sort_values("_m", kind="stable"), pt, ["_m"]).drop(columns="_m")
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
    st = day.stop_times.sort_values(["trip_id", "stop_sequence"], kind="stable")
    g = st.groupby("trip_id", sort=False)["departure_s"]
    tr = pd.DataFrame({"first": g.first(), "last": g.last()})
    t = day.trips[["trip_id", "route_id", "direction_id"]].join(tr, on="trip_id")
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
