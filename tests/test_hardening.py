"""Unit tests of the shared guards added for issue 13 (Hardening II), with hand-computed answers."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citybridge.city import SLUG_RE, _parse_yaml, read_profile
from citybridge.errors import DataError, ProfileError
from gtfs_fixtures import frequency_tables, timetable_tables, write_feed


# ------------------------------------------------------------------ city.yml
def test_yaml_times_and_country_codes_stay_text():
    got = _parse_yaml("a: 7:00\nb: NO\nc: off\nd: 12\ne: 1.5\nf: true\ng: 0x1F\n")
    assert got == {"a": "7:00", "b": "NO", "c": "off", "d": 12, "e": 1.5, "f": True, "g": "0x1F"}


def test_yaml_merge_keys_still_work():
    assert _parse_yaml("a: &x {k: 1}\nb: {<<: *x, j: 2}\n")["b"] == {"k": 1, "j": 2}


def test_unquoted_periods_are_read_as_times(tmp_path):
    p = tmp_path / "city.yml"
    p.write_text("name: T\ncrs: EPSG:32719\nperiods:\n  am: [7:00, 9:30]\n", encoding="utf-8")
    assert read_profile(p).periods == {"am": ("7:00", "9:30")}


def test_duplicate_key_names_both_lines(tmp_path):
    p = tmp_path / "city.yml"
    p.write_text("name: A\ncrs: EPSG:32719\nname: B\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"line 3: key 'name' is given twice \(first on line 1\)"):
        read_profile(p)


def test_deep_nesting_is_refused_without_recursion(tmp_path):
    p = tmp_path / "city.yml"
    p.write_text("name: A\ncrs: EPSG:32719\nnotes: " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="nested more than 20 levels deep"):
        read_profile(p)


@pytest.mark.parametrize("slug, ok", [("lima", True), ("lima\n", False), ("lima\r", False), ("\nlima", False)])
def test_slug_check_refuses_a_trailing_newline(slug, ok):
    assert bool(SLUG_RE.match(slug)) is ok


# ------------------------------------------------------------------ feed reading
def test_gbk_is_detected_and_spanish_is_not_taken_for_chinese():
    from citybridge.feed import decode_text

    assert decode_text("S1,武林广场\n".encode("gbk")) == ("S1,武林广场\n", "gb18030")
    assert decode_text("S1,Ñuñoa\n".encode("cp1252")) == ("S1,Ñuñoa\n", "cp1252")


def test_times_with_one_digit_hours_and_no_seconds():
    from citybridge.feed import times_to_seconds

    got = times_to_seconds(pd.Series(["8:00", "8:05:30", "25:10:00", "7h16", ""]))
    assert got.iloc[:3].tolist() == [28800.0, 29130.0, 90600.0]
    assert got.iloc[3:].isna().all()


def _read(tmp_path, tables):
    from citybridge.feed import read_feed

    return read_feed(write_feed(tmp_path / "f.zip", tables))


def test_overlapping_frequency_windows_are_not_counted_twice(tmp_path):
    from citybridge.feed import prepare_day

    t = frequency_tables()
    # 07:00-07:30 every 10 min (07:00, 07:10, 07:20) and 07:20-08:00 (07:20 ... 07:50):
    # cut at 07:30, the second gives 07:30, 07:40, 07:50: 6 departures, not 3 + 4 = 7
    t["frequencies.txt"] += "F1,07:20:00,08:00:00,600,0\n"
    day = prepare_day(_read(tmp_path, t))
    assert sorted(day.trips["start_s"] / 60) == [420, 430, 440, 450, 460, 470]


def test_zero_headway_row_is_dropped_not_one_trip(tmp_path):
    from citybridge.feed import prepare_day

    t = frequency_tables()
    t["trips.txt"] += "B1,WK,F2,0\n"
    t["stop_times.txt"] += "F2,08:00:00,08:00:00,S1,1\nF2,08:05:00,08:05:00,S2,2\n"
    t["frequencies.txt"] += "F2,08:00:00,09:00:00,0,0\n"
    feed = _read(tmp_path, t)
    day = prepare_day(feed)
    assert len(day.trips) == 3 and set(day.trips["template_id"]) == {"F1"}
    assert any("headway of 0 s or less" in n for n in feed.notes)


def test_exception_type_3_unknown_service_and_stray_stop_times_are_reported(tmp_path):
    t = timetable_tables()
    t["calendar_dates.txt"] = "service_id,date,exception_type\nWK,20260106,3\n"
    t["trips.txt"] += "B1,NOPE,TX,0\n"
    t["stop_times.txt"] += "GHOST,07:00:00,07:00:00,S1,1\n"
    notes = " ".join(_read(tmp_path, t).notes)
    assert "first '3'" in notes and "first 'NOPE'" in notes and "first 'GHOST'" in notes


def test_weekend_only_feed_is_analysed_on_its_busiest_day(tmp_path):
    from citybridge.feed import choose_date, prepare_day

    t = timetable_tables()
    t["calendar.txt"] = t["calendar.txt"].replace("WK,1,1,1,1,1,0,0", "WK,0,0,0,0,0,1,0")
    feed = _read(tmp_path, t)
    # WK runs on Saturdays from 2026-01-10 (5 trips); SU on Sundays (none of its own trips): Saturday 10th
    assert choose_date(feed) == "20260110"
    day = prepare_day(feed)
    assert any("analysis day is Saturday 2026-01-10" in n for n in day.notes)


def test_upper_case_member_names_are_read(tmp_path):
    from citybridge.feed import read_tables

    t = {k.upper(): v for k, v in timetable_tables().items()}
    tables, _ = read_tables(write_feed(tmp_path / "f.zip", t))
    assert len(tables["stops"]) == 4


# ------------------------------------------------------------------ emissions without buses
def test_no_bus_feed_gives_no_bus_sentence_not_an_error():
    from citybridge import emissions as E
    from citybridge.city import Parameters, SourcedValue

    vkm = pd.DataFrame({"mode": ["metro"], "vehicle_energy": ["electric"], "vehicle_km_year": [1000.0]})
    same = E.apply_electric_share(vkm, float("nan"), km_col="vehicle_km_year")
    assert same.to_dict("list") == vkm.to_dict("list")
    sv = SourcedValue(value=1.0, unit="u", year="2026", source="test")
    params = Parameters(grid_kgco2_per_kwh=sv, diesel_kgco2_per_litre=sv, diesel_bus_litres_per_100km=sv,
                        ebus_kwh_per_km=sv)
    sens = E.sensitivity(vkm, params, electric_share=float("nan"))
    assert sens["input"].tolist() == [E.NO_BUS_INPUT] and sens["swing_tco2"].tolist() == [0.0]
    with pytest.raises(DataError):  # with buses, a share outside 0-1 is still refused
        E.apply_electric_share(pd.DataFrame({"mode": ["bus"], "vehicle_energy": ["diesel"],
                                             "vehicle_km": [10.0]}), 1.5)


def test_weekend_analysis_day_has_no_weekday_in_the_year(tmp_path):
    from citybridge.emissions import representative_days

    t = timetable_tables()
    t["calendar.txt"] = t["calendar.txt"].replace("WK,1,1,1,1,1,0,0", "WK,0,0,0,0,0,1,0")
    assert representative_days(_read(tmp_path, t), "20260110") == {"saturday": "20260110"}


# ------------------------------------------------------------------ GBFS
def _station_file(tmp_path, stations):
    import json

    p = tmp_path / "station_information.json"
    p.write_text(json.dumps({"data": {"stations": stations}}), encoding="utf-8")
    return p


@pytest.mark.parametrize("cap", ["many", -3, True, "NaN"])
def test_gbfs_capacity_must_be_a_number_of_docks(tmp_path, cap):
    from citybridge.multimodal import read_gbfs

    with pytest.raises(DataError, match=r"data.stations\[0\].capacity"):
        read_gbfs(_station_file(tmp_path, [{"station_id": "a", "lat": -33.4, "lon": -70.6, "capacity": cap}]))


def test_gbfs_capacity_as_text_number_is_read(tmp_path):
    from citybridge.multimodal import read_gbfs

    got = read_gbfs(_station_file(tmp_path, [{"station_id": "a", "lat": -33.4, "lon": -70.6, "capacity": "12"}]))
    assert got["capacity"].tolist() == [12.0]


def test_swapped_bike_stations_are_recognised_against_the_stops():
    from citybridge.multimodal import swapped_against

    stops = pd.DataFrame({"stop_lat": [-33.45, -33.46], "stop_lon": [-70.70, -70.69]})
    right = pd.DataFrame({"lat": [-33.44], "lon": [-70.68]})
    assert not swapped_against(right, stops)
    assert swapped_against(right.rename(columns={"lat": "lon", "lon": "lat"}), stops)


# ------------------------------------------------------------------ builds
def test_plan_isolates_a_city_failing_with_any_exception(tmp_path, monkeypatch):
    import citybridge.pipeline as pl

    croot = tmp_path / "cities"
    for slug in ("good", "bad"):
        (croot / slug).mkdir(parents=True)
        write_feed(croot / slug / "gtfs.zip", timetable_tables())
        (croot / slug / "city.yml").write_text("name: X\ncrs: EPSG:32719\n", encoding="utf-8")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    (nbs / "01_x.ipynb").write_text('{"cells": [], "metadata": {}}', encoding="utf-8")
    real = pl.load_city

    def flaky(slug, **kw):
        if slug == "bad":
            raise TypeError("unhashable type: 'dict'")
        return real(slug, **kw)

    monkeypatch.setattr(pl, "load_city", flaky)
    jobs, errors = pl.plan(tmp_path, cities_root=croot, book_dir=tmp_path / "book")
    assert [j.city for j in jobs] == ["good"]
    assert "TypeError: unhashable type" in errors["bad"]


def test_leftovers_of_dead_builds_are_removed_and_live_ones_kept(tmp_path):
    from citybridge.pipeline import remove_leftovers

    book = tmp_path / "book"
    city = book / "cities" / "x"
    city.mkdir(parents=True)
    (book / "_build").mkdir()
    dead = 2**22 + 12345  # above the usual pid_max: no such process
    gone = [city / f".02_service.{dead}.abc.ipynb", book / "_build" / f".html-{dead}-xyz",
            book / f".index.md.{dead}.tmp"]
    kept = [city / f".02_service.{os.getpid()}.abc.ipynb", city / "02_service.ipynb"]
    for p in gone + kept[:2]:
        if p.name.startswith(".html-"):
            p.mkdir()
            (p / "index.html").write_text("x")
        else:
            p.write_text("x")
    manifest = book / "_build" / ".html-sources"  # a file of the build, not a leftover
    manifest.write_text("intro.md")
    os.utime(manifest, (time.time() - 10_000, time.time() - 10_000))
    kept.append(manifest)
    old = book / "_build" / ".html-oldstyle"
    old.mkdir()
    os.utime(old, (time.time() - 10_000, time.time() - 10_000))
    removed = remove_leftovers(book)
    assert sorted(removed) == sorted(gone + [old])
    assert all(p.exists() for p in kept)


def test_published_html_follows_the_umask(tmp_path, monkeypatch):
    """The built book was mode 0700 (from mkdtemp): it must follow the umask like every other file."""
    import stat

    import citybridge.book as bk

    def fake_sphinx(source, out, doctrees, **kw):  # writes what Sphinx would, into the output folder it is given
        (Path(out) / "index.html").write_text("<html></html>", encoding="utf-8")
        return "finished"

    monkeypatch.setattr(bk, "start_sphinx", fake_sphinx)
    monkeypatch.setattr(bk, "sphinx_result", lambda proc: (0, "") if proc == "finished" else (1, "not started"))
    monkeypatch.setattr(bk, "write_conf", lambda book_dir: book_dir / "conf.py")
    book = tmp_path / "book"
    book.mkdir()
    old = os.umask(0o022)
    try:
        index = bk.build_html(book)
    finally:
        os.umask(old)
    assert stat.S_IMODE(index.parent.stat().st_mode) == 0o755
