"""Emission factors and air-quality reference data for chapter 05 (clean air).

The tables live in the project's ``data/reference/air/`` (their sources are
named in ``data/README.md`` and on every row):

* ``emep_eea_2019_urban_bus_hot.csv``: the EMEP/EEA air pollutant emission
  inventory guidebook 2019 (1.A.3.b.i-iv, Tier 3 / COPERT) speed-dependent
  hot-exhaust functions for urban buses, as decoded from IPEA's gtfs2emis
  (road slope 0, load 50 %; NOx, exhaust PM, CO and energy). Every function
  has the form ``(α v² + β v + γ + δ/v) / (ε v² + ζ v + η) × (1 − rf) × k``
  with ``v`` the speed in km/h, valid from ``vmin_kmh`` to ``vmax_kmh``;
  outside that range the speed is clamped to the nearest limit (as in
  gtfs2emis) and the clamping is reported.
* ``emep_eea_2019_ubus_std_check.csv``: the 12 m bus functions evaluated at
  10–50 km/h, a check table (used by the tests).
* ``non_exhaust_pm_tier2.csv``: the EMEP/EEA Tier 2 tyre, brake and road-wear
  parameters; ``non_exhaust_pm_check.csv`` their evaluated values.
* ``sinca_stations.csv``, ``sinca_pm25_annual_means_computed.csv`` and
  ``air_quality_standards.csv``: Santiago's monitoring stations, PM2.5 annual
  means **computed** from redistributed SINCA daily files (not official
  statistics) and the Chilean PM2.5 standard.

Exhaust PM: EMEP's "PM exhaust" (stored by gtfs2emis under the label PM10)
is essentially all finer than 2.5 µm, so it counts as PM2.5 and PM10 here.

Proxies (stated wherever a result uses them): an LNG bus uses the natural-gas
(CNG) bus functions, since both burn natural gas in the same engines; a hybrid
below Euro VI uses the conventional diesel functions of its Euro class (an
upper bound), and a Euro VI hybrid uses EMEP's diesel-hybrid functions with
the exhaust PM of the diesel Euro VI (DPF+SCR) bus, which carries the same
particle filter (EMEP gives no hybrid PM function).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import i18n
from .errors import DataError
from .i18n import N_
from .texts import Text

#: Hot-exhaust quantities computed, with their units per vehicle-km.
POLLUTANTS = {"nox": "g/km", "pm_exhaust": "g/km", "co": "g/km", "energy": "MJ/km"}
#: Names for tables and charts.
POLLUTANT_NAMES = {"nox": "NOx", "pm_exhaust": N_("exhaust PM (PM2.5)"), "co": "CO", "energy": N_("energy"),
                   "pm25_nonexhaust": N_("non-exhaust PM2.5"), "pm10_nonexhaust": N_("non-exhaust PM10"),
                   "pm25": N_("PM2.5 (exhaust + non-exhaust)"), "pm10": N_("PM10 (exhaust + non-exhaust)")}
#: The two brake-wear multipliers found in implementations of the EMEP Tier 2 equation.
BRAKE_FACTORS = ("carculator_truck", "gtfs2emis")
#: Axles by bus size (tyre wear scales with the number of axles).
AXLES = {"midi": 2, "standard": 2, "articulated": 3}
HOT_SOURCE = N_("EMEP/EEA air pollutant emission inventory guidebook 2019, 1.A.3.b.i-iv, Tier 3 hot-exhaust "
                 "functions for urban buses (slope 0, load 50 %), as decoded from ipeaGIT/gtfs2emis@99204aab "
                 "data/ef_europe_emep_db.rda (MIT)")
NON_EXHAUST_SOURCE = N_("EMEP/EEA guidebook 2019, 1.A.3.b.vi-vii Road tyre and brake wear and road surface wear, "
                         "Tier 2, as coded in gtfs2emis@99204aab and carculator_truck@894a5b6")
STATIONS_NOTE = N_("computed as simple means of validated daily values from SINCA daily files redistributed by "
                   "github.com/franciscoparrao/PM25_Santiago; not official statistics")
_KEYS = ["fuel", "euro", "technology", "size"]


def reference_dir() -> Path:
    """The folder ``data/reference/air`` of the project.

    Looked for beside the cities folder (``CITYBRIDGE_CITIES``), in the
    project found from the working directory, then in the checkout this
    package was installed from.
    """
    from .city import cities_dir, project_root

    for base in (cities_dir().parent, project_root() / "data", Path(__file__).resolve().parents[2] / "data"):
        p = base / "reference" / "air"
        if (p / "emep_eea_2019_urban_bus_hot.csv").is_file():
            return p
    raise DataError("data/reference/air/ is missing from the project (emission factors for chapter 05): "
                    "restore it from the repository")


@lru_cache(maxsize=8)
def _read(name: str, folder: str) -> pd.DataFrame:
    path = Path(folder) / name
    try:
        return pd.read_csv(path, keep_default_na=False, na_values=[""] if name.startswith("sinca") else [])
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read ({exc}); restore it from the repository") from None


def read_table(name: str) -> pd.DataFrame:
    """One table of ``data/reference/air`` (a copy)."""
    return _read(name, str(reference_dir())).copy()


def hot_functions() -> pd.DataFrame:
    """The EMEP/EEA hot-exhaust functions shipped with the project.

    Returns
    -------
    DataFrame
        ``size`` (midi/standard/articulated), ``emep_segment``, ``fuel``
        (diesel/cng/hybrid), ``euro``, ``technology`` (empty when none),
        ``pollutant`` (a key of :data:`POLLUTANTS`), ``emep_pollutant``,
        ``unit`` (g/km or MJ/km), ``vmin_kmh``, ``vmax_kmh`` (km/h), the
        coefficients ``alpha`` … ``hta``, ``rf``, ``k``, ``function_id`` and
        ``edition`` (guidebook edition of the function).
    """
    return read_table("emep_eea_2019_urban_bus_hot.csv")


#: Fuels and sizes of fleet classes as readers see them (marked for the catalogs).
FUEL_NAMES = {"electric": N_("electric"), "diesel": N_("diesel"), "cng": N_("cng"), "lng": N_("lng"),
              "hybrid": N_("hybrid")}
SIZE_NAMES = {"midi": N_("midi"), "standard": N_("standard"), "articulated": N_("articulated")}


def class_label(fleet_class) -> Text:
    """A fleet class's readable name (its ``label``, e.g. ``diesel Euro V (SCR), standard``) as a
    text written in the language in force when shown; the Euro class and technology keep their symbols."""
    c = fleet_class
    fuel = Text(FUEL_NAMES.get(c.fuel, c.fuel))
    size = Text(SIZE_NAMES.get(c.size, c.size))
    if c.fuel == "electric":
        return Text("{fuel}, {size}", fuel=fuel, size=size)
    tech = f" ({c.emep_technology})" if c.emep_technology else ""
    euro = "EEV" if c.euro == "EEV" else f"Euro {c.euro}"
    return Text("{fuel} {euro}{technology}, {size}", fuel=fuel, euro=euro, technology=tech, size=size)


def proxy_note(fuel: str, euro: str) -> Text | None:
    """How a class without its own EMEP function is mapped to one, as a text
    written when shown (None when the class has its own functions)."""
    if fuel == "lng":
        return Text("LNG bus: EMEP natural-gas (CNG) bus functions used (no LNG function)")
    if fuel == "hybrid" and euro != "VI":
        return Text("hybrid Euro {euro}: conventional diesel Euro {euro} functions used (upper bound)", euro=euro)
    if fuel == "hybrid":
        return Text("hybrid Euro VI: EMEP diesel-hybrid functions; exhaust PM of the diesel Euro VI (DPF+SCR) bus")
    return None


def _lookup(fuel: str, euro: str, technology: str, size: str) -> tuple[dict[str, tuple], str]:
    """EMEP rows (by pollutant) for one vehicle class and the proxy note (English)."""
    f = hot_functions()
    want = {p: (fuel, euro, technology, size) for p in POLLUTANTS}
    if fuel == "lng":
        want = {p: ("cng", euro, "", size) for p in POLLUTANTS}
    elif fuel == "hybrid" and euro != "VI":
        want = {p: ("diesel", euro, technology, size) for p in POLLUTANTS}
    elif fuel == "hybrid":
        want["pm_exhaust"] = ("diesel", "VI", "DPF+SCR", size)
    with i18n.use_language(i18n.SOURCE_LANGUAGE):
        note = str(proxy_note(fuel, euro) or "")
    out = {}
    for pol, key in want.items():
        hit = f[(f["fuel"] == key[0]) & (f["euro"] == key[1]) & (f["technology"] == key[2]) &
                (f["size"] == key[3]) & (f["pollutant"] == pol)]
        if hit.empty:
            raise DataError(f"no EMEP/EEA function for {pol} of a {size} {fuel} Euro {euro} {technology} bus in "
                            "data/reference/air/emep_eea_2019_urban_bus_hot.csv; choose another class in "
                            "city.yml fleet_classes")
        out[pol] = tuple(hit.iloc[0][["alpha", "beta", "gamma", "delta", "epsilon", "zita", "hta", "rf", "k",
                                      "vmin_kmh", "vmax_kmh", "edition"]])
    return out, note


def evaluate(coef: tuple | pd.DataFrame, speed_kmh) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate EMEP functions at speeds, clamping each speed to the valid range.

    Parameters
    ----------
    coef
        One function (a tuple ``alpha, beta, gamma, delta, epsilon, zita,
        hta, rf, k, vmin_kmh, vmax_kmh[, …]``) or a table with those columns
        (one function per row).
    speed_kmh
        Speeds (km/h), any shape for one function; 1-D for a table (the
        result is then speeds × functions).

    Returns
    -------
    (values, clamped)
        Factors (g/km or MJ/km) and a boolean array, True where the speed was
        outside the valid range and the limit was used instead.
    """
    if isinstance(coef, pd.DataFrame):
        c = {k: coef[k].to_numpy(dtype=float)[None, :] for k in
             ("alpha", "beta", "gamma", "delta", "epsilon", "zita", "hta", "rf", "k", "vmin_kmh", "vmax_kmh")}
        v = np.asarray(speed_kmh, dtype=float)[:, None]
    else:
        c = dict(zip(("alpha", "beta", "gamma", "delta", "epsilon", "zita", "hta", "rf", "k", "vmin_kmh",
                      "vmax_kmh"), (float(x) for x in coef[:11])))
        v = np.asarray(speed_kmh, dtype=float)
    vc = np.clip(v, c["vmin_kmh"], c["vmax_kmh"])
    clamped = (v < c["vmin_kmh"]) | (v > c["vmax_kmh"])
    val = ((c["alpha"] * vc ** 2 + c["beta"] * vc + c["gamma"] + c["delta"] / vc)
           / (c["epsilon"] * vc ** 2 + c["zita"] * vc + c["hta"]) * (1 - c["rf"]) * c["k"])
    return val, clamped


