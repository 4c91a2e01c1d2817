"""Small real-shaped feeds with the traits that broke chapters (issue 13, class 0).

Each is what a trainer meets with a real public feed that ``validate`` calls
usable: no buses at all (rail only), ferries only, periods with no service,
service only in ``calendar_dates.txt`` with one-digit hours (``8:00:00``),
and a frequency-based metropolitan feed with many route types and windows
past 24:00. :func:`write_city` writes one as a city folder (city.yml with no
optional files, as ``new-city`` makes it from a bare feed).
"""
from __future__ import annotations

from pathlib import Path

from gtfs_fixtures import AGENCY, STOPS, write_feed

CALENDAR = ("service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
            "WK,1,1,1,1,1,0,0,20260105,20260201\n")


def _hhmm(minutes: int, *, pad: bool = True) -> str:
    h, m = divmod(minutes, 60)
    return f"{h:02d}:{m:02d}:00" if pad else f"{h}:{m:02d}:00"


def _stop_times(trips: list[tuple[str, int]], *, step: int = 3, pad: bool = True) -> str:
    rows = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    for tid, start in trips:
        for i in range(4):
            t = _hhmm(start + step * i, pad=pad)
            rows.append(f"{tid},{t},{t},S{i + 1},{i + 1}")
    return "\n".join(rows) + "\n"


def rail_only() -> dict[str, str]:
    """Metro and suburban rail, no bus route at all (weekday timetable)."""
    routes = ("route_id,agency_id,route_short_name,route_long_name,route_type\n"
              "M1,A,L1,Metro uno,1\nR1,A,S1,Suburbano,2\n")
    trips = [("M%d" % i, 6 * 60 + 10 * i) for i in range(12)] + [("R%d" % i, 7 * 60 + 30 * i) for i in range(4)]
    tt = "route_id,service_id,trip_id,direction_id\n" + "".join(
        f"{'M1' if t.startswith('M') else 'R1'},WK,{t},0\n" for t, _ in trips)
    return {"agency.txt": AGENCY, "stops.txt": STOPS, "routes.txt": routes, "trips.txt": tt,
            "stop_times.txt": _stop_times(trips), "calendar.txt": CALENDAR}


def ferry_only() -> dict[str, str]:
    """One ferry line, every 30 min from 07:00 to 19:00 (weekdays)."""
    routes = "route_id,agency_id,route_short_name,route_long_name,route_type\nF1,A,F,Ferry,4\n"
    trips = [(f"F{i}", 7 * 60 + 30 * i) for i in range(25)]
    tt = "route_id,service_id,trip_id,direction_id\n" + "".join(f"F1,WK,{t},0\n" for t, _ in trips)
    return {"agency.txt": AGENCY, "stops.txt": STOPS, "routes.txt": routes, "trips.txt": tt,
            "stop_times.txt": _stop_times(trips, step=8), "calendar.txt": CALENDAR}


def empty_periods() -> dict[str, str]:
    """Buses only between 10:00 and 12:00 (every period but midday empty), and
    a tram route listed in routes.txt that has no trip."""
    routes = ("route_id,agency_id,route_short_name,route_long_name,route_type\n"
              "B1,A,101,Bus uno,3\nT1,A,T,Tram,0\n")
    trips = [(f"B{i}", 10 * 60 + 20 * i) for i in range(6)]
    tt = "route_id,service_id,trip_id,direction_id\n" + "".join(f"B1,WK,{t},0\n" for t, _ in trips)
    return {"agency.txt": AGENCY, "stops.txt": STOPS, "routes.txt": routes, "trips.txt": tt,
            "stop_times.txt": _stop_times(trips, step=5), "calendar.txt": CALENDAR}


