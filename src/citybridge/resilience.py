"""Resilience (chapter 09): what a city loses when a line, a corridor or a district stops.

Definitions
-----------
* The disruption model (stops, routes, segments, polygon, window) and the
  service it removes are in :mod:`citybridge.disruption`, re-exported here.
* **Impact on access** (:func:`impact`): SDG 11.2.1 coverage and people near
  frequent transit, with the rules of :mod:`citybridge.access` (its
  stations, population pieces and summaries), on the service day before and
  after the closure. SDG coverage counts stops served at any time of the day,
  so a closure limited to a window removes SDG coverage only where it closes
  a stop all day; frequent access is read in the period. Only the stations a
  closure changes are re-buffered (:func:`lost_area`), and the undisturbed
  day (:func:`baseline`) is computed once for every scenario, so a scenario
  costs one stations table on a metropolitan feed.
* **Bus bridge** and **criticality**: :mod:`citybridge.criticality`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import access
from .disruption import (ALL_ROUTES, Closure, Disruption, closed_calls, disrupted_day,  # noqa: F401 - re-exported
                         disruption, removed_service, resolve, station_keys)
from .errors import CitybridgeError
from .feed import FeedDay
from .i18n import N_, ngettext
from .periods import Periods, period_table
from .texts import FORMATTER, tr

FREQUENT_HEADWAY_MIN = 10.0
WALK_M = 500.0
#: The note of a closure limited to a window (a catalog message, translated when shown).
WINDOW_NOTE = N_("The closure is limited to a window: SDG coverage counts stops served at any time of the day, so "
                 "it falls only where a stop is closed all day.")


# --------------------------------------------------------------------------
# Impact on access
# --------------------------------------------------------------------------

def pick_period(period: str | None, periods: Periods | None) -> tuple[str, float]:
    """The period name (default ``am_peak``, else the first) and its length (min)."""
    pt = period_table(periods)
    if period is None:
        period = "am_peak" if "am_peak" in set(pt["period"]) else str(pt["period"].iloc[0])
    row = pt[pt["period"] == period]
    if row.empty:
        raise CitybridgeError(f"period '{period}' is not one of {', '.join(pt['period'])}")
    return period, float(row["minutes"].iloc[0])


def catchment_union(st: pd.DataFrame, r):
    """Union of straight-line circles of radius ``r`` (m; one value or one per row) around the rows' ``x``, ``y``."""
    return shapely.union_all(shapely.buffer(shapely.points(st["x"].to_numpy(), st["y"].to_numpy()), r,
                                            quad_segs=16)) if len(st) else shapely.Polygon()


def lost_area(st: pd.DataFrame, r_before: np.ndarray, r_after: np.ndarray, *, tree=None):
    """The area within ``r_before`` of some station but within ``r_after`` of none (m, 0 = none).

    Only stations whose radius shrinks are buffered, and only the stations
    near them are subtracted, so a local change costs little on a large
    network. ``tree``: a ``shapely.STRtree`` of the stations' points, reused
    across calls.
    """
    changed = np.flatnonzero(r_after < r_before)
    if len(changed) == 0:
        return shapely.Polygon()
    own = catchment_union(st.iloc[changed], r_before[changed])
    tree = tree or shapely.STRtree(shapely.points(st["x"].to_numpy(), st["y"].to_numpy()))
    near = tree.query(own, predicate="dwithin", distance=float(r_after.max(initial=0)))
    near = near[r_after[near] > 0]
    return own.difference(catchment_union(st.iloc[near], r_after[near])) if len(near) else own


@dataclass
class Impact:
    """Everything one disruption changes (see :func:`impact`)."""

    closure: Closure
    service: pd.DataFrame
    summary: pd.DataFrame | None
    districts: pd.DataFrame | None
    stations: gpd.GeoDataFrame
    lost: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)


