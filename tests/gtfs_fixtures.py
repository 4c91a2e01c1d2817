"""Small hand-made GTFS feeds for unit tests.

Every feed is written as a zip from plain CSV text so that the tests read it
through the same safe path as a trainer's feed.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

AGENCY = "agency_id,agency_name,agency_url,agency_timezone\nA,Test Transit,http://example.org,America/Santiago\n"

# Four stops on a straight east-west line near Santiago, 1 km apart
# (0.010745 degrees of longitude at 33.45 S is about 1,000 m).
STOPS = (
    "stop_id,stop_name,stop_lat,stop_lon\n"
    "S1,Uno,-33.45,-70.70\n"
    "S2,Dos,-33.45,-70.689255\n"
    "S3,Tres,-33.45,-70.67851\n"
    "S4,Cuatro,-33.45,-70.667765\n"
)

ROUTES = (
    "route_id,agency_id,route_short_name,route_long_name,route_type\n"
    "B1,A,101,Bus uno,3\n"
    "M1,A,L1,Metro uno,1\n"
)

CALENDAR = (
    "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
    "WK,1,1,1,1,1,0,0,20260105,20260201\n"
    "SU,0,0,0,0,0,0,1,20260105,20260201\n"
)


def write_feed(path: Path, tables: dict[str, str]) -> Path:
    """Write ``{"stops.txt": "csv text", ...}`` as a zip at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in tables.items():
            zf.writestr(name, text)
    return path


def timetable_tables() -> dict[str, str]:
    """Bus B1: 3 weekday trips S1→S4 at 07:00, 07:10, 07:30, 6 min between stops;
    one late trip at 24:50 (past midnight). Metro M1: one trip S1→S4."""
    st = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    for tid, start in (("T1", 7 * 60), ("T2", 7 * 60 + 10), ("T3", 7 * 60 + 30), ("TN", 24 * 60 + 50)):
        for i in range(4):
            m = start + 6 * i
            t = f"{m // 60:02d}:{m % 60:02d}:00"
            st.append(f"{tid},{t},{t},S{i + 1},{i + 1}")
    for i in range(4):
        m = 8 * 60 + 2 * i
        t = f"{m // 60:02d}:{m % 60:02d}:00"
        st.append(f"MT1,{t},{t},S{i + 1},{i + 1}")
    trips = ("route_id,service_id,trip_id,direction_id\n"
             "B1,WK,T1,0\nB1,WK,T2,0\nB1,WK,T3,0\nB1,WK,TN,0\nM1,WK,MT1,0\n")
    return {"agency.txt": AGENCY, "stops.txt": STOPS, "routes.txt": ROUTES,
            "trips.txt": trips, "stop_times.txt": "\n".join(st) + "\n", "calendar.txt": CALENDAR}


def frequency_tables() -> dict[str, str]:
    """The bus of :func:`timetable_tables` as a template trip every 10 min
    from 07:00 to 07:30 (3 departures: 07:00, 07:10, 07:20)."""
    st = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    for i in range(4):
        m = 7 * 60 + 6 * i
        t = f"{m // 60:02d}:{m % 60:02d}:00"
        st.append(f"F1,{t},{t},S{i + 1},{i + 1}")
    trips = "route_id,service_id,trip_id,direction_id\nB1,WK,F1,0\n"
    freq = "trip_id,start_time,end_time,headway_secs,exact_times\nF1,07:00:00,07:30:00,600,0\n"
    return {"agency.txt": AGENCY, "stops.txt": STOPS, "routes.txt": ROUTES, "trips.txt": trips,
            "stop_times.txt": "\n".join(st) + "\n", "calendar.txt": CALENDAR, "frequencies.txt": freq}


def timetable_twin_of_frequency() -> dict[str, str]:
    """The exact timetable equivalent of :func:`frequency_tables`."""
    st = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    for tid, start in (("T1", 420), ("T2", 430), ("T3", 440)):
        for i in range(4):
            m = start + 6 * i
            t = f"{m // 60:02d}:{m % 60:02d}:00"
            st.append(f"{tid},{t},{t},S{i + 1},{i + 1}")
    trips = "route_id,service_id,trip_id,direction_id\nB1,WK,T1,0\nB1,WK,T2,0\nB1,WK,T3,0\n"
    return {"agency.txt": AGENCY, "stops.txt": STOPS, "routes.txt": ROUTES, "trips.txt": trips,
            "stop_times.txt": "\n".join(st) + "\n", "calendar.txt": CALENDAR}


def calendar_dates_only_tables() -> dict[str, str]:
    """Service defined only by calendar_dates: Tue 2026-01-06 and Wed 2026-01-07
    (2 trips each), Thu 2026-01-08 (3 trips)."""
    t = timetable_tables()
    del t["calendar.txt"]
    t["trips.txt"] = ("route_id,service_id,trip_id,direction_id\n"
                      "B1,D1,T1,0\nB1,D1,T2,0\nB1,D2,T3,0\nB1,D3,TN,0\nM1,D3,MT1,0\n")
    t["calendar_dates.txt"] = ("service_id,date,exception_type\n"
                               "D1,20260106,1\nD1,20260107,1\nD1,20260108,1\nD2,20260108,1\n"
                               "D3,20260110,1\n")
    return t
