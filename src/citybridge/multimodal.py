"""Multimodal integration: bike share (GBFS) and water buses / ferries.

Bike-share stations are read by :func:`citybridge.inputs.read_gbfs`
(re-exported here as ``read_gbfs``). Proximity is straight-line distance in
the city's metric CRS.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from . import i18n
from .feed import FeedDay
from .i18n import N_
from .texts import Text
from .inputs import read_gbfs  # noqa: F401 - public here too (notebooks and tests import it from multimodal)

#: Default walking distance between a bike station and a transit stop.
LINK_RADIUS_M = 300.0


def swapped_against(stations: pd.DataFrame, stops: pd.DataFrame) -> bool:
    """Whether the bike stations as a whole have latitude and longitude swapped,
    judged against the transit stops (``stop_lat``, ``stop_lon``): the stations
    lie far from the stops, and would lie among them with the two exchanged."""
    if stations.empty or stops.empty:
        return False
    slat, slon = float(stops["stop_lat"].median()), float(stops["stop_lon"].median())
    blat, blon = float(stations["lat"].median()), float(stations["lon"].median())
    far = abs(blat - slat) > 2 or abs(blon - slon) > 2
    return far and abs(blon - slat) < 2 and abs(blat - slon) < 2


def _points(df: pd.DataFrame, lat: str, lon: str, crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(df.reset_index(drop=True), geometry=gpd.points_from_xy(df[lon], df[lat]),
                            crs="EPSG:4326").to_crs(crs)


def nearest_distance(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> np.ndarray:
    """Distance (m) from each point of ``a`` to its nearest point of ``b``.

    Both must be in the same metric CRS (ValueError otherwise); NaN when
    ``b`` is empty.
    """
    if a.crs != b.crs:
        raise ValueError(f"CRS mismatch: {a.crs} vs {b.crs}; reproject one of them with to_crs")
    if len(b) == 0:
        return np.full(len(a), np.nan)
    idx = b.sindex.nearest(a.geometry, return_all=False, return_distance=True)
    (ia, ib), dist = idx
    out = np.full(len(a), np.nan)
    out[ia] = dist
    return out


def bike_links(stations: pd.DataFrame, stops: pd.DataFrame, *, crs: str,
               radius_m: float = LINK_RADIUS_M) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bike stations near transit stops, and stops near bike stations.

    Parameters
    ----------
    stations
        From :func:`read_gbfs`.
    stops
        Served stops with ``stop_id``, ``stop_name``, ``stop_lat``,
        ``stop_lon``, ``main_mode`` (see :func:`citybridge.network.served_stops`).
    crs
        Metric CRS for distances.

    Returns
    -------
    stations_out, stops_out
        ``stations_out``: the stations plus ``dist_to_stop_m`` (m, to the
        nearest served stop) and ``near_transit`` (bool, within ``radius_m``).
        ``stops_out``: the stops plus ``dist_to_bike_m`` (m) and ``has_bike``
        (bool, a bike station within ``radius_m``).
    """
    st = _points(stations, "lat", "lon", crs)
    sp = _points(stops, "stop_lat", "stop_lon", crs)
    s_out = stations.reset_index(drop=True).copy()
    s_out["dist_to_stop_m"] = nearest_distance(st, sp)
    s_out["near_transit"] = s_out["dist_to_stop_m"] <= radius_m
    p_out = stops.reset_index(drop=True).copy()
    p_out["dist_to_bike_m"] = nearest_distance(sp, st)
    p_out["has_bike"] = p_out["dist_to_bike_m"] <= radius_m
    return s_out, p_out


def bike_summary_table(stations_out: pd.DataFrame, stops_out: pd.DataFrame, *, radius_m: float = LINK_RADIUS_M
                       ) -> pd.DataFrame:
    """:func:`bike_summary` as shown: the indicators and units are
    :class:`~citybridge.texts.Text`, written in the language in force when the table is drawn.

    Returns
    -------
    DataFrame
        ``indicator`` (text), ``value`` (count or %), ``unit`` (text).
    """
    rows = [(Text("bike-share stations"), len(stations_out), Text(N_("stations"))),
            (Text("bike stations within {radius:,.0f} m of a transit stop", radius=radius_m),
             100 * stations_out["near_transit"].mean() if len(stations_out) else np.nan, "%"),
            (Text("transit stops with a bike station within {radius:,.0f} m", radius=radius_m),
             100 * stops_out["has_bike"].mean() if len(stops_out) else np.nan, "%")]
    for mode, g in stops_out.groupby("main_mode", sort=True):
        rows.append((Text("{mode} stops with a bike station within {radius:,.0f} m", mode=Text(mode), radius=radius_m),
                     100 * g["has_bike"].mean(), "%"))
    metro = stops_out[stops_out["main_mode"] == "metro"]
    if len(metro):
        key = "station_id" if "station_id" in metro else "stop_id"
        without = metro.groupby(key)["has_bike"].any()
        rows.append((Text("metro stations without a bike station"), int((~without).sum()), Text(N_("stations"))))
    return pd.DataFrame(rows, columns=["indicator", "value", "unit"])