@dataclass
class Baseline:
    """The undisturbed day, computed once and shared by every scenario and the ranking (:func:`baseline`)."""

    stations: gpd.GeoDataFrame
    period: str
    districts: pd.DataFrame | None
    pieces: gpd.GeoDataFrame | None
    params: dict


def baseline(day: FeedDay, districts: gpd.GeoDataFrame | None, *, period: str | None = None,
             periods: Periods | None = None, layer: gpd.GeoDataFrame | None = None,
             max_headway_min: float = FREQUENT_HEADWAY_MIN, radius_m: float = WALK_M,
             low_m: float = 500, high_m: float = 1000, people: bool = True) -> Baseline:
    """Stations and people reached on the undisturbed day.

    Returns
    -------
    Baseline
        ``stations``: :func:`citybridge.access.stations` plus ``frequent``
        (bool), ``r_sdg`` and ``r_frequent`` (catchment radius, m; 0 =
        none); ``districts``: ``district_id``, ``name``, ``area_class``,
        ``population``, ``covered`` (SDG 11.2.1) and ``frequent`` (people),
        the figures of :func:`citybridge.access.coverage` and
        :func:`~citybridge.access.frequent_coverage`; ``pieces``:
        :func:`citybridge.access.population_pieces`. With ``people=False``
        ``districts`` is None (the ranking does not need it) and only
        ``pieces`` is prepared.
    """
    pname, _ = pick_period(period, periods)
    st = access.stations(day, period=pname, periods=periods)
    st["frequent"] = st["mean_headway_min"].le(max_headway_min).to_numpy()
    st["r_sdg"] = np.where(st["capacity"] == "high", high_m, low_m).astype(float)
    st["r_frequent"] = np.where(st["frequent"], radius_m, 0.0)
    params = dict(max_headway_min=max_headway_min, radius_m=radius_m, low_m=low_m, high_m=high_m)
    if districts is None:
        return Baseline(st, pname, None, None, params)
    pieces = access.population_pieces(districts, layer=layer)
    if not people:
        return Baseline(st, pname, None, pieces, params)
    d = pd.DataFrame(districts[access.DISTRICT_COLUMNS]).reset_index(drop=True)
    d["district_id"] = d["district_id"].astype(str)
    for col, r in (("covered", st["r_sdg"].to_numpy()), ("frequent", st["r_frequent"].to_numpy())):
        d[col] = d["district_id"].map(access.people_in(pieces, catchment_union(st[r > 0], r[r > 0]))).fillna(0.0)
    return Baseline(st, pname, d, pieces, params)


