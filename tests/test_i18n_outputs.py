"""Computed texts of the comparison, KPI boards, exercises, charts and generated pages, in Spanish and Chinese."""
from __future__ import annotations

import pandas as pd

from citybridge import book_pages, charts, compare, exercises, i18n
from citybridge.phrases import translate_phrase


def _wide(status=None):
    wide = pd.DataFrame({"theme": ["access", "low carbon"],
                         "kpi": ["SDG 11.2.1 coverage (rural)", "bus CO2 per service-km"],
                         "unit": ["% of population", "gCO2/km"], "definition": ["", ""],
                         "A": [20.0, 500.0], "B": [40.0, 1900.0]})
    if status:
        wide.attrs["status"] = status
    return wide


def test_lessons_in_spanish_and_chinese():
    wide = _wide()
    assert compare.lessons(wide)[0] == ("A can learn from B on SDG 11.2.1 coverage (rural): B reaches 40.0 "
                                        "% of population against 20.0 (higher is better).")
    with i18n.use_language("es"):
        es = compare.lessons(wide)
    assert es == ["A puede aprender de B en cobertura ODS 11.2.1 (rural): B alcanza 40,0 % de la población "
                  "frente a 20,0 (más alto es mejor).",
                  "B puede aprender de A en CO2 de buses por kilómetro de servicio: A alcanza 500,0 gCO2/km "
                  "frente a 1.900,0 (más bajo es mejor)."]
    with i18n.use_language("zh"):
        zh = compare.lessons(wide)
    assert zh[0] == "A可以在“可持续发展目标 11.2.1 覆盖率（乡村）”上借鉴B：B达到 40.0 人口占比（%），而A为 20.0（越高越好）。"


def test_not_comparable_statement_in_spanish_and_chinese_with_plurals():
    wide = _wide({"A": "reconstructed", "B": "illustrative"})
    with i18n.use_language("es"):
        es = compare.lessons_and_limits(wide)
    assert es == ["No comparable: datos de muestra. Las cifras de B vienen de datos ilustrativos de enseñanza, así "
                  "que no se saca ninguna lección de sus 2 indicadores comparables (cobertura ODS 11.2.1 (rural), "
                  "CO2 de buses por kilómetro de servicio)."]
    one = wide.iloc[:1].copy()
    one.attrs = wide.attrs
    with i18n.use_language("es"):
        assert "de su 1 indicador comparable (cobertura ODS 11.2.1 (rural))" in compare.lessons_and_limits(one)[0]
    with i18n.use_language("zh"):
        assert compare.lessons_and_limits(one) == [
            "不可比较：样本数据。B的数字来自示意教学数据，因此不从其 1 项可比指标（可持续发展目标 11.2.1 覆盖率（乡村））得出结论。"]
    # English: singular for one KPI
    assert compare.lessons_and_limits(one)[0].endswith("its 1 comparable KPI (SDG 11.2.1 coverage (rural)).")


def test_kpi_phrases_are_translated_statement_by_statement():
    src = "Tiny GTFS (gtfs.zip), service day 20260105; population: census 2024; data status: illustrative"
    assert translate_phrase(src) == src
    with i18n.use_language("es"):
        assert translate_phrase(src) == ("GTFS de Tiny (gtfs.zip), día de servicio 2026-01-05; población: census "
                                         "2024; estado de los datos: ilustrativo")
        assert translate_phrase("routes per 100k inhabitants") == "recorridos por 100 mil habitantes"
        assert translate_phrase("Hangzhou (illustrative: not comparable)") == "Hangzhou (ilustrativo: no comparable)"
        assert translate_phrase("a name nobody translates") == "a name nobody translates"
    with i18n.use_language("zh"):
        assert translate_phrase(src) == "Tiny GTFS（gtfs.zip），运营日 2026-01-05；人口：census 2024；数据状态：示意"
        assert translate_phrase("bus emissions on the service day; not computed where city.yml lacks x "
                                "(no solid source for y)") == "运营日的公交排放；city.yml 缺少 x 时不计算（y 缺乏可靠来源）"


def test_chart_values_in_the_language_in_force():
    assert charts.value_text(1234.5, "km") == "1,234"
    with i18n.use_language("es"):
        assert charts.value_text(1234.5, "km") == "1.234"
        assert charts.value_text(12.345, "% of routes") == "12,3 %"
        assert charts.value_text(2.5, "t/day") == "2,50"


def test_small_multiples_are_drawn_again_in_each_language():
    t = pd.DataFrame({"kpi": ["frequent network share"], "unit": ["% of routes"], "A": [40.0], "B": [52.5]})
    fig = charts.kpi_small_multiples(t, ["A", "B"])
    with i18n.use_language("es"):
        d = charts.translated_figure(fig)
    assert d["layout"]["annotations"][0]["text"] == "participación de la red de<br>alta frecuencia (% de los<br>recorridos)"
    assert d["data"][0]["text"] == ["40,0 %", "52,5 %"] and d["layout"]["separators"] == ",."


