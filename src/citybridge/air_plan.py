"""Clean air, where and what to do (chapter 05): streets, corridors, routes to electrify.

Builds on :func:`citybridge.air.segment_emissions` (one row per segment ×
route × hour × marked energy):

* :func:`street_density` and :func:`worst_corridors`: grams per km of street
  per day, and chains of the densest segments named by their end stops;
* :func:`route_emissions`, :func:`rank_routes` and
  :func:`electrification_curve`: which routes' buses to replace first, and
  how much bus NOx and exhaust PM that removes against a random order;
* :func:`scenario`: a fleet with another electric share, reporting CO2, NOx
  and PM2.5 together (grid CO2 counts for electric buses; their tailpipe
  NOx and PM are zero; non-exhaust PM stays);
* :func:`station_table`: monitoring stations beside the national standard.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import air_factors as AF
from .errors import DataError
from .i18n import N_
from .texts import Text, tr


def street_density(seg_em: pd.DataFrame) -> pd.DataFrame:
    """Emissions per segment of street (all routes and hours together).

    Returns
    -------
    DataFrame
        One row per ``from_stop_id`` × ``to_stop_id``, densest NOx first:
        ``trips`` (runs/day), ``routes`` (count), ``route_ids`` (list),
        ``length_km`` (straight line, km), ``vehicle_km`` (km/day),
        ``speed_kmh`` (time-weighted, km/h), ``nox_g``, ``pm25_g``,
        ``pm_exhaust_g`` (g/day), ``nox_g_per_km``, ``pm25_g_per_km`` (g per
        km of street per day).
    """
    g = seg_em.groupby(["from_stop_id", "to_stop_id"], sort=False).agg(
        trips=("trips", "sum"), routes=("route_id", "nunique"), route_ids=("route_id", "unique"),
        vehicle_km=("vehicle_km", "sum"), run_h=("run_h", "sum"), nox_g=("nox_g", "sum"),
        pm25_g=("pm25_g", "sum"), pm_exhaust_g=("pm_exhaust_g", "sum")).reset_index()
    g["length_km"] = g["vehicle_km"] / g["trips"]
    g["speed_kmh"] = g["vehicle_km"] / g["run_h"]
    ok = g["length_km"] > 0
    g["nox_g_per_km"] = np.where(ok, g["nox_g"] / g["length_km"].where(ok, 1), np.nan)
    g["pm25_g_per_km"] = np.where(ok, g["pm25_g"] / g["length_km"].where(ok, 1), np.nan)
    g = g.drop(columns="run_h").sort_values(["nox_g_per_km", "from_stop_id"], ascending=[False, True],
                                            kind="stable").reset_index(drop=True)
    return g


def worst_corridors(density: pd.DataFrame, stops: pd.DataFrame, routes: pd.DataFrame | None = None, *,
                    pollutant: str = "nox", top_pct: float = 5.0, min_length_km: float = 0.1,
                    n: int = 10) -> pd.DataFrame:
    """The most polluted corridors: chains of the densest segments, named.

    The segments in the top ``top_pct`` % by emission density (of those at
    least ``min_length_km`` long) are joined into corridors where one ends at
    the stop where another starts (connected components). Each corridor is
    named by its two end stops (the pair of its stops farthest apart) and
    the routes running most of its km.

    Parameters
    ----------
    density
        :func:`street_density`.
    stops
        ``stop_id``, ``stop_name``, ``stop_lat``, ``stop_lon`` (e.g. ``day.stops``).
    routes
        ``route_id``, ``route_short_name`` (e.g. ``day.routes``) to name routes.
    pollutant
        ``"nox"`` or ``"pm25"``.

    Returns
    -------
    DataFrame
        Worst first: ``corridor`` (name, "A → B"), ``segments`` (count),
        ``length_km`` (km), ``<pollutant>_kg`` (kg/day),
        ``<pollutant>_g_per_km`` (g per km of street per day),
        ``trips_per_day`` (mean runs over its segments), ``main_routes``
        (up to 5 route names), ``segment_keys`` (list of (from, to) stops).
    """
    col = f"{pollutant}_g_per_km"
    d = density[(density["length_km"] >= min_length_km) & density[col].notna()]
    if d.empty:
        return pd.DataFrame(columns=["corridor", "segments", "length_km", f"{pollutant}_kg", col, "trips_per_day",
                                     "main_routes", "segment_keys"])
    cut = np.percentile(d[col], 100 - top_pct)
    top = d[d[col] >= cut].reset_index(drop=True)
    ids, codes = np.unique(np.concatenate([top["from_stop_id"].astype(str), top["to_stop_id"].astype(str)]),
                           return_inverse=True)
    a, b = codes[:len(top)], codes[len(top):]
    top["comp"] = _components(a, b, len(ids))[a]
    xy = stops.drop_duplicates("stop_id").set_index("stop_id")
    names = xy["stop_name"].astype(str)
    rname = (routes.drop_duplicates("route_id").set_index("route_id")["route_short_name"].astype(str)
             if routes is not None else None)
    rows = []
    for _, c in top.groupby("comp", sort=False):
        sids = pd.unique(np.concatenate([c["from_stop_id"].astype(str), c["to_stop_id"].astype(str)]))
        p = xy.reindex(sids)[["stop_lat", "stop_lon"]].to_numpy(dtype=float)
        if len(sids) > 1 and np.isfinite(p).all():
            lat0 = np.radians(np.nanmean(p[:, 0]))
            q = np.column_stack([p[:, 0], p[:, 1] * np.cos(lat0)])
            dd = ((q[:, None, :] - q[None, :, :]) ** 2).sum(-1)
            i, j = np.unravel_index(np.argmax(dd), dd.shape)
            ends = (sids[i], sids[j]) if sids[i] in set(c["from_stop_id"].astype(str)) else (sids[j], sids[i])
        else:
            ends = (str(c["from_stop_id"].iloc[0]), str(c["to_stop_id"].iloc[-1]))
        km_by_route: dict[str, float] = {}
        for rids, km in zip(c["route_ids"], c["vehicle_km"]):
            for r in rids:
                km_by_route[r] = km_by_route.get(r, 0.0) + km / len(rids)
        main = sorted(km_by_route, key=lambda r: -km_by_route[r])[:5]
        if rname is not None:
            main = [rname.get(r, r) or r for r in main]
        length = c["length_km"].sum()
        grams = c[f"{pollutant}_g"].sum()
        rows.append({"corridor": f"{names.get(ends[0], ends[0])} → {names.get(ends[1], ends[1])}",
                     "segments": len(c), "length_km": length, f"{pollutant}_kg": grams / 1000,
                     col: grams / length if length else np.nan, "trips_per_day": c["trips"].mean(),
                     "main_routes": ", ".join(main),
                     "segment_keys": list(zip(c["from_stop_id"], c["to_stop_id"]))})
    out = pd.DataFrame(rows).sort_values(f"{pollutant}_kg", ascending=False, kind="stable")
    return out.head(n).reset_index(drop=True)


def _components(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes joined by edges ``a[i]``–``b[i]`` (vectorised)."""
    lab = np.arange(n)
    while True:
        m = np.minimum(lab[a], lab[b])
        new = lab.copy()
        np.minimum.at(new, a, m)
        np.minimum.at(new, b, m)
        new = new[new]
        if np.array_equal(new, lab):
            return lab
        lab = new


