"""Emissions of a tiny feed with known km and factors (hand-computed)."""
from __future__ import annotations

import pandas as pd
import pytest

from citybridge import emissions as E
from citybridge import feed as F
from citybridge.city import Parameters, SourcedValue
from citybridge.errors import DataError
from gtfs_fixtures import timetable_tables, write_feed


def _p(v, solid=True):
    return SourcedValue(value=v, unit="u", year="2024", source="test", solid=solid)


PARAMS = Parameters(diesel_bus_litres_per_100km=_p(40), diesel_kgco2_per_litre=_p(2.5),
                    ebus_kwh_per_km=_p(1.5), grid_kgco2_per_kwh=_p(0.4, solid=False))


def _day(tmp_path):
    t = timetable_tables()
    # mark T1, T2 diesel and T3, TN electric: each bus trip runs 3 km (3 links of 1 km)
    t["trips.txt"] = ("route_id,service_id,trip_id,direction_id,vehicle_energy\n"
                      "B1,WK,T1,0,diesel\nB1,WK,T2,0,diesel\nB1,WK,T3,0,electric\nB1,WK,TN,0,electric\n"
                      "M1,WK,MT1,0,electric\n")
    return F.prepare_day(F.read_feed(write_feed(tmp_path / "e.zip", t)), "20260107", crs="EPSG:32719")


def test_vehicle_km_by_mode_and_energy(tmp_path):
    v = E.vehicle_km(_day(tmp_path)).set_index(["mode", "vehicle_energy"])
    assert v.loc[("bus", "diesel"), "vehicle_km"] == pytest.approx(6.0, rel=2e-3)
    assert v.loc[("bus", "electric"), "vehicle_km"] == pytest.approx(6.0, rel=2e-3)
    assert v.loc[("bus", "diesel"), "trips"] == 2
    assert v.loc[("bus", "diesel"), "vehicle_hours"] == pytest.approx(2 * 18 / 60)


def test_emissions_hand_computed():
    vkm = pd.DataFrame({"mode": ["bus", "bus", "metro"], "vehicle_energy": ["diesel", "electric", "electric"],
                        "vehicle_km": [100.0, 200.0, 50.0]})
    e = E.emissions(vkm, PARAMS).set_index(["mode", "vehicle_energy"])
    # diesel: 100 km × 40 L/100 km = 40 L × 2.5 kg/L = 100 kg = 0.1 t
    assert e.loc[("bus", "diesel"), "energy"] == pytest.approx(40.0)
    assert e.loc[("bus", "diesel"), "tco2"] == pytest.approx(0.1)
    # electric: 200 km × 1.5 kWh/km = 300 kWh × 0.4 kg/kWh = 120 kg
    assert e.loc[("bus", "electric"), "tco2"] == pytest.approx(0.12)
    assert pd.isna(e.loc[("metro", "electric"), "tco2"])
    assert "not computed" in e.loc[("metro", "electric"), "basis"]
    g = E.emissions(vkm, PARAMS, grid_kgco2_per_kwh=0.8).set_index(["mode", "vehicle_energy"])
    assert g.loc[("bus", "electric"), "tco2"] == pytest.approx(0.24)


def test_unknown_energy_split_by_fleet_share():
    vkm = pd.DataFrame({"mode": ["bus"], "vehicle_energy": ["unknown"], "vehicle_km": [1000.0]})
    e = E.emissions(vkm, PARAMS, fleet_share=0.25).set_index("vehicle_energy")
    assert e.loc["electric", "vehicle_km"] == 250 and e.loc["diesel", "vehicle_km"] == 750


def test_electric_share_scenario_and_curve():
    vkm = pd.DataFrame({"mode": ["bus", "bus"], "vehicle_energy": ["diesel", "electric"],
                        "vehicle_km_year": [600.0, 400.0]})
    s = E.apply_electric_share(vkm, 1.0, km_col="vehicle_km_year").set_index("vehicle_energy")
    assert s.loc["electric", "vehicle_km_year"] == 1000 and s.loc["diesel", "vehicle_km_year"] == 0
    c = E.electric_share_curve(vkm, PARAMS, {"a": 0.4, "b": 0.0}, shares=[0.0, 1.0]).set_index(["grid", "electric_share"])
    # all diesel: 1000 km × 0.4 L/km × 2.5 = 1000 kg = 1 t; all electric: 1000 × 1.5 × 0.4 = 600 kg
    assert c.loc[("a", 0.0), "tco2_year"] == pytest.approx(1.0)
    assert c.loc[("a", 1.0), "tco2_year"] == pytest.approx(0.6)
    assert c.loc[("b", 1.0), "tco2_year"] == pytest.approx(0.0)
    with pytest.raises(DataError, match="outside 0–1"):
        E.apply_electric_share(vkm, 62, km_col="vehicle_km_year")


