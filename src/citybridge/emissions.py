"""Low carbon: vehicle-km by mode and energy, CO2 and scenarios.

Emissions are computed for buses, the mode for which the profile carries
sourced parameters:

* diesel buses: ``vehicle-km × L/100 km ÷ 100 × kgCO2/L`` (tank-to-wheel);
* electric buses: ``vehicle-km × kWh/km × grid kgCO2/kWh`` (grid emissions).

Metro, water-bus and other modes have no sourced energy parameter in the
profiles, so their vehicle-km are reported and their emissions are left out
(and say so) rather than guessed.

Annualisation rule (stated on every result): a representative weekday ×
250, Saturday × 52 and Sunday × 63 (Sundays plus about 11 public holidays run
on a Sunday timetable), 365 days in all.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from . import i18n
from .city import Parameters, SourcedValue
from .errors import DataError
from .i18n import N_
from .feed import FeedDay, feed_date_range, prepare_day, trips_by_date
from .service import trip_table
from .texts import Text, tr

#: Days of each type in a year (the annualisation rule).
DAYS_PER_YEAR = {"weekday": 250, "saturday": 52, "sunday": 63}
ANNUAL_RULE = N_("annual = weekday × 250 + Saturday × 52 + Sunday × 63 "
                 "(Sundays plus about 11 public holidays on a Sunday timetable)")

#: The ``input`` of :func:`sensitivity` for a feed with no bus: nothing to vary.
NO_BUS_INPUT = N_("none (the feed has no bus trips, so there is no bus CO2 to vary)")

#: The ``vehicle_energy`` marks as readers see them (marked for the catalogs; tables translate them).
ENERGY_NAMES = (N_("diesel"), N_("electric"), N_("other"), N_("unknown"))

BUS_PARAMETERS = ("diesel_bus_litres_per_100km", "diesel_kgco2_per_litre", "ebus_kwh_per_km",
                  "grid_kgco2_per_kwh")


def vehicle_km(day: FeedDay) -> pd.DataFrame:
    """Vehicle-km and vehicle-hours by mode and vehicle energy on the day.

    Returns
    -------
    DataFrame
        ``mode``, ``vehicle_energy`` (``diesel``, ``electric``, ``other`` or
        ``unknown`` when the feed does not mark it), ``trips`` (count),
        ``vehicle_km`` (km, straight line stop to stop), ``vehicle_hours`` (h).
    """
    t = trip_table(day).merge(day.trips[["trip_id", "vehicle_energy"]], on="trip_id", how="left")
    out = (t.groupby(["mode", "vehicle_energy"], sort=True)
             .agg(trips=("trip_id", "size"), vehicle_km=("distance_km", "sum"), vehicle_hours=("duration_h", "sum"))
             .reset_index())
    return out


def representative_days(feed, date: str) -> dict[str, str]:
    """The analysis weekday and the first Saturday and Sunday with trips after it.

    Returns ``{"weekday": date, "saturday": ..., "sunday": ...}``; a day type
    the feed never runs is left out (``weekday`` too when ``date`` is a
    Saturday or Sunday: a feed with no weekday service).
    """
    d0 = dt.datetime.strptime(date, "%Y%m%d").date()
    _, last = feed_date_range(feed)
    # a feed with no weekday service is analysed on a weekend day: no weekday then
    out = {"weekday": date} if d0.weekday() < 5 else {}
    for name, wd in (("saturday", 5), ("sunday", 6)):
        d = d0 + dt.timedelta(days=(wd - d0.weekday()) % 7)
        while d <= last:
            if trips_by_date(feed, [d]).iloc[0] > 0:
                out[name] = d.strftime("%Y%m%d")
                break
            d += dt.timedelta(days=7)
    return out


def annual_vehicle_km(day: FeedDay) -> pd.DataFrame:
    """Vehicle-km per year by mode and energy (see :data:`ANNUAL_RULE`).

    Returns
    -------
    DataFrame
        ``mode``, ``vehicle_energy``, ``weekday_km``, ``saturday_km``,
        ``sunday_km`` (km on each representative day; 0 when the feed has no
        such day), ``vehicle_km_year`` (km/year).
    """
    days = representative_days(day.feed, day.date)
    frames = []
    for name in DAYS_PER_YEAR:
        if name not in days:
            continue
        d = day if days[name] == day.date else prepare_day(day.feed, days[name], crs=day.crs)
        frames.append(vehicle_km(d)[["mode", "vehicle_energy", "vehicle_km"]].assign(day_type=name))
    long = pd.concat(frames, ignore_index=True)
    long["vehicle_km"] = pd.to_numeric(long["vehicle_km"], errors="coerce").astype(float)
    long[["mode", "vehicle_energy"]] = long[["mode", "vehicle_energy"]].astype(object)
    wide = long.pivot_table(index=["mode", "vehicle_energy"], columns="day_type", values="vehicle_km",
                            aggfunc="sum", fill_value=0.0)
    for name in DAYS_PER_YEAR:
        if name not in wide:
            wide[name] = 0.0
    wide = wide[list(DAYS_PER_YEAR)].astype(float).rename(columns=lambda c: f"{c}_km")
    wide["vehicle_km_year"] = sum(wide[f"{k}_km"] * n for k, n in DAYS_PER_YEAR.items())
    return wide.reset_index()


def stored_annual_vehicle_km(city, day: FeedDay, *, date: str | None = None) -> pd.DataFrame:
    """:func:`annual_vehicle_km` of the city's service day for ``date``, stored
    with the city's artefacts (:func:`citybridge.artifacts.stored`): preparing
    its Saturday and Sunday takes seconds on a metropolitan feed, so it is
    done once per city files, package and date.

    Returns
    -------
    DataFrame
        As :func:`annual_vehicle_km`.
    """
    from .artifacts import stored

    return stored(city, "annual-vkm", lambda: annual_vehicle_km(day), date=date or None)


def apply_electric_share(vkm: pd.DataFrame, share: float, *, km_col: str = "vehicle_km") -> pd.DataFrame:
    """Re-split bus vehicle-km so that ``share`` (0–1) of it is electric.

    Bus rows of any energy are pooled and re-split into ``electric`` and
    ``diesel``; other modes are unchanged. Without bus vehicle-km the table
    is returned as it is (any ``share``, even NaN, is then irrelevant).
    """
    bus = vkm[vkm["mode"] == "bus"]
    rest = vkm[vkm["mode"] != "bus"]
    total = bus[km_col].sum()
    if not total > 0:
        # no bus vehicle-km (a rail- or ferry-only feed): nothing to re-split, whatever the share
        return vkm[["mode", "vehicle_energy", km_col]].reset_index(drop=True)
    if not 0 <= share <= 1:
        raise DataError(f"electric share {share} is outside 0–1; give a fraction such as 0.62")
    new = pd.DataFrame({"mode": ["bus", "bus"], "vehicle_energy": ["diesel", "electric"],
                        km_col: [total * (1 - share), total * share]})
    return pd.concat([rest[["mode", "vehicle_energy", km_col]], new], ignore_index=True)


def fleet_electric_share(fleet) -> float | None:
    """Electric share of the bus fleet from the profile's fleet entries, or None."""
    bus = [e for e in fleet if e.mode == "bus"]
    total = sum(e.vehicles for e in bus)
    if total == 0:
        return None
    return sum(e.vehicles for e in bus if e.energy == "electric") / total