def route_emissions(seg_em: pd.DataFrame, route_stats: pd.DataFrame) -> pd.DataFrame:
    """Exhaust emissions per bus route: what electrifying it would remove.

    Parameters
    ----------
    seg_em
        :func:`citybridge.air.segment_emissions`.
    route_stats
        :func:`citybridge.service.route_stats` of the same day (for the names
        and ``peak_vehicles_day``).

    Returns
    -------
    DataFrame
        One row per bus route: ``route_id``, ``route_short_name``,
        ``vehicle_km`` (km/day), ``combustion_km`` (km/day run by
        non-electric buses), ``peak_vehicles`` (most buses out at once),
        ``buses_to_convert`` (peak vehicles × combustion share of its km),
        ``avoided_nox_g``, ``avoided_pm_exhaust_g`` (g/day: its exhaust,
        removed by electric buses), ``remaining_pm25_g`` (g/day of
        non-exhaust PM2.5, which stays), ``avoided_nox_g_per_bus``,
        ``avoided_pm_exhaust_g_per_bus`` (g/day per bus converted),
        ``avoided_nox_g_per_km`` (g per vehicle-km).
    """
    r = seg_em.groupby("route_id", sort=True).agg(
        vehicle_km=("vehicle_km", "sum"), combustion_km=("combustion_km", "sum"), avoided_nox_g=("nox_g", "sum"),
        avoided_pm_exhaust_g=("pm_exhaust_g", "sum"), remaining_pm25_g=("pm25_nonexhaust_g", "sum")).reset_index()
    rs = route_stats.drop_duplicates("route_id").set_index("route_id")
    r["route_short_name"] = r["route_id"].map(rs["route_short_name"]).fillna(r["route_id"]).astype(str)
    r["peak_vehicles"] = r["route_id"].map(rs["peak_vehicles_day"]).fillna(0).astype(int)
    share = np.where(r["vehicle_km"] > 0, r["combustion_km"] / r["vehicle_km"].where(r["vehicle_km"] > 0, 1), 0)
    r["buses_to_convert"] = r["peak_vehicles"] * share
    with np.errstate(divide="ignore", invalid="ignore"):
        per_bus = r["buses_to_convert"].where(r["buses_to_convert"] > 0)
        r["avoided_nox_g_per_bus"] = r["avoided_nox_g"] / per_bus
        r["avoided_pm_exhaust_g_per_bus"] = r["avoided_pm_exhaust_g"] / per_bus
        r["avoided_nox_g_per_km"] = r["avoided_nox_g"] / r["combustion_km"].where(r["combustion_km"] > 0)
    cols = ["route_id", "route_short_name", "vehicle_km", "combustion_km", "peak_vehicles", "buses_to_convert",
            "avoided_nox_g", "avoided_pm_exhaust_g", "remaining_pm25_g", "avoided_nox_g_per_bus",
            "avoided_pm_exhaust_g_per_bus", "avoided_nox_g_per_km"]
    return r[cols]