def hot_factor(pollutant: str, speed_kmh, *, fuel: str, euro: str, technology: str = "",
               size: str = "standard") -> np.ndarray:
    """Hot-exhaust factor of one vehicle class at given speeds (g/km; MJ/km for energy).

    An electric bus emits no exhaust: 0 for every pollutant and NaN for
    energy (EMEP gives no electric-bus function).

    Examples
    --------
    >>> round(float(hot_factor("nox", 20, fuel="diesel", euro="V", technology="SCR")), 2)  # doctest: +SKIP
    8.67
    """
    if pollutant not in POLLUTANTS:
        raise DataError(f"unknown pollutant {pollutant!r}; choose from {', '.join(POLLUTANTS)}")
    v = np.asarray(speed_kmh, dtype=float)
    if fuel == "electric":
        return np.full(v.shape, np.nan if pollutant == "energy" else 0.0)
    rows, _ = _lookup(fuel, euro, technology, size)
    return evaluate(rows[pollutant], v)[0]


def class_functions(classes) -> pd.DataFrame:
    """The EMEP functions used for each fleet class, one row per class and pollutant.

    Parameters
    ----------
    classes
        ``city.profile.fleet_classes`` (a list of
        :class:`citybridge.city.FleetClass`).

    Returns
    -------
    DataFrame
        ``class_id`` (position in ``classes``), ``class`` (label), ``pollutant``,
        the coefficient columns of :func:`hot_functions`, ``vmin_kmh``,
        ``vmax_kmh``, ``edition`` and ``proxy`` (how the class was mapped to
        EMEP, empty when directly). Electric classes have no rows.
    """
    rows = []
    for i, c in enumerate(classes):
        if c.fuel == "electric":
            continue
        funcs, note = _lookup(c.fuel, c.euro, c.emep_technology, c.size)
        for pol, t in funcs.items():
            rows.append((i, c.label, pol, *t, note))
    cols = ["class_id", "class", "pollutant", "alpha", "beta", "gamma", "delta", "epsilon", "zita", "hta", "rf",
            "k", "vmin_kmh", "vmax_kmh", "edition", "proxy"]
    return pd.DataFrame(rows, columns=cols)