def electric_share_of_bus_km(vkm: pd.DataFrame, *, km_col: str = "vehicle_km") -> float:
    """Share (0–1) of bus vehicle-km run by electric buses; NaN when there are no bus vehicle-km.

    This is the share *by bus-km*: it differs from the share of the fleet (buses
    counted once whatever they run) and from the share of trips (a short trip
    counts as much as a long one).
    """
    bus = vkm[vkm["mode"] == "bus"]
    total = float(bus[km_col].sum())
    if not total > 0:
        return float("nan")
    return float(bus.loc[bus["vehicle_energy"] == "electric", km_col].sum()) / total


def fleet_share_basis(fleet, day) -> str:
    """How the electric share of bus vehicle-km was obtained, in words (with the fleet count's date)."""
    bus = day.trips[day.trips["mode"] == "bus"]
    if len(bus) and (bus["vehicle_energy"] != "unknown").all():
        return N_("energy type of each trip as marked in the feed (vehicle_energy)")
    entries = [e for e in fleet if e.mode == "bus"]
    share = fleet_electric_share(fleet)
    if share is None:
        return N_("the feed does not mark energy types and city.yml gives no bus fleet")
    years = sorted({e.year for e in entries})
    n_el = sum(e.vehicles for e in entries if e.energy == "electric")
    total = sum(e.vehicles for e in entries)
    return (f"bus-km split by the fleet's electric share as of {', '.join(years)} "
            f"({n_el:,} of {total:,} buses; the feed does not say which bus runs which trip)")


