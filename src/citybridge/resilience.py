"""Resilience (chapter 09): what a city loses when a line, a corridor or a district stops.

Definitions
-----------
* A **disruption** (:class:`Disruption`) closes stops, whole routes, route
  segments between two stops, or every stop inside a polygon, optionally
  only within a time window. It resolves (:func:`resolve`) to *closed
  calls*: (route, station) pairs at which no vehicle stops; a stop closure or
  a polygon closes a station to every route. A **segment** ``A–B`` of a route
  closes the route's calls at every station from ``A`` to ``B`` *inclusive*:
  the stations bounding the closed track lose the line too, as when an
  operator short-turns trains at the stations outside the closure.
* **Removed service** (:func:`removed_service`): a trip left with fewer than
  two calls is removed; a stop-to-stop link is removed when the trip is
  removed or both its ends are closed (vehicles run through a single closed
  stop). Vehicle-km are straight-line, as in :mod:`citybridge.service`.
* **Impact on access** (:func:`impact`): SDG 11.2.1 coverage and people near
  frequent transit (:mod:`citybridge.access`, reused as is) on the service
  day before and after the closure. SDG coverage counts stops served at any
  time of the day, so a closure limited to a window removes SDG coverage
  only where it closes a stop all day; frequent access is read in the period.
* **Bus bridge** (:func:`citybridge.criticality.bus_bridge`): for each closed metro section, the bus
  routes calling within walking distance of both its stations, their
  capacity per hour in the period (full vehicles, an upper bound on what they
  can absorb) against the metro capacity removed, and the buses per hour a
  bridge would have to add. Vehicle capacities come from ``city.yml``
  (``vehicle_capacity``, with sources); without them nothing is estimated.
* **Criticality** (:func:`citybridge.criticality.criticality`): every metro section between
  consecutive stations, and the busiest bus corridors (every stop of a bus
  route, closed to all routes), ranked by the people who would lose frequent
  access if it alone closed. Vectorised: one stations table per metro line,
  then each section only changes its two stations; departures elsewhere on
  the line are taken as unchanged (trains turn back next to the closure).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from . import access
from .errors import CitybridgeError, ScenarioError
from .feed import FeedDay
from .service import Periods, hhmm_to_seconds, period_of, period_table

FREQUENT_HEADWAY_MIN = 10.0
WALK_M = 500.0
ALL_ROUTES = "*"
FIELDS = ("name", "stops", "routes", "segments", "polygon", "window", "note")


@dataclass(frozen=True)
class Disruption:
    """What closes. ``segments`` are ``(route, from_stop, to_stop)``; stops and
    routes are named by id or by name (stop_name; route_short_name or
    route_long_name); ``polygon`` is GeoJSON (WGS-84) or a shapely geometry;
    ``window`` is ``("HH:MM", "HH:MM")``."""

    name: str
    stops: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    segments: tuple[tuple[str, str, str], ...] = ()
    polygon: object | None = None
    window: tuple[str, str] | None = None
    note: str = ""


@dataclass
class Closure:
    """A disruption resolved on a service day: closed (route, station) pairs
    (``route_id`` ``"*"`` for every route), the window in seconds and the
    polygon in the day's CRS."""

    disruption: Disruption
    pairs: pd.DataFrame
    window_s: tuple[float, float] | None = None
    area: object | None = None


def _err(name: str, fld: str, text: str) -> ScenarioError:
    return ScenarioError(f"scenario '{name}', field '{fld}': {text}")


def _texts(v, name: str, fld: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, (str, int, float)):
        v = [v]
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, (str, int, float)) for x in v):
        raise _err(name, fld, "write a list of ids or names, e.g. [L1] or ['Baquedano']")
    return tuple(str(x).strip() for x in v)


