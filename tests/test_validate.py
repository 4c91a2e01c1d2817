"""citybridge validate: a readable report (file, column, row, what to do) and
exit codes 0 / 1 / 2 for a city slug, a city folder, a GTFS zip or folder."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from citybridge import cli
from citybridge import validate as V
from citybridge.city import list_cities, load_city
from citybridge.newcity import new_city
from gtfs_fixtures import timetable_tables, write_feed

ROOT = Path(__file__).resolve().parents[1]


def _feed(tmp_path, tables=None, name="f.zip"):
    return write_feed(tmp_path / name, tables or timetable_tables())


def _msgs(findings, sev=None):
    return [f.message for f in findings if sev is None or f.severity == sev]


def _one(findings, fragment, sev):
    hits = [f for f in findings if fragment in f.message]
    assert hits, _msgs(findings)
    assert hits[0].severity == sev, hits[0]
    return hits[0]


def test_clean_feed_exits_0(tmp_path, capsys):
    p = _feed(tmp_path)
    f = V.validate(p)
    assert V.exit_code(f) == 0, _msgs(f)
    assert cli.main(["validate", str(p)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"citybridge validate {p}: OK (0 fatal, 0 warning(s)")
    assert "analysis date 20260105: 5 trips on 2 routes" in " ".join(out.split())


def test_feed_folder_city_folder_and_slug(tmp_path, monkeypatch):
    folder = tmp_path / "feed"
    folder.mkdir()
    for k, v in timetable_tables().items():
        (folder / k).write_text(v)
    assert V.exit_code(V.validate(folder)) == 0
    root = tmp_path / "cities"
    city = new_city("testville", _feed(tmp_path), root=root)
    by_folder = V.validate(city)
    monkeypatch.setenv("CITYBRIDGE_CITIES", str(root))
    by_slug = V.validate("testville")
    assert by_folder == by_slug
    assert V.exit_code(by_slug) == 1  # no emission parameters: a warning
    for kind in ("boundaries", "population", "gbfs"):
        _one(by_slug, f"no '{kind}' given: add it to unlock", "info")


def test_report_layout(tmp_path, capsys):
    t = timetable_tables()
    t["trips.txt"] = t["trips.txt"].replace(",direction_id", "").replace(",0\n", "\n")
    t["stops.txt"] = t["stops.txt"].replace("S3,Tres,-33.45", "S3,Tres,-95.45")
    ok = _feed(tmp_path, t, "x.zip")
    code = V.print_report(V.validate(ok), "x.zip")
    out = capsys.readouterr().out
    assert code == 2
    lines = out.splitlines()
    assert lines[0] == "citybridge validate x.zip: NOT usable yet (1 fatal, 0 warning(s), 0 note(s)); exit code 2"
    assert "FATAL: the city cannot be built" in out
    assert re.search(r"^  1\. .*x\.zip/stops\.txt, column 'stop_lat', row 3:$", out, re.M), out
    assert re.search(r"^     stop 'S3' is out of range \(lat -95\.45, lon -70\.67851\)", out, re.M), out
    assert out.rstrip().endswith("Fix the FATAL items first, then run this command again.")
    assert all(len(x) <= 100 or "/" in x for x in lines[1:])


@pytest.mark.parametrize("edit,fragment,sev,column,row", [
    (("trips.txt", "route_id,service_id,trip_id,direction_id\nB1,WK,T1,0\nB1,WK,T2,0\nB1,WK,T3,0\nB1,WK,TN,0\n"
      "M1,WK,MT1,0\n", "route_id,service_id,trip_id\nB1,WK,T1\nB1,WK,T2\nB1,WK,T3\nB1,WK,TN\nM1,WK,MT1\n"),
     "headways are computed as if all trips ran one way", "warning", "direction_id", ""),
    (("stop_times.txt", "T1,07:06:00,07:06:00,S2,2", "T1,,,S2,2"),
     "1 blank intermediate stop time(s)", "info", "departure_time", "2"),
    (("stop_times.txt", "T2,07:10:00,07:10:00,S1,1", "T2,,,S1,1"),
     "those untimed ends are dropped", "warning", "departure_time", "5"),
    (("stop_times.txt", "T2,07:16:00,07:16:00,S2,2", "T2,7h16,7h16,S2,2"),
     "not times written H:MM:SS (first '7h16')", "warning", "arrival_time", "6"),
    (("stops.txt", "S4,Cuatro,-33.45,-70.667765", "S4,Cuatro,-34.95,-70.667765"),
     "lie far from the others (first 'S4'", "warning", "stop_lat", "4"),
    (("routes.txt", "M1,A,L1,Metro uno,1", "M1,A,L1,Metro uno,99"),
     "does not map to a mode (first 99)", "warning", "route_type", "2"),
    (("agency.txt", "America/Santiago", "Mars/Olympus"),
     "'Mars/Olympus' is not a known time zone", "warning", "agency_timezone", "1"),
])
def test_feed_checks_name_file_column_row(tmp_path, edit, fragment, sev, column, row):
    t = timetable_tables()
    name, old, new = edit
    assert old in t[name]
    t[name] = t[name].replace(old, new)
    f = _one(V.validate(_feed(tmp_path, t)), fragment, sev)
    assert f.column == column and f.row == row, f
    assert f.file.endswith(".zip") or "f.zip/" in f.file


def test_parent_stations_shapes_and_encodings_are_reported(tmp_path):
    t = timetable_tables()
    t["stops.txt"] = ("stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
                      "P1,Estación,-33.45,-70.70,1,\nS1,Andén,-33.45,-70.70,0,P1\n"
                      "S2,Dos,-33.45,-70.689255,,\nS3,Tres,-33.45,-70.67851,,\nS4,Cuatro,-33.45,-70.667765,,\n")
    tables = {k: v.encode("utf-8") for k, v in t.items()}
    tables["stops.txt"] = t["stops.txt"].encode("cp1252")
    p = tmp_path / "enc.zip"
    import zipfile
    with zipfile.ZipFile(p, "w") as zf:
        for k, v in tables.items():
            zf.writestr(k, v)
    f = V.validate(p)
    _one(f, "belong to parent stations; a station is counted once", "info")
    _one(f, "absent: route lines are drawn straight from stop to stop", "info")
    _one(f, "stops.txt: read as cp1252 (not UTF-8)", "warning")


def test_optional_inputs_named_but_missing_are_fatal(tmp_path):
    city = new_city("testville", _feed(tmp_path), root=tmp_path / "cities")
    yml = city / "city.yml"
    yml.write_text(yml.read_text() + "boundaries: {file: comunas.geojson}\ngbfs: bikes\n")
    f = V.validate(city)
    assert V.exit_code(f) == 2
    hit = _one(f, "named by 'boundaries' in city.yml but missing, so the build refuses this city", "fatal")
    assert hit.file.endswith("comunas.geojson")
    _one(f, "named by 'gbfs' in city.yml but missing", "fatal")


def test_sample_cities_have_no_fatal_findings():
    root = ROOT / "data" / "cities"
    for slug in list_cities(root):
        f = V.validate(root / slug)
        assert V.exit_code(f) <= 1, [x for x in f if x.severity == "fatal"]
        assert any("analysis date" in x.message for x in f)


def test_validate_never_raises(tmp_path, monkeypatch):
    import citybridge.feed as F

    def boom(*a, **k):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(F, "read_feed", boom)
    f = V.validate(_feed(tmp_path))
    assert V.exit_code(f) == 2
    assert "internal error while checking (RuntimeError: unexpected)" in f[0].message


@pytest.mark.parametrize("target,fragment", [
    ("no-such-city", "no such city folder"),
    ("README.txt", "not a GTFS feed"),
    ("empty_dir", "neither a city folder (no city.yml) nor a GTFS folder"),
])
def test_bad_targets(tmp_path, monkeypatch, capsys, target, fragment):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CITYBRIDGE_CITIES", str(tmp_path / "cities"))
    (tmp_path / "README.txt").write_text("hello")
    (tmp_path / "empty_dir").mkdir()
    assert cli.main(["validate", target]) == 2
    out, err = capsys.readouterr()
    assert fragment in out and "Traceback" not in out + err


def test_tables_for_chapter_00(tmp_path):
    city = load_city(new_city("testville", _feed(tmp_path), root=tmp_path / "cities"))
    inputs = V.inputs_table(city)
    assert list(inputs["input"]) == ["gtfs", "boundaries", "population", "gbfs"]
    assert list(inputs["status"]) == ["present", "not given", "not given", "not given"]
    assert inputs.loc[0, "file"] == "gtfs.zip" and inputs.loc[0, "size_kb"] > 0
    inv = V.feed_inventory(city.gtfs_path)
    assert inv.set_index("file").loc["stop_times.txt", "rows"] == 20
    ag = V.agencies_table(city.gtfs_path)
    assert list(ag.columns) == ["agency_name", "agency_timezone", "agency_url"]
    assert ag.iloc[0]["agency_name"] == "Test Transit"
    findings = V.validate(city.folder)
    table = V.findings_table(findings, relative_to=city.folder)
    assert list(table.columns) == ["severity", "file", "column", "row", "message"]
    assert table["severity"].iloc[0] == "warning"
    assert "gtfs.zip/routes.txt" in set(table["file"])
    s = V.summary_sentence(findings, city.name)
    assert s.startswith("Test Transit: 0 fatal problem(s), 1 warning(s)")
