"""The city profile: one clear message per problem."""
from __future__ import annotations

from pathlib import Path

import pytest

from citybridge.city import DEFAULT_PERIODS, list_cities, load_city, read_profile
from citybridge.errors import ProfileError

GOOD = "name: Testville\ncrs: EPSG:32719\ntimezone: America/Santiago\n"


def _write(tmp_path: Path, text: str, slug: str = "t") -> Path:
    d = tmp_path / slug
    d.mkdir(parents=True, exist_ok=True)
    (d / "city.yml").write_text(text, encoding="utf-8")
    return d


def test_minimal_profile_gets_defaults(tmp_path):
    p = read_profile(_write(tmp_path, GOOD) / "city.yml")
    assert p.name == "Testville" and p.gtfs == "gtfs.zip" and p.sample is False
    assert p.periods == DEFAULT_PERIODS
    assert p.source_datum == "WGS84"


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ProfileError, match=r"key 'colour' is not a known setting"):
        read_profile(_write(tmp_path, GOOD + "colour: red\n") / "city.yml")


def test_missing_key_is_named(tmp_path):
    with pytest.raises(ProfileError, match=r"key 'crs' is required"):
        read_profile(_write(tmp_path, "name: X\n") / "city.yml")


def test_wrong_type_is_named(tmp_path):
    with pytest.raises(ProfileError, match=r"key 'sample'.*got 'perhaps'"):
        read_profile(_write(tmp_path, GOOD + "sample: perhaps\n") / "city.yml")


def test_bad_crs_and_period(tmp_path):
    with pytest.raises(ProfileError, match="EPSG:<code>"):
        read_profile(_write(tmp_path, "name: X\ncrs: utm19\n") / "city.yml")
    with pytest.raises(ProfileError, match="period 'am_peak' ends"):
        read_profile(_write(tmp_path, GOOD + "periods:\n  am_peak: ['09:00', '07:00']\n", "p") / "city.yml")


def test_yaml_tags_are_refused(tmp_path):
    text = GOOD + "notes: !!python/object/apply:os.system ['echo hacked']\n"
    with pytest.raises(ProfileError, match=r"line 4: YAML tags"):
        read_profile(_write(tmp_path, text) / "city.yml")


def test_yaml_syntax_error_has_line(tmp_path):
    with pytest.raises(ProfileError, match=r"line \d+: not valid YAML"):
        read_profile(_write(tmp_path, GOOD + "fleet: [\n  oops: : :\n") / "city.yml")


def test_not_a_mapping(tmp_path):
    with pytest.raises(ProfileError, match="expected a mapping"):
        read_profile(_write(tmp_path, "- a\n- b\n") / "city.yml")


def test_missing_files_are_named(tmp_path):
    d = _write(tmp_path, GOOD + "boundaries:\n  file: comunas.geojson\n")
    with pytest.raises(ProfileError) as e:
        load_city("t", root=tmp_path)
    msg = str(e.value)
    assert "gtfs.zip: the GTFS feed named by 'gtfs' is missing" in msg
    assert "comunas.geojson: the file named by 'boundaries' is missing" in msg
    city = load_city(d, check_files=False)
    assert city.slug == "t"


def test_unknown_city_lists_the_known_ones(tmp_path):
    _write(tmp_path, GOOD, "alpha")
    assert list_cities(tmp_path) == ["alpha"]
    with pytest.raises(ProfileError, match=r"cities present: alpha"):
        load_city("beta", root=tmp_path)


def test_sample_cities_validate():
    root = Path(__file__).resolve().parents[1] / "data" / "cities"
    slugs = list_cities(root)
    assert {"santiago", "hangzhou"} <= set(slugs)
    for s in slugs:
        c = load_city(s, root=root)
        assert c.gtfs_path.is_file()