def test_exercise_feedback_in_spanish_and_chinese():
    ctx = {"cov": pd.DataFrame({"area_class": ["rural", "urban"], "name": ["X", "Y"],
                                "pop_covered": [10.0, 90.0], "population": [100.0, 100.0],
                                "share_covered": [0.1, 0.9]})}
    with i18n.use_language("es"):
        ok, msg = exercises.diagnose("03.1", [1, 2], **ctx)
        assert not ok and msg == "Su respuesta contiene 2 valores; la pregunta pide un número."
        assert exercises.diagnose("03.1", 0.5, **ctx)[1] == (
            "Esa es toda la ciudad: quédese con las filas rurales (area_class == 'rural').")
        assert exercises.check("03.1", 0.1, **ctx).body == "<p>✅ Ejercicio 03.1: correcto.</p>"
    with i18n.use_language("zh"):
        assert exercises.diagnose("03.1", 10.0, **ctx)[1] == "你的答案是预期值的 100 倍：比例请用小数（0.42），不要用百分数。"
        assert "练习 03.1 的提示" in exercises.solution("03.1").body
    assert exercises.check("03.1", None, **ctx).text == "exercise 03.1: no answer yet"


def test_generated_pages_carry_every_language():
    text = book_pages.multilingual_md(lambda: "# " + i18n.gettext("Build report") + "\n")
    assert text.startswith("# Build report\n")
    assert book_pages.page_in_language(text, "en") == text
    assert book_pages.page_in_language(text, "es") == "# Informe de compilación\n"
    assert book_pages.page_in_language(text, "zh") == "# 构建报告\n"
    assert book_pages.page_in_language("# plain page\n", "es") == "# plain page\n"


def test_chart_alt_text_in_spanish_and_chinese():
    t = pd.DataFrame({"kpi": ["frequent network share"], "unit": ["% of routes"], "A": [40.0], "B": [52.5]})
    with i18n.use_language("es"):
        assert compare.chart_alt(t, ["A", "B"], "service") == (
            "Barras de servicio, un panel por indicador: participación de la red de alta frecuencia "
            "(% de los recorridos): A 40,0 %, B 52,5 %")
    with i18n.use_language("zh"):
        assert compare.chart_alt(t, ["A", "B"], "service") == (
            "“运营服务”条形图，每项指标一个面板：高频线网比例（线路占比（%））：A 40.0 %、B 52.5 %")


def test_left_out_sentence_in_spanish_and_chinese():
    from citybridge.session import StoredBoard, left_out_sentence

    missing = [StoredBoard("x", None, None, "its city.yml cannot be read (see the build report)"),
               StoredBoard("y", None, None, "its KPI board could not be computed (boom)")]
    assert left_out_sentence(missing) == ("Not shown side by side: x: its city.yml cannot be read (see the build "
                                          "report); y: its KPI board could not be computed (boom).")
    with i18n.use_language("es"):
        assert left_out_sentence(missing, compared=True) == (
            "No comparadas: x: no se puede leer su city.yml (ver el informe de compilación); "
            "y: no se pudo calcular su tablero de indicadores (boom).")
    with i18n.use_language("zh"):
        assert left_out_sentence(missing) == (
            "未并列显示：x：其 city.yml 无法读取（见构建报告）；y：其指标看板未能计算（boom）。")


def test_facts_table_in_the_language_in_force(tmp_path):
    from citybridge.city import load_city

    c = load_city("santiago")
    with i18n.use_language("es"):
        t = compare.facts_table([c])
    row = t[t["figure"] == "largo de la red de metro"].iloc[0]
    assert row["Santiago de Chile"].endswith("km (2025-09)") and "fuente de Santiago de Chile" in t.columns
    pop = t[t["figure"] == "población"].iloc[0]["Santiago de Chile"]
    assert "." in pop.split(" ")[0] and "," not in pop.split(" ")[0]  # 7.400.741 personas


def test_map_buttons_are_written_when_the_page_is_drawn():
    from citybridge import maps
    from citybridge.i18n import N_

    m = maps.base_map((-70.8, -33.6, -70.5, -33.3))
    maps.add_view_buttons(m, {N_("urban area"): (-70.8, -33.6, -70.5, -33.3)})
    assert '"urban area","Show urban area"' in maps.translated_page(m)
    with i18n.use_language("es"):
        assert '"área urbana","Mostrar área urbana"' in maps.translated_page(m)
    with i18n.use_language("zh"):
        assert '"城区","显示城区"' in maps.translated_page(m)


def test_drawing_languages_set_the_build_languages_only_within_the_block(monkeypatch):
    """A build draws in its editions' languages; afterwards (e.g. the next test in the same
    process) an output is drawn in the language in force only."""
    from citybridge import notebook as nb
    from citybridge.texts import EDITIONS_ENV, Text, drawing_languages, output_languages

    monkeypatch.delenv(EDITIONS_ENV, raising=False)
    with drawing_languages(["es", "en"]) as langs:
        assert langs == ("en", "es") and output_languages() == ["en", "es"]
        drawn = nb.say(Text("population"))
        assert drawn.body == '<p class="cb-finding">population</p>'
        assert drawn.variants["es"]["text/html"] == '<p class="cb-finding">población</p>'
    assert EDITIONS_ENV not in __import__("os").environ
    with i18n.use_language("es"):
        alone = nb.say(Text("population"))
    assert alone.body == '<p class="cb-finding">población</p>' and not alone.variants
