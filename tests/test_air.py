"""Clean air (chapter 05): hand-computed NOx and PM on tiny inputs."""
from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from citybridge import air
from citybridge import air_factors as AF
from citybridge import air_plan as AP
from citybridge import feed as F
from citybridge.city import FleetClass, read_profile
from citybridge.errors import DataError, ProfileError
from gtfs_fixtures import timetable_tables, write_feed


def _cls(fuel, share, euro="none", technology="", **kw):
    return FleetClass(fuel=fuel, euro=euro, technology=technology, share=share, year="2026", source="test", **kw)


def _groups(speeds, km, energy=None, route="R1"):
    n = len(speeds)
    return pd.DataFrame({"from_stop_id": [f"A{i}" for i in range(n)], "to_stop_id": [f"B{i}" for i in range(n)],
                         "route_id": route, "hour": 8, "vehicle_energy": energy or ["unknown"] * n,
                         "trips": 1, "distance_m": np.asarray(km, float) * 1000, "vehicle_km": np.asarray(km, float),
                         "run_h": np.asarray(km, float) / np.asarray(speeds, float),
                         "speed_kmh": np.asarray(speeds, float)})


EURO_V = _cls("diesel", 100, "V", "SCR")


def test_euro_v_nox_at_20_kmh_by_hand():
    # EMEP/EEA 2019 Ubus Std diesel Euro V SCR NOx: the check table gives 8.67 g/km at 20 km/h.
    # Hand evaluation of (αv²+βv+γ+δ/v)/(εv²+ζv+η)(1-rf)k with the shipped coefficients:
    f = AF.hot_functions()
    r = f[(f["fuel"] == "diesel") & (f["euro"] == "V") & (f["technology"] == "SCR") & (f["size"] == "standard")
          & (f["pollutant"] == "nox")].iloc[0]
    v = 20.0
    by_hand = ((r.alpha * v * v + r.beta * v + r.gamma + r.delta / v) / (r.epsilon * v * v + r.zita * v + r.hta)
               * (1 - r.rf) * r.k)
    assert by_hand == pytest.approx(8.67, abs=0.005)
    # one 2.5 km segment at 20 km/h, one fleet class: 2.5 × 8.67 g
    em = air.segment_emissions(_groups([20.0], [2.5]), [EURO_V])
    assert em["nox_g"].iloc[0] == pytest.approx(2.5 * by_hand)
    assert em["nox_g"].iloc[0] == pytest.approx(21.675, abs=0.02)
    assert em["clamped_low_km"].iloc[0] == 0 and em["clamped_high_km"].iloc[0] == 0


def test_every_function_reproduces_the_evaluated_check_table():
    check = AF.read_table("emep_eea_2019_ubus_std_check.csv")
    assert len(check) >= 30
    speeds = (10, 15, 20, 25, 30, 40, 50)
    for _, r in check.iterrows():
        # one look-up of the class's function, evaluated at the seven speeds of the table
        got = AF.hot_factor(r["pollutant"], speeds, fuel=r["fuel"], euro=r["euro"], technology=r["technology"])
        assert got.shape == (len(speeds),)
        for v, g in zip(speeds, got):
            assert float(g) == pytest.approx(r[f"ef_at_{v}kmh"], rel=1e-3), (r["fuel"], r["euro"], r["pollutant"], v)