def factor_table(classes, *, speeds=(10.0, 20.0, 30.0)) -> pd.DataFrame:
    """The factors each fleet class gets, at a few speeds, with source and year.

    Returns
    -------
    DataFrame
        ``class``, ``pollutant``, ``unit``, one column ``at_<v>_kmh`` per speed
        (g/km or MJ/km; speeds outside the valid range use the limit),
        ``valid_kmh`` (range), ``source`` (guidebook, edition and year, and
        the proxy used if any; a text written in the language in force when
        shown). Electric classes show 0 exhaust.
    """
    fn = class_functions(classes)
    out = []
    for i, c in enumerate(classes):
        for pol, unit in POLLUTANTS.items():
            r = {"class": c.label, "pollutant": POLLUTANT_NAMES[pol], "unit": unit}
            if c.fuel == "electric":
                r.update({f"at_{v:g}_kmh": (np.nan if pol == "energy" else 0.0) for v in speeds})
                r.update(valid_kmh=Text("any"), source=Text("no exhaust (battery-electric); energy not in EMEP"))
            else:
                f = fn[(fn["class_id"] == i) & (fn["pollutant"] == pol)].iloc[0]
                vals, _ = evaluate(tuple(f[["alpha", "beta", "gamma", "delta", "epsilon", "zita", "hta", "rf", "k",
                                            "vmin_kmh", "vmax_kmh"]]), np.asarray(speeds, dtype=float))
                r.update({f"at_{v:g}_kmh": float(x) for v, x in zip(speeds, vals)})
                proxy = proxy_note(c.fuel, c.euro)
                source = Text("{edition} guidebook, Tier 3 (via gtfs2emis)", edition=f["edition"])
                r.update(valid_kmh=f"{f['vmin_kmh']:g}–{f['vmax_kmh']:g}",
                         source=Text.join([source, proxy], "; ") if proxy is not None else source)
            out.append(r)
    return pd.DataFrame(out)


