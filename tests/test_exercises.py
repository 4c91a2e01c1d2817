"""Exercise self-checks: each accepts its solution and refuses at least one
known wrong method with a specific hint; odd answers get a friendly message.

Hand-made tables carry hand-computed answers; exercises on a whole service
day use the Hangzhou sample (its figures are not asserted, only that the
right and the wrong methods are told apart)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from citybridge import exercises as X
from conftest import ROOT



def _ok(ex_id, answer, **ctx):
    return X.diagnose(ex_id, answer, **ctx)


def _wrong_values(ex_id, ctx):
    """The results of the exercise's wrong methods that differ from the solution's."""
    right = X._expected(X.EXERCISES[ex_id], ctx)
    out = []
    for w in X.EXERCISES[ex_id].wrong:
        try:
            v = X._run(w.code, ctx)
        except Exception:  # noqa: BLE001
            continue
        if not X._same(v, right, 0.0):
            out.append((v, w.hint))
    return right, out


def _assert_teaches(ex_id, ctx, min_wrong=1):
    right, wrongs = _wrong_values(ex_id, ctx)
    assert X.diagnose(ex_id, right, **ctx) == (True, "correct")
    assert len(wrongs) >= min_wrong, f"{ex_id}: no wrong method differs from the solution on this data"
    for v, hint in wrongs:
        ok, msg = X.diagnose(ex_id, v, **ctx)
        assert not ok and msg == hint, (ex_id, v, msg)
    return right, wrongs


# ---- hand-made tables -------------------------------------------------------

COV = pd.DataFrame({"name": ["A", "B", "C", "D"], "area_class": ["rural", "rural", "urban", "urban"],
                    "population": [1000.0, 9000.0, 50000.0, 20000.0],
                    "pop_covered": [900.0, 900.0, 45000.0, 19000.0]})
COV["share_covered"] = COV["pop_covered"] / COV["population"]


def test_03_1_ratio_of_sums_not_mean_of_ratios():
    # rural: (900 + 900) / (1000 + 9000) = 0.18; the mean of shares would be (0.9 + 0.1) / 2 = 0.5
    assert X._expected(X.EXERCISES["03.1"], {"cov": COV}) == pytest.approx(0.18)
    assert _ok("03.1", 0.18, cov=COV) == (True, "correct")
    ok, msg = _ok("03.1", 0.5, cov=COV)
    assert not ok and "mean of the districts' shares" in msg
    ok, msg = _ok("03.1", 18.0, cov=COV)
    assert not ok and "fraction" in msg
    _assert_teaches("03.1", {"cov": COV}, min_wrong=2)


def test_03_2_name_with_wrong_rankings():
    # shares: A 0.9, B 0.1, C 0.9, D 0.95 -> B; smallest covered population is A
    assert _ok("03.2", "B", cov=COV) == (True, "correct")
    assert _ok("03.2", " b ", cov=COV)[0]
    ok, msg = _ok("03.2", "A", cov=COV)
    assert not ok and "covered share" in msg
    ok, msg = _ok("03.2", "D", cov=COV)
    assert not ok and "best covered" in msg
    ok, msg = _ok("03.2", 3, cov=COV)
    assert not ok and "as text" in msg


SEG = pd.DataFrame({"mode": ["bus", "bus", "metro"], "distance_m": [1000.0, 3000.0, 5000.0],
                    "run_s": [100.0, 600.0, 200.0]})


def test_04_1_harmonic_mean_speed():
    # bus: 4000 m / 700 s * 3.6 = 20.571 km/h; mean of speeds (36 + 18) / 2 = 27 km/h
    assert X._expected(X.EXERCISES["04.1"], {"seg": SEG}) == pytest.approx(4000 / 700 * 3.6)
    ok, msg = _ok("04.1", 27.0, seg=SEG)
    assert not ok and "mean of segment speeds" in msg
    ok, msg = _ok("04.1", 4000 / 700, seg=SEG)
    assert not ok and "m/s" in msg
    _assert_teaches("04.1", {"seg": SEG}, min_wrong=2)


E_DAY = pd.DataFrame({"mode": ["bus", "bus", "metro"], "vehicle_energy": ["diesel", "electric", "electric"],
                      "vehicle_km": [1000.0, 2000.0, 500.0], "energy": [423.7, 2400.0, 900.0]})


class _P:
    def __init__(self, value):
        self.value = value


class _Params:
    diesel_kgco2_per_litre = _P(2.68)


def test_05_1_computed_not_copied():
    e = E_DAY.assign(tco2=[423.7 * 2.68 / 1000, np.nan, np.nan])
    ctx = {"e_day": e, "params": _Params()}
    right = 423.7 * 2.68 / 1000   # 1.135516 t
    assert X._expected(X.EXERCISES["05.1"], ctx) == pytest.approx(right)
    assert _ok("05.1", right, **ctx) == (True, "correct")
    ok, msg = _ok("05.1", 1.1, **ctx)       # the table's rounded figure
    assert not ok and "rounded figure" in msg
    ok, msg = _ok("05.1", 1.14, **ctx)
    assert not ok and "rounded figure" in msg
    ok, msg = _ok("05.1", right * 1000, **ctx)  # kilograms
    assert not ok and "kg for t" in msg
    ok, msg = _ok("05.1", 0.4237, **ctx)
    assert not ok and "emission factor" in msg
    _assert_teaches("05.1", ctx, min_wrong=3)


BIKES = pd.DataFrame({"dist_to_stop_m": [100.0, 299.0, 300.0, 450.0, 500.0, 501.0, 2000.0]})
STOPS_OUT = pd.DataFrame({"main_mode": ["metro", "metro", "metro", "metro", "bus"],
                          "has_bike": [True, False, True, False, True]})


def test_06_exercises():
    assert X._expected(X.EXERCISES["06.1"], {"bike_stations": BIKES}) == 5
    ok, msg = _ok("06.1", 3, bike_stations=BIKES)
    assert not ok and "300 m" in msg
    _assert_teaches("06.1", {"bike_stations": BIKES}, min_wrong=2)
    assert X._expected(X.EXERCISES["06.2"], {"stops_out": STOPS_OUT}) == 2
    _assert_teaches("06.2", {"stops_out": STOPS_OUT}, min_wrong=2)


def test_07_1_unit_of_the_board():
    kpis = pd.DataFrame({"kpi": ["frequent network share", "routes"], "value": [42.5, 39.0],
                         "unit": ["% of routes", "routes"]})
    assert _ok("07.1", 42.5, kpis=kpis) == (True, "correct")
    ok, msg = _ok("07.1", 0.425, kpis=kpis)
    assert not ok and "in %" in msg
    _assert_teaches("07.1", {"kpis": kpis})


def test_series_and_text_answers_get_a_friendly_message():
    ok, msg = _ok("03.1", COV["share_covered"], cov=COV)
    assert not ok and "pandas Series of 4 values" in msg
    ok, msg = _ok("03.1", "0.18", cov=COV)
    assert not ok and "without quotes" in msg
    ok, msg = _ok("06.1", BIKES["dist_to_stop_m"] <= 500, bike_stations=BIKES)
    assert not ok and "Series" in msg
    out = X.check("03.1", COV[["name"]], cov=COV)
    assert "DataFrame" in out.body and "not yet" in out.body
    assert "write your answer" in X.check("03.1", None, cov=COV).body


def test_every_exercise_has_a_hint_and_a_wrong_method():
    for ex in X.EXERCISES.values():
        assert len(ex.hint) > 20, ex.id
        assert ex.wrong, ex.id
        sol = X.solution(ex.id).body
        assert "Hint for exercise" in sol and "Solution to exercise" in sol


def test_nan_expected_only_matches_nan():
    assert X._same(float("nan"), float("nan"), 0.01)
    assert not X._same(1.0, float("nan"), 0.01)
    assert not math.isnan(X._expected(X.EXERCISES["06.1"], {"bike_stations": BIKES}))


# ---- a whole service day ----------------------------------------------------

@pytest.fixture(scope="module")
def hangzhou():
    from citybridge.city import load_city
    from citybridge.feed import feed_day

    place = load_city("hangzhou", root=ROOT / "data" / "cities")
    return place, feed_day(place, None)


def test_01_and_02_on_a_service_day(hangzhou):
    place, day = hangzhou
    _assert_teaches("01.1", {"day": day}, min_wrong=2)
    _assert_teaches("01.2", {"day": day})
    ctx = {"day": day, "periods": place.periods, "period": "am_peak"}
    _assert_teaches("02.1", ctx)
    right, wrongs = _assert_teaches("02.2", {"day": day})
    # the mean of per-trip speeds is refused, however close it lies
    per_trip = [v for v, h in wrongs if "mean of per-trip speeds" in h]
    assert per_trip
    assert not X.diagnose("02.2", per_trip[0], day=day)[0]
    assert X.diagnose("02.2", round(right, 2), day=day)[0]  # a rounded right answer passes


def test_04_2_needs_the_15_kmh_threshold(hangzhou):
    from citybridge import service, speed

    place, day = hangzhou
    seg = speed.segment_speeds(day)
    stats = speed.segment_stats(seg, periods=place.periods)
    per = stats[stats["period"] == "am_peak"]
    hours = float(service.period_table(place.periods).set_index("period").loc["am_peak", "minutes"]) / 60
    ctx = {"per": per, "min_trips": int(round(8 * hours)), "stops": day.stops}
    right, wrongs = _assert_teaches("04.2", ctx)
    # any threshold's count is no longer accepted: the check recomputes at 15 km/h
    n18 = len(speed.slow_corridors(per, max_speed_kmh=18, min_trips=ctx["min_trips"], stops=day.stops))
    assert X.diagnose("04.2", n18, **ctx)[0] == (n18 == right)


def test_05_2_scenario(hangzhou):
    from citybridge import emissions as E

    place, day = hangzhou
    params = place.profile.parameters
    annual = E.annual_vehicle_km(day)
    _assert_teaches("05.2", {"annual": annual, "params": params}, min_wrong=2)