def test_speeds_outside_the_valid_range_are_clamped_and_reported():
    # Euro III NOx is valid 11-86 km/h: 6 km/h is evaluated at 11, 120 km/h at 86
    e3 = _cls("diesel", 100, "III")
    at11 = float(AF.hot_factor("nox", 11, fuel="diesel", euro="III"))
    at86 = float(AF.hot_factor("nox", 86, fuel="diesel", euro="III"))
    assert float(AF.hot_factor("nox", 6, fuel="diesel", euro="III")) == pytest.approx(at11)
    em = air.segment_emissions(_groups([6.0, 120.0, 20.0], [1.0, 2.0, 4.0]), [e3])
    assert em["nox_g"].tolist() == pytest.approx([at11 * 1, at86 * 2, 4 * 11.28], rel=1e-3)
    assert em["clamped_low_km"].tolist() == [1.0, 0.0, 0.0]
    assert em["clamped_high_km"].tolist() == [0.0, 2.0, 0.0]
    s = air.clamp_summary(em)
    assert s["low_pct"] == pytest.approx(100 / 7) and s["high_pct"] == pytest.approx(200 / 7)
    assert s["fast_pct"] == pytest.approx(200 / 7)  # 2 of 7 km at or above 40 km/h


def test_non_exhaust_factors_by_hand():
    ne = AF.non_exhaust_factors().set_index("source")
    # tyre: 2/2 × (1.41 + 1.38 × 0.5) × 0.0107 × 1.39 = 0.031233 g/km TSP; PM2.5 = × 0.42
    assert ne.loc["tyre", "tsp"] == pytest.approx(2.10 * 0.0107 * 1.39)
    assert ne.loc["tyre", "pm25"] == pytest.approx(0.01312, abs=1e-5)
    # brake: 3.13 × (1 + 0.79 × 0.5) × 0.0075 × 1.67 × 0.39 = 0.02133 g/km PM2.5
    assert ne.loc["brake", "pm25"] == pytest.approx(0.02133, abs=1e-5)
    assert AF.non_exhaust_factors(brake="gtfs2emis").set_index("source").loc["brake", "pm25"] == \
        pytest.approx(0.01333, abs=1e-5)
    assert ne.loc["road", "pm25"] == pytest.approx(0.076 * 0.27)
    check = AF.read_table("non_exhaust_pm_check.csv")
    for _, r in check.iterrows():
        brake = r["brake_factor"] or "carculator_truck"
        got = AF.non_exhaust_factors(brake=brake).set_index("source").loc[r["source"], r["pollutant"]]
        assert got == pytest.approx(r["value"], rel=2e-3)
    # an articulated bus has three axles: 1.5 × the tyre wear
    art = AF.non_exhaust_factors(size="articulated").set_index("source")
    assert art.loc["tyre", "tsp"] == pytest.approx(1.5 * ne.loc["tyre", "tsp"])
    with pytest.raises(DataError, match="brake multiplier"):
        AF.non_exhaust_factors(brake="guess")


def test_all_electric_fleet_has_zero_exhaust_and_nonzero_non_exhaust():
    em = air.segment_emissions(_groups([15.0, 25.0], [1.0, 3.0]), [_cls("electric", 100)])
    assert (em[["nox_g", "pm_exhaust_g", "co_g"]] == 0).all().all()
    assert em["energy_mj"].isna().all()
    # 4 km × 0.054967 g/km (tyre 0.013118 + brake 0.021329 + road 0.02052)
    assert em["pm25_g"].sum() == pytest.approx(4 * (0.013118 + 0.021329 + 0.02052), rel=1e-4)
    assert em["pm25_g"].sum() > 0
    t = air.totals(em).set_index("pollutant")
    assert t.loc["NOx", "t_per_day"] == 0


def test_mixed_fleet_and_marked_energy():
    # 50 % electric, 50 % Euro V: unmarked km split; a trip marked electric gets the electric class only
    classes = [_cls("electric", 50), _cls("diesel", 50, "V", "SCR")]
    g = _groups([20.0, 20.0, 20.0], [2.0, 2.0, 2.0], energy=["unknown", "electric", "diesel"])
    em = air.segment_emissions(g, classes)
    ev = float(AF.hot_factor("nox", 20, fuel="diesel", euro="V", technology="SCR"))
    assert em["nox_g"].tolist() == pytest.approx([1.0 * ev, 0.0, 2.0 * ev])
    assert em["combustion_km"].tolist() == pytest.approx([1.0, 0.0, 2.0])
    # a mark with no class of its fuel ("other" here) falls back to the whole mix and says so
    em2 = air.segment_emissions(_groups([20.0], [2.0], energy=["other"]), classes)
    assert em2["mix_fallback"].iloc[0] and em2["nox_g"].iloc[0] == pytest.approx(ev)
    ct = air.class_totals(g, classes, annual=300.0).set_index("class")
    assert ct.loc["diesel Euro V (SCR), standard", "nox_t_per_year"] == pytest.approx(3.0 * ev * 300 / 1e6)
    assert ct.loc["diesel Euro V (SCR), standard", "vehicle_km"] == pytest.approx(3.0)
    assert ct.loc["diesel Euro V (SCR), standard", "nox_g_per_km"] == pytest.approx(ev)


