"""Sentences and labels of chapters 01 and 02 in the three languages, on hand-made inputs.

The Spanish and Chinese strings are those of the package catalog (fragments
``i18n-work/network.*.po``); numbers follow each language's conventions.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citybridge import notebook as nb
from citybridge import service, service_report
from citybridge.i18n import use_language

#: Five routes: 4 and 10 min are frequent (10 is "or better"), 10.5 and 30 are not, NaN does not run.
HEADWAYS = pd.Series([4.0, 10.0, 10.5, np.nan, 30.0])


@pytest.mark.parametrize("lang, expected", [
    ("en", "In the midday period 2 of 5 routes of Hangzhou run every 10 minutes or better in at least one direction."),
    ("es", "En el período fuera de punta (mediodía), 2 de los 5 recorridos de Hangzhou pasan cada 10 minutos o menos "
           "en al menos un sentido."),
    ("zh", "在日间平峰时段，Hangzhou 的 5 条线路中有 2 条至少在一个方向上发车间隔不超过 10 分钟。"),
])
def test_frequent_routes_sentence_in_each_language(lang, expected):
    with use_language(lang):
        assert service_report.frequent_routes_sentence(HEADWAYS, period="midday", city="Hangzhou") == expected


@pytest.mark.parametrize("lang, expected", [
    ("en", "In the early period 1 of 1,234 routes of Santiago runs every 10 minutes or better in at least one "
           "direction."),
    ("es", "En el período temprano, 1 de los 1.234 recorridos de Santiago pasa cada 10 minutos o menos en al menos "
           "un sentido."),
    ("zh", "在清晨时段，Santiago 的 1,234 条线路中有 1 条至少在一个方向上发车间隔不超过 10 分钟。"),
])
def test_one_frequent_route_is_singular_and_counts_are_grouped(lang, expected):
    h = pd.Series([5.0] + [20.0] * 1233)
    with use_language(lang):
        assert service_report.frequent_routes_sentence(h, period="early", city="Santiago") == expected


def test_the_threshold_is_the_one_stated():
    s = service_report.frequent_routes_sentence(HEADWAYS, period="midday", city="X", max_headway_min=15)
    assert s == "In the midday period 3 of 5 routes of X run every 15 minutes or better in at least one direction."


@pytest.mark.parametrize("lang, expected", [
    ("en", "≤5: 1 route, ≤10: 1 route, ≤15: 1 route, ≤30: 1 route, >30: 0 routes, no service: 1 route"),
    ("es", "≤5: 1 recorrido, ≤10: 1 recorrido, ≤15: 1 recorrido, ≤30: 1 recorrido, >30: 0 recorridos, "
           "sin servicio: 1 recorrido"),
    ("zh", "≤5：1 条线路，≤10：1 条线路，≤15：1 条线路，≤30：1 条线路，>30：0 条线路，无服务：1 条线路"),
])
def test_headway_class_counts_in_each_language(lang, expected):
    classes = service.headway_class(HEADWAYS)   # ≤5, ≤10, ≤15 (10.5), none, ≤30
    with use_language(lang):
        assert service_report.headway_class_counts(classes) == expected


def test_period_table_reads_in_spanish_and_chinese():
    pt = service.period_table({"early": ("04:00", "07:00"), "midday": ("09:00", "17:00"),
                               "night": ("23:00", "28:00")})[["period", "start", "end", "minutes"]]
    with use_language("es"):
        es = nb.table(pt, caption="", source="").body
    with use_language("zh"):
        zh = nb.table(pt, caption="", source="").body
    for head in ("<th>período</th>", "<th>inicio</th>", "<th>término</th>", "<th>minutos</th>",
                 "<td>temprano</td>", "<td>fuera de punta (mediodía)</td>", "<td>nocturno</td>", "<td>480</td>"):
        assert head in es, head
    for head in ("<th>时段</th>", "<th>开始</th>", "<th>结束</th>", "<th>分钟</th>",
                 "<td>清晨</td>", "<td>日间平峰</td>", "<td>夜间</td>"):
        assert head in zh, head


def test_total_row_and_stations_header_are_translated():
    df = pd.DataFrame({"mode": ["total"], "stations": [870], "route_km": [911.0]})
    with use_language("es"):
        es = nb.table(df, caption="", source="").body
    with use_language("zh"):
        zh = nb.table(df, caption="", source="").body
    assert "<td>total</td>" in es and "<th>estaciones</th>" in es
    assert "<td>合计</td>" in zh and "<th>车站</th>" in zh


def test_a_feed_note_the_catalog_knows_reads_in_the_language():
    """Santiago's note (frequencies expanded) in chapter 01's list of what was assumed while reading."""
    from types import SimpleNamespace

    note = ("trips from frequencies.txt were expanded into concrete departures "
            "(start + k × headway, before the end time)")
    day = SimpleNamespace(date="20260706", notes=[note, "a note no catalog knows"], is_frequency_based=True,
                          trips=pd.DataFrame({"trip_id": range(3)}))
    with use_language("es"):
        es = nb.notes(day)
    with use_language("zh"):
        zh = nb.notes(day)
    assert ("<li>los viajes de frequencies.txt se expandieron en salidas concretas (inicio + k × intervalo, antes de "
            "la hora de término)</li><li>a note no catalog knows</li>") in es.body
    assert "<li>frequencies.txt 中的班次已展开为具体发车（开始时间 + k × 发车间隔，早于结束时间）</li>" in zh.body
    assert nb.notes(day).text.endswith("; " + note + "; a note no catalog knows")
