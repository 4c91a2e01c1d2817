"""Clean air (chapter 05): NOx and PM2.5 from buses, street by street.

The method follows IPEA's gtfs2emis: emission factors that depend on each
segment's speed, applied to the vehicle-km of each fleet class on it.

1. :func:`segment_groups`: every scheduled bus run between consecutive stops
   (:func:`citybridge.speed.segment_speeds`) is aggregated by
   ``from_stop_id`` × ``to_stop_id`` × ``route_id`` × ``hour`` × marked
   ``vehicle_energy``, with its vehicle-km and time-weighted speed (total
   distance ÷ total run time). Factors are evaluated once per group, never
   per trip: trips of one route over one segment in one hour run at nearly
   the same scheduled speed.
2. :func:`class_weights`: the fleet classes of ``city.yml`` share each
   group's vehicle-km. Where the feed marks a trip's ``vehicle_energy``,
   only the classes of that energy share it (``electric`` → electric,
   ``diesel`` → diesel classes, ``other`` → gas and hybrid classes), in
   proportion to their shares; unmarked trips get the whole mix.
3. :func:`segment_emissions`: hot exhaust (NOx, exhaust PM, CO, energy) =
   vehicle-km × the EMEP/EEA function at the group's speed (clamped to the
   valid range, and reported), per class; non-exhaust PM (tyre, brake, road)
   = vehicle-km × the Tier 2 factors, for every bus including electric ones
   (:func:`citybridge.air_factors.non_exhaust_factors`).

Distances are straight lines between stops (see chapter 04), so vehicle-km
and emissions are slightly understated and speeds are a lower bound.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import air_factors as AF
from .errors import DataError
from .feed import FeedDay
from .i18n import N_
from .texts import Text

#: ``vehicle_energy`` marks and the fleet-class fuels they stand for.
ENERGY_FUELS = {"electric": ("electric",), "diesel": ("diesel",), "other": ("cng", "lng", "hybrid")}
#: Columns of emissions (g, or MJ for energy) in :func:`segment_emissions`.
EMISSION_COLUMNS = ["nox_g", "pm_exhaust_g", "co_g", "energy_mj", "pm25_nonexhaust_g", "pm10_nonexhaust_g",
                    "pm25_g", "pm10_g"]
NO_CLASSES = N_("city.yml has no fleet_classes, so NOx and PM2.5 are not computed. Add the shares of bus-km by fuel "
                 "and Euro class, each with year and source (or assumed: true with a note), adding up to 100 %, for "
                 "example 'fleet_classes: [{fuel: electric, share: 60, year: 2025, source: ...}, {fuel: diesel, "
                 "euro: V, share: 40, year: 2025, source: ...}]'. This unlocks the emission totals, the street map, "
                 "the hourly profile and the electrification ranking.")


def segment_groups(day: FeedDay) -> pd.DataFrame:
    """Bus vehicle-km and scheduled speed by segment, route, hour and marked energy.

    Returns
    -------
    DataFrame
        One row per ``from_stop_id`` × ``to_stop_id`` × ``route_id`` ×
        ``hour`` × ``vehicle_energy`` of bus runs:

        - ``trips``: runs over the segment (count)
        - ``distance_m``: mean straight-line length of the segment (m)
        - ``vehicle_km``: total distance run (km)
        - ``run_h``: total scheduled run time (h)
        - ``speed_kmh``: ``vehicle_km / run_h`` (km/h, time-weighted)
    """
    from .columns import take_text
    from .engine import codes_of, segment_runs

    r = segment_runs(day)
    run = r["arr"] - r["dep"]
    bus = (day.trips["mode"] == "bus").to_numpy()
    ok = (run > 0) & ~np.isnan(r["dist"]) & bus[r["trip"]]
    t = r["trip"][ok]
    rcode, rnames = codes_of(day.trips["route_id"])
    ecode, enames = codes_of(day.trips["vehicle_energy"].fillna("unknown"))
    hour = (r["dep"][ok] // 3600).astype(np.int64)
    H, R, E, S = int(hour.max(initial=0)) + 1, max(len(rnames), 1), max(len(enames), 1), max(len(day.stop_ids), 1)
    key = (((r["from_stop"][ok].astype(np.int64) * S + r["to_stop"][ok]) * R + rcode[t]) * H + hour) * E + ecode[t]
    uk, gid = np.unique(key, return_inverse=True)
    keys = ["from_stop_id", "to_stop_id", "route_id", "hour", "vehicle_energy"]
    g = pd.DataFrame({
        "from_stop_id": take_text(day.stop_ids, uk // E // H // R // S),
        "to_stop_id": take_text(day.stop_ids, uk // E // H // R % S),
        "route_id": take_text(rnames, uk // E // H % R),
        "hour": (uk // E % H).astype(int),
        "vehicle_energy": take_text(enames, uk % E),
        "trips": np.bincount(gid, minlength=len(uk)),
        "dist": np.bincount(gid, weights=r["dist"][ok], minlength=len(uk)),
        "run": np.bincount(gid, weights=run[ok], minlength=len(uk)),
    })
    g["distance_m"] = g["dist"] / g["trips"]
    g["vehicle_km"] = g["dist"] / 1000
    g["run_h"] = g["run"] / 3600
    g["speed_kmh"] = g["vehicle_km"] / g["run_h"]
    return g[keys + ["trips", "distance_m", "vehicle_km", "run_h", "speed_kmh"]]


def class_weights(energy: pd.Series | np.ndarray, classes) -> tuple[np.ndarray, np.ndarray]:
    """Share of each group's vehicle-km run by each fleet class.

    Parameters
    ----------
    energy
        ``vehicle_energy`` of each group (``electric``, ``diesel``,
        ``other`` or ``unknown``).
    classes
        The fleet classes (shares in %; normalised to sum to 1).

    Returns
    -------
    (weights, fallback)
        ``weights``: groups × classes, each row summing to 1; ``fallback``:
        True where a group's marked energy has no class of that fuel, so the
        whole mix was used.
    """
    share = np.array([c.share for c in classes], dtype=float)
    share = share / share.sum()
    fuel = np.array([c.fuel for c in classes])
    e = pd.Series(energy)
    w = np.tile(share, (len(e), 1))
    fallback = np.zeros(len(e), dtype=bool)
    for mark, fuels in ENERGY_FUELS.items():
        rows = (e == mark).to_numpy(dtype=bool)
        if not rows.any():
            continue
        sub = np.where(np.isin(fuel, fuels), share, 0.0)
        if sub.sum() > 0:
            w[rows] = sub / sub.sum()
        else:
            fallback |= rows
    return w, fallback


def _per_class(groups: pd.DataFrame, classes, brake: str):
    """Yield (class index, class, vehicle-km array, dict of emission arrays, clamped-low, clamped-high)."""
    if not classes:
        raise DataError(NO_CLASSES)
    w, _ = class_weights(groups["vehicle_energy"], classes)
    v = groups["speed_kmh"].to_numpy(dtype=float)
    km = groups["vehicle_km"].to_numpy(dtype=float)
    fn = AF.class_functions(classes)
    for i, c in enumerate(classes):
        kc = km * w[:, i]
        ne = AF.non_exhaust_factors(brake=brake, size=c.size).set_index("source")
        out = {"pm25_nonexhaust_g": kc * ne.loc["total", "pm25"], "pm10_nonexhaust_g": kc * ne.loc["total", "pm10"]}
        low = np.zeros(len(v), dtype=bool)
        high = np.zeros(len(v), dtype=bool)
        if c.fuel == "electric":
            out.update(nox_g=np.zeros(len(v)), pm_exhaust_g=np.zeros(len(v)), co_g=np.zeros(len(v)),
                       energy_mj=np.full(len(v), np.nan))
        else:
            f = fn[fn["class_id"] == i].set_index("pollutant")
            for pol, col in (("nox", "nox_g"), ("pm_exhaust", "pm_exhaust_g"), ("co", "co_g"),
                             ("energy", "energy_mj")):
                ef, _ = AF.evaluate(f.loc[[pol]], v)
                out[col] = kc * ef[:, 0]
            low = v < f["vmin_kmh"].max()
            high = v > f["vmax_kmh"].min()
        yield i, c, kc, out, low, high


def segment_emissions(groups: pd.DataFrame, classes, *, brake: str = "carculator_truck") -> pd.DataFrame:
    """Emissions of every segment group (see the module notes for the method).

    Parameters
    ----------
    groups
        Output of :func:`segment_groups`.
    classes
        ``city.profile.fleet_classes``.
    brake
        Brake-wear multiplier, ``"carculator_truck"`` (3.13) or
        ``"gtfs2emis"`` (1.956); see
        :func:`citybridge.air_factors.non_exhaust_factors`.

    Returns
    -------
    DataFrame
        The columns of ``groups`` plus, per group and summed over the fleet
        classes running it:

        - ``nox_g``, ``pm_exhaust_g``, ``co_g``: hot exhaust (g/day)
        - ``energy_mj``: energy of the combustion buses (MJ/day; NaN where
          only electric buses run)
        - ``pm25_nonexhaust_g``, ``pm10_nonexhaust_g``: tyre, brake and road
          wear (g/day)
        - ``pm25_g``, ``pm10_g``: exhaust + non-exhaust (g/day)
        - ``combustion_km``: vehicle-km of non-electric classes (km)
        - ``clamped_low_km``, ``clamped_high_km``: vehicle-km of
          non-electric classes whose speed was below (above) the valid range
          of at least one of their functions and was clamped to it (km)
        - ``mix_fallback``: True where the marked energy had no fleet class
          and the whole mix was used
    """
    out = groups.copy()
    n = len(out)
    acc = {c: np.zeros(n) for c in EMISSION_COLUMNS[:6]}
    energy_seen = np.zeros(n, dtype=bool)
    comb = np.zeros(n)
    low_km = np.zeros(n)
    high_km = np.zeros(n)
    for _, c, kc, em, low, high in _per_class(groups, classes, brake):
        for col, arr in em.items():
            if col == "energy_mj":
                ok = np.isfinite(arr)
                acc[col][ok] += arr[ok]
                energy_seen |= ok & (kc > 0)
            else:
                acc[col] += arr
        if c.fuel != "electric":
            comb += kc
            low_km += np.where(low, kc, 0.0)
            high_km += np.where(high, kc, 0.0)
    for col, arr in acc.items():
        out[col] = arr
    out.loc[~energy_seen, "energy_mj"] = np.nan
    out["pm25_g"] = out["pm_exhaust_g"] + out["pm25_nonexhaust_g"]
    out["pm10_g"] = out["pm_exhaust_g"] + out["pm10_nonexhaust_g"]
    out["combustion_km"] = comb
    out["clamped_low_km"] = low_km
    out["clamped_high_km"] = high_km
    out["mix_fallback"] = class_weights(groups["vehicle_energy"], classes)[1]
    return out


def class_totals(groups: pd.DataFrame, classes, *, brake: str = "carculator_truck",
                 annual: float | None = None) -> pd.DataFrame:
    """Daily (and yearly) emissions by fleet class.

    Parameters
    ----------
    annual
        :func:`annual_factor`; when given, yearly columns are added.

    Returns
    -------
    DataFrame
        One row per class: ``class`` (label), ``share_pct`` (declared share
        of bus-km, %), ``assumed`` (bool), ``vehicle_km`` (km/day run by the
        class), ``nox_kg``, ``pm_exhaust_kg``, ``pm25_nonexhaust_kg``,
        ``pm25_kg``, ``co_kg`` (kg/day), ``nox_g_per_km``, ``pm25_g_per_km``
        (g per vehicle-km of the class) and, with ``annual``,
        ``nox_t_per_year``, ``pm25_t_per_year`` (t/year).
    """
    rows = []
    for _, c, kc, em, _, _ in _per_class(groups, classes, brake):
        k = kc.sum()
        pm25 = em["pm_exhaust_g"].sum() + em["pm25_nonexhaust_g"].sum()
        rows.append({"class": c.label, "share_pct": c.share, "assumed": c.assumed, "vehicle_km": k,
                     "nox_kg": em["nox_g"].sum() / 1000, "pm_exhaust_kg": em["pm_exhaust_g"].sum() / 1000,
                     "pm25_nonexhaust_kg": em["pm25_nonexhaust_g"].sum() / 1000, "pm25_kg": pm25 / 1000,
                     "co_kg": em["co_g"].sum() / 1000,
                     "nox_g_per_km": em["nox_g"].sum() / k if k else np.nan,
                     "pm25_g_per_km": pm25 / k if k else np.nan})
    out = pd.DataFrame(rows)
    if annual is not None:
        out["nox_t_per_year"] = out["nox_kg"] * annual / 1000
        out["pm25_t_per_year"] = out["pm25_kg"] * annual / 1000
    return out


def annual_factor(annual_vkm: pd.DataFrame) -> float:
    """Days-equivalent of a year: annual bus vehicle-km ÷ weekday bus vehicle-km.

    ``annual_vkm`` is :func:`citybridge.emissions.annual_vehicle_km`; the
    year's emissions are the weekday's × this factor (the weekend's
    emission per km is taken to equal the weekday's).
    """
    bus = annual_vkm[annual_vkm["mode"] == "bus"]
    wk = bus["weekday_km"].sum()
    return float(bus["vehicle_km_year"].sum() / wk) if wk > 0 else np.nan


def share_variants(classes) -> list[tuple[str, list]]:
    """The fleet mixes at the ends of each assumed share range.

    For every class with a ``share_range``, two mixes: the class at its low
    and at its high end, the difference taken from (or given to) the other
    classes with a range in proportion to their shares, each kept within its
    own range. Returns ``[(description, classes), …]``; empty when no share
    is a range.
    """
    ranged = [i for i, c in enumerate(classes) if c.share_range is not None]
    out = []
    for i in ranged:
        for end in (0, 1):
            target = classes[i].share_range[end]
            delta = target - classes[i].share
            others = [j for j in ranged if j != i]
            pool = sum(classes[j].share for j in others)
            new = {i: target}
            for j in others:
                lo, hi = classes[j].share_range
                s = classes[j].share - (delta * classes[j].share / pool if pool else delta / max(len(others), 1))
                new[j] = min(max(s, lo), hi)
            if not others or abs(sum(new.values()) - sum(classes[j].share for j in [i, *others])) > 1e-6:
                continue
            mix = [c.model_copy(update={"share": new.get(j, c.share)}) for j, c in enumerate(classes)]
            out.append((f"{classes[i].label} at {target:g} %", mix))
    return out


def totals(seg_em: pd.DataFrame, *, annual: float | None = None,
           variants: list[tuple[str, pd.DataFrame]] | None = None) -> pd.DataFrame:
    """Daily and yearly totals by pollutant, and grams per vehicle-km.

    Parameters
    ----------
    seg_em
        Output of :func:`segment_emissions`.
    annual
        :func:`annual_factor` (days-equivalent of a year); None: no yearly
        column.
    variants
        ``[(description, segment_emissions of another mix), …]`` (e.g. from
        :func:`share_variants`) to give the range the assumptions span.

    Returns
    -------
    DataFrame
        ``pollutant``, ``t_per_day`` (tonnes/day), ``t_per_year``
        (tonnes/year), ``g_per_vehicle_km`` (g/km of all bus-km),
        ``low_t_per_day``, ``high_t_per_day`` (lowest and highest daily
        total over ``variants`` and the base; equal to the total when none).
    """
    km = seg_em["vehicle_km"].sum()
    rows = []
    for col in ("nox_g", "pm25_g", "pm_exhaust_g", "pm25_nonexhaust_g", "pm10_g", "co_g"):
        t = seg_em[col].sum() / 1e6
        alt = [t] + [v[col].sum() / 1e6 for _, v in (variants or [])]
        rows.append({"pollutant": AF.POLLUTANT_NAMES[col[:-2]], "t_per_day": t,
                     "t_per_year": t * annual if annual is not None else np.nan,
                     "g_per_vehicle_km": seg_em[col].sum() / km if km else np.nan,
                     "low_t_per_day": min(alt), "high_t_per_day": max(alt)})
    return pd.DataFrame(rows)


def clamp_summary(seg_em: pd.DataFrame) -> dict[str, float]:
    """How much of the combustion bus-km was evaluated at a clamped speed.

    Returns ``{"combustion_km", "low_km", "high_km", "low_pct", "high_pct",
    "fast_pct"}``: km below / above a function's valid range and their share
    (%) of combustion km, and the share (%) of all bus-km on segments at or
    above the 40 km/h limit of the urban non-exhaust factors.
    """
    comb = float(seg_em["combustion_km"].sum())
    lo = float(seg_em["clamped_low_km"].sum())
    hi = float(seg_em["clamped_high_km"].sum())
    km = float(seg_em["vehicle_km"].sum())
    fast = float(seg_em.loc[seg_em["speed_kmh"] >= AF.urban_speed_limit(), "vehicle_km"].sum())
    return {"combustion_km": comb, "low_km": lo, "high_km": hi,
            "low_pct": 100 * lo / comb if comb else 0.0, "high_pct": 100 * hi / comb if comb else 0.0,
            "fast_pct": 100 * fast / km if km else 0.0}


def findings(totals_: pd.DataFrame, seg_em: pd.DataFrame, *, city: str) -> list[Text]:
    """The chapter's findings on bus NOx and PM2.5, as texts written when shown (in the reader's language).

    Parameters
    ----------
    totals_
        :func:`totals` (with ``variants`` for the range over the assumed fleet split).
    seg_em
        :func:`segment_emissions`.
    city
        The city's name.

    Returns
    -------
    list of Text
        Daily NOx and PM2.5 (t) and per bus-km (g); the non-exhaust share of
        PM2.5 (%); the bus-km evaluated at a clamped speed and above the
        non-exhaust factors' 40 km/h (%); the straight-line caveat; and the
        bus-km marked with an energy no fleet class has (%), when any.
    """
    t = totals_.set_index("pollutant")
    cl = clamp_summary(seg_em)
    nox, pm = t.loc[AF.POLLUTANT_NAMES["nox"]], t.loc[AF.POLLUTANT_NAMES["pm25"]]
    values = dict(city=city, nox=nox["t_per_day"], pm=pm["t_per_day"], nox_km=nox["g_per_vehicle_km"],
                  pm_km=pm["g_per_vehicle_km"], low=nox["low_t_per_day"], high=nox["high_t_per_day"])
    head = (Text("{city}'s buses emit about {nox:,.3g} t of NOx (from {low:,.3g} to {high:,.3g} t over the assumed "
                 "fleet split) and {pm:,.3g} t of PM2.5 on the service day: {nox_km:,.3g} g NOx and {pm_km:,.3g} g "
                 "PM2.5 per bus-km.", **values)
            if nox["high_t_per_day"] > nox["low_t_per_day"] else
            Text("{city}'s buses emit about {nox:,.3g} t of NOx and {pm:,.3g} t of PM2.5 on the service day: "
                 "{nox_km:,.3g} g NOx and {pm_km:,.3g} g PM2.5 per bus-km.", **values))
    out = [head,
           Text("Non-exhaust wear makes {share:,.0f} % of the buses' PM2.5: electrification removes the exhaust part "
                "only.", share=100 * t.loc[AF.POLLUTANT_NAMES["pm25_nonexhaust"], "t_per_day"] / pm["t_per_day"]),
           Text("Speeds outside a function's valid range (evaluated at the limit): {low:.1f} % of the combustion "
                "bus-km below it, {high:.1f} % above it.", low=cl["low_pct"], high=cl["high_pct"]),
           Text("{fast:.1f} % of bus-km runs on segments at 40 km/h or faster, where the urban tyre and brake factors "
                "used here overstate wear.", fast=cl["fast_pct"]),
           Text("Distances are straight lines between stops, so vehicle-km and emissions are slightly understated.")]
    if seg_em["mix_fallback"].any():
        share = 100 * seg_em.loc[seg_em["mix_fallback"], "vehicle_km"].sum() / seg_em["vehicle_km"].sum()
        out.append(Text("{share:.1f} % of bus-km is marked with an energy that no fleet class has; the whole fleet mix "
                        "was used there.", share=share))
    return out


def hourly(seg_em: pd.DataFrame) -> pd.DataFrame:
    """Emissions by hour of departure (``hour``, ``vehicle_km``, ``nox_kg``, ``pm25_kg``, ``pm_exhaust_kg``; kg)."""
    h = seg_em.groupby("hour", sort=True).agg(vehicle_km=("vehicle_km", "sum"), nox_g=("nox_g", "sum"),
                                              pm25_g=("pm25_g", "sum"), pm_exhaust_g=("pm_exhaust_g", "sum"))
    h = h.reset_index()
    for c in ("nox", "pm25", "pm_exhaust"):
        h[f"{c}_kg"] = h.pop(f"{c}_g") / 1000
    return h