def test_proxies_for_lng_and_hybrids():
    lng = float(AF.hot_factor("nox", 20, fuel="lng", euro="EEV"))
    assert lng == pytest.approx(4.087, abs=1e-3)  # CNG EEV at 20 km/h (check table)
    hyb = float(AF.hot_factor("nox", 20, fuel="hybrid", euro="V", technology="SCR"))
    assert hyb == pytest.approx(8.67, abs=0.005)
    pm = float(AF.hot_factor("pm_exhaust", 20, fuel="hybrid", euro="VI", technology="DPF+SCR"))
    assert pm == pytest.approx(0.006567, rel=1e-3)
    fn = AF.class_functions([_cls("lng", 100, "EEV")])
    assert fn["proxy"].str.contains("CNG").all()


def _profile(tmp_path, classes_yaml):
    p = tmp_path / "city.yml"
    p.write_text("name: Test\ncrs: EPSG:32719\n" + textwrap.dedent(classes_yaml))
    return p


def test_shares_not_adding_to_100_are_refused(tmp_path):
    bad = _profile(tmp_path, """\
        fleet_classes:
          - {fuel: electric, share: 60, year: 2026, source: x}
          - {fuel: diesel, euro: VI, share: 30, year: 2026, source: y}
        """)
    with pytest.raises(ProfileError, match=r"fleet_classes.*add up to 90 %, not 100 %"):
        read_profile(bad)
    ok = _profile(tmp_path, """\
        fleet_classes:
          - {fuel: electric, share: 60.2, year: 2026, source: x}
          - {fuel: diesel, euro: VI, share: 39.7, year: 2026, source: y}
        """)
    assert len(read_profile(ok).fleet_classes) == 2


def test_validate_reports_bad_shares_as_fatal(tmp_path):
    from citybridge.validate import validate

    folder = tmp_path / "city"
    folder.mkdir()
    write_feed(folder / "gtfs.zip", timetable_tables())
    (folder / "city.yml").write_text(textwrap.dedent("""\
        name: Test
        crs: EPSG:32719
        fleet_classes:
          - {fuel: electric, share: 50, year: 2026, source: x}
          - {fuel: diesel, euro: V, share: 45, year: 2026, source: y}
        """))
    f = [x for x in validate(folder) if x.severity == "fatal"]
    assert f and "add up to 95 %" in f[0].message and "fleet_classes" in f[0].message


def test_class_needs_source_or_assumed_flag_and_a_known_euro_class(tmp_path):
    with pytest.raises(ProfileError, match="source"):
        read_profile(_profile(tmp_path, "fleet_classes:\n  - {fuel: diesel, euro: V, share: 100, year: 2026}\n"))
    assert read_profile(_profile(tmp_path, "fleet_classes:\n  - {fuel: diesel, euro: V, share: 100, year: 2026, "
                                           "assumed: true, note: guess}\n")).fleet_classes[0].assumed
    with pytest.raises(ProfileError, match="euro"):
        read_profile(_profile(tmp_path, "fleet_classes:\n  - {fuel: diesel, euro: II, share: 100, year: 2026, "
                                        "source: x}\n"))
    with pytest.raises(ProfileError, match="share_range"):
        read_profile(_profile(tmp_path, "fleet_classes:\n  - {fuel: diesel, euro: V, share: 100, year: 2026, "
                                        "source: x, share_range: [0, 50]}\n"))


