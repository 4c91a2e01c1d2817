"""Optional parts of ``make bench`` (``python bench/run.py --only NAME``), not run by default.

* ``workers``: four cities (the two shipped cities and copies of them under
  other slugs) built with ``--workers 1`` and ``--workers 2``;
* ``air``: segment grouping and NOx/PM2.5 emissions (chapter 05) for the two
  cities and a frequency-based big feed, in this process;
* ``observed``: chapter 08's analysis of Santiago's GTFS-Realtime capture;
* ``resilience``: the criticality ranking (chapter 09) of each shipped city.

They call package functions directly (not only the ``citybridge`` command), so
they may need updating when the package's modules move.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import feeds
from common import BENCH, PY, ROOT, copy_project, default_date, say


def bench_workers(results: dict) -> None:
    say("== Parallel build: 4 cities (2 samples + copies under other slugs), every notebook executed,"
        " fresh copy each")
    extra = {"hangzhou-b": "hangzhou", "santiago-b": "santiago"}
    runs = {}
    for w in (1, 2):
        with tempfile.TemporaryDirectory(prefix="cb-bench-workers-") as tmp:
            project = copy_project(Path(tmp) / "p", extra)
            t0 = time.perf_counter()
            proc = subprocess.run([PY, str(BENCH / "build_timed.py"), str(project), str(w)],
                                  capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                raise SystemExit(f"build with --workers {w} failed:\n{proc.stderr[-3000:]}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            if r["failed"] or r["city_errors"]:
                raise SystemExit(f"build with --workers {w}: failures {r['failed']} {r['city_errors']}")
            r["wall_s"] = wall
            runs[w] = r
        say(f"   --workers {w}: {r['wall_s']:7.1f} s  (notebooks {r['notebooks_s']:.1f} s for {r['jobs']} jobs,"
            f" HTML {r['html_s']:.1f} s)")
    ratio = runs[1]["wall_s"] / runs[2]["wall_s"]
    nb_ratio = runs[1]["notebooks_s"] / runs[2]["notebooks_s"]
    say(f"   speed-up with 2 workers: {ratio:.2f}x whole build, {nb_ratio:.2f}x notebook phase"
        f" (target >= 1.6x): {'MET' if ratio >= 1.6 else 'NOT MET'}")
    results["workers"] = {"runs": runs, "speedup": ratio, "notebook_speedup": nb_ratio}


def bench_air(results: dict) -> None:
    say("== Clean air: segment groups and NOx/PM2.5 per segment (chapter 05), in this process")
    from citybridge import air
    from citybridge.city import load_city
    from citybridge.feed import prepare_day, read_feed

    classes = load_city(ROOT / "data" / "cities" / "santiago").profile.fleet_classes
    freq, freq_label = feeds.big_frequency_feed()
    cases = [("Hangzhou (data/cities)", ROOT / "data" / "cities" / "hangzhou" / "gtfs.zip", "EPSG:32650"),
             ("Santiago (data/cities)", ROOT / "data" / "cities" / "santiago" / "gtfs.zip", "EPSG:32719"),
             (f"frequency-based: {freq_label}", freq, "EPSG:32719")]
    rows = []
    say(f"   {'feed':<42} {'stop events':>11} {'groups':>9} {'grouping':>9} {'emissions':>10}")
    for label, path, crs in cases:
        day = prepare_day(read_feed(path), default_date(path), crs=crs)
        t0 = time.perf_counter()
        g = air.segment_groups(day)
        t1 = time.perf_counter()
        em = air.segment_emissions(g, classes)
        t2 = time.perf_counter()
        row = {"feed": label, "stop_events": len(day.stop_times), "groups": len(g), "grouping_s": t1 - t0,
               "emissions_s": t2 - t1, "nox_t_per_day": float(em["nox_g"].sum() / 1e6)}
        rows.append(row)
        say(f"   {label:<42} {row['stop_events']:>11,} {row['groups']:>9,} {row['grouping_s']:>7.1f} s "
            f"{row['emissions_s']:>8.2f} s")
    say("   target: factors applied to grouped segments, never per trip: emissions < 5 s for a network of "
        "3.7 million stop events (grouping is dominated by citybridge.speed.segment_speeds)")
    results["air"] = rows
def bench_observed(results: dict) -> None:
    """Chapter 08 on Santiago's shipped capture (about 7,100 buses x 4 snapshots), in a fresh process."""
    say("== observed operations (chapter 08): Santiago's GTFS-Realtime capture")
    code = ("import json, time; from citybridge.city import load_city; from citybridge import observed_view as V; "
            "c = load_city('santiago'); t = time.perf_counter(); o = V.analyse(c); "
            "print(json.dumps({'s': time.perf_counter() - t, 'positions': len(o.positions), "
            "'lines': len(o.lines), 'moves': len(o.moves)}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    say(f"   analyse: {r['s']:.1f} s for {r['positions']:,} positions against {r['lines']:,} route-direction lines"
        f" ({r['moves']:,} moves); target <= 60 s: {'MET' if r['s'] <= 60 else 'NOT MET'}")
    results["observed"] = r
CRITICALITY = """
import json, sys, time
from citybridge import access, criticality, resilience
from citybridge.city import load_city
from citybridge.feed import feed_day
city = load_city(sys.argv[1])
day = feed_day(city)
d = access.districts(city)
layer = access.population_layer(city)
t0 = time.perf_counter()
base = resilience.baseline(day, d, periods=city.periods, layer=layer, people=False)
t1 = time.perf_counter()
crit = criticality.criticality(day, d, periods=city.periods, layer=layer, base=base)
took = time.perf_counter() - t0
sec = crit[crit["kind"] == "metro section"]
print(json.dumps({"seconds": took, "stations_seconds": t1 - t0, "sections": len(sec),
                  "corridors": int((crit["kind"] == "bus corridor").sum()),
                  "stop_times": len(day.stop_times),
                  "top": [[r.label, round(r.pop_lose_frequent)] for r in sec.head(5).itertuples()]}))
"""


def bench_resilience(results: dict) -> None:
    say("== Resilience: criticality ranking of every metro section and the 10 busiest bus corridors")
    from citybridge.city import list_cities

    out = {}
    for slug in list_cities(ROOT / "data" / "cities"):
        proc = subprocess.run([PY, "-c", CRITICALITY, slug], capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            say(f"{slug:>10}: failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else '?'}")
            continue
        r = json.loads(proc.stdout)
        out[slug] = r
        say(f"{slug:>10}: {r['sections']} metro sections + {r['corridors']} bus corridors ranked in "
            f"{r['seconds']:.1f} s, of which {r['stations_seconds']:.1f} s for the day's stations table "
            f"(access.stations) and {r['seconds'] - r['stations_seconds']:.1f} s for the ranking "
            f"({r['stop_times']:,} stop times)")
    results["resilience"] = out
