"""Side-by-side comparison of cities' KPI boards.

Raw counts mislead between a region of 7 million and a city of 12 million,
so counts are also shown per 100,000 inhabitants and per km² of urban area.
The closing statements ("what each city can take from the other") are
computed from the numbers: for every KPI with a direction (higher or lower
is better), the leader and the gap are named.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .city import City, load_city
from .errors import CitybridgeError
from .i18n import N_, ngettext
from .phrases import list_separator, statement_separator
from .phrases import PER_100K, PER_100K_DEFINITION, PER_100K_UNIT, PER_KM2, PER_KM2_DEFINITION, PER_KM2_UNIT, translate_phrase
from .texts import FORMATTER, tr

#: KPIs that are counts of supply, normalised per population and urban area.
COUNT_KPIS = ["routes", "stations", "route-km", "metro route-km", "trips per day", "service-km per day",
              "service-hours per day", "peak vehicles in service", "bike-share stations"]

#: Direction of each comparable KPI: +1 higher is better, -1 lower is better.
BETTER = {
    "frequent network share": 1, "SDG 11.2.1 coverage (city)": 1, "SDG 11.2.1 coverage (urban)": 1,
    "SDG 11.2.1 coverage (rural)": 1, "people near frequent transit": 1,
    "average scheduled speed (bus)": 1, "electric share of bus vehicle-km": 1,
    "bus CO2 per service-km": -1, "bike stations near transit": 1, "transit stops near a bike station": 1,
    "service-km per day per 100k inhabitants": 1, "stations per 100k inhabitants": 1,
    "route-km per km² urban area": 1,
    "population exposed to one metro-section closure (share)": -1,
}

THEME_ORDER = ["network", "service", "access", "speed", "low carbon", "multimodal", "resilience", "data quality"]


def city_scale(city: City) -> dict[str, float]:
    """Population, total area and urban area (km²) of a city from its files.

    Values are NaN when the city has no boundaries or population file.
    """
    from . import access

    try:
        d = access.districts(city)
    except CitybridgeError:
        return {"population": np.nan, "area_km2": np.nan, "urban_area_km2": np.nan}
    area = d.geometry.area / 1e6
    urban = area[d["area_class"] == "urban"].sum() if (d["area_class"] == "urban").any() else np.nan
    return {"population": float(d["population"].sum()), "area_km2": float(area.sum()),
            "urban_area_km2": float(urban)}


def _cities(cities: list[City | str]) -> list[City]:
    out = [c if isinstance(c, City) else load_city(c) for c in cities]
    if not out:
        raise CitybridgeError("no city to compare; add a city folder to data/cities")
    return out


def board(boards: list[tuple[City, pd.DataFrame]]) -> pd.DataFrame:
    """KPI boards side by side, with normalised rows added.

    Parameters
    ----------
    boards
        ``(city, board)`` pairs, each board as :func:`citybridge.kpi.kpi_table`
        returns it (the comparison passes the stored boards, see
        :meth:`citybridge.session.Session.all`).

    Returns
    -------
    DataFrame
        ``theme``, ``kpi``, ``unit``, ``definition``, then one column per city
        (named by the city's name) with the value. Normalised rows (``… per
        100k inhabitants``, ``… per km² urban area``) follow the counts they
        derive from.
    """
    if not boards:
        raise CitybridgeError("no city to compare: no city has a KPI board; run 'citybridge build'")
    cs = [c for c, _ in boards]
    frames = []
    for c, t in boards:
        sc = city_scale(c)
        extra = []
        for _, r in t[t["kpi"].isin(COUNT_KPIS)].iterrows():
            extra.append({**r, "kpi": PER_100K.format(kpi=r["kpi"]), "value": r["value"] / sc["population"] * 1e5,
                          "unit": PER_100K_UNIT.format(unit=r["unit"]),
                          "definition": PER_100K_DEFINITION.format(kpi=r["kpi"])})
            extra.append({**r, "kpi": PER_KM2.format(kpi=r["kpi"]), "value": r["value"] / sc["urban_area_km2"],
                          "unit": PER_KM2_UNIT.format(unit=r["unit"]),
                          "definition": PER_KM2_DEFINITION.format(kpi=r["kpi"])})
        t = pd.concat([t, pd.DataFrame(extra)], ignore_index=True) if extra else t
        frames.append(t.assign(city=c.name))
    long = pd.concat(frames, ignore_index=True)
    keys = ["theme", "kpi", "unit"]
    wide = long.pivot(index=keys, columns="city", values="value").reset_index()
    wide.columns.name = None
    defs = long.drop_duplicates(keys).set_index(keys)["definition"]
    wide["definition"] = [defs[tuple(k)] for k in wide[keys].itertuples(index=False)]
    order = {t: i for i, t in enumerate(THEME_ORDER)}
    first = {k: i for i, k in enumerate(pd.unique(long["kpi"]))}
    wide = wide.assign(_t=wide["theme"].map(order).fillna(99), _k=wide["kpi"].map(first))
    wide = wide.sort_values(["_t", "_k"], kind="stable").drop(columns=["_t", "_k"]).reset_index(drop=True)
    out = wide[["theme", "kpi", "unit", "definition", *[c.name for c in cs]]]
    out.attrs["status"] = {c.name: c.status for c in cs}
    return out


def _comparable(name: str, statuses: dict[str, str]) -> bool:
    return statuses.get(name, "official") in ("official", "reconstructed")


def lessons(wide: pd.DataFrame, *, min_gap_pct: float = 10.0) -> list[str]:
    """Statements of what each city can take from another, from the numbers.

    For each KPI with a direction in :data:`BETTER`, when the best city leads
    another by at least ``min_gap_pct`` per cent (relative), a sentence names
    both cities, the KPI and the two values, in the language in force. A lesson is stated only between
    cities whose data are official or reconstructed (``wide.attrs["status"]``,
    set by :func:`board`); pairs involving illustrative data are listed by
    :func:`not_comparable` instead.
    """
    statuses = wide.attrs.get("status", {})
    names = [c for c in wide.columns if c not in ("theme", "kpi", "unit", "definition")]
    names = [n for n in names if _comparable(n, statuses)]
    out = []
    for _, r in wide[wide["kpi"].isin(BETTER)].iterrows():
        vals = r[names].astype(float).dropna()
        if len(vals) < 2:
            continue
        sign = BETTER[r["kpi"]]
        best = vals.idxmax() if sign > 0 else vals.idxmin()
        for other, v in vals.items():
            if other == best:
                continue
            b = vals[best]
            gap = abs(b - v) / abs(v) * 100 if v else np.inf
            if gap >= min_gap_pct:
                values = {"other": other, "best": best, "kpi": translate_phrase(r["kpi"]),
                          "unit": translate_phrase(r["unit"]), "b": b, "v": v}
                out.append(tr("{other} can learn from {best} on {kpi}: {best} reaches {b:,.1f} {unit} "
                              "against {v:,.1f} (higher is better).", **values) if sign > 0 else
                           tr("{other} can learn from {best} on {kpi}: {best} reaches {b:,.1f} {unit} "
                              "against {v:,.1f} (lower is better).", **values))
    return out


def not_comparable(wide: pd.DataFrame) -> pd.DataFrame:
    """KPIs from which no lesson is drawn because a city's data are illustrative.

    Returns
    -------
    DataFrame
        ``kpi``, ``unit``, ``cities`` (the cities whose data are illustrative,
        comma-separated) and ``reason``; empty when every city's data are
        official or reconstructed.
    """
    statuses = wide.attrs.get("status", {})
    bad = [n for n, s in statuses.items() if not _comparable(n, statuses)]
    rows = []
    if bad and len(statuses) > 1:
        for _, r in wide[wide["kpi"].isin(BETTER)].iterrows():
            if r[bad].astype(float).notna().any():
                rows.append({"kpi": r["kpi"], "unit": r["unit"], "cities": ", ".join(bad),
                             "reason": N_("sample data: the figure describes illustrative teaching data, "
                                          "not the real city, so no lesson is drawn from it")})
    return pd.DataFrame(rows, columns=["kpi", "unit", "cities", "reason"])


def lessons_and_limits(wide: pd.DataFrame, *, min_gap_pct: float = 10.0) -> list[str]:
    """:func:`lessons`, then one statement per city whose data allow no lesson (in the language in force)."""
    out = lessons(wide, min_gap_pct=min_gap_pct)
    nc = not_comparable(wide)
    if len(nc):
        for city in sorted(set(", ".join(nc["cities"]).split(", "))):
            kpis = nc.loc[nc["cities"].str.contains(city, regex=False), "kpi"].tolist()
            out.append(FORMATTER.format(ngettext(
                "Not comparable: sample data. {city}'s figures come from illustrative teaching data, "
                "so no lesson is drawn from its {n} comparable KPI ({kpis}).",
                "Not comparable: sample data. {city}'s figures come from illustrative teaching data, "
                "so no lesson is drawn from its {n} comparable KPIs ({kpis}).", len(kpis)),
                city=city, n=len(kpis), kpis=list_separator().join(translate_phrase(k) for k in kpis)))
    return out


#: Names of the key figures cities give in ``facts`` (city.yml), shown translated.
FACT_NAMES = (N_("area"), N_("bike share bikes"), N_("bike share stations"), N_("bus fleet electric"),
              N_("bus fleet electric share"), N_("bus fleet total"), N_("bus new energy share main urban"),
              N_("bus validations per year"), N_("metro daily ridership"), N_("metro lines"),
              N_("metro network length"), N_("metro stations published"), N_("metro stations unique"),
              N_("population"), N_("water bus lines"))
#: Units of those figures, shown translated (a unit written as a sentence stays as given).
FACT_UNITS = (N_("bicycles"), N_("buses"), N_("lines"), N_("persons"), N_("stations"),
              N_("passengers per day (record day)"), N_("passengers per working day (rounded)"),
              N_("% of the operating fleet"))


def facts_table(cities: list[City | str]) -> pd.DataFrame:
    """Key figures of each city's profile (``facts`` in city.yml), same rows for all,
    written in the language in force (call it through :func:`citybridge.notebook.table`
    as ``nb.table(compare.facts_table, cities, ...)`` to have it in every edition's).

    Returns
    -------
    DataFrame
        ``figure`` (metric name), then for each city ``<name>`` (value with
        unit and as-of date, e.g. ``"516 km (2022-09)"``; empty where the
        city has no such figure) and ``<name> source``.
    """
    from . import i18n

    cs = _cities(cities)
    rows: dict[str, dict[str, str]] = {}
    source_of = {c.name: tr("{city} source", city=c.name) for c in cs}
    for c in cs:
        for f in c.profile.facts:
            v = i18n.decimal(f.value, 0 if float(f.value).is_integer() else 2)
            r = rows.setdefault(i18n.gettext(f.metric.replace("_", " ")), {})
            r[c.name] = f"{v} {i18n.gettext(f.unit)} ({f.year})"
            r[source_of[c.name]] = f.source
    cols = [x for c in cs for x in (c.name, source_of[c.name])]
    df = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=cols).fillna("")
    return df.rename_axis("figure").reset_index()


def chart_alt(t: pd.DataFrame, cities: list[str], theme: str) -> str:
    """The text alternative of one theme's small multiples (:func:`citybridge.charts.kpi_small_multiples`),
    in the language in force: every KPI with its unit and each city's value."""
    from .charts import value_text

    values = statement_separator().join(
        tr("{kpi} ({unit}): {values}", kpi=translate_phrase(k), unit=translate_phrase(row["unit"]),
           values=list_separator().join(f"{n} {value_text(row[n], row['unit'])}" for n in cities))
        for k, row in t.set_index("kpi").iterrows())
    return tr("Bars for {theme}, one panel per KPI: {values}", theme=translate_phrase(theme), values=values)