def disruption(spec: Mapping, *, index: int = 0) -> Disruption:
    """A :class:`Disruption` from one ``scenarios`` entry of ``city.yml``.

    Raises
    ------
    ScenarioError
        Naming the scenario and the field: an unknown field, a malformed list,
        a segment without ``route``/``from``/``to``, a window that is not two
        ``HH:MM`` times, or nothing to close.
    """
    if isinstance(spec, Disruption):
        return spec
    if not isinstance(spec, Mapping):
        raise _err(f"#{index + 1}", "scenarios", "each scenario is a mapping with a name and what closes")
    name = str(spec.get("name") or f"scenario {index + 1}")
    for k in spec:
        if k not in FIELDS:
            raise _err(name, str(k), f"unknown field; use {', '.join(FIELDS)}")
    segs = []
    for i, s in enumerate(spec.get("segments") or []):
        if not isinstance(s, Mapping) or not all(s.get(k) not in (None, "") for k in ("route", "from", "to")):
            raise _err(name, f"segments[{i}]", "write {route: L1, from: Baquedano, to: Los Leones}")
        segs.append((str(s["route"]).strip(), str(s["from"]).strip(), str(s["to"]).strip()))
    win = spec.get("window")
    if win is not None:
        if not isinstance(win, (list, tuple)) or len(win) != 2:
            raise _err(name, "window", "write two times, e.g. ['07:00', '09:00']")
        win = (str(win[0]), str(win[1]))
    d = Disruption(name=name, stops=_texts(spec.get("stops"), name, "stops"),
                   routes=_texts(spec.get("routes"), name, "routes"), segments=tuple(segs),
                   polygon=spec.get("polygon"), window=win, note=str(spec.get("note") or ""))
    if not (d.stops or d.routes or d.segments or d.polygon is not None):
        raise _err(name, "stops", "the scenario closes nothing; give stops, routes, segments or a polygon")
    return d


# --------------------------------------------------------------------------
# Resolving names on a service day
# --------------------------------------------------------------------------

def _norm(s: str) -> str:
    s = unicodedata.normalize("NFKD", str(s))
    return "".join(c for c in s if not unicodedata.combining(c)).casefold().strip()


def station_keys(day: FeedDay) -> pd.Series:
    """stop_id → station id (the parent station when it has a position), as
    in :func:`citybridge.access.stations`."""
    xy = day.stops_xy()
    xy = xy[~xy.index.duplicated()]
    ok = np.isfinite(xy["x"]) & np.isfinite(xy["y"])
    parent = xy["parent_station"].fillna("").astype(str) if "parent_station" in xy else pd.Series("", index=xy.index)
    has = (parent != "") & parent.isin(xy.index[ok])
    return pd.Series(np.where(has, parent, xy.index), index=xy.index)


def _stations_named(day: FeedDay, key: pd.Series, ref: str, name: str, fld: str) -> set[str]:
    if ref in key.index:
        return {key[ref]}
    names = day.stops_xy()["stop_name"].astype(str).map(_norm)
    hit = names.index[names.to_numpy() == _norm(ref)]
    if len(hit) == 0:
        raise _err(name, fld, f"unknown stop '{ref}': no stop_id or stop_name of the feed matches; "
                              "check the spelling against stops.txt")
    return set(key.reindex(hit).dropna())


def _routes_named(day: FeedDay, ref: str, name: str, fld: str) -> list[str]:
    r = day.routes.astype({"route_id": str})
    if ref in set(r["route_id"]):
        return [ref]
    for col in ("route_short_name", "route_long_name"):
        if col in r:
            hit = r.loc[r[col].astype(str).map(_norm) == _norm(ref), "route_id"].tolist()
            if hit:
                return hit
    raise _err(name, fld, f"unknown route or line '{ref}': no route_id, route_short_name or "
                          "route_long_name of the feed matches; check routes.txt")


def _polygon(day: FeedDay, geo, name: str):
    try:
        g = geo if hasattr(geo, "geom_type") else None
        if g is None:
            if geo.get("type") == "FeatureCollection":
                g = shapely.union_all([shape(f["geometry"]) for f in geo.get("features", [])])
            else:
                g = shape(geo.get("geometry", geo) if geo.get("type") == "Feature" else geo)
    except Exception as exc:  # noqa: BLE001 - shapely and malformed mappings raise several types
        raise _err(name, "polygon", f"not a GeoJSON polygon ({type(exc).__name__}: {exc})") from None
    if g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
        raise _err(name, "polygon", f"empty or not a polygon ({g.geom_type}); give a closed ring "
                                    "of [lon, lat] positions")
    if not g.is_valid:
        raise _err(name, "polygon", f"invalid polygon ({shapely.is_valid_reason(g)}); redraw it "
                                    "without self-intersections")
    return gpd.GeoSeries([g], crs="EPSG:4326").to_crs(day.crs).iloc[0]


