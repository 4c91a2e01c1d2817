"""citybridge new-city: a city folder from a trainer's files, never half-made,
never touching the originals."""
from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from citybridge import cli
from citybridge.city import list_cities, load_city, read_profile
from citybridge.errors import CitybridgeError, DataError, FeedError, ProfileError
from citybridge.newcity import new_city
from gtfs_fixtures import timetable_tables, write_feed

ROOT = Path(__file__).resolve().parents[1]
SANTIAGO = ROOT / "data" / "cities" / "santiago"


def _sha(p: Path) -> str:
    if p.is_dir():
        return "".join(_sha(q) for q in sorted(p.rglob("*")) if q.is_file())
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def feed(tmp_path):
    return write_feed(tmp_path / "in" / "feed.zip", timetable_tables())


def _only_city_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_city_from_a_gtfs_zip(tmp_path, feed):
    before = _sha(feed)
    root = tmp_path / "cities"
    folder = new_city("testville", feed, root=root)
    assert folder == root / "testville"
    assert sorted(p.name for p in folder.iterdir()) == ["city.yml", "gtfs.zip"]
    assert _sha(folder / "gtfs.zip") == before and _sha(feed) == before
    text = (folder / "city.yml").read_text(encoding="utf-8")
    prof = read_profile(folder / "city.yml")
    assert prof.name == "Test Transit" and prof.timezone == "America/Santiago"
    assert prof.crs == "EPSG:32719" and prof.sample is False and prof.source_datum == "WGS84"
    assert prof.boundaries is None and prof.population is None and prof.gbfs is None
    assert "# CHECK" in text and "name: Test Transit  # CHECK" in text
    assert "# modes in the feed: bus (1 route), metro (1 route)" in text
    assert "# service dates: 20260105 to 20260201" in text
    assert "no shapes.txt" in text
    assert "gbfs: <folder with station_information.json> -> bike share" in text
    city = load_city(folder)
    assert city.gtfs_path.is_file() and list_cities(root) == ["testville"]


def test_gtfs_folder_is_zipped(tmp_path):
    src = tmp_path / "feed"
    src.mkdir()
    for name, text in timetable_tables().items():
        (src / name).write_text(text, encoding="utf-8")
    (src / "README.pdf").write_bytes(b"%PDF")
    before = _sha(src)
    folder = new_city("folderville", src, root=tmp_path / "cities")
    with zipfile.ZipFile(folder / "gtfs.zip") as zf:
        assert sorted(zf.namelist()) == sorted(timetable_tables())
    assert _sha(src) == before


def test_refuses_an_existing_city(tmp_path, feed):
    root = tmp_path / "cities"
    new_city("testville", feed, root=root)
    yml = root / "testville" / "city.yml"
    yml.write_text(yml.read_text() + "# my edits\n")
    before = _sha(root / "testville")
    with pytest.raises(ProfileError, match="already exists; nothing was changed"):
        new_city("testville", feed, root=root)
    assert _sha(root / "testville") == before
    assert _only_city_folders(root) == ["testville"]


@pytest.mark.parametrize("slug", ["Santiago", "1city", "../evil", "a b", "", "x" * 41, "ciudad/2", ".hidden",
                                  "lima\n"])
def test_refuses_a_bad_slug(tmp_path, feed, slug):
    root = tmp_path / "cities"
    with pytest.raises(ProfileError, match="cannot be a city name: use 1 to 40 lower-case letters"):
        new_city(slug, feed, root=root)
    assert not root.exists() or list(root.iterdir()) == []


def test_unreadable_feed_leaves_nothing(tmp_path):
    t = timetable_tables()
    del t["stop_times.txt"]
    bad = write_feed(tmp_path / "bad.zip", t)
    root = tmp_path / "cities"
    with pytest.raises(FeedError, match="required GTFS file"):
        new_city("broken", bad, root=root)
    assert list(root.iterdir()) == []  # not even the hidden temporary folder


def test_failure_at_the_last_step_leaves_nothing(tmp_path, feed, monkeypatch):
    import citybridge.newcity as N

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(N, "load_city", boom)
    root = tmp_path / "cities"
    with pytest.raises(CitybridgeError, match=r"could not create the city 'testville' \(OSError: disk full\); "
                                              "nothing was created"):
        new_city("testville", feed, root=root)
    assert list(root.iterdir()) == []