def impact(day: FeedDay, districts: gpd.GeoDataFrame | None, d: Disruption | Mapping, *,
           period: str | None = None, periods: Periods | None = None, layer: gpd.GeoDataFrame | None = None,
           max_headway_min: float = FREQUENT_HEADWAY_MIN, radius_m: float = WALK_M,
           base: Baseline | None = None) -> Impact:
    """Impact of one disruption: removed service, stations, access before and after.

    Coverage follows :func:`citybridge.access.coverage` (SDG 11.2.1: 500 m
    of a bus or tram stop, 1,000 m of a metro, rail or ferry station) and
    :func:`~citybridge.access.frequent_coverage`; only the stations the
    closure changes are re-buffered (:func:`lost_area`). Pass ``base``
    (:func:`baseline`, whose options then apply) to share the undisturbed
    day between scenarios.

    Returns
    -------
    Impact
        - ``service``: :func:`removed_service`
        - ``summary``: rows ``city``, ``urban``, ``rural`` (present classes):
          ``scope``, ``population`` (people), ``covered_before``,
          ``covered_after``, ``lose_access`` (people within SDG 11.2.1 reach
          before, not after), ``frequent_before``, ``frequent_after``,
          ``lose_frequent`` (people), ``share_lose_access``,
          ``share_lose_frequent`` (0–1 of the population); None without districts
        - ``districts``: the same columns by district (``district_id``,
          ``name``, ``area_class`` instead of ``scope``); None without districts
        - ``stations``: ``station_id``, ``station_name``, ``capacity``,
          ``mean_headway_min`` before, ``headway_after_min`` (min),
          ``frequent_before``, ``frequent_after`` (bool), ``closed`` (bool:
          no call left), ``x``, ``y`` (m), point geometry, in ``day.crs``
        - ``lost``: areas (``kind`` ``"lost all access"`` or ``"lost
          frequent access"``, ``area_km2``) as polygons in ``day.crs``
    """
    closure = d if isinstance(d, Closure) else resolve(day, d)
    base = base or baseline(day, districts, period=period, periods=periods, layer=layer,
                            max_headway_min=max_headway_min, radius_m=radius_m)
    p = base.params
    after = disrupted_day(day, closure)
    sa = access.stations(after, period=base.period, periods=periods).set_index("station_id")
    sb = base.stations
    stn = sb.assign(headway_after_min=sb["station_id"].map(sa["mean_headway_min"]),
                    frequent_before=sb["frequent"], closed=~sb["station_id"].isin(sa.index))
    stn["frequent_after"] = stn["headway_after_min"].le(p["max_headway_min"])
    cap_after = stn["station_id"].map(sa["capacity"])
    r_sdg = np.where(stn["closed"], 0.0, np.where(cap_after == "high", p["high_m"], p["low_m"]))
    r_fre = np.where(stn["frequent_after"], p["radius_m"], 0.0)
    tree = shapely.STRtree(shapely.points(sb["x"].to_numpy(), sb["y"].to_numpy()))
    geoms = [lost_area(sb, sb["r_sdg"].to_numpy(), np.minimum(r_sdg, sb["r_sdg"].to_numpy()), tree=tree),
             lost_area(sb, sb["r_frequent"].to_numpy(), r_fre, tree=tree)]
    stn = stn[["station_id", "station_name", "capacity", "mean_headway_min", "headway_after_min",
               "frequent_before", "frequent_after", "closed", "x", "y", "geometry"]]
    lost = gpd.GeoDataFrame({"kind": [N_("lost all access"), N_("lost frequent access")]}, geometry=geoms, crs=day.crs)
    lost["area_km2"] = lost.geometry.area / 1e6
    notes = []
    if closure.window_s is not None:
        notes.append(WINDOW_NOTE)
    summ = dist = None
    if base.districts is not None:
        dist = base.districts.copy()
        for col, g in (("covered", geoms[0]), ("frequent", geoms[1])):
            dist[f"{col}_after"] = dist[col] - dist["district_id"].map(access.people_in(base.pieces, g)).fillna(0.0)
        cov = [dist.assign(pop_covered=dist[c]) for c in ("covered", "covered_after")]
        fre = [dist.assign(pop_covered=dist[c]) for c in ("frequent", "frequent_after")]
        keys = ["district_id", "name", "area_class"]
        dist = _before_after([c[keys + ["population", "pop_covered"]] for c in cov],
                             [f[keys + ["population", "pop_covered"]] for f in fre], keys)
        summ = _before_after([access.summarise(c) for c in cov], [access.summarise(f) for f in fre], ["scope"])
    return Impact(closure, removed_service(day, closure), summ, dist, stn, lost, notes)


