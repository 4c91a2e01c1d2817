"""The trainer path in Spanish and Chinese: validate's findings and report, the command's
--lang, and the errors of city.yml and GTFS reading (exact strings, hand-checked)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from citybridge import cli, i18n
from citybridge import notebook as nb
from citybridge import validate as V
from citybridge.city import load_city
from citybridge.errors import FeedError, ProfileError
from citybridge.feed import read_feed
from citybridge.findings import finding
from citybridge.texts import T
from gtfs_fixtures import timetable_tables, write_feed


@pytest.fixture(autouse=True)
def _english_environment(monkeypatch):
    monkeypatch.delenv("CITYBRIDGE_LANG", raising=False)
    monkeypatch.delenv("CITYBRIDGE_EDITIONS", raising=False)
    monkeypatch.setenv("LC_ALL", "C")


def _findings():
    return [finding("fatal", "feed.zip/stops.txt",
                    T("{n} duplicate {key} value(s), first '{value}'; every {key} must be unique: rename or "
                      "remove the repeated rows", n=2, key="stop_id", value="S1"), "stop_id", 3),
            finding("warning", "feed.zip/stop_times.txt",
                    T("{n:,} trip(s) have no stop times (first '{trip}'); they are ignored", n=1234, trip="T9"),
                    "trip_id", 12),
            finding("info", "feed.zip/shapes.txt",
                    T("absent: route lines are drawn straight from stop to stop and route-km are measured the "
                      "same way"))]


def test_summary_sentence_in_each_language():
    f = _findings()
    assert V.summary_sentence(f, "Cairns") == (
        "Cairns: 1 fatal problem(s), 1 warning(s) and 1 note(s); it cannot be fully built until the fatal "
        "problems below are fixed.")
    with i18n.use_language("es"):
        assert V.summary_sentence(f, "Cairns") == (
            "Cairns: 1 problema(s) fatal(es), 1 advertencia(s) y 1 nota(s); no se puede construir completa "
            "hasta corregir los problemas fatales de abajo.")
    with i18n.use_language("zh"):
        assert V.summary_sentence(f[1:], "Cairns") == (
            "Cairns：致命问题 0 个，警告 1 个，说明 1 条；可以生成，但请核查下面的警告。")


def test_a_finding_is_translated_when_shown_with_the_numbers_of_the_language():
    f = _findings()[1]
    assert f.message == "1,234 trip(s) have no stop times (first 'T9'); they are ignored"
    with i18n.use_language("es"):
        assert f.message == "1.234 viaje(s) no tienen horarios de parada (el primero 'T9'); se ignoran"
    with i18n.use_language("zh"):
        assert f.message == "1,234 个班次没有停站时刻（第一个是 'T9'）；已忽略"


def test_report_in_spanish():
    buf = io.StringIO()
    with i18n.use_language("es"):
        code = V.print_report(_findings(), "feed.zip", stream=buf)
    assert code == 2
    lines = buf.getvalue().splitlines()
    assert lines[0] == ("citybridge validate feed.zip: todavía NO utilizable (1 fatal(es), 1 advertencia(s), "
                        "1 nota(s)); código de salida 2")
    assert lines[2] == ("FATAL: la ciudad no se puede construir (o un capítulo fallará) hasta que se corrijan "
                        "estos problemas")
    assert lines[3] == "  1. feed.zip/stops.txt, columna 'stop_id', fila 3:"
    text = " ".join(buf.getvalue().split())
    assert ("2 valor(es) de stop_id repetido(s), el primero 'S1'; cada stop_id debe ser único: cambie el "
            "nombre de las filas repetidas o elimínelas") in text
    assert text.endswith("Corrija primero los puntos FATALES y luego vuelva a ejecutar este comando.")


def test_findings_table_keeps_texts_and_headers_translate():
    df = V.findings_table(_findings())
    assert list(df.columns) == ["severity", "file", "column", "row", "message"]
    with i18n.use_language("es"):
        assert [nb.header(c) for c in df.columns] == ["gravedad", "archivo", "columna", "fila", "mensaje"]
        assert str(df["message"][0]).startswith("2 valor(es) de stop_id repetido(s)")
    with i18n.use_language("zh"):
        assert [nb.header(c) for c in df.columns] == ["严重程度", "文件", "列", "行", "信息"]
        assert i18n.gettext("warning") == "警告"
    assert i18n.gettext("") == ""  # a blank cell stays blank (not the catalog's header)


def test_cli_lang_option_before_or_after_the_command(tmp_path, capsys):
    p = write_feed(tmp_path / "f.zip", timetable_tables())
    assert cli.main(["validate", str(p), "--lang", "es"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith(f"citybridge validate {p}: OK (0 fatal(es), 0 advertencia(s), ")
    assert "fecha de análisis 20260105: 5 viajes en 2 recorridos" in out
    assert cli.main(["--lang", "zh", "validate", str(p)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"citybridge validate {p}：正常（致命 0 个，警告 0 个，说明 ")
    assert i18n.current_language() == "en"  # the command's language does not outlive it


def test_cli_language_from_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CITYBRIDGE_LANG", "es")
    assert cli.main(["validate", str(tmp_path / "nowhere.zip")]) == 2
    assert "no existe ese archivo, carpeta o ciudad" in capsys.readouterr().out
    monkeypatch.delenv("CITYBRIDGE_LANG")
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert cli.main(["validate", str(tmp_path / "nowhere.zip")]) == 2
    assert "没有这个文件、文件夹或城市" in capsys.readouterr().out


def test_cli_unknown_language_lists_the_languages(tmp_path, capsys):
    assert cli.main(["validate", str(tmp_path), "--lang", "fr"]) == 2
    assert capsys.readouterr().err.strip() == (
        "citybridge: --lang 'fr': not a language of the workbook; use one of en, es, zh (English, Español, 中文)")


def test_city_and_feed_errors_in_spanish_and_chinese(tmp_path):
    with i18n.use_language("es"), pytest.raises(ProfileError) as e:
        load_city("nowhere", root=tmp_path)
    assert str(e.value) == (f"{tmp_path / 'nowhere'}: no existe esa carpeta de ciudad (ciudades presentes: "
                            "ninguna); cree una con 'citybridge new-city'")
    t = timetable_tables()
    del t["stop_times.txt"]
    p = write_feed(tmp_path / "g.zip", t)
    with i18n.use_language("zh"), pytest.raises(FeedError) as e:
        read_feed(p)
    assert str(e.value) == (f"{p}: 缺少必需的 GTFS 文件：stop_times.txt；数据需要 agency、stops、routes、trips、"
                            "stop_times 和日历文件。")


def test_weekend_analysis_day_note_names_the_day_in_each_language():
    from citybridge.feed import date_choice_note, date_choice_text

    assert date_choice_note("20260105") == [] and date_choice_text("20260105") == []
    note = ("the feed has no weekday service, so the analysis day is Saturday 2026-01-10, the busiest day with "
            "service; figures describe that day, not a working day")
    with i18n.use_language("es"):
        assert date_choice_note("20260110") == [note]  # the service day's notes stay in English (cached)
        assert str(date_choice_text("20260110")[0]) == (
            "el feed no tiene servicio en días hábiles, así que el día de análisis es el sábado 2026-01-10, el día "
            "con más servicio; las cifras describen ese día, no un día hábil")
    with i18n.use_language("zh"):
        assert str(date_choice_text("20260110")[0]) == (
            "该数据没有工作日运营，因此分析日为 2026-01-10（星期六），即运营最多的一天；数字描述的是这一天，而不是工作日")


def test_city_profile_problems_in_spanish(tmp_path):
    from citybridge.newcity import new_city

    folder = new_city("testville", write_feed(tmp_path / "f.zip", timetable_tables()), root=tmp_path / "cities")
    yml = folder / "city.yml"
    yml.write_text(yml.read_text(encoding="utf-8") + "colour: blue\n", encoding="utf-8")
    with i18n.use_language("es"), pytest.raises(ProfileError) as e:
        load_city(folder)
    assert str(e.value).splitlines() == [
        f"{yml}: el perfil no es válido (1 problema(s)):",
        "  - la clave 'colour' no es un ajuste conocido; quítela o revise cómo está escrita"]
    yml.write_text("name: A\nname: B\n", encoding="utf-8")
    with i18n.use_language("zh"), pytest.raises(ProfileError) as e:
        load_city(folder)
    assert str(e.value) == f"{yml}, line 2: 键 'name' 出现了两次（第一次在第 1 行）；请只保留一个"


def test_mode_names_in_the_modes_note_are_translated(tmp_path):
    f = [x for x in V.validate(write_feed(tmp_path / "f.zip", timetable_tables())) if "modes" in x.message]
    assert f[0].message == "modes: bus 1, metro 1 route(s)"
    with i18n.use_language("zh"):
        assert f[0].message == "交通方式：公交 1, 地铁 1 条线路"


def test_new_city_refuses_a_bad_name_in_chinese(tmp_path, capsys):
    feed = write_feed(tmp_path / "f.zip", timetable_tables())
    assert cli.main(["new-city", "Bad Name", "--gtfs", str(feed), "--lang", "zh"]) == 2
    assert capsys.readouterr().err.strip() == (
        "citybridge new-city: 'Bad Name' 不能作为城市名称：请使用 1 到 40 个小写字母、数字、'-' 或 '_'，并以字母开头"
        "（例如 'valparaiso' 或 'cairns-2014'）")


def test_input_layer_errors_name_the_layer_in_the_language():
    import geopandas as gpd
    from shapely.geometry import Point

    from citybridge.errors import DataError
    from citybridge.inputs.geo import polygons

    gdf = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    with i18n.use_language("es"), pytest.raises(DataError) as e:
        polygons(gdf, "b.geojson", what="boundaries")
    assert str(e.value) == (
        "b.geojson, column 'geometry', row 1: 1 elemento(s) del archivo de límites no se pueden usar: el primero no "
        "es un polígono (un punto o una línea no tiene superficie, así que su población contaría como no atendida); "
        "entregue polígonos de comunas")
    with i18n.use_language("zh"), pytest.raises(DataError) as e:
        polygons(gdf, "b.geojson", what="boundaries")
    assert str(e.value).startswith("b.geojson, column 'geometry', row 1: 行政边界文件中有 1 个要素无法使用：第一个不是多边形")


def test_reader_notes_stay_english_strings_and_show_translated(tmp_path):
    import pickle

    from citybridge.texts import TextStr, resolve

    t = timetable_tables()
    t["trips.txt"] = t["trips.txt"].replace("M1,WK,MT1", "M1,XX,MT1")
    f = [x for x in V.validate(write_feed(tmp_path / "f.zip", t)) if "service_id" in x.message]
    assert f[0].message == ("f.zip/trips.txt, column 'service_id', row 5: 1 trip(s) name a service_id in neither "
                            "calendar.txt nor calendar_dates.txt (first 'XX'), so they never run; add the service "
                            "or correct the id")
    with i18n.use_language("es"):
        assert f[0].message == ("f.zip/trips.txt, column 'service_id', row 5: 1 viaje(s) nombran un service_id que "
                                "no está ni en calendar.txt ni en calendar_dates.txt (el primero 'XX'), así que nunca "
                                "operan; agregue el servicio o corrija el identificador")
    note = TextStr(T("{n:,} blank stop times were interpolated linearly between the timed stops of their trip",
                     n=1500))
    assert note == "1,500 blank stop times were interpolated linearly between the timed stops of their trip"
    kept = pickle.loads(pickle.dumps(note))  # a cached service day keeps its notes' translations
    with i18n.use_language("zh"):
        assert resolve(kept) == "1,500 个空的停站时刻已在所属班次有时间的站点之间线性插值"