def _window(day: FeedDay, win, name: str) -> tuple[float, float] | None:
    if win is None:
        return None
    try:
        a, b = hhmm_to_seconds(win[0]), hhmm_to_seconds(win[1])
    except (CitybridgeError, ValueError, TypeError):
        raise _err(name, "window", f"'{win[0]}'–'{win[1]}' are not HH:MM times") from None
    lo, hi = float(day.trips["start_s"].min()), float(day.trips["end_s"].max())
    if b <= a or b <= lo or a >= hi:
        raise _err(name, "window", f"{win[0]}–{win[1]} is empty or outside the service day "
                                   f"({int(lo) // 3600:02d}:{int(lo) % 3600 // 60:02d}–"
                                   f"{int(hi) // 3600:02d}:{int(hi) % 3600 // 60:02d}); write times "
                                   "past midnight as 24:00–28:00")
    return float(a), float(b)


def resolve(day: FeedDay, d: Disruption | Mapping) -> Closure:
    """The closed (route, station) pairs of a disruption on a service day.

    Raises
    ------
    ScenarioError
        An unknown stop, route or line, a route that does not call at both
        ends of a segment, an empty or invalid polygon, or a window outside
        the service day (the message names the scenario and the field).
    """
    d = disruption(d)
    key = station_keys(day)
    rows: list[tuple[str, str]] = []
    for i, s in enumerate(d.stops):
        rows += [(ALL_ROUTES, k) for k in _stations_named(day, key, s, d.name, f"stops[{i}]")]
    for i, r in enumerate(d.routes):
        for rid in _routes_named(day, r, d.name, f"routes[{i}]"):
            served = day.stop_times.loc[day.stop_times["route_id"] == rid, "stop_id"].map(key).dropna()
            rows += [(rid, k) for k in served.unique()]
    for i, (r, a, b) in enumerate(d.segments):
        fld = f"segments[{i}]"
        rids = _routes_named(day, r, d.name, fld)
        sa, sb = _stations_named(day, key, a, d.name, fld), _stations_named(day, key, b, d.name, fld)
        st = day.stop_times[day.stop_times["route_id"].isin(rids)]
        k = st["stop_id"].map(key)
        sq = st["stop_sequence"].astype(float)
        pa = sq.where(k.isin(sa)).groupby(st["trip_id"]).min()
        pb = sq.where(k.isin(sb)).groupby(st["trip_id"]).min()
        both = pa.notna() & pb.notna()
        if not both.any():
            raise _err(d.name, fld, f"route '{r}' has no trip calling at both '{a}' and '{b}'; "
                                    "name two stations of that line")
        lo, hi = np.minimum(pa, pb)[both], np.maximum(pa, pb)[both]
        tl, th = st["trip_id"].map(lo), st["trip_id"].map(hi)
        inside = (sq >= tl) & (sq <= th)
        rows += list(zip(st.loc[inside, "route_id"], k[inside]))
    area = None
    if d.polygon is not None:
        area = _polygon(day, d.polygon, d.name)
        xy = day.stops_xy()
        stn = xy.loc[xy.index.isin(key.unique())]
        inside = shapely.contains_xy(area, stn["x"].to_numpy(), stn["y"].to_numpy())
        rows += [(ALL_ROUTES, k) for k in stn.index[inside]]
    pairs = pd.DataFrame(rows, columns=["route_id", "station_id"]).drop_duplicates().reset_index(drop=True)
    return Closure(d, pairs, _window(day, d.window, d.name), area)


def closed_calls(day: FeedDay, closure: Closure) -> np.ndarray:
    """Boolean mask over ``day.stop_times``: calls the closure removes."""
    st = day.stop_times
    k = st["stop_id"].map(station_keys(day)).fillna(st["stop_id"])
    p = closure.pairs
    m = np.array(k.isin(p.loc[p["route_id"] == ALL_ROUTES, "station_id"]), dtype=bool)
    rp = p[p["route_id"] != ALL_ROUTES]
    if len(rp):
        m |= pd.MultiIndex.from_arrays([st["route_id"], k]).isin(
            pd.MultiIndex.from_frame(rp[["route_id", "station_id"]]))
    if closure.window_s is not None:
        t = st["departure_s"].fillna(st["arrival_s"]).to_numpy(dtype=float)
        m &= (t >= closure.window_s[0]) & (t < closure.window_s[1])
    return m