def test_leftover_temporary_folder_is_not_a_city(tmp_path, feed):
    root = tmp_path / "cities"
    new_city("testville", feed, root=root)
    shutil.copytree(root / "testville", root / ".other.new-abc123")  # as left by a killed run
    assert list_cities(root) == ["testville"]


def test_optional_inputs_are_copied_and_columns_detected(tmp_path, feed):
    inputs = [SANTIAGO / "boundaries.geojson", SANTIAGO / "population.csv", SANTIAGO / "gbfs"]
    before = [_sha(p) for p in inputs]
    folder = new_city("withall", feed, boundaries=inputs[0], population=inputs[1], gbfs=inputs[2],
                      root=tmp_path / "cities")
    assert [_sha(p) for p in inputs] == before
    prof = read_profile(folder / "city.yml")
    assert prof.boundaries.file == "boundaries.geojson"
    assert prof.boundaries.id_column == "district_id" and prof.boundaries.name_column == "name"
    assert prof.population.file == "population.csv"
    assert prof.population.id_column == "district_id"
    assert prof.population.population_column == "population"
    assert prof.population.class_column == "area_class"
    assert prof.gbfs == "gbfs" and (folder / "gbfs" / "station_information.json").is_file()
    text = (folder / "city.yml").read_text(encoding="utf-8")
    assert "attribution: ''  # CHECK" in text and "Optional inputs not given" not in text
    from citybridge.access import districts

    d = districts(load_city(folder))
    assert len(d) == 52 and d["population"].sum() > 7_000_000


def test_other_column_names_are_detected(tmp_path, feed):
    b = tmp_path / "comunas.geojson"
    b.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"cod_comuna": c, "nombre": n, "area": 1.5},
         "geometry": {"type": "Polygon", "coordinates": [[[-70.8 + i * .1, -33.5], [-70.7 + i * .1, -33.5],
                                                          [-70.7 + i * .1, -33.4], [-70.8 + i * .1, -33.4],
                                                          [-70.8 + i * .1, -33.5]]]}}
        for i, (c, n) in enumerate([("13101", "Santiago"), ("13102", "Cerrillos")])]}))
    p = tmp_path / "censo.csv"
    p.write_text("comuna,codigo,habitantes\nSantiago,13101,438856\nCerrillos,13102,85041\n", encoding="cp1252")
    folder = new_city("otra", feed, boundaries=b, population=p, root=tmp_path / "cities")
    prof = read_profile(folder / "city.yml")
    assert prof.boundaries.id_column == "cod_comuna" and prof.boundaries.name_column == "nombre"
    assert prof.population.id_column == "codigo" and prof.population.population_column == "habitantes"
    assert prof.population.class_column is None
    assert "no urban/rural column found" in (folder / "city.yml").read_text()


def test_undetectable_columns_get_check_comments(tmp_path, feed):
    p = tmp_path / "pop.csv"
    p.write_text("a,b\nx,y\nz,w\n")
    folder = new_city("vague", feed, population=p, root=tmp_path / "cities")
    text = (folder / "city.yml").read_text()
    assert "population_column: population  # CHECK: no population column found" in text
    assert "add --boundaries too" in text
    read_profile(folder / "city.yml")


def test_unreadable_boundaries_are_refused(tmp_path, feed):
    b = tmp_path / "b.geojson"
    b.write_text("<html>not geojson</html>")
    root = tmp_path / "cities"
    with pytest.raises(DataError, match="cannot read the boundaries"):
        new_city("nob", feed, boundaries=b, root=root)
    assert list(root.iterdir()) == []


def test_broken_gbfs_is_refused(tmp_path, feed):
    g = tmp_path / "bikes"
    g.mkdir()
    (g / "station_information.json").write_text("{")
    with pytest.raises(DataError, match="the bike-share feed cannot be used"):
        new_city("nob", feed, gbfs=g, root=tmp_path / "cities")