def non_exhaust_factors(*, brake: str = "carculator_truck", size: str = "standard") -> pd.DataFrame:
    """Tyre, brake and road-wear PM factors of one bus (EMEP/EEA Tier 2).

    ``tyre = N_axle/2 × (1.41 + 1.38 × LF) × 0.0107 × 1.39``,
    ``brake = M × (1 + 0.79 × LF) × 0.0075 × 1.67`` and ``road = 0.076`` g/km
    of total suspended particulate (TSP), times the PM10 and PM2.5 mass
    fractions, with LF = 0.5 and the speed corrections for urban speeds
    below 40 km/h. ``M`` is the heavy-vehicle brake multiplier: 3.13 as
    coded in carculator_truck (``brake="carculator_truck"``, the default) or
    1.956 as coded in gtfs2emis (``brake="gtfs2emis"``).

    The same factors apply to electric buses: no official reduction for
    regenerative braking and no weight penalty were found, so neither is
    modelled.

    Returns
    -------
    DataFrame
        ``source`` (tyre, brake, road, total), ``tsp``, ``pm10``, ``pm25``
        (g per vehicle-km).
    """
    if brake not in BRAKE_FACTORS:
        raise DataError(f"brake multiplier {brake!r} unknown; choose {' or '.join(BRAKE_FACTORS)}")
    p = read_table("non_exhaust_pm_tier2.csv").set_index("parameter")["value"].astype(float)
    lf = p["load_factor"]
    tyre = AXLES[size] / 2 * (p["tyre_lcf_base"] + p["tyre_lcf_per_load"] * lf) * p["tyre_ef_pc_tsp"] \
        * p["tyre_speed_corr_urban"]
    brk = p[f"brake_hdv_factor_{brake}"] * (p["brake_lcf_base"] + p["brake_lcf_per_load"] * lf) \
        * p["brake_ef_pc_tsp"] * p["brake_speed_corr_urban"]
    road = p["road_ef_hdv_tsp"]
    rows = [(N_("tyre"), tyre, tyre * p["tyre_pm10_fraction"], tyre * p["tyre_pm25_fraction"]),
            (N_("brake"), brk, brk * p["brake_pm10_fraction"], brk * p["brake_pm25_fraction"]),
            (N_("road"), road, road * p["road_pm10_fraction"], road * p["road_pm25_fraction"])]
    out = pd.DataFrame(rows, columns=["source", "tsp", "pm10", "pm25"])
    total = out[["tsp", "pm10", "pm25"]].sum()
    return pd.concat([out, pd.DataFrame([{"source": N_("total"), **total.to_dict()}])], ignore_index=True)


