"""Access to transit (chapter 03_access): SDG 11.2.1 and people near frequent transit.

Definitions
-----------
* **SDG 11.2.1** (UN-Habitat): the share of the population living within
  500 m of a low-capacity stop (bus, tram/BRT and other surface modes) or
  1,000 m of a high-capacity one (metro, rail, ferry:
  :data:`citybridge.feed.HIGH_CAPACITY_MODES`). UN-Habitat prefers walking
  distance on the street network; this module uses the **straight line**
  (a circle around each stop), which over-states access where streets are
  indirect, and says so in the ``distance`` column of every result.
  Optionally only stops with at least ``min_trips_per_hour`` one-way
  departures in a peak period count, as UN-Habitat suggests for a
  "convenient" service.
* **People near frequent transit** (ITDP): the share of the population
  within 500 m of a stop whose one-way headway in the chosen period is
  10 minutes or better.

Stations, not platforms: stops that name a ``parent_station`` (present in
``stops.txt``) are counted once, as their station, at the station's
position. Headways at a station are one-way, as in
:mod:`citybridge.service`: each route counts its busiest direction there.

Population lives on census polygons (comunas, districts): a GeoDataFrame with
``district_id``, ``name``, ``population``, ``area_class`` (``urban`` or
``rural``) and polygons, in the day's local metric CRS (:attr:`FeedDay.crs`).
By default each polygon's population is spread evenly over its area (areal
weighting: covered population = covered share of the area × population).
Where a finer population layer is given (polygons or points with a
``population`` column), it decides where people live inside each district
and its totals are scaled to the district's census population.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

# The summaries (access_report) and the readers of the city's files (inputs) are public here too,
# where the notebooks call them: access.summarise(...), access.districts(city).
from .access_report import (AREAL_WEIGHTING, STRAIGHT_LINE, assumption_text, least_served,  # noqa: F401
                            rural_gap_sentence, summarise)
from .errors import DataError, where
from .feed import HIGH_CAPACITY_MODES, FeedDay
from . import engine as E
from .inputs import AREA_CLASSES, DISTRICT_COLUMNS, UNCLASSIFIED, districts, population_layer  # noqa: F401
from .periods import Periods, period_table


# --------------------------------------------------------------------------
# Stations and catchments
# --------------------------------------------------------------------------

def _pick_period(period: str | None, periods: Periods | None) -> tuple[str, pd.Series]:
    pt = period_table(periods)
    if period is None:
        period = "am_peak" if "am_peak" in set(pt["period"]) else str(pt["period"].iloc[0])
    row = pt[pt["period"] == period]
    if row.empty:
        raise DataError(f"period '{period}' is not one of the periods "
                        f"({', '.join(pt['period'])}); pass one of them or add it to "
                        "the 'periods' of city.yml")
    return period, row.iloc[0]


def stations(day: FeedDay, *, period: str | None = None, periods: Periods | None = None) -> gpd.GeoDataFrame:
    """Served stops grouped into stations, with their capacity class and headway.

    A stop with a ``parent_station`` found in ``stops.txt`` is represented by
    that station (its position and name); other stops stand for themselves.
    Only stops with at least one stop time on the day are kept.

    Parameters
    ----------
    day
        The prepared service day.
    period
        Period for the departures and headway; default ``"am_peak"`` (or the
        first period when there is none of that name).
    periods
        ``{name: ("HH:MM", "HH:MM")}``; default ``DEFAULT_PERIODS``.

    Returns
    -------
    GeoDataFrame
        One row per station, in ``day.crs``:

        - ``station_id``: parent station id, or the stop id
        - ``station_name``
        - ``stops``: served stops (platforms) grouped into it (count)
        - ``modes``: modes serving it on the day, comma-separated
        - ``capacity``: ``"high"`` when a metro, rail or ferry serves it, else ``"low"``
        - ``period``: the period of the next columns
        - ``departures``: departures in the period, all directions (count)
        - ``departures_one_way``: each route's busiest direction only (count)
        - ``trips_per_hour``: ``departures_one_way`` per hour (1/h)
        - ``mean_headway_min``: period minutes / ``departures_one_way`` (min);
          NaN without departures
        - ``x``, ``y``: position in ``day.crs`` (m)
        - ``geometry``: the point

        Computed once per day and period (a copy is returned).
    """
    period, _ = _pick_period(period, periods)
    memo = day.remember("access_stations", dict)
    k = (period, repr(periods))
    if k not in memo:
        memo[k] = _stations(day, period=period, periods=periods)
    return memo[k].copy()


def _stations(day: FeedDay, *, period: str, periods: Periods | None) -> gpd.GeoDataFrame:
    xy = day.stops_xy()
    xy = xy[~xy.index.duplicated()]
    ok_pos = np.isfinite(xy["x"]) & np.isfinite(xy["y"])
    parent = xy["parent_station"].fillna("").astype(str)
    has_parent = (parent != "") & parent.isin(xy.index[ok_pos])
    key = pd.Series(np.where(has_parent, parent, xy.index), index=xy.index)
    dep = E.stop_departures(day, periods=periods, key=key)
    dep = dep[dep["period"] == period].rename(columns={"key": "station_id"})
    served = pd.Series(day.stop_ids, dtype=object)
    n_stops = served.map(key).fillna(served).value_counts()
    dep["stops"] = dep["station_id"].map(n_stops).fillna(0).astype(int)
    high = "(?:^|,)(?:" + "|".join(sorted(HIGH_CAPACITY_MODES)) + ")(?:,|$)"
    modes = dep["modes"].fillna("").astype(str)  # an empty day (every stop closed) has no text column
    dep["capacity"] = np.where(modes.str.contains(high, regex=True).to_numpy(dtype=bool), "high", "low")
    dep["station_name"] = dep["station_id"].map(xy["stop_name"]).fillna("")
    dep["x"] = dep["station_id"].map(xy["x"])
    dep["y"] = dep["station_id"].map(xy["y"])
    dep = dep[np.isfinite(dep["x"].astype(float)) & np.isfinite(dep["y"].astype(float))]
    cols = ["station_id", "station_name", "stops", "modes", "capacity", "period", "departures",
            "departures_one_way", "trips_per_hour", "mean_headway_min", "x", "y"]
    dep = dep[cols].sort_values("station_id").reset_index(drop=True)
    return gpd.GeoDataFrame(dep, geometry=gpd.points_from_xy(dep["x"], dep["y"]), crs=day.crs)


def catchments(day: FeedDay, *, low_m: float = 500, high_m: float = 1000,
               min_trips_per_hour: float | None = None, period: str | None = None,
               periods: Periods | None = None, quad_segs: int = 16) -> gpd.GeoDataFrame:
    """Dissolved straight-line catchments of low- and high-capacity stations (SDG 11.2.1).

    Parameters
    ----------
    day
        The prepared service day.
    low_m, high_m
        Catchment radius of low-capacity (bus, tram) and high-capacity
        (metro, rail, ferry) stations (m).
    min_trips_per_hour
        When given, only stations with at least this many one-way departures
        per hour in ``period`` count.
    period, periods
        The period for ``min_trips_per_hour`` (default ``"am_peak"``) and
        the period definitions (default ``DEFAULT_PERIODS``).
    quad_segs
        Segments per quarter circle of each buffer; 16 makes the circle's
        area 0.16 % smaller than π·r².

    Returns
    -------
    GeoDataFrame
        Two rows, ``low`` then ``high``, in ``day.crs``:

        - ``capacity``: ``"low"`` or ``"high"``
        - ``radius_m``: buffer radius (m)
        - ``stations``: stations counted (count)
        - ``area_km2``: area of the dissolved catchment (km²)
        - ``geometry``: the dissolved catchment (empty when no station)
    """
    memo = day.remember("access_catchments", dict)
    k = (low_m, high_m, min_trips_per_hour, period, repr(periods), quad_segs)
    if k not in memo:
        memo[k] = _catchments(day, low_m=low_m, high_m=high_m, min_trips_per_hour=min_trips_per_hour,
                              period=period, periods=periods, quad_segs=quad_segs)
    return memo[k].copy()


def _catchments(day: FeedDay, *, low_m: float, high_m: float, min_trips_per_hour: float | None,
                period: str | None, periods: Periods | None, quad_segs: int) -> gpd.GeoDataFrame:
    st = _eligible(day, min_trips_per_hour=min_trips_per_hour, period=period, periods=periods)
    rows = []
    for cap, r in (("low", low_m), ("high", high_m)):
        pts = st[st["capacity"] == cap]
        geom = shapely.union_all(shapely.buffer(pts.geometry.values, r, quad_segs=quad_segs)) \
            if len(pts) else shapely.Polygon()
        rows.append({"capacity": cap, "radius_m": float(r), "stations": len(pts),
                     "area_km2": geom.area / 1e6, "geometry": geom})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=day.crs)


def _eligible(day: FeedDay, *, min_trips_per_hour: float | None, period: str | None,
              periods: Periods | None) -> gpd.GeoDataFrame:
    st = stations(day, period=period, periods=periods)
    if min_trips_per_hour is not None:
        st = st[st["trips_per_hour"] >= min_trips_per_hour]
    return st


def _catchment_text(low_m: float, high_m: float, min_trips_per_hour: float | None,
                    period: str, prow: pd.Series) -> str:
    text = f"{low_m:g} m of a bus/tram stop or {high_m:g} m of a metro/rail/ferry station"
    if min_trips_per_hour is not None:
        text += (f", counting stops with at least {min_trips_per_hour:g} departures/h one way "
                 f"in {period} ({prow['start']}–{prow['end']})")
    return text


# --------------------------------------------------------------------------
# Population under catchments
# --------------------------------------------------------------------------

def _check_crs(gdf: gpd.GeoDataFrame, day_crs: str, what: str) -> None:
    if gdf.crs is None:
        raise DataError(f"{what}: no CRS is set; set the one the coordinates are in, e.g. "
                        f"gdf.set_crs('EPSG:4326'), then reproject with gdf.to_crs('{day_crs}')")
    if not CRS.from_user_input(day_crs).equals(gdf.crs):
        raise DataError(f"CRS mismatch between the {what} ({gdf.crs.to_string()}) and the feed "
                        f"day ({day_crs}); reproject first with gdf.to_crs('{day_crs}') "
                        "(citybridge.access.districts() does this for you)")


def _check_districts(districts: gpd.GeoDataFrame, day_crs: str) -> None:
    if not isinstance(districts, gpd.GeoDataFrame):
        raise DataError("districts: expected a GeoDataFrame (see citybridge.access.districts)")
    for c in DISTRICT_COLUMNS:
        if c not in districts.columns:
            raise DataError(f"{where('districts table', c)}: required column is missing; the "
                            f"table needs {', '.join(DISTRICT_COLUMNS)} and polygons "
                            "(citybridge.access.districts(city) builds it from city.yml)")
    pop = pd.to_numeric(districts["population"], errors="coerce")
    bad = pop.isna() | (pop < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{where('districts table', 'population', i + 1)}: district "
                        f"'{districts['district_id'].iloc[i]}' has no valid population "
                        f"('{districts['population'].iloc[i]}'); give a number of people")
    _check_crs(districts, day_crs, "districts")


def _layer_shares(districts: gpd.GeoDataFrame, covered, layer: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per district: the layer's population inside it and inside the catchment."""
    if "population" not in layer.columns:
        raise DataError(f"{where('population layer', 'population')}: required column is missing; "
                        "the layer needs a population column (people per polygon or point)")
    lay = layer[["population", layer.geometry.name]].copy()
    lay["population"] = pd.to_numeric(lay["population"], errors="coerce").fillna(0.0)
    lay = lay[~lay.geometry.is_empty & lay.geometry.notna()]
    kinds = set(lay.geom_type)
    d = districts[["district_id", districts.geometry.name]]
    if kinds <= {"Point"}:
        j = gpd.sjoin(lay, d, predicate="within", how="inner")
        inside = shapely.contains_xy(covered, j.geometry.x.to_numpy(), j.geometry.y.to_numpy())
        j["covered"] = j["population"] * inside
    elif kinds <= {"Polygon", "MultiPolygon"}:
        lay["_area"] = lay.geometry.area
        j = gpd.overlay(lay, d, how="intersection", keep_geom_type=True)
        piece_area = j.geometry.area
        j["population"] = j["population"] * (piece_area / j["_area"].where(j["_area"] > 0))
        j["covered"] = j["population"] * (area_inside(j.geometry.values, covered) /
                                          piece_area.where(piece_area > 0)).fillna(0.0)
    else:
        raise DataError(f"population layer: geometries must be all points or all polygons "
                        f"(found {', '.join(sorted(kinds))}); split the layer")
    out = j.groupby("district_id").agg(layer_pop=("population", "sum"), layer_covered=("covered", "sum"))
    return out


