"""Exercises with self-checks; solutions live here, not in the notebooks.

A participant writes ``answer = ...`` in a notebook and runs
``exercises.check("02.1", answer, day=day)``. The check runs the exercise's
solution code on the same data and compares. It also runs the plausible
*wrong* methods of the exercise (:class:`Wrong`) on the same data: an answer
nearer to a wrong method's result than to the solution's is refused with a
hint that names the mistake (the mean of per-trip speeds instead of total km
÷ total hours, kilograms instead of tonnes, a figure copied from a table),
even when it lies within the tolerance. Unit slips (×1000, ×100, ×60, ×3.6)
are recognised for every exercise.

The solution itself is shown only by ``exercises.solution("02.1")``: in the
book as a collapsed toggle after the exercise's hint, and never stored in the
participant's notebook (outputs are stripped). The check cell itself is not
shown in the book (see :func:`citybridge.book.reader_notebook`).
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import i18n
from .i18n import N_
from .notebook import HTML
from .texts import Text, multilingual, tr


@dataclass(frozen=True)
class Wrong:
    """A plausible wrong method: code run on the exercise's data, and the hint
    shown when an answer matches it."""

    code: str
    hint: str


@dataclass(frozen=True)
class Exercise:
    id: str
    chapter: str
    practises: str
    solution: str
    hint: str
    wrong: tuple[Wrong, ...] = ()
    #: relative tolerance for numbers (counts and names must match exactly)
    tolerance: float = 0.005


_BUS_SPEEDS = ("from citybridge.service import trip_table\n"
               "t = trip_table(day)\n"
               "bus = t[t['mode'] == 'bus']\n")
_PERIOD = ("from citybridge.service import route_stats\n"
           "rs = route_stats(day, periods=periods)\n"
           "per = rs[rs['period'] == period]\n")
_RURAL = "r = cov[cov['area_class'] == 'rural']\n"
_DIESEL = "d = e_day[(e_day['mode'] == 'bus') & (e_day['vehicle_energy'] == 'diesel')]\n"
_SLOW = "from citybridge.speed import slow_corridors\n"

_EXERCISES = [
    Exercise("01.1", "01_network", "filtering a table by mode and counting",
             "answer = int(day.trips.loc[day.trips['mode'] == 'bus', 'route_id'].nunique())",
             N_("Keep the bus trips, then count the *distinct* route ids among them (`nunique`)."),
             (Wrong("answer = int((day.trips['mode'] == 'bus').sum())",
                    N_("That counts bus trips, not bus routes: count distinct route_id values.")),
              Wrong("answer = int(day.trips['route_id'].nunique())",
                    N_("That counts the routes of every mode: keep the bus trips first.")))),
    Exercise("01.2", "01_network", "grouping stop times to find the busiest stop",
             "answer = day.stop_times.groupby('stop_id').size().idxmax()",
             N_("Group the stop times by stop_id, count the rows of each group and take the id of the largest."),
             (Wrong("answer = day.stop_times.groupby('stop_id').size().idxmin()",
                    N_("That is the least served stop: take the largest count (idxmax).")),)),
    Exercise("02.1", "02_service", "reading a headway from the departures in a period",
             _PERIOD + "answer = int((per['mean_headway_min'] <= 15).sum())",
             N_("`service.route_stats(day, periods=periods)` gives `mean_headway_min` per route and period "
             "(period length ÷ departures in the busier direction, as in Methods); keep the rows of `period` "
             "and count those of 15 minutes or less."),
             (Wrong(_PERIOD + "answer = int((per['mean_headway_min'] < 15).sum())",
                    N_("'15 minutes or better' includes 15 itself: use <= 15.")),
              Wrong(_PERIOD + "answer = int((rs['mean_headway_min'] <= 15).sum())",
                    N_("That counts route-period rows of every period: keep the rows of the chosen period first.")),
              Wrong("from citybridge.service import period_table, route_window_stats\n"
                    "pt = period_table(periods).set_index('period')\n"
                    "rw = route_window_stats(day, start=pt.loc[period, 'start'], end=pt.loc[period, 'end'])\n"
                    "answer = int((rw['mean_headway'] <= 15).sum())",
                    N_("That is gtfs-kit's headway (the mean gap between starts, both directions pooled); this "
                    "book's mean headway is the period length ÷ the departures in the busier direction.")))),
    Exercise("02.2", "02_service", "service-hours and vehicle productivity: a ratio of sums",
             _BUS_SPEEDS + "answer = float(bus['distance_km'].sum() / bus['duration_h'].sum())",
             N_("Add up the bus trips' distance_km and their duration_h, then divide the two sums."),
             (Wrong(_BUS_SPEEDS + "answer = float((bus['distance_km'] / bus['duration_h']).mean())",
                    N_("That is the mean of per-trip speeds, which gives every trip the same weight: the "
                    "network's speed is the ratio of sums, total km ÷ total hours.")),
              Wrong("from citybridge.service import trip_table\nt = trip_table(day)\n"
                    "answer = float(t['distance_km'].sum() / t['duration_h'].sum())",
                    N_("That includes every mode (metro too): keep the bus trips.")))),
    Exercise("03.1", "03_access", "reading a coverage table: a share of sums",
             _RURAL + "answer = float(r['pop_covered'].sum() / r['population'].sum())",
             N_("Keep the rural rows of `cov`, add up the covered population and the population, and divide "
             "(a share between 0 and 1)."),
             (Wrong(_RURAL + "answer = float(r['share_covered'].mean())",
                    N_("That is the mean of the districts' shares, which weighs a small district like a large "
                    "one: divide the summed covered population by the summed population.")),
              Wrong("answer = float(cov['pop_covered'].sum() / cov['population'].sum())",
                    N_("That is the whole city: keep the rural rows (area_class == 'rural').")))),
    Exercise("03.2", "03_access", "ranking places by need",
             "answer = cov.sort_values('share_covered').iloc[0]['name']",
             N_("Sort `cov` by the covered share, smallest first, and read the name of the first row."),
             (Wrong("answer = cov.sort_values('share_covered').iloc[-1]['name']",
                    N_("That is the best covered place: sort smallest first.")),
              Wrong("answer = cov.sort_values('pop_covered').iloc[0]['name']",
                    N_("That ranks by covered people, which favours small places: rank by the covered share.")))),
    Exercise("04.1", "04_speed", "time-weighted (harmonic) mean speed: total distance ÷ total time",
             "bus = seg[seg['mode'] == 'bus']\n"
             "answer = float(bus['distance_m'].sum() / bus['run_s'].sum() * 3.6)",
             N_("Keep the bus segments, divide the summed distance_m by the summed run_s (m/s) and multiply by "
             "3.6 for km/h."),
             (Wrong("bus = seg[seg['mode'] == 'bus']\n"
                    "answer = float((bus['distance_m'] / bus['run_s']).mean() * 3.6)",
                    N_("That is the mean of segment speeds: a short fast link counts as much as a long slow "
                    "one. Divide total distance by total time.")),
              Wrong("answer = float(seg['distance_m'].sum() / seg['run_s'].sum() * 3.6)",
                    N_("That includes every mode: keep the bus segments.")))),
    Exercise("04.2", "04_speed", "filtering segments by speed and service",
             _SLOW + "answer = int(len(slow_corridors(per, max_speed_kmh=15, min_trips=min_trips, stops=stops)))",
             N_("Slow means below 15 km/h *and* heavy service: `speed.slow_corridors(per, max_speed_kmh=15, "
             "min_trips=...)` applies both; count its rows."),
             (Wrong(_SLOW + "answer = int(len(slow_corridors(per, max_speed_kmh=18, min_trips=min_trips, "
                    "stops=stops)))",
                    N_("That is the count at the default 18 km/h: lower max_speed_kmh to 15 and rerun.")),
              Wrong(_SLOW + "answer = int(len(slow_corridors(per, max_speed_kmh=15, min_trips=0, stops=stops)))",
                    N_("That counts slow segments with any service: keep the heavy-service filter (min_trips).")))),
    Exercise("05.1", "05_low_carbon", "emission factors: litres × kgCO2/L, kilograms to tonnes",
             _DIESEL + "answer = float(d['energy'].sum() * params.diesel_kgco2_per_litre.value / 1000)",
             N_("Add up the litres (`energy`) of the diesel bus rows of `e_day`, multiply by "
             "`params.diesel_kgco2_per_litre.value` (kg CO2 per litre) and divide by 1,000 for tonnes."),
             (Wrong(_DIESEL + "answer = float(round(d['tco2'].sum(), 1))",
                    N_("That is the rounded figure from the table above: compute it from the litres and the "
                    "factor, without rounding.")),
              Wrong(_DIESEL + "answer = float(round(d['tco2'].sum(), 2))",
                    N_("That is the rounded figure from the table above: compute it from the litres and the "
                    "factor, without rounding.")),
              Wrong(_DIESEL + "answer = float(d['energy'].sum() / 1000)",
                    N_("That is thousands of litres: multiply by the emission factor (kg CO2 per litre).")),
              Wrong("b = e_day[e_day['mode'] == 'bus']\n"
                    "answer = float(b['energy'].sum() * params.diesel_kgco2_per_litre.value / 1000)",
                    N_("That adds the kWh of electric buses to the litres of diesel: keep the diesel rows."))),
             tolerance=1e-6),
    Exercise("05.2", "05_low_carbon", "scenarios: re-running a model with a new input",
             "from citybridge.emissions import apply_electric_share, emissions\n"
             "answer = float(emissions(apply_electric_share(annual, 1.0, km_col='vehicle_km_year'), params,"
             " km_col='vehicle_km_year')['tco2'].sum())",
             N_("Set the bus electric share to 1 with `E.apply_electric_share(annual, 1.0, km_col=\"vehicle_km_year\")`, "
             "pass the result to `E.emissions(..., km_col=\"vehicle_km_year\")` and add up `tco2`."),
             (Wrong("from citybridge.emissions import emissions\n"
                    "answer = float(emissions(annual, params, km_col='vehicle_km_year')['tco2'].sum())",
                    N_("That is today's annual CO2: apply the 100 % electric share first.")),
              Wrong("answer = 0.0",
                    N_("Electric buses emit no exhaust, but the grid that charges them does: the model counts "
                    "the grid's CO2 per kWh.")),
              Wrong("from citybridge.emissions import apply_electric_share, emissions\n"
                    "answer = float(emissions(apply_electric_share(annual, 1.0, km_col='vehicle_km_year'), params,"
                    " km_col='weekday_km')['tco2'].sum())",
                    N_("That is one weekday, not a year: use km_col=\"vehicle_km_year\".")))),
    Exercise("05.3", "05_low_carbon", "weighted means: total grams ÷ total vehicle-km, not the mean of ratios",
             "answer = float(em['nox_g'].sum() / em['vehicle_km'].sum())",
             N_("Add up the grams of NOx (`em['nox_g'].sum()`) and divide by the vehicle-km they were emitted over "
             "(`em['vehicle_km'].sum()`)."),
             (Wrong("answer = float((em['nox_g'] / em['vehicle_km']).mean())",
                    N_("That is the mean of per-row ratios: short, slow segments weigh as much as long ones. "
                    "Divide the total grams by the total vehicle-km.")),
              Wrong("answer = float(em['nox_g'].sum() / em['vehicle_km'].sum() / 1000)",
                    N_("That is kilograms per km: the question asks for grams per vehicle-km.")))),
    Exercise("06.1", "06_multimodal", "distance thresholds",
             "answer = int((bike_stations['dist_to_stop_m'] <= 500).sum()) if bike_stations is not None else 0",
             N_("Compare `bike_stations['dist_to_stop_m']` with 500 and count the stations that pass (`.sum()` "
             "of the comparison)."),
             (Wrong("answer = int((bike_stations['dist_to_stop_m'] <= 300).sum()) if bike_stations is not None else 0",
                    N_("That is the chapter's 300 m radius: the question asks for 500 m.")),
              Wrong("answer = int(len(bike_stations)) if bike_stations is not None else 0",
                    N_("That counts every bike station: keep those within 500 m.")))),
    Exercise("06.2", "06_multimodal", "joining stops and stations",
             "answer = int(stops_out.loc[stops_out['main_mode'] == 'metro', 'has_bike'].sum()) "
             "if stops_out is not None else 0",
             N_("Keep the rows of `stops_out` whose main_mode is metro and count those where has_bike is true."),
             (Wrong("answer = int(stops_out['has_bike'].sum()) if stops_out is not None else 0",
                    N_("That counts stops of every mode: keep the metro stops.")),
              Wrong("answer = int((stops_out['main_mode'] == 'metro').sum()) if stops_out is not None else 0",
                    N_("That counts every metro stop: keep those with a bike station (has_bike).")))),
    Exercise("07.1", "07_operations", "reading a KPI table",
             "answer = float(kpis.set_index('kpi').loc['frequent network share', 'value'])",
             N_("`kpis.set_index('kpi').loc['frequent network share', 'value']` reads one cell; the unit is in "
             "the unit column."),
             (Wrong("answer = float(kpis.set_index('kpi').loc['frequent network share', 'value']) / 100",
                    N_("The board gives this KPI in % (see its unit): give the number as it stands in the table.")),)),
    Exercise("08.1", "08_observed", "observed speed as total distance ÷ total time, not the mean of speeds",
             "answer = float(moves['progress_m'].sum() / moves['interval_s'].sum() * 3.6) "
             "if len(moves) else float('nan')",
             N_("Add up the distance the buses progressed along their routes (`moves['progress_m'].sum()`), divide "
             "by the time it took (`moves['interval_s'].sum()`) and turn m/s into km/h (× 3.6)."),
             (Wrong("answer = float((moves['progress_m'] / moves['interval_s'] * 3.6).mean()) "
                    "if len(moves) else float('nan')",
                    N_("That is the mean of per-bus speeds: a bus seen over a short interval weighs as much as one "
                    "seen over a long one. Divide total distance by total time.")),
              Wrong("answer = float(moves['progress_m'].sum() / moves['interval_s'].sum()) "
                    "if len(moves) else float('nan')",
                    N_("That is metres per second: multiply by 3.6 for km/h.")))),
    Exercise("08.2", "08_observed", "counting events in one snapshot of several",
             "answer = int((bunch['snapshot_ts'] == bunch['snapshot_ts'].max()).sum()) if len(bunch) else 0",
             N_("Keep the rows of `bunch` whose `snapshot_ts` is the latest one (`bunch['snapshot_ts'].max()`) and "
             "count them."),
             (Wrong("answer = int(len(bunch))",
                    N_("That counts bunched pairs in every snapshot: keep only the latest snapshot.")),)),
    Exercise("09.1", "09_resilience", "reading a criticality ranking (metro sections only)",
             "sec = crit[crit['kind'] == 'metro section']\n"
             "answer = float(sec['pop_lose_frequent'].max())",
             N_("Keep the rows of `crit` whose kind is 'metro section' and take the largest `pop_lose_frequent`."),
             (Wrong("answer = float(crit['pop_lose_frequent'].max())",
                    N_("That includes the bus corridors: keep the metro sections only.")),)),
    Exercise("09.2", "09_resilience", "a share of the whole population, not of the people served",
             "c = imp.summary.set_index('scope').loc['city']\n"
             "answer = float(c['lose_frequent'] / c['population'])",
             N_("Take the city row of `imp.summary` and divide the people who lose frequent access by the whole "
             "population of the city."),
             (Wrong("c = imp.summary.set_index('scope').loc['city']\n"
                    "answer = float(c['lose_frequent'] / c['frequent_before'])",
                    N_("That is a share of the people who had frequent transit before: divide by the whole "
                    "population instead.")),)),
]
EXERCISES = {e.id: e for e in _EXERCISES}

#: Unit slips recognised for every numeric exercise: factor, hint.
UNIT_SLIPS = [
    (1000.0, N_("Your answer is 1,000 times the expected one: check the units (kg for t, m for km, L for kL).")),
    (0.001, N_("Your answer is 1,000 times too small: check the units (t for kg, km for m).")),
    (100.0, N_("Your answer is 100 times the expected one: give a share as a fraction (0.42), not a percentage.")),
    (0.01, N_("Your answer is 100 times too small: this figure is a percentage (42), not a fraction.")),
    (60.0, N_("Your answer is 60 times the expected one: check minutes against hours.")),
    (1 / 60, N_("Your answer is 60 times too small: check minutes against hours.")),
    (1 / 3.6, N_("Your answer is in m/s: multiply by 3.6 for km/h.")),
]


def for_chapter(chapter: str) -> list[Exercise]:
    """The exercises of a chapter (e.g. ``"02_service"``), in order."""
    return [e for e in _EXERCISES if e.chapter == chapter]


def _run(code: str, context: dict):
    ns = dict(context)
    exec(code, ns)  # noqa: S102 - our own solution code, not user input
    return ns["answer"]


def _expected(ex: Exercise, context: dict):
    return _run(ex.solution, context)


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _close(a: float, b: float, tol: float) -> bool:
    if math.isnan(b):
        return math.isnan(a)
    return math.isclose(a, b, rel_tol=tol, abs_tol=1e-9)


def _same(a, b, tol: float) -> bool:
    """Whether answer ``a`` equals expected ``b`` (numbers within ``tol``)."""
    if _is_number(b):
        if not _is_number(a):
            return False
        if isinstance(b, (int, np.integer)):
            return float(a) == float(b)
        return _close(float(a), float(b), tol)
    if isinstance(b, (pd.DataFrame, pd.Series)):
        try:
            return bool(b.equals(a))
        except Exception:  # noqa: BLE001
            return False
    if isinstance(b, str):
        return isinstance(a, str) and a.strip().casefold() == b.strip().casefold()
    return a == b


def _shape_message(answer, expected) -> Text | None:
    """A friendly message when the answer is not the kind of value asked for."""
    want = Text("one number") if _is_number(expected) else (Text("a name (text)") if isinstance(expected, str)
                                                          else Text("one value"))
    if isinstance(answer, (pd.Series, pd.DataFrame)):
        return (Text("Your answer is a pandas Series of {n:,} values; the question asks for {want}. Reduce it to "
                   "one value, e.g. with .sum(), .mean(), len(...) or .iloc[0].", n=answer.size, want=want)
                if isinstance(answer, pd.Series) else
                Text("Your answer is a pandas table (DataFrame) of {n:,} values; the question asks for {want}. Reduce "
                   "it to one value, e.g. with .sum(), .mean(), len(...) or .iloc[0].", n=answer.size, want=want))
    if isinstance(answer, (list, tuple, set, dict, np.ndarray)):
        return Text("Your answer holds {n:,} values; the question asks for {want}.", n=len(answer), want=want)
    if _is_number(expected) and isinstance(answer, str):
        return Text("Your answer is text ({text}); the question asks for a number: write it without quotes, or "
                  "compute it.", text=repr(answer[:40]))
    if _is_number(expected) and isinstance(answer, (bool, np.bool_)):
        return Text("Your answer is True or False; the question asks for a number (count the True values with .sum()).")
    if isinstance(expected, str) and not isinstance(answer, str):
        return Text("Your answer is {kind}; the question asks for a name: give it as text in quotes.",
                  kind=type(answer).__name__)
    if _is_number(expected) and not _is_number(answer):
        return Text("Your answer is {kind}; the question asks for a number.", kind=type(answer).__name__)
    return None


def diagnosis(ex_id: str, answer, **context) -> tuple[bool, Text]:
    """Check an answer: ``(correct, message)``, the message naming the mistake (a
    :class:`~citybridge.texts.Text`, written in the language it is shown in).

    The answer is correct when it equals the solution's result (numbers
    within the exercise's tolerance) and is not nearer to the result of one
    of the exercise's known wrong methods. A wrong method that fails on the
    data (or gives the same value as the solution) is ignored.
    """
    ex = EXERCISES.get(ex_id)
    if ex is None:
        raise KeyError(f"no exercise {ex_id!r}; known: {', '.join(EXERCISES)}")
    expected = _expected(ex, context)
    shape = _shape_message(answer, expected)
    if shape:
        return False, shape
    wrongs = []
    for w in ex.wrong:
        try:
            v = _run(w.code, context)
        except Exception:  # noqa: BLE001 - a wrong method that does not apply to this data
            continue
        if not _same(v, expected, 0.0):
            wrongs.append((v, w.hint))
    if _is_number(expected) and not isinstance(expected, (int, np.integer)):
        a, e = float(answer), float(expected)
        for v, hint in wrongs:
            if _is_number(v) and abs(a - float(v)) < abs(a - e) and _close(a, float(v), max(ex.tolerance, 1e-3)):
                return False, Text(hint)
    for v, hint in wrongs:
        if _same(answer, v, 1e-9):
            return False, Text(hint)
    if _same(answer, expected, ex.tolerance):
        return True, Text("correct")
    if _is_number(expected) and float(expected) != 0:
        for factor, hint in UNIT_SLIPS:
            if _close(float(answer), float(expected) * factor, max(ex.tolerance, 1e-3)):
                return False, Text(hint)
    return False, Text("Hint: {hint}", hint=Text(ex.hint))


def diagnose(ex_id: str, answer, **context) -> tuple[bool, str]:
    """:func:`diagnosis` with its message in the language in force."""
    ok, message = diagnosis(ex_id, answer, **context)
    return ok, str(message)


def check(ex_id: str, answer, **context) -> HTML:
    """Compare a participant's ``answer`` with the solution on the same data.

    The feedback is drawn in every language of the build (the answer is
    checked once; only the words are repeated)."""
    if ex_id not in EXERCISES:
        raise KeyError(f"no exercise {ex_id!r}; known: {', '.join(EXERCISES)}")
    if answer is None or answer is Ellipsis:
        return feedback(ex_id, None, answer)
    ok, message = diagnosis(ex_id, answer, **context)
    return feedback(ex_id, ok, answer, message)


@multilingual
def feedback(ex_id: str, ok: bool | None, answer, message: Text | str = "") -> HTML:
    """The feedback of :func:`check` in the language in force (``ok`` None: no answer yet)."""
    if ok is None:
        return HTML("<p>" + _md(tr("Exercise {id}: write your answer in `answer`, then run this cell.", id=ex_id))
                    + "</p>", tr("exercise {id}: no answer yet", id=ex_id))
    if ok:
        said = tr("Exercise {id}: correct.", id=ex_id)
        return HTML(f"<p>✅ {html.escape(said)}</p>", said)
    message = str(message)
    shown = answer if not isinstance(answer, (pd.Series, pd.DataFrame)) else type(answer).__name__
    said = tr("Exercise {id}: not yet; your answer was {answer}.", id=ex_id, answer=repr(shown)[:80])
    return HTML(f"<p>❌ {html.escape(said)} {_md(message)}</p>", f"{said} {message}")


def _md(text: str) -> str:
    """Escape ``text`` and show its `code` spans as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def hint(ex_id: str) -> str:
    """The exercise's hint (every exercise has one), in the language in force."""
    return i18n.gettext(EXERCISES[ex_id].hint)


@multilingual
def solution(ex_id: str) -> HTML:
    """The hint and the solution as collapsed toggles (open them only after trying), in every language of the build."""
    ex = EXERCISES[ex_id]
    h = hint(ex_id)
    hint_title = html.escape(tr("Hint for exercise {id}", id=ex_id))
    solution_title = html.escape(tr("Solution to exercise {id} (open after trying)", id=ex_id))
    return HTML(f'<details class="cb-hint"><summary>{hint_title}</summary><p>{_md(h)}</p></details>'
                f'<details class="cb-solution"><summary>{solution_title}</summary>'
                f"<pre><code>{html.escape(ex.solution)}</code></pre></details>",
                tr("hint: {hint}", hint=h) + "\n" + tr("solution to exercise {id}: run exercises.solution('{id}') "
                                                       "in JupyterLab", id=ex_id))