def calendar_dates_one_digit_hours() -> dict[str, str]:
    """Service only in calendar_dates.txt; times written 8:00:00 (one-digit hours)."""
    routes = ("route_id,agency_id,route_short_name,route_long_name,route_type\n"
              "B1,A,101,Bus uno,3\nM1,A,L1,Metro uno,1\n")
    trips = [(f"B{i}", 6 * 60 + 15 * i) for i in range(16)] + [("MX", 8 * 60)]
    tt = "route_id,service_id,trip_id,direction_id\n" + "".join(
        f"{'M1' if t == 'MX' else 'B1'},D1,{t},0\n" for t, _ in trips)
    cd = "service_id,date,exception_type\n" + "".join(f"D1,202601{d:02d},1\n" for d in range(5, 10))
    return {"agency.txt": AGENCY, "stops.txt": STOPS, "routes.txt": routes, "trips.txt": tt,
            "stop_times.txt": _stop_times(trips, step=4, pad=False), "calendar_dates.txt": cd}


def many_route_types() -> dict[str, str]:
    """Frequency-based metropolitan feed: bus (3 and extended 700), metro,
    rail, tram, ferry and cable car, with night windows running past 24:00."""
    kinds = [("B1", 3), ("B2", 700), ("M1", 1), ("R1", 2), ("T1", 0), ("F1", 4), ("C1", 6)]
    routes = "route_id,agency_id,route_short_name,route_long_name,route_type\n" + "".join(
        f"{r},A,{r},Line {r},{t}\n" for r, t in kinds)
    trips = [(f"X{r}", 6 * 60) for r, _ in kinds] + [(f"N{r}", 23 * 60) for r, _ in kinds[:3]]
    tt = "route_id,service_id,trip_id,direction_id\n" + "".join(f"{t[1:]},WK,{t},0\n" for t, _ in trips)
    freq = ["trip_id,start_time,end_time,headway_secs,exact_times"]
    for r, _ in kinds:
        freq.append(f"X{r},06:00:00,22:00:00,600,0")
    for r, _ in kinds[:3]:
        freq.append(f"N{r},23:00:00,25:30:00,1200,0")
    return {"agency.txt": AGENCY, "stops.txt": STOPS, "routes.txt": routes, "trips.txt": tt,
            "stop_times.txt": _stop_times(trips, step=4), "calendar.txt": CALENDAR,
            "frequencies.txt": "\n".join(freq) + "\n"}


FEEDS = {"railonly": rail_only, "ferryonly": ferry_only, "emptyperiods": empty_periods,
         "datesonly": calendar_dates_one_digit_hours, "manytypes": many_route_types}

PROFILE = ("name: {name}\ncountry: Chile\ntimezone: America/Santiago\ncrs: EPSG:32719\n"
           "gtfs: gtfs.zip\n")


#: Test values only (a fixture, not a city): they let chapter 05 run its computing path.
PARAMETERS = "parameters:\n" + "".join(
    f"  {k}: {{value: {v}, unit: '{u}', year: '2026', source: test fixture value}}\n"
    for k, v, u in (("grid_kgco2_per_kwh", 0.3, "kgCO2/kWh"), ("diesel_kgco2_per_litre", 2.7, "kgCO2/L"),
                    ("diesel_bus_litres_per_100km", 40, "L/100 km"), ("ebus_kwh_per_km", 1.2, "kWh/km")))
#: Fixtures whose profile carries emission parameters (the others have none, as new-city writes them).
WITH_PARAMETERS = {"railonly", "manytypes"}


def write_city(root: Path, slug: str) -> Path:
    """Write the fixture ``slug`` of :data:`FEEDS` as ``root/slug`` (city.yml + gtfs.zip)."""
    folder = root / slug
    folder.mkdir(parents=True, exist_ok=True)
    write_feed(folder / "gtfs.zip", FEEDS[slug]())
    text = PROFILE.format(name=slug.capitalize()) + (PARAMETERS if slug in WITH_PARAMETERS else "")
    (folder / "city.yml").write_text(text, encoding="utf-8")
    return folder