def _coverage_of(districts: gpd.GeoDataFrame, covered, *, layer: gpd.GeoDataFrame | None,
                 day_crs: str, catchment: str) -> pd.DataFrame:
    _check_districts(districts, day_crs)
    d = districts.reset_index(drop=True)
    area = d.geometry.area
    share_area = (area_inside(d.geometry.values, covered) / area.where(area > 0)).fillna(0.0).clip(0, 1)
    share = share_area.copy()
    assumption = pd.Series(AREAL_WEIGHTING, index=d.index, dtype=object)
    if layer is not None:
        _check_crs(layer, day_crs, "population layer")
        name = str(layer.attrs.get("name", "given layer"))
        ls = _layer_shares(d, covered, layer)
        lp = d["district_id"].map(ls["layer_pop"]).fillna(0.0)
        lc = d["district_id"].map(ls["layer_covered"]).fillna(0.0)
        use = lp > 0
        share = share.where(~use, (lc / lp.where(use)).clip(0, 1))
        assumption = assumption.where(~use, f"finer population layer ({name}), scaled to census totals")
    pop = pd.to_numeric(d["population"], errors="coerce").astype(float)
    return pd.DataFrame({
        "district_id": d["district_id"].astype(str),
        "name": d["name"].astype(str),
        "area_class": d["area_class"].astype(str),
        "population": pop,
        "area_km2": area / 1e6,
        "pop_covered": pop * share,
        "share_covered": share,
        "catchment": catchment,
        "distance": STRAIGHT_LINE,
        "population_assumption": assumption.astype(str),
    })


