"""Disruptions (chapter 09): what closes, resolved on a service day.

A **disruption** (:class:`Disruption`) closes stops, whole routes, route
segments between two stops, or every stop inside a polygon, optionally only
within a time window. It resolves (:func:`resolve`) to *closed calls*:
(route, station) pairs at which no vehicle stops; a stop closure or a polygon
closes a station to every route. A **segment** ``A–B`` of a route closes the
route's calls at every station from ``A`` to ``B`` *inclusive*: the stations
bounding the closed track lose the line too, as when an operator short-turns
trains at the stations outside the closure.

**Removed service** (:func:`removed_service`): a trip left with fewer than two
calls is removed; a stop-to-stop link is removed when the trip is removed or
both its ends are closed (vehicles run through a single closed stop).
Vehicle-km are straight-line, as in :mod:`citybridge.service`.

The impact on access is in :mod:`citybridge.resilience`, the ranking and bus
bridging in :mod:`citybridge.criticality`.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from .errors import CitybridgeError, ScenarioError
from .feed import FeedDay
from .periods import hhmm_to_seconds
from .texts import tr

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
    return ScenarioError(tr("scenario '{name}', field '{field}': {text}", name=name, field=fld, text=text))


def _texts(v, name: str, fld: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, (str, int, float)):
        v = [v]
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, (str, int, float)) for x in v):
        raise _err(name, fld, tr("write a list of ids or names, e.g. [L1] or ['Baquedano']"))
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
        raise _err(f"#{index + 1}", "scenarios", tr("each scenario is a mapping with a name and what closes"))
    name = str(spec.get("name") or tr("scenario {n}", n=index + 1))
    for k in spec:
        if k not in FIELDS:
            raise _err(name, str(k), tr("unknown field; use {fields}", fields=", ".join(FIELDS)))
    segs = []
    for i, s in enumerate(spec.get("segments") or []):
        if not isinstance(s, Mapping) or not all(s.get(k) not in (None, "") for k in ("route", "from", "to")):
            example = "{route: L1, from: Baquedano, to: Los Leones}"
            raise _err(name, f"segments[{i}]", tr("write {example}", example=example))
        segs.append((str(s["route"]).strip(), str(s["from"]).strip(), str(s["to"]).strip()))
    win = spec.get("window")
    if win is not None:
        if not isinstance(win, (list, tuple)) or len(win) != 2:
            raise _err(name, "window", tr("write two times, e.g. ['07:00', '09:00']"))
        win = (str(win[0]), str(win[1]))
    d = Disruption(name=name, stops=_texts(spec.get("stops"), name, "stops"),
                   routes=_texts(spec.get("routes"), name, "routes"), segments=tuple(segs),
                   polygon=spec.get("polygon"), window=win, note=str(spec.get("note") or ""))
    if not (d.stops or d.routes or d.segments or d.polygon is not None):
        raise _err(name, "stops", tr("the scenario closes nothing; give stops, routes, segments or a polygon"))
    return d


# --------------------------------------------------------------------------
# Resolving names on a service day
# --------------------------------------------------------------------------

def _norm(s: str) -> str:
    s = unicodedata.normalize("NFKD", str(s))
    return "".join(c for c in s if not unicodedata.combining(c)).casefold().strip()


def station_keys(day: FeedDay) -> pd.Series:
    """stop_id → station id (the parent station when it has a position), as
    in :func:`citybridge.access.stations` (computed once per day)."""
    return day.remember("station_keys", lambda: _station_keys(day))


def _station_keys(day: FeedDay) -> pd.Series:
    xy = day.stops_xy()
    xy = xy[~xy.index.duplicated()]
    ok = np.isfinite(xy["x"]) & np.isfinite(xy["y"])
    parent = xy["parent_station"].fillna("").astype(str) if "parent_station" in xy else pd.Series("", index=xy.index)
    has = (parent != "") & parent.isin(xy.index[ok])
    return pd.Series(np.where(has, parent, xy.index), index=xy.index)


def _stations_named(day: FeedDay, key: pd.Series, ref: str, name: str, fld: str) -> set[str]:
    if ref in key.index:
        return {key[ref]}
    names = day.remember("normalised_stop_names", lambda: day.stops_xy()["stop_name"].astype(str).map(_norm))
    hit = names.index[names.to_numpy() == _norm(ref)]
    if len(hit) == 0:
        raise _err(name, fld, tr("unknown stop '{stop}': no stop_id or stop_name of the feed matches; check the "
                                 "spelling against stops.txt", stop=ref))
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
    raise _err(name, fld, tr("unknown route or line '{route}': no route_id, route_short_name or route_long_name "
                             "of the feed matches; check routes.txt", route=ref))


def _polygon(day: FeedDay, geo, name: str):
    try:
        g = geo if hasattr(geo, "geom_type") else None
        if g is None:
            if geo.get("type") == "FeatureCollection":
                g = shapely.union_all([shape(f["geometry"]) for f in geo.get("features", [])])
            else:
                g = shape(geo.get("geometry", geo) if geo.get("type") == "Feature" else geo)
    except Exception as exc:  # noqa: BLE001 - shapely and malformed mappings raise several types
        error = f"{type(exc).__name__}: {exc}"
        raise _err(name, "polygon", tr("not a GeoJSON polygon ({error})", error=error)) from None
    if g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
        raise _err(name, "polygon", tr("empty or not a polygon ({kind}); give a closed ring of [lon, lat] positions",
                                       kind=g.geom_type))
    if not g.is_valid:
        raise _err(name, "polygon", tr("invalid polygon ({reason}); redraw it without self-intersections",
                                       reason=shapely.is_valid_reason(g)))
    return gpd.GeoSeries([g], crs="EPSG:4326").to_crs(day.crs).iloc[0]


def _window(day: FeedDay, win, name: str) -> tuple[float, float] | None:
    if win is None:
        return None
    try:
        a, b = hhmm_to_seconds(win[0]), hhmm_to_seconds(win[1])
    except (CitybridgeError, ValueError, TypeError):
        raise _err(name, "window", tr("'{start}'–'{end}' are not HH:MM times", start=win[0], end=win[1])) from None
    lo, hi = float(day.trips["start_s"].min()), float(day.trips["end_s"].max())
    if b <= a or b <= lo or a >= hi:
        first, last = (f"{int(t) // 3600:02d}:{int(t) % 3600 // 60:02d}" for t in (lo, hi))
        raise _err(name, "window", tr("{start}–{end} is empty or outside the service day ({first}–{last}); write "
                                      "times past midnight as 24:00–28:00", start=win[0], end=win[1], first=first,
                                      last=last))
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
    memo = day.remember("closures", dict)
    if repr(d) not in memo:
        memo[repr(d)] = _resolve(day, d)
    return memo[repr(d)]


def _resolve(day: FeedDay, d: Disruption) -> Closure:
    key = station_keys(day)
    c = call_codes(day)
    rows: list[tuple[str, str]] = []
    for i, s in enumerate(d.stops):
        rows += [(ALL_ROUTES, k) for k in _stations_named(day, key, s, d.name, f"stops[{i}]")]
    for i, r in enumerate(d.routes):
        for rid in _routes_named(day, r, d.name, f"routes[{i}]"):
            served = c["station"][c["route"] == c["routes"].get_indexer([rid])[0]]
            rows += [(rid, k) for k in c["stations"][pd.unique(served)]]
    for i, (r, a, b) in enumerate(d.segments):
        fld = f"segments[{i}]"
        rids = _routes_named(day, r, d.name, fld)
        sa, sb = _stations_named(day, key, a, d.name, fld), _stations_named(day, key, b, d.name, fld)
        on = np.flatnonzero(np.isin(c["route"], c["routes"].get_indexer(rids)))
        k, trip = c["station"][on], c["trip"][on]
        sq = pd.Series(day.seq[on].astype(float))
        pa = sq.where(np.isin(k, c["stations"].get_indexer(list(sa)))).groupby(trip).min()
        pb = sq.where(np.isin(k, c["stations"].get_indexer(list(sb)))).groupby(trip).min()
        both = pa.notna() & pb.notna()
        if not both.any():
            raise _err(d.name, fld, tr("route '{route}' has no trip calling at both '{a}' and '{b}'; name two "
                                       "stations of that line", route=r, a=a, b=b))
        lo, hi = np.minimum(pa, pb)[both], np.maximum(pa, pb)[both]
        tl, th = lo.reindex(trip).to_numpy(), hi.reindex(trip).to_numpy()
        inside = ((sq >= tl) & (sq <= th)).to_numpy()
        rows += list(zip(c["routes"][c["route"][on][inside]], c["stations"][k[inside]]))
    area = None
    if d.polygon is not None:
        area = _polygon(day, d.polygon, d.name)
        xy = day.stops_xy()
        stn = xy.loc[xy.index.isin(key.unique())]
        inside = shapely.contains_xy(area, stn["x"].to_numpy(), stn["y"].to_numpy())
        rows += [(ALL_ROUTES, k) for k in stn.index[inside]]
    pairs = pd.DataFrame(rows, columns=["route_id", "station_id"]).drop_duplicates().reset_index(drop=True)
    return Closure(d, pairs, _window(day, d.window, d.name), area)


def call_codes(day: FeedDay) -> dict:
    """Integer codes of the day's stop times (trip, route, mode, station), for fast masks.

    The engine's own codes (rows in the order of ``day.stop_times``); no text
    column is built. Computed once per day.

    Returns
    -------
    dict
        Per stop time (arrays over the day's rows): ``trip``, ``stop``,
        ``station``, ``route``, ``mode`` (int codes); the labels of the codes:
        ``trips`` (trip_id), ``stops`` (stop_id), ``stations`` (station id,
        :func:`station_keys`), ``routes`` (route_id), ``modes`` (mode), as Index.
    """
    return day.remember("disruption_calls", lambda: _call_codes(day))


def _call_codes(day: FeedDay) -> dict:
    from .engine import codes_of

    key = station_keys(day)
    stops = pd.Index(day.stop_ids)
    stn_of_stop = np.asarray(key.reindex(stops).fillna(pd.Series(np.asarray(stops), index=stops)), dtype=object)
    stn_code, stations = pd.factorize(stn_of_stop)
    rcode, routes = codes_of(day.trips["route_id"])
    mcode, modes = codes_of(day.trips["mode"])
    return {"trip": day.trip, "trips": pd.Index(day.trips["trip_id"]), "station": stn_code[day.stop],
            "stations": pd.Index(stations), "stop": day.stop, "stops": stops, "route": rcode[day.trip],
            "routes": pd.Index(routes), "mode": mcode[day.trip], "modes": pd.Index(modes)}


def closed_calls(day: FeedDay, closure: Closure, *, calls: dict | None = None) -> np.ndarray:
    """Boolean mask over ``day.stop_times``: calls the closure removes."""
    c = calls or call_codes(day)
    p = closure.pairs
    m = np.isin(c["station"], c["stations"].get_indexer(p.loc[p["route_id"] == ALL_ROUTES, "station_id"]))
    rp = p[p["route_id"] != ALL_ROUTES]
    if len(rp):
        ns = len(c["stations"]) + 1
        want = c["routes"].get_indexer(rp["route_id"]) * ns + c["stations"].get_indexer(rp["station_id"])
        m |= np.isin(c["route"].astype(np.int64) * ns + c["station"], want)
    if closure.window_s is not None:
        t = np.where(np.isnan(day.dep), day.arr, day.dep)
        m &= (t >= closure.window_s[0]) & (t < closure.window_s[1])
    return m


def disrupted_day(day: FeedDay, closure: Closure) -> FeedDay:
    """The service day with the closed calls and removed trips taken out."""
    cut = disrupted_rows(day, closure)
    return day.select(cut["rows"], cut["trips"], notes=[*day.notes, f"disruption: {closure.disruption.name}"])


def disrupted_rows(day: FeedDay, closure: Closure) -> dict:
    """What a closure leaves of the day, as masks over the day's stop times
    (kept per day and closure, so the impact and the bus bridge share it).

    Returns
    -------
    dict
        ``closed``: calls the closure removes (:func:`closed_calls`);
        ``rows``: calls left (bool per stop time; trips left with fewer than
        two calls lose all); ``trips``: the trips left, with ``start_s``,
        ``end_s`` (s) and ``n_stops`` (count) of their remaining calls.
    """
    memo = day.remember("closure_rows", dict)
    hit = memo.get(id(closure))
    if hit is None or hit[0] is not closure:
        memo[id(closure)] = hit = (closure, _cut(day, closure))
    return hit[1]


def _cut(day: FeedDay, closure: Closure) -> dict:
    c = call_codes(day)
    m = closed_calls(day, closure, calls=c)
    n = np.bincount(c["trip"][~m], minlength=len(c["trips"]))
    rows = ~m & (n >= 2)[c["trip"]]
    code = c["trip"][rows]
    g_dep = pd.Series(day.dep[rows]).groupby(code).min()
    g_arr = pd.Series(day.arr[rows]).groupby(code).max()
    idx = c["trips"].get_indexer(day.trips["trip_id"])
    ok = (idx >= 0) & (n >= 2)[np.where(idx >= 0, idx, 0)]
    trips = day.trips[ok].copy()
    ti = idx[ok]
    trips["start_s"] = g_dep.reindex(ti).to_numpy()
    trips["end_s"] = g_arr.reindex(ti).to_numpy()
    trips["n_stops"] = n[ti]
    return {"closed": m, "rows": rows, "trips": trips}


def _pairs(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> pd.Series:
    """Distinct (a, b) code pairs where ``mask``, counted by ``a``."""
    na, nb = int(a.max(initial=0)) + 1, int(b.max(initial=0)) + 1
    seen = np.zeros(na * nb, dtype=bool)
    seen[a[mask].astype(np.int64) * nb + b[mask]] = True
    n = seen.reshape(na, nb).sum(axis=1)
    return pd.Series(n[n > 0], index=np.flatnonzero(n > 0))


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
    from .engine import links

    c = call_codes(day)
    m = disrupted_rows(day, closure)["closed"]
    tc, closed = c["trip"], m          # the day's rows are sorted by trip, then stop order
    lk = links(day)
    i = lk["i"]
    j = i + 1
    dist = np.nan_to_num(lk["dist"]) / 1000
    nt, nm = len(c["trips"]), len(c["modes"])
    gone = np.bincount(tc, weights=~closed, minlength=nt) < 2
    hit = np.bincount(tc, weights=closed, minlength=nt) > 0
    tmode = np.zeros(nt, dtype=np.int64)
    tmode[tc] = c["mode"]
    link_gone = gone[tc[i]] | (closed[i] & closed[j])
    lmode = c["mode"][i]
    km = np.bincount(lmode, weights=dist, minlength=nm)
    km_gone = np.bincount(lmode, weights=dist * link_gone, minlength=nm)
    st_before = _pairs(c["mode"], c["station"], np.ones(len(m), dtype=bool))
    st_after = _pairs(c["mode"], c["station"], ~m)
    routes_hit = _pairs(c["mode"], c["route"], m)
    rows = []
    for md in [x for x in day.modes() if x in set(c["modes"])]:
        k = int(c["modes"].get_loc(md))
        t = tmode == k
        rows.append({"mode": md, "trips": int(t.sum()), "trips_removed": int((gone & t).sum()),
                     "trips_cut": int((hit & ~gone & t).sum()), "vehicle_km": float(km[k]),
                     "vehicle_km_removed": float(km_gone[k]), "calls_closed": int(m[c["mode"] == k].sum()),
                     "stations_closed": int(st_before.get(k, 0) - st_after.get(k, 0)),
                     "routes_affected": int(routes_hit.get(k, 0))})
    out = pd.DataFrame(rows)
    if len(out):
        tot = out.drop(columns="mode").sum()
        ns = len(c["stations"])
        tot["stations_closed"] = int((np.bincount(c["station"], minlength=ns) > 0).sum()
                                     - (np.bincount(c["station"][~m], minlength=ns) > 0).sum())
        out = pd.concat([out, pd.DataFrame([{"mode": "total", **tot.to_dict()}])], ignore_index=True)
        ints = [col for col in out.columns if col not in ("mode", "vehicle_km", "vehicle_km_removed")]
        out[ints] = out[ints].astype(int)
    return out