def test_sensitivity_ranks_inputs():
    vkm = pd.DataFrame({"mode": ["bus"], "vehicle_energy": ["diesel"], "vehicle_km_year": [1000.0]})
    s = E.sensitivity(vkm, PARAMS, electric_share=0.0).set_index("input")
    # with no electric buses the electric parameters move nothing
    assert s.loc["ebus_kwh_per_km", "swing_tco2"] == pytest.approx(0)
    # ±20 % of litres/100 km: 0.8 t to 1.2 t
    assert s.loc["diesel_bus_litres_per_100km", "swing_tco2"] == pytest.approx(0.4)
    assert s.index[0] in ("diesel_bus_litres_per_100km", "diesel_kgco2_per_litre", "electric_share")
    # the electric share moves by ±20 % of its value, like every other input (0.5 -> 0.4 and 0.6)
    half = pd.DataFrame({"mode": ["bus"], "vehicle_energy": ["unknown"], "vehicle_km_year": [1000.0]})
    s2 = E.sensitivity(half, PARAMS, electric_share=0.5).set_index("input")
    lo = E.emissions(E.apply_electric_share(half, 0.4, km_col="vehicle_km_year"), PARAMS, km_col="vehicle_km_year")
    hi = E.emissions(E.apply_electric_share(half, 0.6, km_col="vehicle_km_year"), PARAMS, km_col="vehicle_km_year")
    assert s2.loc["electric_share", "low_tco2"] == pytest.approx(lo["tco2"].sum())
    assert s2.loc["electric_share", "high_tco2"] == pytest.approx(hi["tco2"].sum())


def test_mode_shift_and_flags():
    assert E.mode_shift(1_000_000, car_km_per_pkm=0.5, car_kgco2_per_km=0.2) == pytest.approx(100.0)
    assert E.flagged_parameters(PARAMS) == ["grid_kgco2_per_kwh"]
    # missing parameters: the rows they would compute say so instead of failing
    e = E.emissions(pd.DataFrame({"mode": ["bus", "bus"], "vehicle_energy": ["diesel", "electric"],
                                  "vehicle_km": [100.0, 100.0]}),
                    Parameters(diesel_bus_litres_per_100km=_p(40), diesel_kgco2_per_litre=_p(2.5))).set_index("vehicle_energy")
    assert e.loc["diesel", "tco2"] == pytest.approx(0.1)
    assert pd.isna(e.loc["electric", "tco2"])
    assert e.loc["electric", "basis"] == "not computed: city.yml lacks ebus_kwh_per_km, grid_kgco2_per_kwh"
    assert E.missing_parameters(Parameters()) == list(E.BUS_PARAMETERS)


def test_representative_days(tmp_path):
    day = _day(tmp_path)
    # the fixture runs no Saturday service and its Sunday service has no trips
    assert E.representative_days(day.feed, "20260107") == {"weekday": "20260107"}
    a = E.annual_vehicle_km(day).set_index(["mode", "vehicle_energy"])
    assert a.loc[("bus", "diesel"), "vehicle_km_year"] == pytest.approx(6.0 * 250, rel=2e-3)


def test_unknown_energy_and_missing_parameters_are_explained():
    vkm = pd.DataFrame({"mode": ["bus"], "vehicle_energy": ["unknown"], "vehicle_km": [10.0]})
    e = E.emissions(vkm, Parameters())
    assert "energy type unknown" in e.loc[0, "basis"] and pd.isna(e.loc[0, "tco2"])
    s = E.summary(e, Parameters()).set_index("indicator")
    assert s.loc["bus CO2 per day", "note"].startswith("not computed: city.yml lacks")
    assert pd.isna(s.loc["bus CO2 per day", "value"])
    from citybridge import i18n
    shown = E.summary_table(e, Parameters())
    with i18n.use_language("es"):
        assert str(shown.loc[0, "indicator"]) == "CO2 de buses por día"
        assert str(shown.loc[0, "note"]).startswith("no calculado: a city.yml le falta diesel_bus_litres_per_100km")
    with i18n.use_language("zh"):
        assert str(shown.loc[2, "indicator"]) == "公交车公里电动化比例"


def test_stored_annual_vehicle_km_is_read_back_until_the_city_files_change(tmp_path, monkeypatch):
    import citybridge.artifacts as AR

    day = _day(tmp_path)
    key = {"files": "one"}
    monkeypatch.setattr(AR, "city_key", lambda city, date=None: key["files"] + (date or ""))
    monkeypatch.setattr(AR, "cache_dir", lambda start=None: tmp_path / "artifacts")
    runs = []
    real = E.annual_vehicle_km
    monkeypatch.setattr(E, "annual_vehicle_km", lambda d: runs.append(1) or real(d))
    city = type("City", (), {"slug": "probe"})()
    first = E.stored_annual_vehicle_km(city, day)
    pd.testing.assert_frame_equal(first, real(day))
    pd.testing.assert_frame_equal(E.stored_annual_vehicle_km(city, day), first)
    assert len(runs) == 1
    key["files"] = "two"                       # a file of the city changed
    E.stored_annual_vehicle_km(city, day)
    assert len(runs) == 2


def test_parameters_sentence_in_spanish_and_chinese():
    from citybridge import i18n

    assert E.parameters_sentence([], []) == "Every parameter used on this page has a solid source."
    with i18n.use_language("es"):
        assert E.parameters_sentence(["ebus_kwh_per_km"], ["grid_kgco2_per_kwh"]) == (
            "Los resultados de esta página usan parámetros sin una fuente sólida: ebus_kwh_per_km. "
            "El CO2 no se calcula donde faltan estos parámetros en city.yml: grid_kgco2_per_kwh.")
    with i18n.use_language("zh"):
        assert E.parameters_sentence([], []) == "本页使用的每个参数都有可靠来源。"
