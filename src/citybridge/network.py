"""The network at a glance: route geometries and a summary per mode.

Used by chapter 01. Route lines come from ``shapes.txt`` when the feed has it,
otherwise they are drawn stop to stop along each route's most frequent stop
pattern (straight segments between stops).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import linestrings

from .engine import codes_of
from .feed import FeedDay
from .i18n import N_

MODE_ORDER = ["metro", "rail", "tram", "bus", "ferry", "aerial", "funicular", "other"]


def template_stop_times(day: FeedDay) -> pd.DataFrame:
    """The stop times of one concrete trip per template (the stop pattern of each template).

    A frequency-based feed expands each template into many trips with the same
    stops; pattern work needs only one of them.

    Returns
    -------
    DataFrame
        The rows of ``day.stop_times`` of the first concrete trip of each
        ``template_id`` (same columns).
    """
    first = ~day.trips["template_id"].duplicated().to_numpy()   # trips are the day's trip codes, in order
    return day.stop_time_rows(first[day.trip])


def route_patterns(day: FeedDay) -> pd.DataFrame:
    """The most frequent stop pattern of each route and direction.

    Returns
    -------
    DataFrame
        ``route_id``, ``direction_id``, ``template_id`` (a trip that runs the
        pattern), ``trips`` (concrete trips on the day running it),
        ``n_stops``.
    """
    st = template_stop_times(day)
    sig = (st.sort_values(["template_id", "stop_sequence"])
             .groupby("template_id", sort=False)["stop_id"].agg("|".join).rename("pattern"))
    trips = day.trips.join(sig, on="template_id")
    counts = (trips.groupby(["route_id", "direction_id", "pattern"], sort=False)
                   .agg(trips=("trip_id", "size"), template_id=("template_id", "first"),
                        n_stops=("n_stops", "first"))
                   .reset_index()
                   .sort_values(["route_id", "direction_id", "trips", "n_stops"],
                                ascending=[True, True, False, False], kind="stable"))
    best = counts.drop_duplicates(["route_id", "direction_id"])
    return best[["route_id", "direction_id", "template_id", "trips", "n_stops"]].reset_index(drop=True)


def route_lines(day: FeedDay) -> gpd.GeoDataFrame:
    """One line per route: its most frequent pattern in direction 0 (or the
    first direction present), drawn stop to stop.

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        ``route_id``, ``route_short_name``, ``route_long_name``, ``mode``,
        ``route_color`` (hex without '#', may be empty), ``trips`` (concrete
        trips on the day, both directions), ``n_stops`` (stops on the drawn
        pattern), ``length_km`` (straight-line stop-to-stop length of the
        pattern, km, measured in the local CRS), ``geometry`` (LineString).

        Computed once per day (a copy is returned).
    """
    return day.remember("route_lines", lambda: _route_lines(day)).copy()


def _route_lines(day: FeedDay) -> gpd.GeoDataFrame:
    pats = route_patterns(day).drop_duplicates("route_id")
    st = template_stop_times(day)
    st = st[st["template_id"].isin(set(pats["template_id"]))].sort_values(["template_id", "stop_sequence"])
    xy = day.stops_xy()
    pts = st.join(xy[["stop_lon", "stop_lat", "x", "y"]], on="stop_id")
    pts = pts.dropna(subset=["stop_lon"])
    # segment lengths within each template, vectorised
    same = pts["template_id"].eq(pts["template_id"].shift())
    seg = np.hypot(pts["x"].diff(), pts["y"].diff()).where(same, 0.0)
    length = seg.groupby(pts["template_id"]).sum() / 1000.0
    counts = pts.groupby("template_id", sort=False).size()
    keep = counts[counts >= 2].index
    pts = pts[pts["template_id"].isin(keep)]
    coords = pts[["stop_lon", "stop_lat"]].to_numpy()
    idx = pd.factorize(pts["template_id"])[0]
    geoms = linestrings(coords, indices=idx)
    order = pd.unique(pts["template_id"])
    lines = pd.DataFrame({"template_id": order, "geometry": geoms, "length_km": length.reindex(order).to_numpy()})
    trips_per_route = day.trips.groupby("route_id").size().rename("trips")
    out = (pats[["route_id", "template_id", "n_stops"]].merge(lines, on="template_id")
           .join(trips_per_route, on="route_id")
           .merge(day.routes[["route_id", "route_short_name", "route_long_name", "mode", "route_color"]],
                  on="route_id", how="left"))
    out = out[["route_id", "route_short_name", "route_long_name", "mode", "route_color", "trips",
               "n_stops", "length_km", "geometry"]]
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def served_stops(day: FeedDay) -> pd.DataFrame:
    """Stops with at least one departure on the day.

    Returns
    -------
    DataFrame
        ``stop_id``, ``stop_name``, ``stop_lat``, ``stop_lon`` (degrees),
        ``station_id`` (parent station when set, else the stop itself),
        ``modes`` (comma-separated, in :data:`MODE_ORDER`), ``main_mode``
        (the first of them), ``departures`` (count on the day).
    """
    # on the day's codes: which modes call at each stop code, and how often
    mcode, mnames = codes_of(day.trips["mode"])
    rank = {m: i for i, m in enumerate(MODE_ORDER)}
    order = sorted(range(len(mnames)), key=lambda k: (rank.get(mnames[k], len(rank)), mnames[k]))
    ns, nm = len(day.stop_ids), max(len(mnames), 1)
    seen = np.zeros(ns * nm, dtype=bool)
    seen[day.stop.astype(np.int64) * nm + mcode[day.trip]] = True
    seen = seen.reshape(ns, nm)[:, order]
    names = [str(mnames[k]) for k in order]
    idx = pd.Index(day.stop_ids, name="stop_id")
    lists = [[names[k] for k in np.flatnonzero(row)] for row in seen]
    dep = pd.Series(np.bincount(day.stop, minlength=ns), index=idx, name="departures")
    mode_list = pd.Series([",".join(x) for x in lists], index=idx, name="modes")
    main = pd.Series([x[0] if x else None for x in lists], index=idx, name="main_mode")
    stops = day.stops.set_index("stop_id").join([dep, mode_list, main], how="inner").reset_index()
    stops["station_id"] = stops["parent_station"].where(stops["parent_station"] != "", stops["stop_id"])
    return stops[["stop_id", "stop_name", "stop_lat", "stop_lon", "station_id", "modes", "main_mode", "departures"]]


def network_summary(day: FeedDay) -> pd.DataFrame:
    """Routes, stations and route-km per mode on the analysis day.

    Returns
    -------
    DataFrame
        One row per mode present plus a ``total`` row: ``mode``, ``routes``
        (routes with a trip on the day), ``stations`` (stops counted once per
        parent station), ``trips`` (concrete trips on the day),
        ``route_km`` (sum over routes of the drawn pattern's straight-line
        length, km: one direction, so a two-way line counts once).
    """
    lines = route_lines(day)
    stops = served_stops(day)
    smodes = stops.assign(mode=stops["modes"].str.split(",")).explode("mode")
    rows = []
    for m in [m for m in MODE_ORDER if m in set(day.trips["mode"])]:
        rows.append({
            "mode": m,
            "routes": int(day.trips.loc[day.trips["mode"] == m, "route_id"].nunique()),
            "stations": int(smodes.loc[smodes["mode"] == m, "station_id"].nunique()),
            "trips": int((day.trips["mode"] == m).sum()),
            "route_km": float(lines.loc[lines["mode"] == m, "length_km"].sum()),
        })
    df = pd.DataFrame(rows, columns=["mode", "routes", "stations", "trips", "route_km"])
    total = {"mode": N_("total"), "routes": int(day.trips["route_id"].nunique()),
             "stations": int(stops["station_id"].nunique()), "trips": int(len(day.trips)),
             "route_km": float(df["route_km"].sum())}
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    df["route_km"] = df["route_km"].round(1)
    return df


def boundaries(city) -> gpd.GeoDataFrame | None:
    """The city's administrative polygons for drawing, or None when it has none.

    Read by :func:`citybridge.inputs.boundary_outlines` with the package's
    CRS policy (a GeoJSON without CRS is WGS-84; another file without CRS
    is refused).

    Returns
    -------
    GeoDataFrame (EPSG:4326) or None
        ``name`` (from the profile's ``boundaries.name_column``) and
        ``geometry``.

    Raises
    ------
    DataError
        The file cannot be read, breaks the CRS policy, lacks the name
        column or has a feature without a polygon.
    """
    from .inputs import boundary_outlines

    return boundary_outlines(city)