def emissions(vkm: pd.DataFrame, params: Parameters, *, km_col: str = "vehicle_km",
              grid_kgco2_per_kwh: float | None = None, fleet_share: float | None = None) -> pd.DataFrame:
    """CO2 of bus vehicle-km with the profile's parameters.

    Parameters
    ----------
    vkm
        From :func:`vehicle_km` or :func:`annual_vehicle_km` (``km_col``).
    params
        The city's emission parameters.
    grid_kgco2_per_kwh
        Overrides the profile's grid factor (scenario).
    fleet_share
        Electric share used to split bus vehicle-km whose energy is
        ``unknown`` (feeds that do not mark it); default: no split (NaN).

    Returns
    -------
    DataFrame
        ``mode``, ``vehicle_energy``, ``vehicle_km`` (km), ``energy`` (litres
        of diesel or kWh), ``energy_unit`` (``L``/``kWh``/empty), ``tco2``
        (tonnes CO2; NaN where no sourced parameter exists), ``basis``
        (tank-to-wheel, grid, or why not computed).
    """
    v = vkm[["mode", "vehicle_energy", km_col]].rename(columns={km_col: "vehicle_km"}).copy()
    unknown_bus = (v["mode"] == "bus") & ~v["vehicle_energy"].isin(["diesel", "electric"])
    if unknown_bus.any() and fleet_share is not None:
        pooled = v.loc[unknown_bus, "vehicle_km"].sum()
        v = pd.concat([v[~unknown_bus], pd.DataFrame({
            "mode": ["bus", "bus"], "vehicle_energy": ["diesel", "electric"],
            "vehicle_km": [pooled * (1 - fleet_share), pooled * fleet_share]})], ignore_index=True)
        v = v.groupby(["mode", "vehicle_energy"], as_index=False)["vehicle_km"].sum()
    missing = missing_parameters(params)
    lp100 = float(params.diesel_bus_litres_per_100km.value) if params.diesel_bus_litres_per_100km else np.nan
    kg_l = float(params.diesel_kgco2_per_litre.value) if params.diesel_kgco2_per_litre else np.nan
    kwh_km = float(params.ebus_kwh_per_km.value) if params.ebus_kwh_per_km else np.nan
    grid = float(grid_kgco2_per_kwh) if grid_kgco2_per_kwh is not None else (
        float(params.grid_kgco2_per_kwh.value) if params.grid_kgco2_per_kwh else np.nan)
    diesel = (v["mode"] == "bus") & (v["vehicle_energy"] == "diesel")
    elec = (v["mode"] == "bus") & (v["vehicle_energy"] == "electric")
    v["energy"] = np.select([diesel, elec], [v["vehicle_km"] * lp100 / 100, v["vehicle_km"] * kwh_km], np.nan)
    v["energy_unit"] = np.select([diesel, elec], ["L", "kWh"], "")
    v["tco2"] = np.select([diesel, elec], [v["energy"] * kg_l / 1000, v["energy"] * grid / 1000], np.nan)
    d_missing = [m for m in missing if m in ("diesel_bus_litres_per_100km", "diesel_kgco2_per_litre")]
    e_missing = [m for m in missing if m in ("ebus_kwh_per_km", "grid_kgco2_per_kwh") and
                 not (m == "grid_kgco2_per_kwh" and grid_kgco2_per_kwh is not None)]
    unknown = (v["mode"] == "bus") & ~(diesel | elec)
    v["basis"] = np.select(
        [diesel & bool(d_missing), diesel, elec & bool(e_missing), elec, unknown],
        [f"not computed: city.yml lacks {', '.join(d_missing)}", N_("tank-to-wheel (diesel)"),
         f"not computed: city.yml lacks {', '.join(e_missing)}", N_("grid electricity"),
         "not computed: energy type unknown; mark vehicle_energy in trips.txt or give bus fleet "
         "shares under 'fleet' in city.yml"],
        N_("not computed: no sourced energy parameter for this mode"))
    return v


