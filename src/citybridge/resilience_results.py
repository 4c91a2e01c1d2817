"""Chapter 09's heavy results, computed once per city and parameters and stored with its artefacts.

The disruption scenarios' impacts (:func:`citybridge.resilience.impact`),
their bus bridges (:func:`citybridge.criticality.bus_bridge`) and the
criticality ranking (:func:`citybridge.criticality.criticality`) take
seconds on a metropolitan feed; they depend only on the city's files, the
analysis date and the chapter's parameters. :func:`results` computes them
the first time and stores them (:func:`citybridge.artifacts.stored`, keyed by
all of these), so a participant's kernel reads them back; a participant who
changes a parameter gets a fresh computation.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from . import criticality as C
from . import resilience as R
from .disruption import Disruption
from .errors import CitybridgeError
from .feed import FeedDay


@dataclass
class Results:
    """What chapter 09 measures (see :func:`results`).

    Attributes
    ----------
    impacts : list of Impact
        One per scenario that could be measured (:func:`citybridge.resilience.impact`).
    problems : list of str
        One message per scenario that could not be measured.
    bridge : DataFrame or None
        :func:`citybridge.criticality.bus_bridge` of every scenario, with a
        ``scenario`` column (its name); None when no scenario was measured.
    ranking : GeoDataFrame or None
        :func:`citybridge.criticality.criticality`; None without census population.
    ranking_s : float
        How long the ranking took to compute (s), when it was computed.
    """

    impacts: list = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    bridge: pd.DataFrame | None = None
    ranking: gpd.GeoDataFrame | None = None
    ranking_s: float = 0.0


def compute(city, day: FeedDay, districts: gpd.GeoDataFrame | None, scenarios: list[Disruption], *,
            layer: gpd.GeoDataFrame | None = None, period: str = "am_peak",
            max_headway_min: float = R.FREQUENT_HEADWAY_MIN, radius_m: float = R.WALK_M,
            walk_m: float = R.WALK_M, n_corridors: int = 10) -> Results:
    """Impacts, bus bridges and the ranking, computed (nothing stored).

    The undisturbed day (:func:`citybridge.resilience.baseline`) is computed
    once and shared by every scenario and the ranking.
    """
    base = R.baseline(day, districts, period=period, periods=city.periods, layer=layer,
                      max_headway_min=max_headway_min, radius_m=radius_m)
    out = Results()
    for s in scenarios:
        try:
            out.impacts.append(R.impact(day, districts, s, base=base, periods=city.periods))
        except CitybridgeError as exc:
            out.problems.append(str(exc))
    cap, _ = C.capacities(city)
    frames = [C.bus_bridge(day, i.closure, capacity=cap, period=period, periods=city.periods, walk_m=walk_m)
              .assign(scenario=i.closure.disruption.name) for i in out.impacts]
    out.bridge = pd.concat(frames, ignore_index=True) if frames else None
    if districts is not None:
        t0 = time.perf_counter()
        out.ranking = C.criticality(day, districts, periods=city.periods, n_corridors=n_corridors, base=base)
        out.ranking_s = time.perf_counter() - t0
    return out


def results(city, day: FeedDay, districts: gpd.GeoDataFrame | None, scenarios: list[Disruption], *,
            layer: gpd.GeoDataFrame | None = None, period: str = "am_peak",
            max_headway_min: float = R.FREQUENT_HEADWAY_MIN, radius_m: float = R.WALK_M,
            walk_m: float = R.WALK_M, n_corridors: int = 10, date: str | None = None) -> Results:
    """:func:`compute`, read from the city's artefacts when stored for the same
    files, package, ``date`` and parameters (the scenarios by their names and
    closures), else computed and stored.

    Returns
    -------
    Results
        As :func:`compute`.
    """
    from .artifacts import stored

    params = {"period": period, "max_headway_min": float(max_headway_min), "radius_m": float(radius_m),
              "walk_m": float(walk_m), "n_corridors": int(n_corridors), "scenarios": [repr(s) for s in scenarios],
              "districts": None if districts is None else len(districts), "layer": layer is not None}
    return stored(city, "resilience", lambda: compute(city, day, districts, scenarios, layer=layer, period=period,
                                                      max_headway_min=max_headway_min, radius_m=radius_m,
                                                      walk_m=walk_m, n_corridors=n_corridors),
                  params=params, date=date or None)