def _before_after(cov: list[pd.DataFrame], fre: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    out = cov[0][keys + ["population"]].copy()
    out["covered_before"], out["covered_after"] = cov[0]["pop_covered"].to_numpy(), cov[1]["pop_covered"].to_numpy()
    # differences under a millionth of a person are rounding of the polygon areas, not people
    out["lose_access"] = (out["covered_before"] - out["covered_after"]).where(lambda v: v > 1e-6, 0.0)
    out["frequent_before"], out["frequent_after"] = fre[0]["pop_covered"].to_numpy(), fre[1]["pop_covered"].to_numpy()
    out["lose_frequent"] = (out["frequent_before"] - out["frequent_after"]).where(lambda v: v > 1e-6, 0.0)
    pop = out["population"].where(out["population"] > 0)
    out["share_lose_access"] = out["lose_access"] / pop
    out["share_lose_frequent"] = out["lose_frequent"] / pop
    return out.reset_index(drop=True)


def impact_sentence(imp: Impact) -> str:
    """One sentence, in the language in force: what the disruption removes and who loses access."""
    s = imp.service.set_index("mode")
    name = imp.closure.disruption.name
    if s.empty or "total" not in s.index:
        return tr("{name}: the service day has no trips, so nothing can be removed.", name=name)
    t = s.loc["total"]
    values = dict(name=name, calls=int(t["calls_closed"]), stations=int(t["stations_closed"]),
                  removed=int(t["trips_removed"]), cut=int(t["trips_cut"]), km_removed=float(t["vehicle_km_removed"]),
                  km=float(t["vehicle_km"]))
    if imp.summary is None:
        text = ngettext("{name}: {calls:,} calls at {stations:,} station closed, {removed:,} trips removed and {cut:,} "
                        "cut, {km_removed:,.0f} vehicle-km of {km:,.0f} lost; without census population the people "
                        "affected cannot be counted.",
                        "{name}: {calls:,} calls at {stations:,} stations closed, {removed:,} trips removed and {cut:,} "
                        "cut, {km_removed:,.0f} vehicle-km of {km:,.0f} lost; without census population the people "
                        "affected cannot be counted.", values["stations"])
        return FORMATTER.format(text, **values)
    c = imp.summary.set_index("scope").loc["city"]
    text = ngettext("{name}: {calls:,} calls at {stations:,} station closed, {removed:,} trips removed and {cut:,} cut, "
                    "{km_removed:,.0f} vehicle-km of {km:,.0f} lost; {lose_access:,.0f} people lose all transit within "
                    "walking distance and {lose_frequent:,.0f} ({share:.1f}% of the population) lose frequent transit.",
                    "{name}: {calls:,} calls at {stations:,} stations closed, {removed:,} trips removed and {cut:,} cut, "
                    "{km_removed:,.0f} vehicle-km of {km:,.0f} lost; {lose_access:,.0f} people lose all transit within "
                    "walking distance and {lose_frequent:,.0f} ({share:.1f}% of the population) lose frequent transit.",
                    values["stations"])
    return FORMATTER.format(text, lose_access=float(c["lose_access"]), lose_frequent=float(c["lose_frequent"]),
                            share=100 * float(c["share_lose_frequent"] or 0), **values)


def scenario_table(impacts: list[Impact]) -> pd.DataFrame:
    """One row per disruption, for comparing scenarios.

    Returns
    -------
    DataFrame
        - ``scenario``: its name
        - ``trips_removed``, ``trips_cut``, ``stations_closed``, ``routes_affected`` (count)
        - ``vehicle_km_removed`` (km)
        - ``lose_access``, ``lose_frequent``: people (NaN without population)
    """
    rows = []
    for imp in impacts:
        s = imp.service.set_index("mode")
        t = s.loc["total"] if "total" in s.index else pd.Series(0, index=s.columns)
        c = imp.summary.set_index("scope").loc["city"] if imp.summary is not None else {}
        rows.append({"scenario": imp.closure.disruption.name, "trips_removed": int(t.get("trips_removed", 0)),
                     "trips_cut": int(t.get("trips_cut", 0)), "stations_closed": int(t.get("stations_closed", 0)),
                     "routes_affected": int(t.get("routes_affected", 0)),
                     "vehicle_km_removed": float(t.get("vehicle_km_removed", 0.0)),
                     "lose_access": float(c.get("lose_access", np.nan)),
                     "lose_frequent": float(c.get("lose_frequent", np.nan))})
    return pd.DataFrame(rows, columns=["scenario", "trips_removed", "trips_cut", "stations_closed", "routes_affected",
                                       "vehicle_km_removed", "lose_access", "lose_frequent"])