def missing_parameters(params: Parameters, names=BUS_PARAMETERS) -> list[str]:
    """Names of bus emission parameters absent from the profile."""
    return [n for n in names if getattr(params, n) is None]


def flagged_parameters(params: Parameters, names=BUS_PARAMETERS) -> list[str]:
    """Names of parameters used without a solid source (to show next to results)."""
    out = []
    for n in names:
        p = getattr(params, n)
        if p is None or not p.solid:
            out.append(n)
    return out


def electric_share_curve(vkm_year: pd.DataFrame, params: Parameters, grid_factors: dict[str, float],
                         *, shares: np.ndarray | None = None) -> pd.DataFrame:
    """Annual bus CO2 against electric share, for each grid factor.

    Returns
    -------
    DataFrame
        ``electric_share`` (0–1), ``grid`` (label), ``grid_kgco2_per_kwh``,
        ``tco2_year`` (t/year, buses).
    """
    shares = np.linspace(0, 1, 11) if shares is None else shares
    rows = []
    for label, g in grid_factors.items():
        for s in shares:
            e = emissions(apply_electric_share(vkm_year, float(s), km_col="vehicle_km_year"), params,
                          km_col="vehicle_km_year", grid_kgco2_per_kwh=g)
            rows.append({"electric_share": float(s), "grid": label, "grid_kgco2_per_kwh": g,
                         "tco2_year": float(e["tco2"].sum(min_count=1))})
    return pd.DataFrame(rows)


def sensitivity(vkm_year: pd.DataFrame, params: Parameters, *, electric_share: float, delta: float = 0.2
                ) -> pd.DataFrame:
    """How much annual bus CO2 moves when each input moves by ±``delta`` of its value.

    One definition for every input: the input is multiplied by ``1 − delta``
    and ``1 + delta`` (±20 % by default). For the electric share that is ±20 %
    *of the share* (0.62 → 0.496 and 0.744, clipped to 0–1), not ±20
    percentage points.

    Returns
    -------
    DataFrame
        ``input``, ``base`` (value), ``low_tco2``, ``high_tco2`` (t/year at
        the low and high value), ``swing_tco2`` (|high − low|, t/year),
        ``swing_pct`` (swing as % of the base result); largest swing first.
        A feed without bus vehicle-km gives one row whose ``input`` says so
        (:data:`NO_BUS_INPUT`) and whose swings are 0.
    """
    def run(p: Parameters, share: float) -> float:
        e = emissions(apply_electric_share(vkm_year, share, km_col="vehicle_km_year"), p, km_col="vehicle_km_year")
        return float(e["tco2"].sum())

    if not vkm_year.loc[vkm_year["mode"] == "bus", "vehicle_km_year"].sum() > 0:
        return pd.DataFrame([(NO_BUS_INPUT, np.nan, 0.0, 0.0, 0.0, 0.0)],
                            columns=["input", "base", "low_tco2", "high_tco2", "swing_tco2", "swing_pct"])
    base = run(params, electric_share)
    rows = []
    for name in BUS_PARAMETERS:
        p0 = getattr(params, name)
        if p0 is None:
            continue
        lo = params.model_copy(update={name: p0.model_copy(update={"value": p0.value * (1 - delta)})})
        hi = params.model_copy(update={name: p0.model_copy(update={"value": p0.value * (1 + delta)})})
        rows.append((name, p0.value, run(lo, electric_share), run(hi, electric_share)))
    rows.append(("electric_share", electric_share, run(params, max(0.0, electric_share * (1 - delta))),
                 run(params, min(1.0, electric_share * (1 + delta)))))
    df = pd.DataFrame(rows, columns=["input", "base", "low_tco2", "high_tco2"])
    df["swing_tco2"] = (df["high_tco2"] - df["low_tco2"]).abs()
    df["swing_pct"] = 100 * df["swing_tco2"] / base if base else np.nan
    return df.sort_values("swing_tco2", ascending=False, kind="stable").reset_index(drop=True)


