"""One KPI board per city: the figures an integrated management centre watches.

:func:`kpi_table` returns a tidy table with one row per KPI: ``theme``,
``kpi``, ``value``, ``unit``, ``definition``, ``source``. Each theme is a
function of the city and its prepared service day, so a chapter can show one
theme for several cities (:func:`theme_table`) and the comparison notebook
can put whole boards side by side.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .city import City, load_city
from .errors import CitybridgeError
from .feed import FeedDay, feed_day
from .i18n import N_
from .phrases import (CAPACITIES, CAPTURED, DATA_STATUS, FREQUENT_SHARE_DEFINITION, REALTIME_SOURCE, LACKS_PARAMETERS, MEASURES_FEED_ONLY, NO_SOLID_SOURCE, NOT_COMPUTED,
                      NOT_COMPARABLE_CITY, POPULATION_SOURCE, SECTION_LOSS, SOME_CLASSES_ASSUMED, SOURCE_LINE, THEME_FAILED)

KPI_COLUMNS = ["theme", "kpi", "value", "unit", "definition", "source", "status"]
FREQUENT_HEADWAY_MIN = 10.0


def _src(city: City, day: FeedDay, extra: str = "") -> str:
    s = SOURCE_LINE.format(city=city.name, file=city.gtfs_path.name, date=day.date)
    if extra:
        s += f"; {extra}"
    return s + "; " + DATA_STATUS.format(status=city.status)


def not_computed(reason: str) -> str:
    """The definition of a KPI that could not be computed: ``not computed: <reason>``."""
    return NOT_COMPUTED.format(reason=reason)


def _rows(city: City, day: FeedDay, theme: str, rows: list[tuple], extra: str = "") -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["kpi", "value", "unit", "definition"])
    df.insert(0, "theme", theme)
    df["source"] = _src(city, day, extra)
    df["status"] = city.status
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(float)
    return df[KPI_COLUMNS]


def network_kpis(city: City, day: FeedDay) -> pd.DataFrame:
    """Network size: routes, stations and route-km (total and metro)."""
    from .network import network_summary

    s = network_summary(day).set_index("mode")
    rows = [(N_("routes"), s.loc["total", "routes"], N_("routes"), N_("routes with a trip on the service day")),
            (N_("stations"), s.loc["total", "stations"], N_("stations"),
             N_("stops with a departure, counted once per parent station")),
            (N_("route-km"), s.loc["total", "route_km"], "km", N_("sum of each route's main pattern length, one direction"))]
    if "metro" in s.index:
        rows.append((N_("metro route-km"), s.loc["metro", "route_km"], "km", N_("route-km of metro lines")))
    return _rows(city, day, N_("network"), rows)


def service_kpis(city: City, day: FeedDay) -> pd.DataFrame:
    """Service supplied: trips, service-km and -hours, peak vehicles, frequent network share."""
    from .service import network_peak_vehicles, route_stats, trip_table

    t = trip_table(day, periods=city.periods)
    rs = route_stats(day, periods=city.periods)
    am = rs[rs["period"] == "am_peak"] if "period" in rs else rs.iloc[0:0]
    if len(am):
        best = am.groupby("route_id")["mean_headway_min"].min()
        frequent = float((best <= FREQUENT_HEADWAY_MIN).mean() * 100) if len(best) else np.nan
    else:
        frequent = np.nan
    rows = [(N_("trips per day"), len(t), N_("trips"), N_("concrete trips on the service day (frequencies expanded)")),
            (N_("service-km per day"), t["distance_km"].sum(), "km", N_("sum of trip lengths, straight line stop to stop")),
            (N_("service-hours per day"), t["duration_h"].sum(), "h", N_("sum of trip durations")),
            (N_("peak vehicles in service"), network_peak_vehicles(day), N_("vehicles"),
             N_("the most trips in progress at the same instant, all modes")),
            (N_("frequent network share"), frequent, N_("% of routes"),
             FREQUENT_SHARE_DEFINITION.format(minutes=f"{FREQUENT_HEADWAY_MIN:.0f}"))]
    return _rows(city, day, N_("service"), rows)


def access_kpis(city: City, day: FeedDay) -> pd.DataFrame:
    """SDG 11.2.1 coverage (city, urban, rural) and people near frequent transit.

    The same computation as chapter 03: the city's finer population layer is
    used where the profile names one (``population.layer``), otherwise people
    are spread evenly over each census polygon; the definition says which.
    """
    from . import access

    try:
        d = access.districts(city)
        layer = access.population_layer(city)
    except CitybridgeError as exc:
        return _rows(city, day, "access", [(N_("SDG 11.2.1 coverage"), np.nan, N_("% of population"),
                                              not_computed(str(exc).splitlines()[0]))])
    cov = access.coverage(day, d, layer=layer, periods=city.periods)
    summ = access.summarise(cov).set_index("scope")
    fcov = access.summarise(access.frequent_coverage(day, d, periods=city.periods, layer=layer)).set_index("scope")
    how = access.assumption_text(cov)
    gaps = city.profile.coverage_gaps
    rows = []
    names = {"city": N_("SDG 11.2.1 coverage (city)"), "urban": N_("SDG 11.2.1 coverage (urban)"),
             "rural": N_("SDG 11.2.1 coverage (rural)")}
    for scope in ("city", "urban", "rural"):
        if scope in summ.index:
            extra = "; " + MEASURES_FEED_ONLY.format(gaps=gaps) if gaps and scope != "urban" else ""
            rows.append((names[scope], 100 * summ.loc[scope, "share_covered"], N_("% of population"),
                         N_("people within 500 m of a bus/tram stop or 1,000 m of a metro/rail/ferry stop")
                         + f"; {how}{extra}"))
    if "city" in fcov.index:
        rows.append((N_("people near frequent transit"), 100 * fcov.loc["city", "share_covered"], N_("% of population"),
                     N_("people within 500 m of a stop served every 10 min or better (ITDP)") + f"; {how}"))
    pop = city.profile.population
    return _rows(city, day, N_("access"), rows, POPULATION_SOURCE.format(source=pop.source if pop else N_("none")))


def speed_kpis(city: City, day: FeedDay) -> pd.DataFrame:
    """Average scheduled speed by mode (distance ÷ running time)."""
    from .speed import mode_speeds

    ms = mode_speeds(day).set_index("mode")
    rows = []
    names = {"bus": N_("average scheduled speed (bus)"), "metro": N_("average scheduled speed (metro)"),
             "ferry": N_("average scheduled speed (ferry)")}
    for mode in ("bus", "metro", "ferry"):
        if mode in ms.index and ms.loc[mode, "run_h"] > 0:
            rows.append((names[mode], float(ms.loc[mode, "speed_kmh"]),
                         "km/h", N_("total straight-line distance ÷ total scheduled running time")))
    return _rows(city, day, N_("speed"), rows)


def carbon_kpis(city: City, day: FeedDay) -> pd.DataFrame:
    """Electric share of bus vehicle-km and bus CO2 intensity."""
    from . import emissions as E

    p = city.profile.parameters
    e = E.emissions(E.vehicle_km(day), p, fleet_share=E.fleet_electric_share(city.profile.fleet))
    missing = E.missing_parameters(p)
    s = E.summary(e, p).set_index("indicator")
    flags = [f for f in E.flagged_parameters(p) if f not in missing]
    def caveat(definition: str) -> str:
        d = NO_SOLID_SOURCE.format(definition=definition, parameters=", ".join(flags)) if flags else definition
        return d if not missing else (definition + "; " + LACKS_PARAMETERS.format(parameters=", ".join(missing))
                                      + d[len(definition):])

    share_basis = E.fleet_share_basis(city.profile.fleet, day)
    rows = [(N_("electric share of bus vehicle-km"), s.loc["electric share of bus vehicle-km", "value"], "%",
             N_("bus vehicle-km run by electric buses") + "; " + share_basis),
            (N_("bus CO2 per service-km"), s.loc["bus CO2 per service-km", "value"], "gCO2/km",
             caveat(N_("diesel tank-to-wheel plus grid electricity, per bus vehicle-km"))),
            (N_("bus CO2 per day"), s.loc["bus CO2 per day", "value"], N_("tCO2/day"),
             caveat(N_("bus emissions on the service day")))]
    return _rows(city, day, N_("low carbon"), rows, N_("emission parameters: city.yml"))


def air_kpis(city: City, day: FeedDay) -> pd.DataFrame:
    """Bus NOx and PM2.5 per day and per vehicle-km (EMEP/EEA factors × the city's fleet classes)."""
    from . import air

    classes = city.profile.fleet_classes
    if not classes:
        why = not_computed(N_("city.yml has no fleet_classes (shares of bus-km by fuel and Euro class)"))
        return _rows(city, day, N_("air"), [(N_("bus NOx per day"), np.nan, N_("t/day"), why),
                                            (N_("bus PM2.5 per day"), np.nan, N_("t/day"), why)])
    em = air.segment_emissions(air.segment_groups(day), classes)
    t = air.totals(em).set_index("pollutant")
    nox, pm = t.loc["NOx"], t.loc["PM2.5 (exhaust + non-exhaust)"]
    assumed = any(c.assumed for c in classes)
    d = N_("hot exhaust, EMEP/EEA 2019 speed-dependent factors at each segment's scheduled speed")
    dp = N_("exhaust plus tyre, brake and road wear (EMEP/EEA Tier 2)")
    if assumed:
        d, dp = SOME_CLASSES_ASSUMED.format(definition=d), SOME_CLASSES_ASSUMED.format(definition=dp)
    rows = [(N_("bus NOx per day"), nox["t_per_day"], N_("t/day"), d),
            (N_("bus PM2.5 per day"), pm["t_per_day"], N_("t/day"), dp),
            (N_("bus NOx per vehicle-km"), nox["g_per_vehicle_km"], "g/km", d),
            (N_("bus PM2.5 per vehicle-km"), pm["g_per_vehicle_km"], "g/km", dp)]
    return _rows(city, day, N_("air"), rows, N_("fleet classes: city.yml") + "; " + N_("factors: data/reference/air"))


def bike_kpis(city: City, day: FeedDay) -> pd.DataFrame:
    """Bike-share integration: stations, and stations and stops within 300 m of each other."""
    from . import multimodal as mm
    from .network import served_stops

    path = city.optional_path("gbfs")
    if path is None or not path.exists():
        return _rows(city, day, N_("multimodal"), [(N_("bike-share stations"), np.nan, N_("stations"),
                                                      not_computed(N_("the city has no GBFS bike-share feed")))])
    st, sp = mm.bike_links(mm.read_gbfs(path), served_stops(day), crs=day.crs)
    s = mm.bike_summary(st, sp).set_index("indicator")["value"]
    rows = [(N_("bike-share stations"), s["bike-share stations"], N_("stations"), N_("stations in the GBFS feed")),
            (N_("bike stations near transit"), s["bike stations within 300 m of a transit stop"], N_("% of stations"),
             N_("bike stations within 300 m of a served transit stop")),
            (N_("transit stops near a bike station"), s["transit stops with a bike station within 300 m"],
             N_("% of stops"), N_("served stops with a bike station within 300 m"))]
    return _rows(city, day, N_("multimodal"), rows, N_("bike share: GBFS station_information.json"))


def resilience_kpis(city: City, day: FeedDay) -> pd.DataFrame:
    """The most critical metro section and the population exposed to single-section closures."""
    from . import access
    from . import criticality as C

    name = N_("most critical metro section")
    try:
        d = access.districts(city)
    except CitybridgeError as exc:
        return _rows(city, day, N_("resilience"), [(name, np.nan, N_("people"), not_computed(str(exc).splitlines()[0]))])
    layer = access.population_layer(city)
    crit = C.criticality(day, d, periods=city.periods, layer=layer, n_corridors=0)
    sec = crit[crit["kind"] == "metro section"]
    if sec.empty:
        return _rows(city, day, N_("resilience"), [(name, np.nan, N_("people"),
                                                      not_computed(N_("the feed has no metro sections")))])
    top = sec.iloc[0]
    exposed = C.exposed_population(crit, d, crs=day.crs, layer=layer)
    total = float(d["population"].sum())
    cap, cap_src = C.capacities(city)
    rule = N_("within 500 m of a stop served every 10 min or better in the AM peak (ITDP), straight line")
    rows = [(name, round(float(top["pop_lose_frequent"])), N_("people"), SECTION_LOSS.format(section=top["label"], rule=rule)),
            (N_("population exposed to one metro-section closure"), round(float(exposed)), N_("people"),
             N_("people who would lose frequent transit if any single metro section closed")),
            (N_("population exposed to one metro-section closure (share)"),
             100 * exposed / total if total > 0 else np.nan, N_("% of population"),
             N_("the same people as a share of the census population"))]
    if {"metro", "bus"} <= set(cap):
        seg = {"route": top["route_id"], "from": top["from_station"], "to": top["to_station"]}
        br = C.bus_bridge(day, {"name": top["label"], "segments": [seg]}, capacity=cap, periods=city.periods)
        rows.append((N_("bus-bridge shortfall, most critical section"), br["bridge_buses_per_hour"].max(), N_("buses/h"),
                     N_("buses per hour to add so that buses match the metro capacity removed in the AM peak, "
                        "parallel buses counted as empty") + "; " + CAPACITIES.format(source=cap_src)))
    else:
        rows.append((N_("bus-bridge shortfall, most critical section"), np.nan, N_("buses/h"),
                     not_computed(N_("city.yml states no vehicle_capacity for metro and bus"))))
    pop = city.profile.population
    return _rows(city, day, N_("resilience"), rows, POPULATION_SOURCE.format(source=pop.source if pop else N_("none")))


def quality_kpis(city: City, day: FeedDay) -> pd.DataFrame:
    """Data quality: findings of the feed checks by severity."""
    from .validate import validate

    f = validate(city.folder)
    sev = pd.Series([x.severity for x in f]).value_counts()
    rows = [(N_("data check: warnings"), sev.get("warning", 0), N_("findings"), N_("warnings of citybridge validate")),
            (N_("data check: fatal problems"), sev.get("fatal", 0), N_("findings"),
             N_("fatal findings of citybridge validate"))]
    return _rows(city, day, N_("data quality"), rows)


def observed_kpis(city: City, day: FeedDay) -> pd.DataFrame:
    """Operations as observed (chapter 08): vehicles seen against the schedule, share matched,
    observed and scheduled speed, bunching and stale fixes, each with its capture time."""
    from . import observed_view as V

    try:
        obs = V.analyse(city)
    except CitybridgeError as exc:
        return _rows(city, day, N_("observed"), [(N_("vehicles seen"), np.nan, N_("vehicles"),
                                                    not_computed(str(exc).splitlines()[0]))])
    if obs is None:
        return _rows(city, day, N_("observed"), [(N_("vehicles seen"), np.nan, N_("vehicles"), not_computed(
            N_("the city declares no realtime inputs (chapter 08)")))])
    s = V.summary(obs)
    rows = list(s[["indicator", "value", "unit", "definition"]].itertuples(index=False, name=None))
    spec = city.profile.realtime
    extra = (REALTIME_SOURCE.format(source=spec.source or N_("city.yml realtime inputs")) + "; "
             + CAPTURED.format(when=obs.captured))
    out = _rows(city, obs.day, "observed", rows, extra)
    return out


THEMES: dict[str, Callable[[City, FeedDay], pd.DataFrame]] = {
    "network": network_kpis, "service": service_kpis, "access": access_kpis, "speed": speed_kpis,
    "low carbon": carbon_kpis, "air": air_kpis, "multimodal": bike_kpis, "observed": observed_kpis,
    "resilience": resilience_kpis, "data quality": quality_kpis,
}


def _city(city: City | str) -> City:
    return city if isinstance(city, City) else load_city(city)


def kpi_table(city: City | str, *, date: str | None = None, themes: list[str] | None = None) -> pd.DataFrame:
    """The KPI board of a city as a tidy table.

    Returns
    -------
    DataFrame
        ``theme``, ``kpi``, ``value`` (float; NaN where not computable, with
        the reason in ``definition``), ``unit``, ``definition``, ``source``.
    """
    c = _city(city)
    day = feed_day(c, date)
    names = themes or list(THEMES)
    unknown = [t for t in names if t not in THEMES]
    if unknown:
        raise CitybridgeError(f"unknown KPI theme(s) {unknown}; choose from {list(THEMES)}")
    return with_published(c, pd.concat([_theme_or_reason(c, day, t) for t in names], ignore_index=True))


def _theme_or_reason(city: City, day: FeedDay, theme: str) -> pd.DataFrame:
    """One theme's rows; a theme whose input is broken keeps one row with the reason.

    A bad optional input (e.g. a GBFS file with text where a number belongs)
    must not take the whole board down: the other themes, and the side-by-side
    tables of every chapter that read this board, still show their figures.
    """
    try:
        return THEMES[theme](city, day)
    except CitybridgeError as exc:
        return _rows(city, day, theme, [(THEME_FAILED.format(theme=theme), np.nan, "",
                                         not_computed(str(exc).splitlines()[0]))])


def with_published(city: City, kpis: pd.DataFrame) -> pd.DataFrame:
    """Add the values the city publishes for its KPIs (``published`` in city.yml).

    Adds ``published`` (the city's own figure, in the KPI's unit; NaN where
    none), ``published_source`` (year and source) and ``difference``
    (computed − published, in the KPI's unit).
    """
    pub = {p.kpi: p for p in city.profile.published}
    out = kpis.copy()
    out["published"] = [pub[k].value if k in pub else np.nan for k in out["kpi"]]
    out["published_source"] = [f"{pub[k].source} ({pub[k].year})" if k in pub else "" for k in out["kpi"]]
    out["difference"] = out["value"] - out["published"]
    return out


def city_label(city: City) -> str:
    """The city's name as a column header, with its data status unless official or reconstructed."""
    return city.name if city.comparable else NOT_COMPARABLE_CITY.format(city=city.name, status=city.status)


def theme_table(boards: list[tuple[City, pd.DataFrame]], theme: str) -> pd.DataFrame:
    """One theme's KPIs for several cities side by side.

    Parameters
    ----------
    boards
        ``(city, board)`` pairs, the board as :func:`kpi_table` returns it. The
        chapters pass the stored boards (:class:`citybridge.session.Session`),
        so no city's feed is read for another city's page.
    theme
        One key of :data:`THEMES`.

    Returns
    -------
    DataFrame
        ``kpi``, ``unit``, then one column per city with the value (in the
        KPI's unit). A city whose data are illustrative is labelled so in its
        column header (``"Hangzhou (illustrative: not comparable)"``): its
        figures describe teaching data, not the real city.
    """
    frames = []
    for c, board in boards:
        t = board[board["theme"] == theme]
        frames.append(t.set_index(["kpi", "unit"])["value"].rename(city_label(c)))
    return pd.concat(frames, axis=1).reset_index()
