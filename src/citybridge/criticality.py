"""Criticality and bus bridging (chapter 09): which section or corridor matters most.

Builds on :mod:`citybridge.resilience` (the disruption model) and
:mod:`citybridge.access` (stations, frequent transit, population).

* :func:`metro_sections`: every section between consecutive metro stations,
  read from the order of stops in the feed's trips.
* :func:`bus_corridors`: the busiest bus routes, each taken as a corridor
  whose stops all close, to every route.
* :func:`criticality`: each section and corridor ranked by the people who
  would lose frequent access (within ``radius_m`` of a stop served every
  ``max_headway_min`` or better) if it alone closed. Vectorised: one
  stations table for the day and one per metro line; a section's closure
  only changes its two stations (the line no longer calls there), and
  departures elsewhere on the line are taken as unchanged (trains turn back
  next to the closure), which is what :func:`citybridge.resilience.impact`
  computes for the same segment on symmetric service.
* :func:`bus_bridge`: for each closed metro section, the bus routes within
  walking distance of both its stations, their capacity per hour (full
  vehicles: an upper bound of what they can absorb) against the metro
  capacity removed, and the buses per hour a bridge must add.
* :func:`scenarios`: the city's named scenarios, or defaults.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from . import access
from .errors import ScenarioError
from .i18n import N_
from .feed import FeedDay
from .disruption import Closure, Disruption, call_codes, disrupted_rows, disruption, resolve, station_keys
from .resilience import FREQUENT_HEADWAY_MIN, WALK_M, Baseline, baseline, lost_area, pick_period
from .periods import Periods, period_of, period_table
from .texts import Text, tr

# --------------------------------------------------------------------------

def metro_sections(day: FeedDay, *, period: str | None = None, periods: Periods | None = None,
                   modes: tuple[str, ...] = ("metro",)) -> gpd.GeoDataFrame:
    """Every section between consecutive stations of the metro lines, from the trips' stop order.

    Returns
    -------
    GeoDataFrame
        One row per line × unordered station pair, in ``day.crs``:

        - ``route_id``, ``line`` (route_short_name, else route_id)
        - ``from_station``, ``to_station``: station ids (order of the first trip seen)
        - ``from_name``, ``to_name``
        - ``length_m``: straight line between the stations (m)
        - ``trains_day``: trains running the section on the day, both directions (count)
        - ``trains_per_hour``: trains in the period, busiest direction (1/h)
        - ``geometry``: the straight section
    """
    pname, minutes = pick_period(period, periods)
    st = day.stop_time_rows(day.trips["mode"].isin(modes).to_numpy()[day.trip])
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable")
    key = station_keys(day)
    k = st["stop_id"].map(key).fillna(st["stop_id"]).to_numpy()
    code = pd.factorize(st["trip_id"])[0]
    i = np.flatnonzero((code[1:] == code[:-1]) & (k[1:] != k[:-1]))
    a, b = k[i], k[i + 1]
    direction = st["trip_id"].map(day.trips.set_index("trip_id")["direction_id"]).fillna(0).to_numpy()[i]
    lk = pd.DataFrame({"route_id": st["route_id"].to_numpy()[i], "u": np.minimum(a, b), "v": np.maximum(a, b),
                       "a": a, "b": b, "direction": direction,
                       "in_period": period_of(st["departure_s"].to_numpy()[i], periods).to_numpy() == pname})
    cols = ["route_id", "line", "from_station", "to_station", "from_name", "to_name", "length_m",
            "trains_day", "trains_per_hour"]
    if lk.empty:
        return gpd.GeoDataFrame(columns=cols, geometry=[], crs=day.crs)
    g = lk.groupby(["route_id", "u", "v"], sort=False)
    sec = g.agg(from_station=("a", "first"), to_station=("b", "first"), trains_day=("a", "size")).reset_index()
    per = lk[lk["in_period"]].groupby(["route_id", "u", "v", "direction"]).size().groupby(level=[0, 1, 2]).max()
    sec["trains_per_hour"] = [per.get((r, u, v), 0) / (minutes / 60)
                              for r, u, v in zip(sec["route_id"], sec["u"], sec["v"])]
    xy = day.stops_xy()
    xy = xy[~xy.index.duplicated()]
    names = day.routes.drop_duplicates("route_id").set_index("route_id")["route_short_name"].astype(str)
    sec["line"] = sec["route_id"].map(names).replace({"": np.nan, "nan": np.nan}).fillna(sec["route_id"])
    for end in ("from", "to"):
        sec[f"{end}_name"] = sec[f"{end}_station"].map(xy["stop_name"]).fillna("")
    p0 = np.c_[sec["from_station"].map(xy["x"]), sec["from_station"].map(xy["y"])]
    p1 = np.c_[sec["to_station"].map(xy["x"]), sec["to_station"].map(xy["y"])]
    sec["length_m"] = np.hypot(*(p1 - p0).T)
    geom = shapely.linestrings(np.stack([p0, p1], axis=1))
    return gpd.GeoDataFrame(sec[cols], geometry=geom, crs=day.crs)


def bus_corridors(day: FeedDay, *, n: int = 10, period: str | None = None,
                  periods: Periods | None = None) -> gpd.GeoDataFrame:
    """The ``n`` bus routes with the most trips in the period, as corridors (their stations).

    Returns
    -------
    GeoDataFrame
        - ``route_id``, ``line`` (short name), ``name`` (long name)
        - ``trips_per_hour``: trips starting in the period, busiest direction (1/h)
        - ``stations``: tuple of the station ids the route calls at
        - ``geometry``: line through the stops of its longest trip, in ``day.crs``
    """
    pname, minutes = pick_period(period, periods)
    t = day.trips[(day.trips["mode"] == "bus")]
    t = t[period_of(t["start_s"], periods).to_numpy() == pname]
    tph = (t.groupby(["route_id", "direction_id"]).size().groupby(level=0).max() / (minutes / 60)).nlargest(n)
    r = day.routes.drop_duplicates("route_id").set_index("route_id")
    key = station_keys(day)
    xy = day.stops_xy()
    xy = xy[~xy.index.duplicated()]
    rows, geoms = [], []
    sub = day.stop_time_rows(day.trips["route_id"].isin(tph.index).to_numpy()[day.trip])
    for rid, v in tph.items():
        st = sub[sub["route_id"] == rid]
        longest = st.groupby("trip_id").size().idxmax()
        s = st[st["trip_id"] == longest].sort_values("stop_sequence")
        pts = np.c_[s["stop_id"].map(xy["x"]), s["stop_id"].map(xy["y"])]
        geoms.append(LineString(pts[np.isfinite(pts).all(axis=1)]) if len(pts) > 1 else None)
        rows.append({"route_id": rid, "line": str(r["route_short_name"].get(rid, rid)),
                     "name": str(r["route_long_name"].get(rid, "")), "trips_per_hour": float(v),
                     "stations": tuple(st["stop_id"].map(key).dropna().unique())})
    cols = ["route_id", "line", "name", "trips_per_hour", "stations"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry=geoms, crs=day.crs)


def scenarios(city, day: FeedDay, *, period: str | None = None) -> tuple[list[Disruption], list[str]]:
    """The city's named scenarios (``scenarios`` of ``city.yml``), or defaults.

    A scenario that cannot be read or resolved on the day is left out and
    its message returned, so one bad entry never stops the others. Without
    named scenarios: the busiest metro section and the busiest bus corridor
    (where the city has them).

    Returns
    -------
    (list of Disruption, list of str)
        The usable scenarios, and one message per scenario left out.
    """
    out, problems = [], []
    for i, spec in enumerate(city.profile.scenarios):
        try:
            d = disruption(spec, index=i)
            resolve(day, d)
            out.append(d)
        except ScenarioError as exc:
            problems.append(str(exc))
    if city.profile.scenarios:
        return out, problems
    sec = metro_sections(day, period=period, periods=city.periods)
    if len(sec):
        s = sec.sort_values(["trains_day", "trains_per_hour"], ascending=False, kind="stable").iloc[0]
        line = f"Line {s['line']}" if str(s["line"]).isdigit() else s["line"]
        out.append(Disruption(f"Metro {line} {s['from_name']}–{s['to_name']} closed (busiest section)",
                              segments=((s["route_id"], s["from_station"], s["to_station"]),)))
    cor = bus_corridors(day, n=1, period=period, periods=city.periods)
    if len(cor):
        c = cor.iloc[0]
        out.append(Disruption(f"Bus corridor {c['line']} closed to every route (busiest bus route)",
                              stops=c["stations"]))
    return out, problems


# --------------------------------------------------------------------------
# Criticality
# --------------------------------------------------------------------------

def _only_routes(day: FeedDay, route_ids) -> FeedDay:
    on = day.trips["route_id"].isin(route_ids).to_numpy()
    return day.select(on[day.trip], day.trips[on])


def criticality(day: FeedDay, districts: gpd.GeoDataFrame, *, period: str | None = None,
                periods: Periods | None = None, layer: gpd.GeoDataFrame | None = None,
                max_headway_min: float = FREQUENT_HEADWAY_MIN, radius_m: float = WALK_M,
                n_corridors: int = 10, base: Baseline | None = None) -> gpd.GeoDataFrame:
    """Every metro section and the busiest bus corridors, ranked by people losing frequent access.

    Parameters
    ----------
    day, districts, layer
        As in :func:`citybridge.access.frequent_coverage`.
    period, periods
        The period of the frequency rule (default ``"am_peak"``).
    max_headway_min, radius_m
        The frequent-transit rule (min, m).
    n_corridors
        How many of the busiest bus routes to rank as corridors.
    base
        :func:`citybridge.resilience.baseline` of the day, when already
        computed (its period and rule then apply).

    Returns
    -------
    GeoDataFrame
        One row per metro section and bus corridor, most critical first, in ``day.crs``:

        - ``rank`` (1 = most critical)
        - ``kind``: ``"metro section"`` or ``"bus corridor"``
        - ``route_id``, ``line``
        - ``label``: ``"L1 Baquedano–Salvador"`` or the corridor's name
        - ``from_station``, ``to_station``: station ids (empty for corridors)
        - ``per_hour``: trains (section, busiest direction) or buses
          (corridor) per hour in the period (1/h)
        - ``stations_losing_frequent``: stations no longer frequent (count)
        - ``pop_lose_frequent``: people who lose frequent access (people)
        - ``lost_area``: the area they live in (shapely polygon, ``day.crs``)
        - ``geometry``: the section or corridor line
    """
    base = base or baseline(day, districts, period=period, periods=periods, layer=layer,
                            max_headway_min=max_headway_min, radius_m=radius_m, people=False)
    pname, minutes = pick_period(base.period, periods)
    thr = base.params["max_headway_min"]
    st = base.stations.set_index("station_id")
    sec = metro_sections(day, period=pname, periods=periods)
    sets: list[tuple[str, ...]] = []
    if len(sec):
        line_dep = pd.concat([access.stations(_only_routes(day, [rid]), period=pname, periods=periods)
                              .assign(route_id=rid)[["route_id", "station_id", "departures_one_way"]]
                              for rid in sec["route_id"].unique()]).set_index(["route_id", "station_id"])
        ends = pd.DataFrame({"row": np.r_[np.arange(len(sec)), np.arange(len(sec))],
                             "route_id": np.r_[sec["route_id"], sec["route_id"]],
                             "station_id": np.r_[sec["from_station"], sec["to_station"]]})
        own = line_dep["departures_one_way"].reindex(
            pd.MultiIndex.from_frame(ends[["route_id", "station_id"]])).fillna(0).to_numpy()
        left = ends["station_id"].map(st["departures_one_way"]).fillna(0).to_numpy() - own
        still = (left > 0) & (minutes / np.where(left > 0, left, 1) <= thr)
        ends["loses"] = ends["station_id"].map(st["frequent"]).fillna(False).to_numpy(dtype=bool) & ~still
        lose = ends[ends["loses"]].groupby("row")["station_id"].agg(tuple)
        sets += [lose.get(i, ()) for i in range(len(sec))]
    cor = bus_corridors(day, n=n_corridors, period=pname, periods=periods)
    fset = set(st.index[st["frequent"]])
    sets += [tuple(x for x in c if x in fset) for c in cor["stations"]]
    lost, pop = _lost_areas(base, sets)
    rows = pd.DataFrame({
        "kind": [N_("metro section")] * len(sec) + [N_("bus corridor")] * len(cor),
        "route_id": [*sec["route_id"], *cor["route_id"]],
        "line": [*sec["line"], *cor["line"]],
        "label": [f"{'Line ' + ln if ln.isdigit() else ln} {a}–{b}"
                  for ln, a, b in zip(sec["line"].astype(str), sec["from_name"], sec["to_name"])]
        + [f"bus {ln} {nm}".strip() for ln, nm in zip(cor["line"], cor["name"])],
        "from_station": [*sec["from_station"], *[""] * len(cor)],
        "to_station": [*sec["to_station"], *[""] * len(cor)],
        "per_hour": [*sec["trains_per_hour"], *cor["trips_per_hour"]],
        "stations_losing_frequent": [len(x) for x in sets],
        "pop_lose_frequent": pop, "lost_area": lost})
    out = gpd.GeoDataFrame(rows, geometry=[*sec.geometry, *cor.geometry], crs=day.crs)
    out = out.sort_values(["pop_lose_frequent", "per_hour"], ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _lost_areas(base: Baseline, sets: list[tuple[str, ...]]) -> tuple[list, list[float]]:
    """For each set of stations losing frequent service: the area no other
    frequent station reaches, and the people in it."""
    st = base.stations
    pos = pd.Series(np.arange(len(st)), index=st["station_id"].to_numpy())
    r0 = st["r_frequent"].to_numpy()
    tree = shapely.STRtree(shapely.points(st["x"].to_numpy(), st["y"].to_numpy()))
    cache: dict[frozenset, tuple] = {}
    lost, pop = [], []
    for s in sets:
        k = frozenset(s)
        if k not in cache:
            r1 = r0.copy()
            r1[pos.reindex(list(k)).dropna().astype(int).to_numpy()] = 0.0
            area = lost_area(st, r0, r1, tree=tree)
            cache[k] = (area, float(access.people_in(base.pieces, area).sum()) if base.pieces is not None else 0.0)
        lost.append(cache[k][0])
        pop.append(cache[k][1])
    return lost, pop


def exposed_population(crit: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, *, crs: str,
                       kind: str = "metro section", layer: gpd.GeoDataFrame | None = None) -> float:
    """People who would lose frequent access if any single one of the ranked
    ``kind`` closed (the union of their lost areas; people)."""
    geoms = [g for g in crit.loc[crit["kind"] == kind, "lost_area"] if g is not None and not g.is_empty]
    if not geoms:
        return 0.0
    return float(access.coverage_of_area(districts, shapely.union_all(geoms), crs=crs,
                                         layer=layer)["pop_covered"].sum())


# --------------------------------------------------------------------------
# Bus bridge
# --------------------------------------------------------------------------

def bus_bridge(day: FeedDay, d: Disruption | Closure | Mapping, *, capacity: Mapping[str, float],
               period: str | None = None, periods: Periods | None = None,
               walk_m: float = WALK_M) -> pd.DataFrame:
    """Parallel buses and the bus-bridge shortfall for each metro section a disruption closes.

    No row when the closure's window does not reach into the period.

    Parameters
    ----------
    capacity
        Passengers per vehicle by mode (``metro``: one train; ``bus``); a
        missing mode leaves the capacity columns NaN.
    walk_m
        A bus route is parallel when it calls within this distance (straight
        line, m) of both stations of the section.

    Returns
    -------
    DataFrame
        One row per closed section:

        - ``line``, ``from_name``, ``to_name``
        - ``metro_trains_per_hour``: trains in the period, busiest direction (1/h)
        - ``metro_capacity_per_hour``: passengers per hour removed (pax/h)
        - ``parallel_routes``: bus lines calling near both stations with buses
          in the period, comma-separated
        - ``parallel_buses_per_hour``: their buses per hour, busiest
          direction of each, summed (1/h)
        - ``bus_capacity_per_hour``: passengers per hour they offer if
          empty (pax/h)
        - ``shortfall_per_hour``: metro capacity not matched (pax/h, ≥ 0)
        - ``bridge_buses_per_hour``: buses per hour a bridge must add
          (shortfall ÷ bus capacity, rounded up)
    """
    closure = d if isinstance(d, Closure) else resolve(day, d)
    pname, minutes = pick_period(period, periods)
    sec = metro_sections(day, period=pname, periods=periods)
    p = closure.pairs
    shut = set(zip(p["route_id"], p["station_id"]))
    hit = [((r, a) in shut or ("*", a) in shut) and ((r, b) in shut or ("*", b) in shut)
           for r, a, b in zip(sec["route_id"], sec["from_station"], sec["to_station"])]
    sec = sec[np.asarray(hit, dtype=bool)]
    pt = period_table(periods).set_index("period")
    if closure.window_s is not None and (closure.window_s[1] <= pt.at[pname, "start_s"]
                                         or closure.window_s[0] >= pt.at[pname, "end_s"]):
        sec = sec.iloc[0:0]          # the closure does not reach into the period
    cut, c = disrupted_rows(day, closure), call_codes(day)
    bus = cut["rows"] & (day.trips["mode"] == "bus").to_numpy()[c["trip"]]
    nr = max(len(c["routes"]), 1)
    pair = np.unique(c["station"][bus].astype(np.int64) * nr + c["route"][bus])
    sr = pd.DataFrame({"station_id": np.asarray(c["stations"])[pair // nr],
                       "route_id": np.asarray(c["routes"])[pair % nr]})
    xy = day.stops_xy()
    xy = xy[~xy.index.duplicated()]
    bst = sr["station_id"].drop_duplicates().to_numpy()
    tree = shapely.STRtree(shapely.points(xy["x"].reindex(bst).to_numpy(), xy["y"].reindex(bst).to_numpy()))
    t = cut["trips"][cut["trips"]["mode"] == "bus"]
    t = t[period_of(t["start_s"], periods).to_numpy() == pname]
    bph = t.groupby(["route_id", "direction_id"]).size().groupby(level=0).max() / (minutes / 60)
    names = day.routes.drop_duplicates("route_id").set_index("route_id")["route_short_name"].astype(str)
    cm, cb = capacity.get("metro", np.nan), capacity.get("bus", np.nan)
    rows = []
    for _, s in sec.iterrows():
        near = []
        for end in (s["from_station"], s["to_station"]):
            pt = shapely.points(xy.at[end, "x"], xy.at[end, "y"])
            stns = set(bst[tree.query(pt, predicate="dwithin", distance=walk_m)])
            near.append(set(sr.loc[sr["station_id"].isin(stns), "route_id"]))
        par = sorted(r for r in near[0] & near[1] if bph.get(r, 0.0) > 0)
        buses = float(sum(bph.get(r, 0.0) for r in par))
        mcap = s["trains_per_hour"] * cm
        bcap = buses * cb
        short = max(0.0, mcap - bcap) if np.isfinite(mcap) and np.isfinite(bcap) else np.nan
        rows.append({"line": s["line"], "from_name": s["from_name"], "to_name": s["to_name"],
                     "metro_trains_per_hour": s["trains_per_hour"], "metro_capacity_per_hour": mcap,
                     "parallel_routes": ", ".join(names.get(r, r) for r in par),
                     "parallel_buses_per_hour": buses, "bus_capacity_per_hour": bcap,
                     "shortfall_per_hour": short,
                     "bridge_buses_per_hour": math.ceil(short / cb) if np.isfinite(short) and cb > 0 else np.nan})
    return pd.DataFrame(rows, columns=["line", "from_name", "to_name", "metro_trains_per_hour",
                                       "metro_capacity_per_hour", "parallel_routes", "parallel_buses_per_hour",
                                       "bus_capacity_per_hour", "shortfall_per_hour", "bridge_buses_per_hour"])


def capacities(city) -> tuple[dict[str, float], str]:
    """Passengers per vehicle by mode from ``city.yml`` (``vehicle_capacity``) and their sources in one line."""
    vc = city.profile.vehicle_capacity
    src = "; ".join(f"{m}: {v.value:g} {v.unit} ({v.source}, {v.year})" for m, v in vc.items())
    return {m: float(v.value) for m, v in vc.items()}, src


def label_text(kind: str, line: str, label: str) -> Text:
    """A ranked section's or corridor's ``label`` (:func:`criticality`) as shown in the language in force:
    ``Line 4 A–B`` and ``bus T03 name`` have their words translated; station and route names stay."""
    line = str(line)
    if kind == "metro section" and label.startswith(f"Line {line} "):
        return Text("Line {line} {stations}", line=line, stations=label[len(f"Line {line} "):])
    if kind == "bus corridor" and label.startswith("bus "):
        return Text("bus {route}", route=label[len("bus "):])
    return Text.join([label])


def label_texts(crit: pd.DataFrame) -> list[Text]:
    """:func:`label_text` of every row of a ranking (``kind``, ``line``, ``label``)."""
    return [label_text(k, ln, lb) for k, ln, lb in zip(crit["kind"], crit["line"], crit["label"])]


def criticality_sentence(crit: gpd.GeoDataFrame) -> str:
    """One sentence, in the language in force, on the most critical metro section and bus corridor of
    :func:`criticality`."""
    sec, cor = crit[crit["kind"] == "metro section"], crit[crit["kind"] == "bus corridor"]
    values = {}
    if len(sec):
        values.update(section=label_texts(sec.head(1))[0], section_people=float(sec["pop_lose_frequent"].iloc[0]))
    if len(cor):
        values.update(corridor=label_texts(cor.head(1))[0], corridor_people=float(cor["pop_lose_frequent"].iloc[0]))
    if len(sec) and len(cor):
        if values["section_people"] < values["corridor_people"]:
            return tr("The most critical metro section, {section}, would leave {section_people:,.0f} people without "
                      "frequent transit if it alone closed; the most critical bus corridor, {corridor}, "
                      "{corridor_people:,.0f}. Bus corridors rank above every metro section: one closed metro section "
                      "leaves fewer people without frequent transit than the busiest bus corridors; what it removes is "
                      "capacity, which the bus bridge measures.", **values)
        return tr("The most critical metro section, {section}, would leave {section_people:,.0f} people without "
                  "frequent transit if it alone closed; the most critical bus corridor, {corridor}, "
                  "{corridor_people:,.0f}.", **values)
    if len(sec):
        return tr("The most critical metro section, {section}, would leave {section_people:,.0f} people without "
                  "frequent transit if it alone closed.", **values)
    if len(cor):
        return tr("The most critical bus corridor, {corridor}, would leave {corridor_people:,.0f} people without "
                  "frequent transit if it alone closed.", **values)
    return tr("The feed has no metro section and no bus route to rank.")