def rank_routes(routes: pd.DataFrame, *, by: str = "avoided_nox_g_per_bus") -> pd.DataFrame:
    """Routes with something to remove, best first by ``by`` (a column of :func:`route_emissions`).

    Returns the input rows with ``avoided_nox_g`` > 0, sorted, with ``rank``
    (1 = electrify first).
    """
    if by not in routes:
        raise DataError(f"cannot rank routes by {by!r}; choose a column such as avoided_nox_g_per_bus, "
                        "avoided_nox_g_per_km or avoided_nox_g")
    r = routes[routes["avoided_nox_g"] > 0]
    r = r.sort_values([by, "route_id"], ascending=[False, True], kind="stable", na_position="last")
    return r.reset_index(drop=True).assign(rank=lambda x: np.arange(1, len(x) + 1))


def electrification_curve(ranked: pd.DataFrame, *, n_random: int = 200, seed: int = 0) -> pd.DataFrame:
    """Share of bus NOx and exhaust PM removed as routes are converted in ranked vs random order.

    The ranked order converts the routes of ``ranked`` one after the other;
    a random order converts the same routes shuffled. Random orders are
    compared with the ranked one at the same number of routes and at the
    same number of buses converted (interpolated along each random order).

    Parameters
    ----------
    ranked
        :func:`rank_routes` (its order is the plan).
    n_random
        Random orders drawn (seeded, reproducible) for the comparison.

    Returns
    -------
    DataFrame
        One row per number of routes converted in ranked order, 0 … all:
        ``routes``, ``routes_pct`` (% of ranked routes), ``buses`` (buses
        converted), ``buses_pct`` (% of all buses to convert), ``nox_pct``,
        ``pm_exhaust_pct`` (% of today's bus NOx / exhaust PM removed),
        ``nox_pct_random_routes`` (mean over random orders after as many
        routes), ``nox_pct_random`` (mean over random orders after as many
        buses), ``nox_pct_random_p05``, ``nox_pct_random_p95`` (5th and 95th
        percentiles, same buses), ``pm_exhaust_pct_random`` (mean, same buses).
    """
    n = len(ranked)
    nox = ranked["avoided_nox_g"].to_numpy(dtype=float)
    pm = ranked["avoided_pm_exhaust_g"].to_numpy(dtype=float)
    bus = ranked["buses_to_convert"].to_numpy(dtype=float)
    tn, tp, tb = nox.sum() or 1.0, pm.sum() or 1.0, bus.sum() or 1.0

    def cum(x: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(x, axis=-1)], axis=-1)

    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((n_random, n)), axis=1)
    rb, rn, rp = cum(bus[perms]) / tb * 100, cum(nox[perms]) / tn * 100, cum(pm[perms]) / tp * 100
    buses_pct = cum(bus) / tb * 100
    same_n = np.vstack([np.interp(buses_pct, rb[i], rn[i]) for i in range(n_random)])
    same_p = np.vstack([np.interp(buses_pct, rb[i], rp[i]) for i in range(n_random)])
    return pd.DataFrame({
        "routes": np.arange(n + 1), "routes_pct": np.arange(n + 1) / max(n, 1) * 100,
        "buses": cum(bus), "buses_pct": buses_pct,
        "nox_pct": cum(nox) / tn * 100, "pm_exhaust_pct": cum(pm) / tp * 100,
        "nox_pct_random_routes": rn.mean(0), "nox_pct_random": same_n.mean(0),
        "nox_pct_random_p05": np.percentile(same_n, 5, axis=0), "nox_pct_random_p95": np.percentile(same_n, 95, axis=0),
        "pm_exhaust_pct_random": same_p.mean(0)})