def test_share_variants_span_the_assumed_split():
    classes = [_cls("electric", 60), _cls("diesel", 20, "V", "SCR", share_range=(0, 40), assumed=True),
               _cls("diesel", 20, "III", share_range=(0, 40), assumed=True)]
    v = air.share_variants(classes)
    shares = sorted(tuple(round(c.share, 6) for c in mix) for _, mix in v)
    assert (60, 0, 40) in shares and (60, 40, 0) in shares
    g = _groups([20.0], [10.0])
    em = air.segment_emissions(g, classes)
    t = air.totals(em, variants=[(d, air.segment_emissions(g, m)) for d, m in v]).set_index("pollutant")
    e3, e5 = (float(AF.hot_factor("nox", 20, fuel="diesel", euro=e, technology=t_)) for e, t_ in (("III", ""),
                                                                                                  ("V", "SCR")))
    assert t.loc["NOx", "low_t_per_day"] == pytest.approx(10 * 0.4 * e5 / 1e6)
    assert t.loc["NOx", "high_t_per_day"] == pytest.approx(10 * 0.4 * e3 / 1e6)


def test_segment_groups_on_a_feed(tmp_path):
    t = timetable_tables()
    t["trips.txt"] = ("route_id,service_id,trip_id,direction_id,vehicle_energy\n"
                      "B1,WK,T1,0,diesel\nB1,WK,T2,0,diesel\nB1,WK,T3,0,electric\nB1,WK,TN,0,electric\n"
                      "M1,WK,MT1,0,electric\n")
    day = F.prepare_day(F.read_feed(write_feed(tmp_path / "a.zip", t)), "20260107", crs="EPSG:32719")
    g = air.segment_groups(day)
    # bus only; 4 trips × 3 links of 1 km at 6 min = 10 km/h; T1 and T2 share hour 7 and energy
    assert set(g["route_id"]) == {"B1"}
    assert g["vehicle_km"].sum() == pytest.approx(12.0, rel=3e-3)
    assert g["speed_kmh"].to_numpy() == pytest.approx(10.0, rel=3e-3)
    d7 = g[(g["hour"] == 7) & (g["vehicle_energy"] == "diesel")]
    assert len(d7) == 3 and (d7["trips"] == 2).all()
    em = air.segment_emissions(g, [_cls("electric", 50), _cls("diesel", 50, "V", "SCR")])
    # diesel-marked: 6 km of Euro V at 10 km/h (15.27 g/km in the check table); electric-marked: none
    assert em["nox_g"].sum() == pytest.approx(6 * 15.27, rel=3e-3)
    h = air.hourly(em).set_index("hour")
    assert h.loc[7, "nox_kg"] == pytest.approx(6 * 15.27 / 1000, rel=3e-3)