def urban_speed_limit() -> float:
    """Speed (km/h) below which the Tier 2 tyre and brake speed corrections used here hold."""
    p = read_table("non_exhaust_pm_tier2.csv").set_index("parameter")["value"].astype(float)
    return float(p["urban_speed_limit_kmh"])


def stations(city_slug: str) -> pd.DataFrame:
    """Air-quality monitoring stations of a city (empty when the project has none).

    Returns
    -------
    DataFrame
        ``station``, ``station_name``, ``station_code``, ``comuna``,
        ``latitude``, ``longitude`` (degrees WGS-84), ``network``,
        ``operator``, ``source``.
    """
    s = read_table("sinca_stations.csv")
    return s[s["city_slug"] == city_slug].drop(columns="city_slug").reset_index(drop=True)


def station_means(city_slug: str) -> pd.DataFrame:
    """Computed annual PM2.5 means per station and year (see :data:`STATIONS_NOTE`).

    Returns
    -------
    DataFrame
        ``station``, ``year``, ``n_days`` (validated days), ``pm25_mean_ugm3``
        (µg/m³), ``excluded`` (True where the compiler judged the file to be
        PM10), ``exclusion_reason``, ``source``.
    """
    m = read_table("sinca_pm25_annual_means_computed.csv")
    m["excluded"] = m["excluded"].astype(str).str.lower() == "true"
    m["exclusion_reason"] = m["exclusion_reason"].fillna("")
    return m[m["city_slug"] == city_slug].drop(columns="city_slug").reset_index(drop=True)


def standards(country: str) -> pd.DataFrame:
    """PM2.5 air-quality standards of a country (``pollutant``, ``averaging``, ``value``, ``unit``, ``rule``, ``source``)."""
    s = read_table("air_quality_standards.csv")
    return s[s["country"] == country].drop(columns="country").reset_index(drop=True)