def at_routes_pct(curve: pd.DataFrame, pct: float) -> pd.Series:
    """The curve row after converting the first ``pct`` % of the ranked routes (rounded up)."""
    n = int(curve["routes"].max())
    k = min(n, int(np.ceil(n * pct / 100 - 1e-9)))
    return curve.iloc[k]


def electrification_sentence(point: pd.Series, *, routes: int, city: str) -> str:
    """What electrifying the first ranked routes removes, against random choices, in the language in force.

    Parameters
    ----------
    point
        A row of :func:`electrification_curve` (:func:`at_routes_pct`): ``routes``
        (count), ``routes_pct``, ``buses`` (count), ``nox_pct``, ``pm_exhaust_pct``,
        ``nox_pct_random_routes``, ``nox_pct_random``, ``nox_pct_random_p05``,
        ``nox_pct_random_p95`` (%).
    routes
        The number of ranked routes.
    city
        The city's name.

    Returns
    -------
    str
        E.g. ``"Electrifying the first 2 of 16 routes (12 %, about 14 buses) in the ranked order removes 13 % of
        Hangzhou's bus NOx and 18 % of its exhaust PM2.5. Taken at random, …"``
    """
    k = point
    return tr("Electrifying the first {k} of {n} routes ({routes_pct:.0f} %, about {buses:,.0f} buses) in the ranked "
              "order removes {nox_pct:.0f} % of {city}'s bus NOx and {pm_pct:.0f} % of its exhaust PM2.5. Taken at "
              "random, as many routes remove {random_routes:.0f} % on average, and as many buses on random routes "
              "{random:.0f} % (90 % of random choices: {p05:.0f}–{p95:.0f} %).",
              k=int(k["routes"]), n=routes, routes_pct=k["routes_pct"], buses=k["buses"], nox_pct=k["nox_pct"],
              city=city, pm_pct=k["pm_exhaust_pct"], random_routes=k["nox_pct_random_routes"],
              random=k["nox_pct_random"], p05=k["nox_pct_random_p05"], p95=k["nox_pct_random_p95"])


