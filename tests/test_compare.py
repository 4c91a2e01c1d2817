"""KPI table columns and units, computed lessons, side-by-side facts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citybridge import compare, kpi
from citybridge.city import load_city
from gtfs_fixtures import timetable_tables, write_feed

PROFILE = """name: {name}
crs: EPSG:32719
timezone: America/Santiago
facts:
  - {{metric: metro_lines, value: {lines}, unit: lines, year: 2025, source: "test source {name}"}}
"""


@pytest.fixture()
def tiny_city(tmp_path):
    d = tmp_path / "tiny"
    d.mkdir()
    (d / "city.yml").write_text(PROFILE.format(name="Tiny", lines=2))
    write_feed(d / "gtfs.zip", timetable_tables())
    return load_city(d)


def test_kpi_table_columns_units_and_missing_inputs(tiny_city):
    t = kpi.kpi_table(tiny_city, date="20260107")
    assert list(t.columns) == ["theme", "kpi", "value", "unit", "definition", "source", "status",
                               "published", "published_source", "difference"]
    assert set(t["status"]) == {"official"}  # a trainer's own feed without data_status
    assert set(t["theme"]) == set(kpi.THEMES)
    v = t.set_index("kpi")
    assert v.loc["routes", "value"] == 2 and v.loc["routes", "unit"] == "routes"
    assert v.loc["trips per day", "value"] == 5
    assert v.loc["peak vehicles in service", "value"] == 2
    # 3 of 4 bus links of 1 km in 6 min each: 10 km/h
    assert v.loc["average scheduled speed (bus)", "value"] == pytest.approx(10.0, rel=0.01)
    assert v.loc["average scheduled speed (bus)", "unit"] == "km/h"
    # no boundaries, population, bike share or emission parameters: rows kept, reason given
    assert np.isnan(v.loc["SDG 11.2.1 coverage", "value"]) and "not computed" in v.loc["SDG 11.2.1 coverage", "definition"]
    assert np.isnan(v.loc["bike-share stations", "value"]) and "GBFS" in v.loc["bike-share stations", "definition"]
    assert "not computed" in v.loc["bus CO2 per service-km", "definition"]
    assert all("Tiny GTFS" in s for s in t["source"])


def test_lessons_are_computed_from_the_numbers():
    wide = pd.DataFrame({"theme": ["access", "low carbon", "service"],
                         "kpi": ["SDG 11.2.1 coverage (rural)", "bus CO2 per service-km", "frequent network share"],
                         "unit": ["% of population", "gCO2/km", "% of routes"], "definition": ["", "", ""],
                         "A": [20.0, 500.0, 50.0], "B": [40.0, 900.0, 52.0]})
    out = compare.lessons(wide)
    assert any(s.startswith("A can learn from B on SDG 11.2.1 coverage (rural)") for s in out)
    assert any(s.startswith("B can learn from A on bus CO2 per service-km") and "lower is better" in s for s in out)
    # 50 vs 52 is below the 10 % threshold: no statement
    assert not any("frequent network share" in s for s in out)


def test_no_lesson_from_illustrative_data():
    wide = pd.DataFrame({"theme": ["access", "low carbon"],
                         "kpi": ["SDG 11.2.1 coverage (rural)", "bus CO2 per service-km"],
                         "unit": ["% of population", "gCO2/km"], "definition": ["", ""],
                         "A": [20.0, 500.0], "B": [40.0, 900.0], "C": [60.0, 100.0]})
    wide.attrs["status"] = {"A": "reconstructed", "B": "official", "C": "illustrative"}
    out = compare.lessons(wide)
    assert out and not any("C" in s.split(" on ")[0] or "from C" in s for s in out)
    assert any(s.startswith("A can learn from B on SDG 11.2.1") for s in out)
    nc = compare.not_comparable(wide)
    assert list(nc["kpi"]) == ["SDG 11.2.1 coverage (rural)", "bus CO2 per service-km"]
    assert set(nc["cities"]) == {"C"} and all("sample data" in r for r in nc["reason"])
    full = compare.lessons_and_limits(wide)
    assert full[-1].startswith("Not comparable: sample data. C's figures") and "2 comparable KPIs" in full[-1]
    # only illustrative cities besides one: no lesson at all, and the reason stated
    wide.attrs["status"] = {"A": "reconstructed", "B": "illustrative", "C": "illustrative"}
    assert compare.lessons(wide) == []
    assert len(compare.lessons_and_limits(wide)) == 2


def test_published_values_sit_beside_the_computed_ones(tmp_path):
    d = tmp_path / "pub"
    d.mkdir()
    (d / "city.yml").write_text(PROFILE.format(name="Pub", lines=2) +
                                "published:\n- kpi: routes\n  value: 3\n  unit: routes\n  year: 2025\n"
                                "  source: https://example.org/report — annual report\n")
    write_feed(d / "gtfs.zip", timetable_tables())
    t = kpi.kpi_table(load_city(d), date="20260107").set_index("kpi")
    assert t.loc["routes", "published"] == 3 and t.loc["routes", "difference"] == -1
    assert "annual report" in t.loc["routes", "published_source"] and "2025" in t.loc["routes", "published_source"]
    assert np.isnan(t.loc["trips per day", "published"])


def test_facts_table_has_the_same_rows_for_every_city(tmp_path, tiny_city):
    d = tmp_path / "other"
    d.mkdir()
    (d / "city.yml").write_text(PROFILE.format(name="Other", lines=7))
    write_feed(d / "gtfs.zip", timetable_tables())
    t = compare.facts_table([tiny_city, load_city(d)])
    assert list(t.columns) == ["figure", "Tiny", "Tiny source", "Other", "Other source"]
    row = t.set_index("figure").loc["metro lines"]
    assert row["Tiny"] == "2 lines (2025)" and row["Other"] == "7 lines (2025)"
    assert row["Other source"] == "test source Other"


def test_a_broken_optional_input_costs_its_theme_only(tmp_path):
    import json

    d = tmp_path / "bikes"
    (d / "gbfs").mkdir(parents=True)
    (d / "city.yml").write_text(PROFILE.format(name="Bikes", lines=2) + "gbfs: gbfs\n")
    write_feed(d / "gtfs.zip", timetable_tables())
    (d / "gbfs" / "station_information.json").write_text(json.dumps({"data": {"stations": [
        {"station_id": "b1", "name": "Uno", "lat": -33.45, "lon": -70.70, "capacity": "many"}]}}))
    t = kpi.kpi_table(load_city(d), date="20260107").set_index("kpi")
    assert t.loc["routes", "value"] == 2 and t.loc["trips per day", "value"] == 5
    assert np.isnan(t.loc["multimodal KPIs", "value"])
    assert "not a number of docks" in t.loc["multimodal KPIs", "definition"]
