"""Exercises with self-checks; solutions live here, not in the notebooks.

A participant writes ``answer = ...`` in a notebook and runs
``exercises.check("02.1", answer, day=day)``. The check runs the exercise's
solution code on the same data and compares. The solution itself is shown
only by ``exercises.solution("02.1")``: in the book as a collapsed toggle,
and never stored in the participant's notebook (outputs are stripped).
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .notebook import HTML


@dataclass(frozen=True)
class Exercise:
    id: str
    chapter: str
    practises: str
    solution: str
    tolerance: float = 0.01


_EXERCISES = [
    Exercise("01.1", "01_network", "filtering a table by mode and counting",
             "answer = int(day.trips.loc[day.trips['mode'] == 'bus', 'route_id'].nunique())"),
    Exercise("01.2", "01_network", "grouping stop times to find the busiest stop",
             "answer = day.stop_times.groupby('stop_id').size().idxmax()"),
    Exercise("02.1", "02_service", "reading a headway from departures in a window",
             "from citybridge.service import route_window_stats\n"
             "rw = route_window_stats(day, start='07:00', end='09:00')\n"
             "answer = int((rw['mean_headway'] <= 10).sum())"),
    Exercise("02.2", "02_service", "service-hours and vehicle productivity",
             "from citybridge.service import trip_table\n"
             "t = trip_table(day)\n"
             "bus = t[t['mode'] == 'bus']\n"
             "answer = float(bus['distance_km'].sum() / bus['duration_h'].sum())"),
    Exercise("03.1", "03_access", "reading a coverage table",
             "answer = float(cov.loc[cov['area_class'] == 'rural', 'pop_covered'].sum() / "
             "cov.loc[cov['area_class'] == 'rural', 'population'].sum())"),
    Exercise("03.2", "03_access", "ranking places by need",
             "answer = cov.sort_values('share_covered').iloc[0]['name']"),
    Exercise("04.1", "04_speed", "time-weighted (harmonic) mean speed: total distance ÷ total time",
             "bus = seg[seg['mode'] == 'bus']\n"
             "answer = float(bus['distance_m'].sum() / bus['run_s'].sum() * 3.6)"),
    Exercise("04.2", "04_speed", "filtering segments by speed and service",
             "answer = int(len(slow))"),
    Exercise("05.1", "05_low_carbon", "emission factors: litres × kgCO2/L",
             "d = e_day[(e_day['mode'] == 'bus') & (e_day['vehicle_energy'] == 'diesel')]\n"
             "answer = float(d['energy'].sum() * params.diesel_kgco2_per_litre.value / 1000)"),
    Exercise("05.2", "05_low_carbon", "scenarios: re-running a model with a new input",
             "from citybridge.emissions import apply_electric_share, emissions\n"
             "answer = float(emissions(apply_electric_share(annual, 1.0, km_col='vehicle_km_year'), params,"
             " km_col='vehicle_km_year')['tco2'].sum())"),
    Exercise("06.1", "06_multimodal", "distance thresholds",
             "answer = int((bike_stations['dist_to_stop_m'] <= 500).sum()) if bike_stations is not None else 0"),
    Exercise("06.2", "06_multimodal", "joining stops and stations",
             "answer = int(stops_out.loc[stops_out['main_mode'] == 'metro', 'has_bike'].sum()) "
             "if stops_out is not None else 0"),
    Exercise("07.1", "07_operations", "reading a KPI table",
             "answer = float(kpis.set_index('kpi').loc['frequent network share', 'value'])"),
    Exercise("09.1", "09_resilience", "reading a criticality ranking (metro sections only)",
             "sec = crit[crit['kind'] == 'metro section']\n"
             "answer = float(sec['pop_lose_frequent'].max())"),
    Exercise("09.2", "09_resilience", "a share of the whole population, not of the people served",
             "c = imp.summary.set_index('scope').loc['city']\n"
             "answer = float(c['lose_frequent'] / c['population'])"),
]
EXERCISES = {e.id: e for e in _EXERCISES}


def for_chapter(chapter: str) -> list[Exercise]:
    """The exercises of a chapter (e.g. ``"02_service"``), in order."""
    return [e for e in _EXERCISES if e.chapter == chapter]


def _expected(ex: Exercise, context: dict):
    ns = dict(context)
    exec(ex.solution, ns)  # noqa: S102 - our own solution code, not user input
    return ns["answer"]


def _same(a, b, tol: float) -> bool:
    if isinstance(b, (float, np.floating)) or isinstance(a, (float, np.floating)):
        try:
            a, b = float(a), float(b)
        except (TypeError, ValueError):
            return False
        if math.isnan(b):
            return math.isnan(a)
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(b, (pd.DataFrame, pd.Series)):
        try:
            return bool(b.equals(a))
        except Exception:  # noqa: BLE001
            return False
    return a == b


def check(ex_id: str, answer, **context) -> HTML:
    """Compare a participant's ``answer`` with the solution on the same data."""
    ex = EXERCISES.get(ex_id)
    if ex is None:
        raise KeyError(f"no exercise {ex_id!r}; known: {', '.join(EXERCISES)}")
    if answer is None or answer is Ellipsis:
        return HTML(f"<p>Exercise {ex_id}: write your answer in <code>answer</code>, then run this cell.</p>",
                    f"exercise {ex_id}: no answer yet")
    ok = _same(answer, _expected(ex, context), ex.tolerance)
    if ok:
        return HTML(f"<p>✅ Exercise {ex_id}: correct.</p>", f"exercise {ex_id}: correct")
    return HTML(f"<p>❌ Exercise {ex_id}: not yet; your answer was {html.escape(repr(answer))}. "
                "Check the hint and try again.</p>", f"exercise {ex_id}: not yet")


def solution(ex_id: str) -> HTML:
    """The solution as a collapsed toggle (open it only after trying)."""
    ex = EXERCISES[ex_id]
    return HTML(f'<details class="cb-solution"><summary>Solution to exercise {ex_id} (open after trying)</summary>'
                f"<pre><code>{html.escape(ex.solution)}</code></pre></details>",
                f"solution to exercise {ex_id}: run exercises.solution('{ex_id}') in JupyterLab")