def bike_summary(stations_out: pd.DataFrame, stops_out: pd.DataFrame, *, radius_m: float = LINK_RADIUS_M
                 ) -> pd.DataFrame:
    """Headline integration figures (in English: the names are keys of the KPI board).

    Returns
    -------
    DataFrame
        ``indicator``, ``value``, ``unit``: bike stations; share of bike
        stations within ``radius_m`` of a stop (%); share of stops with a
        bike station within ``radius_m`` (%), overall and per mode; metro
        stations without a bike station (count). :func:`bike_summary_table`
        is the same table in the reader's language.
    """
    out = bike_summary_table(stations_out, stops_out, radius_m=radius_m)
    with i18n.use_language(i18n.SOURCE_LANGUAGE):
        for c in ("indicator", "unit"):
            out[c] = out[c].map(str)
    return out


def ferry_routes(day: FeedDay) -> pd.DataFrame:
    """Water-bus / ferry routes on the day (GTFS route_type 4, 1000 and 1200).

    Returns
    -------
    DataFrame
        ``route_id``, ``route_short_name``, ``route_long_name``, ``piers``
        (distinct stops served), ``trips`` (on the day), ``first_departure``
        and ``last_departure`` (HH:MM), ``mean_headway_min`` (service span ÷
        trips per direction, minutes). Empty when the city has none.
    """
    from .periods import seconds_to_hhmm

    t = day.trips[day.trips["mode"] == "ferry"]
    cols = ["route_id", "route_short_name", "route_long_name", "piers", "trips", "first_departure",
            "last_departure", "mean_headway_min"]
    if t.empty:
        return pd.DataFrame(columns=cols)
    st = day.stop_time_rows((day.trips["mode"] == "ferry").to_numpy()[day.trip])
    piers = st.groupby("route_id")["stop_id"].nunique().rename("piers")
    g = t.groupby("route_id")
    agg = pd.DataFrame({"trips": g.size(), "start": g["start_s"].min(), "end": g["start_s"].max(),
                        "dirs": g["direction_id"].nunique()})
    per_dir = agg["trips"] / agg["dirs"].clip(lower=1)
    agg["mean_headway_min"] = np.where(per_dir > 1, (agg["end"] - agg["start"]) / 60 / (per_dir - 1).clip(lower=1), np.nan)
    agg["first_departure"] = seconds_to_hhmm(agg["start"])
    agg["last_departure"] = seconds_to_hhmm(agg["end"])
    out = agg.join(piers).reset_index().merge(day.routes[["route_id", "route_short_name", "route_long_name"]],
                                              on="route_id", how="left")
    return out[cols]


def ferry_transfers(day: FeedDay, stops: pd.DataFrame, *, radius_m: float = LINK_RADIUS_M) -> pd.DataFrame:
    """Piers and the metro and bus stops within ``radius_m`` of them.

    Parameters
    ----------
    stops
        Served stops (see :func:`citybridge.network.served_stops`).

    Returns
    -------
    DataFrame
        One row per pier: ``stop_id``, ``stop_name``, ``stop_lat``,
        ``stop_lon``, ``metro_m`` and ``bus_m`` (distance to the nearest
        metro / bus stop, m; NaN when the city has none), ``to_metro`` and
        ``to_bus`` (bool, within ``radius_m``).
    """
    piers = stops[stops["modes"].str.split(",").map(lambda m: "ferry" in m)]
    out = piers[["stop_id", "stop_name", "stop_lat", "stop_lon"]].reset_index(drop=True).copy()
    if out.empty:
        return out.assign(metro_m=[], bus_m=[], to_metro=[], to_bus=[])
    pp = _points(out, "stop_lat", "stop_lon", day.crs)
    for mode in ("metro", "bus"):
        others = stops[stops["modes"].str.split(",").map(lambda m, mode=mode: mode in m)]
        d = nearest_distance(pp, _points(others, "stop_lat", "stop_lon", day.crs))
        out[f"{mode}_m"] = d
        out[f"to_{mode}"] = d <= radius_m
    return out