def coverage(day: FeedDay, districts: gpd.GeoDataFrame, *, low_m: float = 500, high_m: float = 1000,
             min_trips_per_hour: float | None = None, period: str | None = None,
             periods: Periods | None = None, layer: gpd.GeoDataFrame | None = None,
             quad_segs: int = 16) -> pd.DataFrame:
    """SDG 11.2.1 by district: people within 500 m of a low-capacity or
    1,000 m of a high-capacity stop (straight line).

    Parameters
    ----------
    day
        The prepared service day.
    districts
        ``district_id``, ``name``, ``population``, ``area_class`` and
        polygons, in ``day.crs`` (see :func:`districts`).
    low_m, high_m, min_trips_per_hour, period, periods, quad_segs
        As in :func:`catchments`.
    layer
        Optional finer population layer (polygons or points with a
        ``population`` column) in ``day.crs``; its ``attrs["name"]`` is
        reported. Districts it does not reach fall back to areal weighting.

    Returns
    -------
    DataFrame
        One row per district:

        - ``district_id``, ``name``
        - ``area_class``: ``urban``, ``rural`` (or ``unclassified``)
        - ``population``: census population (people)
        - ``area_km2``: district area (km²)
        - ``pop_covered``: people within the catchment (people)
        - ``share_covered``: ``pop_covered / population`` (0–1)
        - ``catchment``: the rule used, in words
        - ``distance``: ``"straight line"``
        - ``population_assumption``: ``"areal weighting (even spread over
          each polygon)"`` or the finer layer used for that district
    """
    period_name, prow = _pick_period(period, periods)
    cat = catchments(day, low_m=low_m, high_m=high_m, min_trips_per_hour=min_trips_per_hour,
                     period=period_name, periods=periods, quad_segs=quad_segs)
    covered = shapely.union_all(cat.geometry.values)
    shapely.prepare(covered)
    return _coverage_of(districts, covered, layer=layer, day_crs=day.crs,
                        catchment=_catchment_text(low_m, high_m, min_trips_per_hour, period_name, prow))