def test_density_corridors_and_ranking():
    # two routes: R1 runs A→B→C (3 + 1 km at 10 km/h, 10 trips), R2 runs X→Y (1 km at 30 km/h, 1 trip)
    g = pd.DataFrame({"from_stop_id": ["A", "B", "X"], "to_stop_id": ["B", "C", "Y"], "route_id": ["R1", "R1", "R2"],
                      "hour": 8, "vehicle_energy": "unknown", "trips": [10, 10, 1],
                      "distance_m": [3000.0, 1000.0, 1000.0], "vehicle_km": [30.0, 10.0, 1.0],
                      "run_h": [3.0, 1.0, 1 / 30], "speed_kmh": [10.0, 10.0, 30.0]})
    em = air.segment_emissions(g, [EURO_V])
    d = AP.street_density(em)
    ev10 = float(AF.hot_factor("nox", 10, fuel="diesel", euro="V", technology="SCR"))
    ab = d.set_index(["from_stop_id", "to_stop_id"]).loc[("A", "B")]
    assert ab["length_km"] == pytest.approx(3.0) and ab["nox_g_per_km"] == pytest.approx(10 * ev10)
    stops = pd.DataFrame({"stop_id": list("ABCXY"), "stop_name": ["Alfa", "Beta", "Gamma", "Equis", "Ye"],
                          "stop_lat": [-33.40, -33.40, -33.40, -33.50, -33.50],
                          "stop_lon": [-70.70, -70.67, -70.66, -70.70, -70.69]})
    c = AP.worst_corridors(d, stops, top_pct=70, n=5)
    assert c.iloc[0]["corridor"] == "Alfa → Gamma" and c.iloc[0]["segments"] == 2
    assert c.iloc[0]["length_km"] == pytest.approx(4.0)
    rs = pd.DataFrame({"route_id": ["R1", "R2"], "route_short_name": ["101", "202"], "peak_vehicles_day": [4, 1]})
    r = AP.rank_routes(AP.route_emissions(em, rs))
    assert r["route_id"].tolist() == ["R1", "R2"]
    assert r.iloc[0]["avoided_nox_g_per_bus"] == pytest.approx(40 * ev10 / 4)
    cur = AP.electrification_curve(r, n_random=50)
    ev30 = float(AF.hot_factor("nox", 30, fuel="diesel", euro="V", technology="SCR"))
    assert AP.at_routes_pct(cur, 50)["nox_pct"] == pytest.approx(100 * 40 * ev10 / (40 * ev10 + ev30))
    assert cur["nox_pct"].iloc[-1] == pytest.approx(100) and cur["nox_pct_random"].iloc[-1] == pytest.approx(100)
    # random order, one route of two: on average half of the NOx; at the ranked plan's 4 of 5 buses, either
    # R1 is done (99 %) or R2 plus 3/4 of R1 (0.9 % + 0.75 × 99.1 % = 75 %)
    assert cur["nox_pct_random_routes"].iloc[1] == pytest.approx(50, abs=15)
    assert cur["buses_pct"].iloc[1] == pytest.approx(80)
    assert 75 < cur["nox_pct_random"].iloc[1] < cur["nox_pct"].iloc[1]


def test_scenario_counts_non_exhaust_for_electric_buses():
    g = _groups([20.0], [10.0])
    s = AP.scenario(g, [_cls("electric", 50), _cls("diesel", 50, "V", "SCR")], electric_share=1.0, co2_now_t=2.0, co2_scenario_t=1.0)
    s = s.set_index("pollutant")
    assert s.loc["NOx", "scenario"] == 0 and s.loc["NOx", "now"] > 0
    assert s.loc["PM2.5 non-exhaust", "scenario"] == pytest.approx(s.loc["PM2.5 non-exhaust", "now"])
    assert s.loc["CO2", "change_pct"] == pytest.approx(-50)
    with pytest.raises(DataError):
        AP.with_electric_share([EURO_V], 1.5)


def test_no_fleet_classes_gives_a_plain_error_message():
    with pytest.raises(DataError, match="fleet_classes"):
        air.segment_emissions(_groups([20.0], [1.0]), None)


def test_stations_against_the_standard():
    t = AP.station_table("santiago", "Chile").set_index("station")
    # Cerro Navia: (28.4 + 26.5 + 24.8) / 3 = 26.57 µg/m³, above the 20 µg/m³ annual standard
    assert t.loc["Cerro Navia", "mean_2022_2024"] == pytest.approx(26.5667, abs=1e-3)
    assert t.loc["Cerro Navia", "above_standard"] == "yes"
    assert t.loc["Independencia", "above_standard"] == "no"
    assert t.loc["Parque O'Higgins", "above_standard"] == "no data"
    assert "not official" in t["basis"].iloc[0]
    assert AP.station_table("hangzhou", "China").empty