def with_electric_share(classes, share: float) -> list:
    """The fleet classes with ``share`` (0–1) of bus-km electric.

    The non-electric classes keep their proportions among themselves; the
    electric share goes to the existing electric class (or a new standard
    electric class flagged as a scenario).
    """
    from .city import FleetClass

    if not 0 <= share <= 1:
        raise DataError(f"electric share {share} is outside 0–1; give a fraction such as 0.62")
    elec = [c for c in classes if c.fuel == "electric"]
    comb = [c for c in classes if c.fuel != "electric"]
    rest = sum(c.share for c in comb)
    if share < 1 and rest == 0:
        raise DataError("the fleet has no non-electric class to keep a non-electric share")
    out = []
    for c in comb:
        out.append(c.model_copy(update={"share": c.share / rest * (1 - share) * 100 if rest else 0.0,
                                        "share_range": None}))
    if elec:
        tot = sum(c.share for c in elec)
        out += [c.model_copy(update={"share": (c.share / tot if tot else 1 / len(elec)) * share * 100,
                                     "share_range": None}) for c in elec]
    else:
        out.append(FleetClass(fuel="electric", share=share * 100, year="scenario", assumed=True,
                              note="scenario"))
    return out


def scenario(groups: pd.DataFrame, classes, *, electric_share: float, co2_now_t: float, co2_scenario_t: float,
             brake: str = "carculator_truck") -> pd.DataFrame:
    """CO2, NOx and PM2.5 of the day now and with another electric share.

    The scenario applies the new mix to every bus-km (the feed's marked
    energy is set aside, as in the CO2 scenario); the base is as computed
    for the chapter. Electric buses count no tailpipe NOx or PM, and the
    same non-exhaust PM as any bus; their CO2 is the grid's (computed by
    :mod:`citybridge.emissions` and passed in).

    Returns
    -------
    DataFrame
        ``pollutant``, ``now``, ``scenario``, ``change_pct``, ``unit``
        (t/day for CO2; kg/day for NOx and PM2.5), ``note``.
    """
    from .air import segment_emissions

    base = segment_emissions(groups, classes, brake=brake)
    unmarked = groups.assign(vehicle_energy="unknown")
    new = segment_emissions(unmarked, with_electric_share(classes, electric_share), brake=brake)
    rows = [("CO2", co2_now_t, co2_scenario_t, "t/day", N_("diesel tank-to-wheel + grid electricity (city.yml)")),
            ("NOx", base["nox_g"].sum() / 1000, new["nox_g"].sum() / 1000, "kg/day", N_("hot exhaust")),
            (N_("PM2.5 exhaust"), base["pm_exhaust_g"].sum() / 1000, new["pm_exhaust_g"].sum() / 1000, "kg/day",
             N_("hot exhaust")),
            (N_("PM2.5 non-exhaust"), base["pm25_nonexhaust_g"].sum() / 1000, new["pm25_nonexhaust_g"].sum() / 1000,
             "kg/day", N_("tyre, brake and road wear: every bus, electric too")),
            (N_("PM2.5 total"), base["pm25_g"].sum() / 1000, new["pm25_g"].sum() / 1000, "kg/day",
             N_("exhaust + non-exhaust"))]
    df = pd.DataFrame(rows, columns=["pollutant", "now", "scenario", "unit", "note"])
    df["change_pct"] = np.where(df["now"] > 0, 100 * (df["scenario"] - df["now"]) / df["now"].where(df["now"] > 0, 1),
                                np.nan).round(9)
    return df[["pollutant", "now", "scenario", "change_pct", "unit", "note"]]