def mode_shift(new_transit_pkm_year: float, *, car_km_per_pkm: float, car_kgco2_per_km: float) -> float:
    """Tonnes of CO2 avoided per year when new transit passenger-km replace car-km.

    ``new_transit_pkm_year × car_km_per_pkm × car_kgco2_per_km ÷ 1000``.
    """
    if min(new_transit_pkm_year, car_km_per_pkm, car_kgco2_per_km) < 0:
        raise DataError("mode-shift inputs must be zero or positive")
    return new_transit_pkm_year * car_km_per_pkm * car_kgco2_per_km / 1000


def parameters_sentence(flags: list[str], missing: list[str]) -> str:
    """Which emission parameters lack a solid source or are missing, in the language in force.

    Parameters
    ----------
    flags
        :func:`flagged_parameters` not in ``missing`` (parameter names).
    missing
        :func:`missing_parameters` (parameter names).

    Returns
    -------
    str
        One or two sentences, e.g. ``"Results on this page use parameters
        without a solid source: ebus_kwh_per_km."`` (the names are code
        identifiers; :func:`citybridge.notebook.plain` shows them as words).
    """
    parts = []
    if flags:
        parts.append(tr("Results on this page use parameters without a solid source: {names}.", names=", ".join(flags)))
    if missing:
        parts.append(tr("CO2 is not computed where these are missing from city.yml: {names}.", names=", ".join(missing)))
    return " ".join(parts) or tr("Every parameter used on this page has a solid source.")


def summary_table(e_day: pd.DataFrame, params: Parameters, e_year: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`summary` as shown: indicators, units and notes are :class:`~citybridge.texts.Text`,
    written in the language in force when the table is drawn.

    Returns
    -------
    DataFrame
        ``indicator`` (text), ``value`` (t, g/km, % or km as the unit says), ``unit`` (text), ``note`` (text).
    """
    bus_d = e_day[e_day["mode"] == "bus"]
    missing = missing_parameters(params)
    flags = [f for f in flagged_parameters(params) if f not in missing]
    parts = ([Text("not computed: city.yml lacks {names}", names=", ".join(missing))] if missing else []) + \
        ([Text("uses parameters without a solid source: {names}", names=", ".join(flags))] if flags else [])
    note = Text.join(parts, "; ") if parts else Text("all parameters sourced")
    km = bus_d["vehicle_km"].sum()
    if not km > 0:
        note = Text("not computed: the feed has no bus trips on this day")
    rows = [
        (Text("bus CO2 per day"), bus_d["tco2"].sum(skipna=False), "tCO2/day", note),
        (Text("bus CO2 per service-km"), 1e6 * bus_d["tco2"].sum(skipna=False) / km if km else np.nan, "gCO2/km",
         note),
        (Text("electric share of bus vehicle-km"),
         100 * bus_d.loc[bus_d["vehicle_energy"] == "electric", "vehicle_km"].sum() / km if km else np.nan, "%",
         Text("from the vehicle_energy marked on each trip, or the fleet share where unmarked")),
    ]
    if e_year is not None:
        rows.insert(1, (Text("bus CO2 per year"), e_year.loc[e_year["mode"] == "bus", "tco2"].sum(skipna=False),
                        "tCO2/year", Text.join([note, Text(ANNUAL_RULE)], "; ")))
        for mode, g in e_year.groupby("mode", sort=True):
            rows.append((Text("{mode} vehicle-km per year", mode=Text(mode)), g["vehicle_km"].sum(), "km/year",
                         Text(ANNUAL_RULE)))
    return pd.DataFrame(rows, columns=["indicator", "value", "unit", "note"])


def summary(e_day: pd.DataFrame, params: Parameters, e_year: pd.DataFrame | None = None) -> pd.DataFrame:
    """Headline emission figures with the flag of any unsourced parameter (in
    English: the indicators are keys of the KPI board; :func:`summary_table`
    is the same table in the reader's language).

    Parameters
    ----------
    e_day, e_year
        :func:`emissions` of the day's and (optionally) the year's vehicle-km.

    Returns
    -------
    DataFrame
        ``indicator``, ``value``, ``unit``, ``note``: bus CO2 per day (t),
        per year (t), per bus service-km (g/km), electric share of bus
        vehicle-km (%), and vehicle-km per year by mode.
    """
    out = summary_table(e_day, params, e_year)
    with i18n.use_language(i18n.SOURCE_LANGUAGE):
        for c in ("indicator", "note"):
            out[c] = out[c].map(str)
    return out
