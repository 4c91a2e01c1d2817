"""The shipped cities' own prose (city.yml ``translations.<lang>.phrases``) in Spanish and Chinese."""
from __future__ import annotations

import subprocess
import sys

import pytest

from citybridge import i18n
from citybridge.city import load_city
from citybridge.phrases import city_prose

SANTIAGO_NOTE = "The four sections of Line 1 under Providencia, with the stations at both ends."
HANGZHOU_NOTE = "The two sections of Line 1 along the east shore of West Lake, with the stations at both ends."
GRID_NOTE_HZ = ("East China (华东) regional average grid factor 2023 (2022: 0.5617); national average 2023: 0.5306 "
                "(2022: 0.5366); no Zhejiang provincial 2023 value was found")
DIESEL_NOTE = "Generic German value; no measured Santiago figure was found"


@pytest.fixture(scope="module")
def cities():
    return load_city("santiago"), load_city("hangzhou")


def test_scenario_notes_translated(cities):
    santiago, hangzhou = cities
    assert santiago.profile.scenarios[0]["note"] == SANTIAGO_NOTE
    with i18n.use_language("es"):
        assert city_prose(SANTIAGO_NOTE) == ("Los cuatro tramos de la Línea 1 bajo Providencia, con las estaciones "
                                             "de ambos extremos.")
        assert city_prose("Metro Line 4A closed") == "Línea 4A del Metro cerrada"
    with i18n.use_language("zh"):
        assert city_prose(HANGZHOU_NOTE) == "1 号线沿西湖东岸的两个区间，含两端车站。"
        assert city_prose("Metro Line 4A closed") == "地铁 4A 号线关闭"
    with i18n.use_language("en"):
        assert city_prose(SANTIAGO_NOTE) == SANTIAGO_NOTE


def test_realtime_source_translated(cities):
    santiago, _ = cities
    source = santiago.profile.realtime.source
    with i18n.use_language("es"):
        es = city_prose(source)
    with i18n.use_language("zh"):
        zh = city_prose(source)
    assert es.startswith("API pública de posiciones de la flota de DTPM: cuatro capturas de toda la flota de buses")
    assert es.endswith("no los route_id del GTFS.")
    assert zh.startswith("DTPM 公开的车队位置 API：")
    # names, files and the commit stay as written
    for kept in ("github.com/elaval/BUSES-DTPM @ a156c055", "data/samples/santiago/avl_20260508.csv", "citybridge.avl"):
        assert kept in es and kept in zh


def test_parameter_notes_translated(cities):
    santiago, hangzhou = cities
    assert santiago.profile.parameters.diesel_bus_litres_per_100km.note == DIESEL_NOTE
    assert hangzhou.profile.parameters.grid_kgco2_per_kwh.note == GRID_NOTE_HZ
    with i18n.use_language("es"):
        assert city_prose(DIESEL_NOTE) == "Valor genérico alemán; no se encontró una cifra medida para Santiago"
        assert city_prose(GRID_NOTE_HZ).startswith("factor promedio de la red regional de China Oriental (华东) 2023 "
                                                   "(2022: 0,5617)")
    with i18n.use_language("zh"):
        assert city_prose(DIESEL_NOTE) == "德国通用值；未找到圣地亚哥的实测数据"


def test_a_quoted_piece_is_translated_inside_a_longer_cell(cities):
    """A source cell is the URL, a dash and the description; only the description is translated."""
    url = "https://www.dtpm.cl/descargas/gtfs/GTFS_20260704.zip"
    with i18n.use_language("es"):
        assert city_prose(f"{url} — DTPM GTFS V166.20260704 (derived count of Metro stations)") == (
            f"{url} — GTFS V166.20260704 de DTPM (conteo derivado de las estaciones de Metro)")
        # the longer fleet-source phrase wins over its prefix "La Tercera (quoting MTT/DTPM)"
        assert city_prose("La Tercera (quoting MTT/DTPM): electric buses reach 62% of the fleet") == (
            "La Tercera (citando al MTT/DTPM): los buses eléctricos llegan al 62 % de la flota")


def test_phrases_are_whole_texts_of_the_profile(cities):
    """Every phrase key is English text that the city's own profile quotes verbatim."""
    for city in cities:
        texts = []

        def walk(x):
            if isinstance(x, dict):
                for k, v in x.items():
                    if k != "translations":
                        walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)
            elif isinstance(x, str):
                texts.append(x)

        walk(city.profile.model_dump())
        for lang in ("es", "zh"):
            for english in city.profile.translations[lang].get("phrases", {}):
                assert any(english in t for t in texts), (city.slug, lang, english)
                # a single word would also be replaced inside identifiers ("metro_stations_unique")
                assert " " in english.strip(), (city.slug, lang, english)


@pytest.mark.parametrize("slug", ["santiago", "hangzhou"])
def test_generated_city_yml_validates(slug):
    done = subprocess.run([sys.executable, "-m", "citybridge", "validate", slug], capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