def disrupted_day(day: FeedDay, closure: Closure) -> FeedDay:
    """The service day with the closed calls and removed trips taken out."""
    m = closed_calls(day, closure)
    st = day.stop_times[~m]
    n = st.groupby("trip_id").size()
    keep = n.index[n >= 2]
    st = st[st["trip_id"].isin(keep)]
    g = st.groupby("trip_id")
    trips = day.trips[day.trips["trip_id"].isin(keep)].copy()
    trips["start_s"] = trips["trip_id"].map(g["departure_s"].min())
    trips["end_s"] = trips["trip_id"].map(g["arrival_s"].max())
    trips["n_stops"] = trips["trip_id"].map(g.size())
    return replace(day, stop_times=st.reset_index(drop=True), trips=trips.reset_index(drop=True),
                   notes=[*day.notes, f"disruption: {closure.disruption.name}"], _xy=day.stops_xy())


# --------------------------------------------------------------------------
# Removed service
# --------------------------------------------------------------------------

def removed_service(day: FeedDay, closure: Closure) -> pd.DataFrame:
    """Service a closure removes, by mode and in total.

    Returns
    -------
    DataFrame
        One row per mode present, then ``total``:

        - ``mode``
        - ``trips``: trips of the day (count)
        - ``trips_removed``: trips left with fewer than two calls (count)
        - ``trips_cut``: other trips losing at least one call (count)
        - ``vehicle_km``: straight-line vehicle-km of the day (km)
        - ``vehicle_km_removed``: vehicle-km of removed trips and of links
          whose two ends are closed (km)
        - ``calls_closed``: calls removed (count)
        - ``stations_closed``: stations with calls before and none after (count)
        - ``routes_affected``: routes losing at least one call (count)
    """
    m = closed_calls(day, closure)
    st = day.stop_times.assign(_closed=m).sort_values(["trip_id", "stop_sequence"], kind="stable")
    xy = day.stops_xy()
    xy = xy[~xy.index.duplicated()]
    x = st["stop_id"].map(xy["x"]).to_numpy(dtype=float)
    y = st["stop_id"].map(xy["y"]).to_numpy(dtype=float)
    code = pd.factorize(st["trip_id"])[0]
    i = np.flatnonzero(code[1:] == code[:-1])
    j = i + 1
    dist = np.nan_to_num(np.hypot(x[j] - x[i], y[j] - y[i]))
    closed = st["_closed"].to_numpy()
    left = pd.Series(~closed).groupby(code).sum().to_numpy()
    gone = left < 2
    link_gone = gone[code[i]] | (closed[i] & closed[j])
    mode = st["mode"].to_numpy()
    lk = pd.DataFrame({"mode": mode[i], "km": dist / 1000, "gone": link_gone})
    km = lk.groupby("mode")["km"].sum()
    km_gone = lk[lk["gone"]].groupby("mode")["km"].sum()
    per_trip = pd.DataFrame({"mode": pd.Series(mode).groupby(code).first().to_numpy(), "gone": gone,
                             "hit": pd.Series(closed).groupby(code).any().to_numpy()})
    key = st["stop_id"].map(station_keys(day)).fillna(st["stop_id"])
    before = key.groupby(st["mode"]).unique()
    after = key[~closed].groupby(st["mode"][~closed]).unique()
    routes_hit = st.loc[closed, ["mode", "route_id"]].drop_duplicates().groupby("mode").size()
    rows = []
    for md in [mm for mm in day.modes() if mm in set(mode)]:
        t = per_trip[per_trip["mode"] == md]
        rows.append({"mode": md, "trips": len(t), "trips_removed": int(t["gone"].sum()),
                     "trips_cut": int((t["hit"] & ~t["gone"]).sum()), "vehicle_km": float(km.get(md, 0.0)),
                     "vehicle_km_removed": float(km_gone.get(md, 0.0)),
                     "calls_closed": int(closed[st["mode"].to_numpy() == md].sum()),
                     "stations_closed": len(set(before.get(md, [])) - set(after.get(md, []))),
                     "routes_affected": int(routes_hit.get(md, 0))})
    out = pd.DataFrame(rows)
    if len(out):
        tot = out.drop(columns="mode").sum()
        tot["stations_closed"] = len(set(key) - set(key[~closed]))
        out = pd.concat([out, pd.DataFrame([{"mode": "total", **tot.to_dict()}])], ignore_index=True)
        ints = [c for c in out.columns if c not in ("mode", "vehicle_km", "vehicle_km_removed")]
        out[ints] = out[ints].astype(int)
    return out


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