def frequent_coverage(day: FeedDay, districts: gpd.GeoDataFrame, *, max_headway_min: float = 10,
                      radius_m: float = 500, period: str | None = None, periods: Periods | None = None,
                      layer: gpd.GeoDataFrame | None = None, quad_segs: int = 16) -> pd.DataFrame:
    """People near frequent transit (ITDP) by district: within ``radius_m``
    (straight line) of a station whose one-way headway in ``period`` is
    ``max_headway_min`` or better, whatever the mode.

    Parameters
    ----------
    day
        The prepared service day.
    districts
        As in :func:`coverage`.
    max_headway_min
        Headway threshold (min), inclusive.
    radius_m
        Catchment radius (m).
    period, periods
        The period (default ``"am_peak"``) and the period definitions.
    layer, quad_segs
        As in :func:`coverage`.

    Returns
    -------
    DataFrame
        The columns of :func:`coverage`, one row per district; ``catchment``
        states the frequency rule.
    """
    period_name, prow = _pick_period(period, periods)
    st = stations(day, period=period_name, periods=periods)
    st = st[st["mean_headway_min"] <= max_headway_min]
    covered = shapely.union_all(shapely.buffer(st.geometry.values, radius_m, quad_segs=quad_segs)) \
        if len(st) else shapely.Polygon()
    shapely.prepare(covered)
    text = (f"{radius_m:g} m of a stop with a one-way headway of {max_headway_min:g} min or better "
            f"in {period_name} ({prow['start']}–{prow['end']})")
    return _coverage_of(districts, covered, layer=layer, day_crs=day.crs, catchment=text)