def test_hostile_agency_name_stays_a_plain_value(tmp_path):
    t = timetable_tables()
    t["agency.txt"] = ('agency_id,agency_name,agency_url,agency_timezone\n'
                       'A,"Evil: x # y\nsparse: true\n\u2028crs: EPSG:4326 !!python/object:os.system",'
                       'http://e.org,Not/AZone\n')
    folder = new_city("evil", write_feed(tmp_path / "e.zip", t), root=tmp_path / "cities")
    prof = read_profile(folder / "city.yml")
    assert prof.name == "Evil: x # y sparse: true crs: EPSG:4326 !!python/object:os.system"
    assert prof.crs == "EPSG:32719" and prof.sample is False and prof.timezone == "UTC"
    assert "timezone: UTC  # CHECK: agency.txt gives 'Not/AZone', not a known time zone" in \
        (folder / "city.yml").read_text()


def test_feed_in_china_asks_about_the_datum(tmp_path):
    t = timetable_tables()
    t["stops.txt"] = ("stop_id,stop_name,stop_lat,stop_lon\n"
                      "S1,a,30.29,120.21\nS2,b,30.295,120.22\nS3,c,30.30,120.23\nS4,d,30.31,120.24\n")
    folder = new_city("hz", write_feed(tmp_path / "h.zip", t), root=tmp_path / "cities")
    text = (folder / "city.yml").read_text()
    assert "source_datum: WGS84  # CHECK: this feed lies in China" in text
    assert read_profile(folder / "city.yml").crs == "EPSG:32651"


def test_cli_new_city_and_its_errors(tmp_path, feed, monkeypatch, capsys):
    (tmp_path / "proj" / "data" / "cities").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "proj")
    monkeypatch.delenv("CITYBRIDGE_CITIES", raising=False)
    assert cli.main(["new-city", "testville", "--gtfs", str(feed)]) == 0
    out = capsys.readouterr().out
    assert "created" in out and "lines marked CHECK" in out and "citybridge validate testville" in out
    assert cli.main(["new-city", "testville", "--gtfs", str(feed)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "Traceback" not in err
    assert cli.main(["new-city", "other", "--gtfs", str(tmp_path / "nope.zip")]) == 2
    err = capsys.readouterr().err
    assert "nope.zip: file not found (given as --gtfs)" in err
    assert sorted(p.name for p in (tmp_path / "proj" / "data" / "cities").iterdir()) == ["testville"]
    # the new city validates: only notes and the warning about emission parameters
    assert cli.main(["validate", "testville"]) == 1
    out = capsys.readouterr().out
    assert "FATAL" not in out and "no emission parameter(s)" in out


def test_commented_templates_are_valid_once_filled(tmp_path, feed):
    """Uncommenting the parameters/fleet/facts templates and filling FILL gives a valid profile."""
    folder = new_city("templ", feed, root=tmp_path / "cities")
    lines = (folder / "city.yml").read_text(encoding="utf-8").splitlines()
    start = lines.index("# parameters:")
    block = []
    for line in lines[start:]:
        if not line.startswith("# ") or line.startswith("# download"):
            break
        block.append(line[2:].split("  #")[0])
    filled = "\n".join(block).replace("value: FILL", "value: 1.5").replace("vehicles: FILL", "vehicles: 10") \
        .replace("FILL", "'x'")
    (folder / "city.yml").write_text("\n".join(lines) + "\n" + filled + "\n", encoding="utf-8")
    prof = read_profile(folder / "city.yml")
    assert prof.parameters.grid_kgco2_per_kwh.value == 1.5
    assert prof.parameters.ebus_kwh_per_km.solid is False
    assert prof.fleet[0].vehicles == 10 and prof.facts[0].value == 1.5
    # left unfilled, the template is refused with a clear message
    (folder / "city.yml").write_text("\n".join(lines) + "\n" + "\n".join(block) + "\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"parameters\.grid_kgco2_per_kwh\.value.*got 'FILL'"):
        read_profile(folder / "city.yml")


def test_parent_stations_and_blank_location_types(tmp_path):
    t = timetable_tables()
    t["stops.txt"] = ("stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
                      "P1,Estación,-33.45,-70.70,1,\nE1,Entrada,,,2,P1\nS1,Andén,-33.45,-70.70,0,P1\n"
                      "S2,Dos,-33.45,-70.689255,,\nS3,Tres,-33.45,-70.67851,,\nS4,Cuatro,-33.45,-70.667765,,\n")
    folder = new_city("stations", write_feed(tmp_path / "s.zip", t), root=tmp_path / "cities")
    text = (folder / "city.yml").read_text(encoding="utf-8")
    assert "# stops: 4 stops/platforms, 1 parent stations" in text
    assert "placed at their parent station" in text