def test_electrification_sentence_in_spanish_and_chinese():
    from citybridge import i18n

    k = pd.Series({"routes": 2, "routes_pct": 12.5, "buses": 1400.0, "nox_pct": 13.2, "pm_exhaust_pct": 18.0,
                   "nox_pct_random_routes": 12.6, "nox_pct_random": 9.0, "nox_pct_random_p05": 7.0,
                   "nox_pct_random_p95": 12.0})
    with i18n.use_language("es"):
        assert AP.electrification_sentence(k, routes=16, city="Santiago") == (
            "Electrificar los primeros 2 de 16 recorridos (12 %, cerca de 1.400 buses) en el orden priorizado elimina "
            "el 13 % del NOx de los buses de Santiago y el 18 % de su MP2,5 de escape. Elegidos al azar, la misma "
            "cantidad de recorridos elimina en promedio el 13 %, y la misma cantidad de buses en recorridos al azar "
            "el 9 % (90 % de las elecciones al azar: 7–12 %).")
    with i18n.use_language("zh"):
        assert AP.electrification_sentence(k, routes=16, city="杭州") == (
            "按排序对前 2 条线路（共 16 条，占 12 %，约 1,400 辆公交车）实施电动化，可消除杭州公交车 NOx 的 13 % 和尾气 "
            "PM2.5 的 18 %。随机选择同样数量的线路平均消除 13 %，随机线路上同样数量的公交车消除 9 %（90 % 的随机选择在 "
            "7–12 % 之间）。")


def test_findings_in_spanish_and_chinese():
    from citybridge import i18n

    tot = pd.DataFrame({"pollutant": ["NOx", "PM2.5 (exhaust + non-exhaust)", "non-exhaust PM2.5"],
                        "t_per_day": [0.5, 0.08, 0.06], "g_per_vehicle_km": [0.4, 0.064, 0.048],
                        "low_t_per_day": [0.5, 0.08, 0.06], "high_t_per_day": [0.5, 0.08, 0.06]})
    em = pd.DataFrame({"vehicle_km": [1000.0, 250.0], "combustion_km": [400.0, 100.0], "clamped_low_km": [5.0, 0.0],
                       "clamped_high_km": [0.0, 0.0], "speed_kmh": [20.0, 45.0], "mix_fallback": [False, True]})
    f = air.findings(tot, em, city="Santiago")
    assert len(f) == 6 and str(f[0]) == ("Santiago's buses emit about 0.5 t of NOx and 0.08 t of PM2.5 on the service "
                                         "day: 0.4 g NOx and 0.064 g PM2.5 per bus-km.")
    with i18n.use_language("es"):
        assert str(f[0]) == ("Los buses de Santiago emiten cerca de 0,5 t de NOx y 0,08 t de MP2,5 en el día de "
                             "servicio: 0,4 g de NOx y 0,064 g de MP2,5 por bus-km.")
        assert str(f[1]) == ("El desgaste (emisiones que no son de escape) aporta el 75 % del MP2,5 de los buses: la "
                             "electrificación elimina solo la parte de escape.")
        assert str(f[5]) == ("El 20,0 % de los buses-km está marcado con una energía que ninguna clase de flota tiene; "
                             "allí se usó la composición de toda la flota.")
    with i18n.use_language("zh"):
        assert str(f[2]) == "超出排放函数适用范围的速度（按边界值计算）：燃油公交车公里中 1.0 % 低于下限，0.0 % 高于上限。"
        assert str(f[3]) == "20.0 % 的公交车公里行驶在 40 km/h 及以上的路段，此处采用的城市轮胎和制动磨损因子会高估磨损。"


def test_class_label_reads_in_the_language_and_keeps_the_english_label():
    from citybridge import i18n

    c = _cls("diesel", 50, "V", "SCR")
    assert str(AF.class_label(c)) == c.label == "diesel Euro V (SCR), standard"
    with i18n.use_language("es"):
        assert str(AF.class_label(c)) == "diésel Euro V (SCR), estándar"
    with i18n.use_language("zh"):
        assert str(AF.class_label(_cls("electric", 50))) == "电动，标准"