def station_table(city_slug: str, country: str, *, years: tuple[int, ...] = (2022, 2023, 2024)) -> pd.DataFrame:
    """Monitoring stations with their computed PM2.5 means beside the annual standard.

    Returns
    -------
    DataFrame
        One row per station of the city (empty when the project has none):
        ``station``, ``comuna``, ``latitude``, ``longitude``, one column
        ``pm25_<year>`` per year (µg/m³, computed), ``mean_<first>_<last>``
        (mean of the available years, µg/m³), ``standard_ugm3`` (annual
        standard, µg/m³), ``above_standard`` (yes/no/"no data"),
        ``note`` (why a station has no value), ``basis`` (the label: computed,
        not official).
    """
    st = AF.stations(city_slug)
    means = AF.station_means(city_slug)
    std = AF.standards(country)
    annual = std[(std["pollutant"] == "pm25") & (std["averaging"] == "annual")]
    limit = float(annual["value"].iloc[0]) if len(annual) else np.nan
    names = pd.unique(pd.concat([st["station"], means["station"]], ignore_index=True))
    if len(names) == 0:
        return pd.DataFrame()
    ok = means[~means["excluded"] & means["year"].isin(years)]
    wide = ok.pivot_table(index="station", columns="year", values="pm25_mean_ugm3", aggfunc="first")
    out = pd.DataFrame({"station": names})
    meta = st.set_index("station")
    for c in ("comuna", "latitude", "longitude"):
        out[c] = out["station"].map(meta[c]) if c in meta else np.nan
    for y in years:
        out[f"pm25_{y}"] = out["station"].map(wide[y]) if y in wide else np.nan
    mcol = f"mean_{years[0]}_{years[-1]}"
    out[mcol] = out[[f"pm25_{y}" for y in years]].mean(axis=1)
    out["standard_ugm3"] = limit
    out["above_standard"] = np.where(out[mcol].isna(), N_("no data"), np.where(out[mcol] >= limit, N_("yes"), N_("no")))
    excl = means[means["excluded"]].drop_duplicates("station").set_index("station")["exclusion_reason"]
    out["note"] = out["station"].map(excl).fillna("")
    no_mean = Text("no computed PM2.5 mean for {first}–{last}", first=str(years[0]), last=str(years[-1]))
    out["note"] = out["note"].astype(object)
    for i in out.index[(out["note"] == "") & out[mcol].isna()]:
        out.at[i, "note"] = no_mean
    out.loc[(out["note"] == "") & out["latitude"].isna(), "note"] = N_("not in the station list (no position)")
    out["basis"] = AF.STATIONS_NOTE
    return out.sort_values([mcol, "station"], ascending=[False, True], na_position="last").reset_index(drop=True)


#: Colours of the emission-density classes of the street map, lowest first.
DENSITY_COLORS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]


def density_classes(values: pd.Series, *, unit: str = "g/km") -> tuple[pd.Series, dict[str, str]]:
    """Class labels of emission densities (quantile breaks at 50, 75, 90 and 97.5 %) and their colours.

    Returns ``(labels, {label: colour})``, lowest class first; every value
    falls in one class.
    """
    v = pd.Series(values, dtype=float)
    if v.dropna().empty:
        return pd.Series(N_("no data"), index=v.index), {N_("no data"): "#bdbdbd"}
    edges = np.unique(np.nanpercentile(v, [50, 75, 90, 97.5]))

    def spec(x: float) -> str:
        return ",.0f" if x >= 10 else ",.2g"

    # texts: the numbers are written in the conventions of the language the legend is drawn in
    below, between, above = "< {a:%s} {unit}", "{a:%s}–{b:%s} {unit}", "≥ {a:%s} {unit}"  # no words to translate
    names = [Text(below % spec(edges[0]), a=edges[0], unit=unit)] + \
        [Text(between % (spec(a), spec(b)), a=a, b=b, unit=unit) for a, b in zip(edges[:-1], edges[1:])] + \
        [Text(above % spec(edges[-1]), a=edges[-1], unit=unit)]
    idx = np.searchsorted(edges, v.fillna(0).to_numpy(), side="right")
    colors = DENSITY_COLORS[-len(names):] if len(names) <= len(DENSITY_COLORS) else DENSITY_COLORS
    labels = pd.Series(np.array(names, dtype=object)[idx], index=v.index)
    return labels, dict(zip(names, colors))