def coverage_of_area(districts: gpd.GeoDataFrame, covered, *, crs: str,
                     layer: gpd.GeoDataFrame | None = None, catchment: str = "") -> pd.DataFrame:
    """People living inside any given area, by district, with the same
    population rules as :func:`coverage` (areal weighting or a finer layer).

    Used where the area is not a stop catchment of a service day (for
    example the part of a catchment a disruption takes away).

    Parameters
    ----------
    districts
        As in :func:`coverage`, in ``crs``.
    covered
        A shapely (multi)polygon in ``crs``; may be empty.
    crs
        The CRS of ``covered`` (the day's :attr:`FeedDay.crs`).
    layer
        As in :func:`coverage`.
    catchment
        The rule that produced ``covered``, in words (copied to every row).

    Returns
    -------
    DataFrame
        The columns of :func:`coverage`, one row per district.
    """
    shapely.prepare(covered)
    return _coverage_of(districts, covered, layer=layer, day_crs=crs, catchment=catchment)


def population_pieces(districts: gpd.GeoDataFrame, *, layer: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Where each district's people live, as pieces, for counting people in many areas quickly.

    The same population rules as :func:`coverage`: a district the finer
    ``layer`` reaches is split into the layer's pieces (polygons cut by the
    district, or points inside it), their people scaled so that they add up
    to the district's census population; any other district is one piece
    with its people spread evenly (areal weighting). Count with
    :func:`people_in`; for one area :func:`coverage_of_area` gives the same
    figures.

    Returns
    -------
    GeoDataFrame
        In the districts' CRS:

        - ``district_id``
        - ``population``: people in the piece (people)
        - ``area_m2``: the piece's area (m²; 0 for points)
        - ``geometry``: polygon or point
    """
    d = districts.reset_index(drop=True)
    base = gpd.GeoDataFrame({"district_id": d["district_id"].astype(str),
                             "population": pd.to_numeric(d["population"], errors="coerce").astype(float)},
                            geometry=d.geometry.values, crs=d.crs)
    if layer is None:
        return base.assign(area_m2=base.geometry.area)
    _check_crs(layer, str(d.crs), "population layer")
    lay = layer[["population", layer.geometry.name]].copy()
    lay["population"] = pd.to_numeric(lay["population"], errors="coerce").fillna(0.0)
    lay = lay[~lay.geometry.is_empty & lay.geometry.notna()]
    dd = base[["district_id", "geometry"]]
    if set(lay.geom_type) <= {"Point"}:
        j = gpd.sjoin(lay, dd, predicate="within", how="inner").drop(columns="index_right")
    else:
        lay["_area"] = lay.geometry.area
        j = gpd.overlay(lay, dd, how="intersection", keep_geom_type=True)
        j["population"] = j["population"] * (j.geometry.area / j["_area"].where(j["_area"] > 0)).fillna(0.0)
    lp = j.groupby("district_id")["population"].sum()
    census = base.set_index("district_id")["population"]
    j = j[j["district_id"].map(lp).fillna(0) > 0]
    j = j.assign(population=j["population"] / j["district_id"].map(lp) * j["district_id"].map(census))
    pieces = pd.concat([base[~base["district_id"].isin(j["district_id"])],
                        j[["district_id", "population", "geometry"]]], ignore_index=True)
    out = gpd.GeoDataFrame(pieces, geometry="geometry", crs=d.crs)
    return out.assign(area_m2=out.geometry.area)


def people_in(pieces: gpd.GeoDataFrame, area) -> pd.Series:
    """People of :func:`population_pieces` living inside ``area`` (a shapely
    polygon in the pieces' CRS), by ``district_id`` (people; districts with
    nobody inside are left out)."""
    if area is None or area.is_empty:
        return pd.Series(dtype=float)
    g = pieces.geometry.values
    idx = pieces.sindex.query(area, predicate="intersects")
    if len(idx) == 0:
        return pd.Series(dtype=float)
    sub = pieces.iloc[idx]
    pts = (sub.geom_type == "Point").to_numpy()
    share = np.zeros(len(sub))
    if pts.any():
        share[pts] = 1.0          # intersecting a point means containing it
    if (~pts).any():
        a = sub["area_m2"].to_numpy()[~pts]
        inter = area_inside(g[idx][~pts], area)
        share[~pts] = np.where(a > 0, inter / np.where(a > 0, a, 1), 0.0).clip(0, 1)
    return (sub["population"] * share).groupby(sub["district_id"]).sum()


def area_inside(geoms, area) -> np.ndarray:
    """Area of each polygon of ``geoms`` lying inside ``area`` (a shapely polygon, same CRS; m²).

    A polygon wholly inside counts its own area and one wholly outside 0;
    only the polygons crossing the area's edge are cut, which on a
    metropolitan catchment saves most of the geometry work.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms))
    if area is None or area.is_empty or len(geoms) == 0:
        return out
    shapely.prepare(area)
    whole = shapely.contains_properly(area, geoms)
    out[whole] = shapely.area(geoms[whole])
    edge = ~whole & shapely.intersects(area, geoms)
    out[edge] = shapely.area(shapely.intersection(geoms[edge], area))
    return out