def _frequent(st: pd.DataFrame, max_headway_min: float) -> pd.Series:
    return st["mean_headway_min"].le(max_headway_min)


def catchment_union(st: pd.DataFrame, r: float):
    """Union of straight-line circles of radius ``r`` (m) around the rows' ``x``, ``y``."""
    return shapely.union_all(shapely.buffer(shapely.points(st["x"].to_numpy(), st["y"].to_numpy()), r,
                                            quad_segs=16)) if len(st) else shapely.Polygon()


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


def impact(day: FeedDay, districts: gpd.GeoDataFrame | None, d: Disruption | Mapping, *,
           period: str | None = None, periods: Periods | None = None, layer: gpd.GeoDataFrame | None = None,
           max_headway_min: float = FREQUENT_HEADWAY_MIN, radius_m: float = WALK_M) -> Impact:
    """Impact of one disruption: removed service, stations, access before and after.

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
    after = disrupted_day(day, closure)
    pname, _ = pick_period(period, periods)
    sb = access.stations(day, period=pname, periods=periods)
    sa = access.stations(after, period=pname, periods=periods).set_index("station_id")
    stn = sb.assign(headway_after_min=sb["station_id"].map(sa["mean_headway_min"]),
                    frequent_before=_frequent(sb, max_headway_min).to_numpy())
    stn["frequent_after"] = stn["headway_after_min"].le(max_headway_min)
    stn["closed"] = ~stn["station_id"].isin(sa.index)
    stn = stn[["station_id", "station_name", "capacity", "mean_headway_min", "headway_after_min",
               "frequent_before", "frequent_after", "closed", "x", "y", "geometry"]]
    cb = shapely.union_all(access.catchments(day, period=pname, periods=periods).geometry.values)
    ca = shapely.union_all(access.catchments(after, period=pname, periods=periods).geometry.values)
    fb = catchment_union(stn[stn["frequent_before"]], radius_m)
    fa = catchment_union(stn[stn["frequent_after"]], radius_m)
    lost = gpd.GeoDataFrame({"kind": ["lost all access", "lost frequent access"]},
                            geometry=[cb.difference(ca), fb.difference(fa)], crs=day.crs)
    lost["area_km2"] = lost.geometry.area / 1e6
    notes = []
    if closure.window_s is not None:
        notes.append("The closure is limited to a window: SDG coverage counts stops served at any time of "
                     "the day, so it falls only where a stop is closed all day.")
    summ = dist = None
    if districts is not None:
        kw = dict(period=pname, periods=periods, layer=layer)
        cov = [access.coverage(x, districts, **kw) for x in (day, after)]
        fre = [access.frequent_coverage(x, districts, max_headway_min=max_headway_min, radius_m=radius_m, **kw)
               for x in (day, after)]
        dist, summ = _before_after(cov, fre, ["district_id", "name", "area_class"]), \
            _before_after([access.summarise(c) for c in cov], [access.summarise(f) for f in fre], ["scope"])
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
    """One sentence: what the disruption removes and who loses access."""
    s = imp.service.set_index("mode")
    name = imp.closure.disruption.name
    if s.empty or "total" not in s.index:
        return f"{name}: the service day has no trips, so nothing can be removed."
    t = s.loc["total"]
    head = (f"{name}: {int(t['calls_closed']):,} calls at {int(t['stations_closed']):,} stations closed, "
            f"{int(t['trips_removed']):,} trips removed and {int(t['trips_cut']):,} cut, "
            f"{t['vehicle_km_removed']:,.0f} vehicle-km of {t['vehicle_km']:,.0f} lost")
    if imp.summary is None:
        return head + "; without census population the people affected cannot be counted."
    c = imp.summary.set_index("scope").loc["city"]
    return (head + f"; {c['lose_access']:,.0f} people lose all transit within walking distance and "
            f"{c['lose_frequent']:,.0f} ({100 * (c['share_lose_frequent'] or 0):.1f}% of the population) "
            "lose frequent transit.")


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
